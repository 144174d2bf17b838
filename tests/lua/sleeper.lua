-- Sleeps and timeouts: the order things wake in.
local log = {}
sky.start(function() log[#log + 1] = "start" end)

local function note(s) log[#log + 1] = s end

sky.dispatch(function(m)
    if m.data == "run" then
        for _, ms in ipairs({ 60, 20, 40 }) do
            sky.timeout(0, function() sky.sleep(ms) note(tostring(ms)) end)
        end
        sky.timeout(5, function() note("t5") end)
        return "ok"
    elseif m.data == "log" then
        return table.concat(log, ",")
    elseif m.data == "nap" then
        local t0 = sky.now()
        sky.sleep(50)
        return tostring(sky.now() - t0)
    elseif m.data == "fan" then
        -- 20 naps at once: each request runs in a coroutine of its own
        local n, done, t0 = 20, 0, sky.now()
        for _ = 1, n do
            sky.timeout(0, function()
                sky.rawcall(sky.self(), 1, "nap")
                done = done + 1
            end)
        end
        while done < n do sky.sleep(5) end
        return done .. " " .. (sky.now() - t0)
    elseif m.data == "loadsleep" then
        local ok, e = pcall(sky.sleep, -1)
        return tostring(ok) .. " " .. tostring(e)
    end
end)
