-- node.lua — runs the echo example: sky node.lua
-- A config is a Lua chunk; each global is a setting (sky's docs/launcher.md).
--
-- Four ways, chosen by the environment (make check runs all four):
--   ECHO_CLIENT=c|lua  the client: echo_client.so or echo_client.lua
--   ECHO_SERVER=c|lua  the server the client spawns: echo_server.so or
--                      echo_server.lua
-- Both default to c.

threads = 2

-- Where the modules are: ECHO_MODDIR if set (make check sets it to the
-- build's .libs), else the libtool output directory of an in-tree build.
module_path = env("ECHO_MODDIR", ".libs") .. "/?.so"
-- Where the Lua services are: the sources (ECHO_SRCDIR) and the stubs skyc
-- generated into the build directory (ECHO_LUADIR).
service_path = env("ECHO_SRCDIR", ".") .. "/?.lua;" .. env("ECHO_LUADIR", ".") .. "/?.lua"

-- The launcher spawns the client, which spawns the server and says the
-- words after the server's kind.
local server = env("ECHO_SERVER", "c")
if env("ECHO_CLIENT", "c") == "lua" then
    bootstrap = "lua"                                   -- the Lua host runs
    bootstrap_args = "echo_client " .. server .. " hello sky" -- echo_client.lua
else
    bootstrap = "echo_client"
    bootstrap_args = server .. " hello sky"
end

log_level = "info"                -- the server logs each note (to stderr)
