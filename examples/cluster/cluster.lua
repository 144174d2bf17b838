-- The cluster demo's config: one file for all three nodes (see README.md).
-- run.sh starts `sky cluster.lua` three times with SKY_NODE set to alpha,
-- beta or gamma, and the ports it found free in SKY_PORT_*.

node_name = env("SKY_NODE")
threads = 2

-- The membership: every node reads the same table and finds itself in it
-- by node_name (its id and the address it listens on).
cluster = {
    alpha = { id = 1, address = "127.0.0.1:" .. env("SKY_PORT_ALPHA") },
    beta  = { id = 2, address = "127.0.0.1:" .. env("SKY_PORT_BETA") },
    gamma = { id = 3, address = "127.0.0.1:" .. env("SKY_PORT_GAMMA") },
}
cluster_secret = env("SKY_CLUSTER_SECRET")  -- the links prove it to each other
cluster_tick_ms = 200       -- a tick on an idle link every 200 ms,
cluster_down_ms = 1000      -- and a node silent for a second is down

-- pong (C) is the demo's module; relay.lua and driver.lua are here, the
-- Lua stubs of demo.proto (demo_sky.lua) in the build tree.
module_path = env("SKY_DEMO_MODDIR", "examples/demo/.libs") .. "/?.so"
service_path = env("SKY_SRCDIR", ".") .. "/examples/cluster/?.lua;"
    .. env("SKY_DEMO_LUADIR", "examples/demo") .. "/?.lua"

bootstrap = "lua"
bootstrap_args = "node"     -- node.lua: what this node runs
log_level = "warn"
call_timeout_ms = 2000
