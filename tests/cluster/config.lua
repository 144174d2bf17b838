-- test_cluster.sh's config: one file for the three nodes, alpha, beta and
-- gamma; the script starts `sky config.lua` with SKY_NODE set to the
-- node's name and the ports it found free in SKY_PORT_*.
node_name = env("SKY_NODE")
threads = 2
log = env("SKY_LOG")
log_level = "info" -- the SIGHUP line is INFO

if node_name == "alpha" then
    -- alpha reads its membership from a file the script rewrites (and
    -- re-reads it on SIGHUP); its gate is the script's way in.
    cluster_file = env("SKY_CLUSTER_FILE")
    gate_port = tonumber(env("SKY_GATE_PORT"))
    gate_host = "127.0.0.1"
else
    cluster = {
        alpha = { id = 1, address = "127.0.0.1:" .. env("SKY_PORT_ALPHA") },
        beta = { id = 2, address = "127.0.0.1:" .. env("SKY_PORT_BETA") },
        gamma = { id = 3, address = "127.0.0.1:" .. env("SKY_PORT_GAMMA") },
    }
end
cluster_secret = env("SKY_CLUSTER_SECRET")
cluster_tick_ms = 100
cluster_down_ms = 600
cluster_high_water = 1048576
cluster_low_water = 262144

module_path = env("SKY_BUILDDIR") .. "/tests/cluster/.libs/?.so;" .. env("SKY_BUILDDIR") .. "/tests/client/.libs/?.so"
service_path = env("SKY_SRCDIR") .. "/tests/cluster/?.lua;" .. env("SKY_BUILDDIR") .. "/tests/cluster/?.lua;"
    .. env("SKY_BUILDDIR") .. "/tests/runtime/?.lua"
bootstrap = "lua"
bootstrap_args = "node 100 600" -- node.lua, and the tick and down above for the driver
call_timeout_ms = 3000
