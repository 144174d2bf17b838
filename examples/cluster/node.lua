-- node.lua — the first service of each node of the cluster demo: it starts
-- what this node runs, by the node's name.
local me = sky.node()
if me == "beta" then
    sky.launch("pong")          -- the demo's C service, registered as "pong"
    print("[beta] pong (C) runs here")
elseif me == "gamma" then
    sky.spawn("relay")          -- a Lua service, registered as "greeter"
elseif me == "alpha" then
    sky.spawn("driver")         -- calls the others, across the cluster
end
