-- The libraries that open on first use (libs.c), met in different orders
-- on a fresh state: arg "methods" (a string method first), "arith" (string
-- arithmetic first), "require" (require first), "global" (the package
-- global first, the script's own require kept). Answers "ok" or what
-- failed, joined by "; ".
local mode = ...
local out = {}
local function check(what, ok)
    if not ok then out[#out + 1] = what end
end

check("string closed", rawget(_G, "string") == nil)
check("coroutine closed", rawget(_G, "coroutine") == nil)
check("package closed", rawget(_G, "package") == nil)
if mode == "methods" then
    check("method", ("ab"):rep(2) == "abab")
    check("string open", rawget(_G, "string") == string and getmetatable("").__index == string)
    check("arith after", "10" + 1 == 11)
elseif mode == "arith" then
    check("arith", "10" + 1 == 11 and "3" * "4" == 12 and -"2" == -2 and "7" // "2" == 3)
    check("string open", rawget(_G, "string") == string and ("x"):upper() == "X")
elseif mode == "require" then
    check("require", require("math") == math and require("string") == string)
    check("package open", rawget(_G, "package") ~= nil and package.loaded.math == math)
    check("searchers", #package.searchers == 3 and package.cpath == "" and package.loadlib == nil)
    check("no such module", not pcall(require, "no_such_module"))
    -- sky's standard modules, compiled in: not on the service path
    check("sky.supervisor", type(require("sky.supervisor").run) == "function")
    local ok, e = pcall(require, "sky.no_such_module")
    check("no such sky module", not ok and e:find("no module 'sky.no_such_module' in sky's standard library", 1, true))
elseif mode == "global" then
    local mine = function() return "mine" end
    require = mine
    check("package", package.loaded._G == _G)
    check("require kept", require == mine and require("x") == "mine")
end
check("coroutine", coroutine.wrap(function() coroutine.yield(5) end)() == 5)
check("coroutine loaded", package.loaded.coroutine == coroutine)
sky.dispatch(function() return #out == 0 and "ok" or table.concat(out, "; ") end)
