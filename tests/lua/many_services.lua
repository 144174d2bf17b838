-- The Lua stubs of a .proto with 100 services (many_sky, which check_lua's
-- test_stubs_many_services generates): they load, and the last service
-- serves and answers. Run by check_lua ("run" -> "ok N").
local t = require "t"
local many = require "many_sky"

t.case("every service is there", function()
    local n = 0
    for name, s in pairs(many) do
        n = n + 1
        t.eq(s.full_name, "many." .. name)
        t.eq(type(s.client), "function")
    end
    t.eq(n, 100)
end)

t.case("the last one serves and answers", function()
    many.S100.serve { Add = function(req) return { n = req.n + 100 } end }
    t.eq(many.S100.client(sky.self()):Add { n = 1 }.n, 101)
    t.eq(many.S1.methods.Add ~= many.S100.methods.Add, true)
end)

t.serve()
