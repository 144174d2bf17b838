-- relay.lua — on node gamma: serves sky.demo.Greeter (demo.proto) and, for
-- each Greet, calls pong on node beta: Lua calling C across two nodes,
-- through the stubs skyc generated.
local demo = require "demo_sky"

local pong = demo.Pong.client("pong@beta") -- "name@node": looked up on beta

demo.Greeter.serve {
    Greet = function(req)
        local r = pong:Echo { text = "relay" } -- raises if beta is down
        print(('[gamma] Greet("%s"): pong@beta said "%s"'):format(req.text, r.text))
        return { text = "hello " .. req.text .. ", from gamma" }
    end,
}
print('[gamma] relay (Lua) serves sky.demo.Greeter as "greeter"')
