-- driver.lua — on node alpha: calls pong on beta (C) and greeter on gamma
-- (Lua, which calls beta in turn), all through demo.proto's Lua stubs.
-- Then beta is killed (run.sh does it when asked), calls to it fail at
-- once, beta comes back, and calls resume. See README.md.
local demo = require "demo_sky"

local pong = demo.Pong.client("pong@beta")
local greeter = demo.Greeter.client("greeter@gamma")

local function say(fmt, ...) print(("[alpha] " .. fmt):format(...)) end

-- Waits (bounded) until f() holds.
local function await(what, f)
    for _ = 1, 200 do
        if f() then return end
        sky.sleep(50)
    end
    error("gave up waiting for " .. what)
end

local function up(name) return sky.nodes()[name].up end

local events = {}
sky.on_node(function(name, what)
    events[#events + 1] = name .. " " .. what
    say("sky.on_node: node %s is %s", name, what)
end)

local function round(n)
    local r = pong:Echo { text = "alpha" .. n }
    say('pong@beta Echo: "%s"', r.text)
    r = greeter:Greet { text = "alpha" .. n }
    say('greeter@gamma Greet: "%s"', r.text)
end

sky.start(function()
    await("beta and gamma", function() return up("beta") and up("gamma") end)
    local names = {}
    for name, n in pairs(sky.nodes()) do names[#names + 1] = ("%s=%d"):format(name, n.id) end
    table.sort(names)
    say("the cluster: %s (this is %s)", table.concat(names, " "), sky.node())
    sky.monitor_node("beta")
    round(1)
    round(2)

    say("kill beta now")         -- run.sh kills beta's process with SIGKILL
    await("beta down", function() return not up("beta") end)
    local t0 = sky.now()
    local ok, e = pcall(pong.Echo, pong, { text = "anyone?" })
    say("pong@beta Echo while beta is down: %s (%s) after %d ms", ok and "answered" or e.code,
        ok and "?" or e.message, sky.now() - t0)
    assert(not ok and e.code == "ENODEDOWN", "a call to a down node fails with ENODEDOWN")
    ok, e = pcall(greeter.Greet, greeter, { text = "alpha" })
    say("greeter@gamma Greet, which needs beta: %s", ok and "answered" or e.code .. ": " .. e.message)
    assert(not ok)

    say("restart beta now")      -- run.sh starts beta again
    await("beta up", function() return up("beta") end)
    await("pong on beta", function() return pcall(pong.Echo, pong, { text = "back?" }) end)
    round(3)
    say("node events seen: %s", table.concat(events, ", "))
    assert(table.concat(events, ", ") == "beta down, beta up", "sky.on_node heard beta go down, then come up")
    say("done")
    sky.shutdown()
end)
