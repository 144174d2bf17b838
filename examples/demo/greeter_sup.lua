-- greeter_sup.lua: the demo's supervisor. sky.supervisor (Erlang's
-- supervisor, compiled into libsky) starts greeter.lua before ping's
-- sky_spawn returns, and starts another one each time it dies, up to 3
-- times in 5 seconds (past that it would stop and exit with "shutdown").
-- Its restarts go to the node's log.
local supervisor = require "sky.supervisor"

supervisor.run {
    name = "greeter_sup",
    strategy = "one_for_one",
    intensity = 3,
    period = 5000,
    children = {
        { id = "greeter", start = { service = "greeter" }, restart = "permanent", shutdown = 1000 },
    },
}
