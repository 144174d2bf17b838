-- The supervisor check_lua's C test spawns from a C module with
-- sky_spawn(ctx, "lua", "sup_c", &addr): a C module's child and a Lua one.
local supervisor = require "sky.supervisor"

supervisor.run {
    name = "c_sup",
    strategy = "one_for_one",
    intensity = 3,
    period = 5000,
    children = {
        { id = "cecho", start = { module = "echo" } },
        { id = "w", start = { service = "sup_child", args = { "w", "trap" } }, shutdown = 1000 },
    },
}
