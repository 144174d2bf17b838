-- greeter.lua — the demo's Lua service. It serves sky.demo.Greeter
-- (demo.proto) and calls pong, a C service, through the Lua stubs skyc
-- generated from the same file (demo_sky.lua): C calls Lua, Lua calls C.
-- It runs under a supervisor, greeter_sup.lua, which restarts it when it
-- crashes.
local demo = require "demo_sky"

local pong = demo.Pong.client() -- by its registered name, "pong"
local me = sky.self() & 0xffffffff -- the address's serial, as ping prints it
local unanswered -- Crash's reply function, held so that nothing answers it

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
    Crash = function(req)
        say('Crash("%s"): exiting with an error', req.text)
        -- Take the request and never answer it: when this service is gone
        -- the runtime answers it (and any request still queued) EEXIT.
        -- greeter_sup.lua sees the exit and starts another greeter.
        unanswered = sky.defer()
        sky.exit("error", "asked to crash")
    end,
}

say('up, serving sky.demo.Greeter as "greeter"')
