-- A supervisor for supervisor_test.lua, its spec in its args:
--   NAME STRATEGY INTENSITY PERIOD CHILD...
-- CHILD is ID/RESTART/SHUTDOWN/MODE/KIND: KIND "lua" is sup_child.lua
-- (args ID and MODE, "-" for none), "c" the C module "echo", "inner" a
-- supervisor of its own (this file: one_for_one, intensity 1 in 5000 ms,
-- one permanent child ID_w), "tmpl" sup_child.lua with no args (a
-- simple_one_for_one template: start_child gives them), "fntmpl" the
-- same from a start function (start_child's args are its arguments).
local supervisor = require "sky.supervisor"
local name, strategy, intensity, period = ...

local children = {}
for i = 5, select("#", ...) do
    local spec = select(i, ...)
    local id, restart, shutdown, mode, kind = spec:match("^([^/]+)/([^/]+)/([^/]+)/([^/]+)/([^/]+)$")
    local start
    if kind == "c" then
        start = { module = "echo" }
    elseif kind == "tmpl" then
        start = { service = "sup_child" }
    elseif kind == "fntmpl" then
        start = function(...) return sky.spawn_link("sup_child", ...) end
    elseif kind == "inner" then
        start = { service = "sup_under_test", args = { id, "one_for_one", 1, 5000, id .. "_w/permanent/2000/-/lua" } }
    else
        start = { service = "sup_child", args = mode ~= "-" and { id, mode } or { id } }
    end
    children[#children + 1] = {
        id = id,
        start = start,
        restart = restart,
        shutdown = math.tointeger(tonumber(shutdown)) or shutdown,
        type = kind == "inner" and "supervisor" or "worker",
    }
end

supervisor.run {
    name = name,
    strategy = strategy,
    intensity = math.tointeger(tonumber(intensity)) or intensity,
    period = math.tointeger(tonumber(period)) or period,
    children = children,
}
