-- A child for supervisor_test.lua. Args: ID [trap | slow] [fail].
-- Registers the name ID and tells the recorder "sup_test" (if there is
-- one) "start ID"; "trap": traps exits and, asked to stop, tells "stop ID"
-- and exits with the reason; "slow": traps exits, tells "stop ID" and goes
-- on (so its supervisor must kill it); "fail": fails its init. Raw
-- requests: "ping" -> "pong ID", "exit REASON [TEXT]" exits with REASON,
-- "raise" raises an error (the service goes on).
local id, mode, fail = ...

local function tell(what)
    if sky.whereis("sup_test") then sky.rawsend("sup_test", 2, what .. " " .. id) end
end

if fail == "fail" or mode == "fail" then error("asked to fail") end
if sky.whereis(id .. "_nomore") then error("told not to start again") end
sky.register(id)
tell("start")

if mode == "trap" or mode == "slow" then
    sky.trap_exit(true)
    sky.on_exit(function(_, reason, text)
        tell("stop")
        if mode == "trap" then sky.exit(reason, text) end
    end)
end

sky.dispatch(function(m)
    local cmd, rest = m.data:match("^(%S+)%s*(.*)$")
    if cmd == "ping" then return "pong " .. id end
    if cmd == "exit" then
        local reason, text = rest:match("^(%S+)%s*(.*)$")
        sky.exit(reason, text ~= "" and text or nil)
        return "ok"
    end
    if cmd == "raise" then error("raised on request") end
    return "?"
end)
