-- supervisor_restart_us: a one_for_one supervisor of bench_sup_child,
-- with a restart intensity no run reaches.
local supervisor = require "sky.supervisor"

supervisor.run {
    name = "bench_sup",
    strategy = "one_for_one",
    intensity = 1000000,
    period = 1000,
    children = { { id = "child", start = { service = "bench_sup_child" } } },
}
