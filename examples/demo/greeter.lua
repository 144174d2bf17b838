-- greeter.lua — the demo's Lua service. It serves sky.demo.Greeter
-- (demo.proto) and calls pong, a C service, through the Lua stubs skyc
-- generated from the same file (demo_sky.lua): C calls Lua, Lua calls C.
local demo = require "demo_sky"

local pong = demo.Pong.client() -- by its registered name, "pong"
local me = sky.self() & 0xffffffff -- the address's serial, as ping prints it

local function say(fmt, ...)
    print(("[greeter %d] " .. fmt):format(me, ...))
end

demo.Greeter.serve {
    Greet = function(req)
        if req.text == "" then
            -- an error object with a code: the caller's error reply
            error({ code = "EINVAL", message = "greet whom?" })
        end
        -- A call from Lua waits without blocking the worker: this handler's
        -- coroutine yields until pong answers.
        local r = pong:Echo { text = "greeter" }
        say('Greet("%s"): pong said "%s"', req.text, r.text)
        return { text = "hello " .. req.text .. ", from Lua" }
    end,
}

say('up, serving sky.demo.Greeter as "greeter"')
