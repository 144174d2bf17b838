-- node.lua: the first service of each node of test_cluster.sh; starts what
-- the node runs, by its name. Arguments: the cluster's tick and down
-- times (ms), for alpha's driver.
local tick, down = ...
local me = sky.node()
if me == "alpha" then
    sky.spawn("lecho")           -- an address on alpha that beta's C relay calls back
    sky.spawn({ name = "driver", budget = 2000000000, mem_limit = 256 << 20 }, tick, down)
elseif me == "beta" then
    sky.launch("cecho")          -- skytest.Echo in C, as "typed_echo"
    sky.launch("cnode", "relay") -- skycluster.Relay in C, as "crelay"
    sky.launch("cnode", "slow", 2) -- 2 ms per oneway when told, a mailbox of 16, as "cslow"
    sky.spawn("lecho")           -- skycluster.Echo (and Remote) in Lua
    sky.spawn({ name = "counter", mem_limit = 128 << 20 })
elseif me == "gamma" then
    sky.spawn("lecho")
end
print(("[%s] ready"):format(me))
