-- node.lua — runs the echo example: sky node.lua
-- A config is a Lua chunk; each global is a setting (sky's docs/launcher.md).

threads = 2

-- Where the modules are: ECHO_MODDIR if set (make check sets it to the
-- build's .libs), else the libtool output directory of an in-tree build.
module_path = env("ECHO_MODDIR", ".libs") .. "/?.so"

bootstrap = "echo_client"         -- the launcher spawns the client,
bootstrap_args = "hello sky"      -- which spawns echo_server and says these words

log_level = "info"                -- the server logs each note (to stderr)
