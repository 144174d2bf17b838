-- sky.self/register/whereis/spawn/exit and error objects, driven by
-- requests whose text names what to do. Args: NAME (registered).
local name = ...
sky.register(name)

local function errtext(f, ...)
    local ok, e = pcall(f, ...)
    if ok then return "no error" end
    return e.code .. " " .. e.message
end

local actions = {
    self = function() return tostring(sky.self()) end,
    whereis = function() return tostring(sky.whereis(name)) end,
    nobody = function() return tostring(sky.whereis("no-such-name")) end,
    regtwice = function() return errtext(sky.register, name) end,
    errstr = function() local _, e = pcall(sky.register, "") return tostring(e) end,
    spawndots = function() return errtext(sky.spawn, "../x") end,
    spawnslash = function() return errtext(sky.spawn, "a/b") end,
    spawnmissing = function() return errtext(sky.spawn, "nosuch") end,
    callecho = function()
        local a = sky.spawn("echo")
        return sky.rawcall(a, 7, "ping") .. " " .. math.type(a)
    end,
    callname = function() return sky.rawcall(name, 1, "self") end,
    loadbc = function()
        local f, err = load(string.dump(function() return 1 end))
        return tostring(f) .. " " .. tostring(err)
    end,
    spawnlimited = function()
        local a = sky.spawn({ name = "hog", mem_limit = 1048576 })
        return errtext(sky.rawcall, a, 1, "hog")
    end,
    spawnbadopt = function()
        return errtext(sky.spawn, { name = "echo", budget = 0 }) .. "|"
            .. errtext(sky.spawn, { name = "echo", colour = 1 }) .. "|"
            .. errtext(sky.spawn, { mem_limit = 1048576 }) .. "|"
            .. errtext(sky.spawn, { name = "echo", budget = "lots" })
    end,
    -- table, math, utf8 and os open on first use, by name or require
    libs = function()
        local before = rawget(_G, "utf8")
        local m = require("math")
        return tostring(before) .. " " .. tostring(m == math) .. " " .. tostring(os.exit) .. " "
            .. tostring(os.execute) .. " " .. type(os.time) .. " " .. utf8.char(72) .. " "
            .. table.concat({ 1, 2 }, ",") .. " " .. tostring(rawget(_G, "utf8") == utf8)
            .. " " .. tostring(nosuchglobal)
    end,
    bug = function() local t = nil return t.field end, -- a runtime error: EFAIL, logged
    exit = function() sky.exit() return "bye" end,
}

-- error values a handler raises, by name: "raise NAME"
local raised = {
    app = { code = "EOUTOFSTOCK", message = "only 3 left", details = "\0d" },
    appbare = { code = "out_of_stock.v2" },
    number = { code = -7, message = "by number" },
    badnumber = { code = -100, message = "an application number" },
    badcode = { code = "out of stock", message = "a blank" },
    badtype = { code = true, message = "a boolean" },
    baddetails = { code = "EOUTOFSTOCK", message = "a table", details = {} },
    skydetails = { code = "ENOENT", message = "details only go with EAPP", details = "x" },
}

sky.dispatch(function(m)
    if m.kind ~= "request" then return end
    local verb, arg = m.data:match("^(%S+)%s*(.*)$")
    if verb == "raise" then error(raised[arg]) end
    if verb == "defer" then -- answered from a timer, through sky.defer's reply(nil, err)
        local reply = sky.defer()
        sky.timeout(0, function() reply(nil, raised[arg]) end)
        return
    end
    if verb == "timeout" then
        return errtext(sky.rawcall, math.tointeger(tonumber(arg)), 1, "x", 50)
    end
    local f = actions[verb]
    if not f then error({ code = "ENOTSUP", message = "no action " .. tostring(verb) }) end
    return f()
end)
