-- echo_client.lua — calls an echo server through the Lua stubs, with the
-- same script as echo_client.c: a Say for each word, a oneway Note, one
-- more Say (whose reply shows the note arrived first), and a Say the
-- server refuses. Then it shuts the node down.
--
-- Arguments: SERVER WORD... where SERVER is "c" (echo_server.so) or "lua"
-- (echo_server.lua). A call waits for its answer without blocking the
-- worker: the service's coroutine yields until the reply comes.
local echo = require "echo_sky"

local server, words = ..., { select(2, ...) }
if #words == 0 then words = { "hello" } end

sky.start(function()
    -- Both servers register "echo" (the service's sky.default_name).
    if server == "lua" then
        sky.spawn("echo_server")
    else
        sky.launch("echo_server")
    end
    local cli = echo.Echo.client() -- "echo"
    local calls, answered, failed = 0, 0, 0

    local function say(text)
        print(('[client] Say("%s")'):format(text))
        calls = calls + 1
        local ok, r = pcall(cli.Say, cli, { text = text })
        if ok then
            answered = answered + 1
            print(('[client] Say -> "%s" (call %d, notes %d)'):format(r.text, r.count, r.notes))
        else -- an error object: .code ("EINVAL") and .message
            failed = failed + 1
            print(("[client] Say -> %s (%s)"):format(r.code, r.message))
        end
    end

    for _, w in ipairs(words) do say(w) end
    local note = "a note before the next call"
    cli:Note { text = note }
    print(('[client] Note("%s") -> sent'):format(note))
    say("after the note")
    say("")
    print(("[client] done: %d calls, %d answered, %d failed"):format(calls, answered, failed))
    sky.shutdown()
end)
