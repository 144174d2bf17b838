-- sky waits inside the script's own coroutines, driven by requests whose
-- text names what to do.
local function errtext(ok, e)
    if ok then return "no error" end
    if type(e) == "table" then return e.code .. " " .. e.message end
    return tostring(e)
end

local parked

local actions = {
    -- a generator that sleeps between its yields
    gen = function()
        local gen = coroutine.wrap(function()
            for i = 1, 3 do
                sky.sleep(10)
                coroutine.yield(i)
            end
        end)
        local t0 = sky.now()
        local a, b, c = gen(), gen(), gen()
        return a .. b .. c .. " " .. (sky.now() - t0 >= 30 and "slept" or "did not sleep")
    end,
    -- sky.rawcall inside coroutine.wrap, to this service (another fiber answers)
    call = function()
        return coroutine.wrap(function(x) return sky.rawcall(sky.self(), 1, x) end)("plain")
    end,
    -- user coroutines resuming each other, both waiting in between
    nested = function()
        local inner = coroutine.create(function(x)
            sky.sleep(1)
            local y = coroutine.yield(x + 1)
            sky.sleep(1)
            return y * 2
        end)
        local outer = coroutine.wrap(function()
            local _, v = coroutine.resume(inner, 1)
            local w = coroutine.yield(v)
            sky.sleep(1)
            local _, r = coroutine.resume(inner, w)
            return r, coroutine.status(inner)
        end)
        local first = outer()
        local r, st = outer(10)
        return first .. " " .. r .. " " .. st
    end,
    -- errors raised after a wait
    wraperror = function()
        coroutine.wrap(function()
            sky.sleep(1)
            error({ code = "EEXIST", message = "inside" })
        end)()
    end,
    resumeerror = function()
        local co = coroutine.create(function()
            sky.sleep(1)
            error("plain", 0)
        end)
        local ok, e = coroutine.resume(co)
        return tostring(ok) .. " " .. e .. " " .. coroutine.status(co) .. "|" .. errtext(coroutine.resume(co))
    end,
    -- while a coroutine waits, others can neither resume nor close it
    waiting = function()
        parked = coroutine.create(function() sky.sleep(100) return "woke" end)
        local seen
        sky.timeout(20, function()
            seen = coroutine.status(parked) .. "|" .. errtext(coroutine.resume(parked)) .. "|"
                .. errtext(pcall(coroutine.close, parked))
        end)
        local _, r = coroutine.resume(parked)
        return seen .. "|" .. r .. " " .. coroutine.status(parked)
    end,
    -- the handler's own coroutine is the main one
    main = function()
        local co, ismain = coroutine.running()
        local inside = coroutine.wrap(function() return coroutine.isyieldable() end)()
        return tostring(ismain) .. " " .. tostring(coroutine.isyieldable()) .. " " .. tostring(inside)
            .. " " .. coroutine.status(co) .. "|" .. errtext(pcall(coroutine.yield, 1))
            .. "|" .. errtext(coroutine.resume(co))
    end,
    -- no wait where a yield cannot pass: a table.sort comparator
    sort = function()
        local r = errtext(pcall(table.sort, { 3, 1, 2 }, function(a, b)
            sky.sleep(0)
            return a < b
        end))
        local t0 = sky.now()
        sky.sleep(30)
        return r .. "|" .. (sky.now() - t0 >= 30 and "slept" or "woken early")
    end,
    -- coroutines left at a yield after waiting are plain garbage
    abandon = function()
        for _ = 1, 50 do
            local g = coroutine.wrap(function()
                sky.sleep(0)
                coroutine.yield(1)
                sky.sleep(1000000)
            end)
            g()
        end
        collectgarbage()
        collectgarbage()
        return tostring(math.floor(collectgarbage("count")))
    end,
    -- a call in a coroutine nobody answers ends at its deadline
    timeout = function(arg)
        return coroutine.wrap(function()
            return errtext(pcall(sky.rawcall, math.tointeger(tonumber(arg)), 1, "x", 50))
        end)()
    end,
    plain = function() return "plain answer" end,
}

sky.dispatch(function(m)
    if m.kind ~= "request" then return end
    local verb, arg = m.data:match("^(%S+)%s*(.*)$")
    local f = actions[verb]
    if not f then error({ code = "ENOTSUP", message = "no action " .. tostring(verb) }) end
    return f(arg)
end)

-- at load time no coroutine may wait
local ok, e = coroutine.resume(coroutine.create(function() sky.sleep(0) end))
assert(not ok and e.code == "EINVAL", "a coroutine waited at load time")
