-- A good config: starts the test module, whose init with args "exit" asks
-- the node to shut down, so `sky ok.lua` exits 0 at once.
-- SKY_TEST_MODDIR is the build directory that holds testmod.so.
local moddir = env("SKY_TEST_MODDIR", ".")

threads = 2
node_id = 7
node_name = "launcher-test"
module_path = "./no_such_dir/?.so;" .. moddir .. "/?.so"
service_path = "./service/?.lua"
bootstrap = "testmod"
bootstrap_args = env("SKY_TEST_ARGS", "exit")
log_level = "warn"
mailbox_limit = 1024
call_timeout_ms = 2000
