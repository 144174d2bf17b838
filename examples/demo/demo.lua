-- The demo node (run it with ./quickstart.sh demo or make demo; see README.md).
-- A config is a Lua chunk: each global is a setting (docs/launcher.md).

node_name = "demo"
threads = 2                 -- two workers, so ping and pong can run at once

-- Where C modules are found: '?' is the module name. SKY_DEMO_MODDIR is set
-- by quickstart.sh and `make demo` to the built modules (ping.so, pong.so).
module_path = env("SKY_DEMO_MODDIR", "examples/demo/.libs") .. "/?.so"

bootstrap = "ping"          -- the one service the launcher starts
bootstrap_args = "150"      -- its argument: how many ms pong's Slow method takes

log_level = "info"          -- sky_log lines go to stderr (or to `log = FILE`)
call_timeout_ms = 2000      -- deadline of calls that do not set their own
