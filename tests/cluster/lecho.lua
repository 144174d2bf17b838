-- lecho.lua: skycluster.Echo (cluster_test.proto) in Lua, registered as
-- "lecho" on every node that runs it; on beta also skycluster.Remote,
-- whose default_name "remote@beta" registers it here as "remote".
local ct = require "cluster_test_sky"

ct.Echo.serve {
    Say = function(req) return { text = req.text, node = sky.node(), addr = sky.self(), n = req.n } end,
    Whereis = function(req) return { name = req.name, node = sky.node(), addr = sky.whereis(req.name) or 0 } end,
}
sky.register("lecho")

if sky.node() == "beta" then
    ct.Remote.serve {
        Where = function(req) return { text = req.text, node = sky.node() } end,
    }
end
