-- The generated Lua stubs of tests/runtime/typed_test.proto against a
-- skytest.Echo server registered as "typed_echo": TARGET "lua"
-- (stub_echo.lua) or "c" (check_typed's C server). Run by check_lua.
local target = ...
local t = require "t"
local echo = require "typed_test_sky"
local Echo = echo.Echo

t.case("metadata", function()
    t.eq(Echo.full_name, "skytest.Echo")
    t.eq(Echo.default_name, "typed_echo")
    t.eq(Echo.methods.Bump, 0x1b66e1cd)
end)

t.case("call by the default name", function()
    local r = Echo.client():Bump { id = 41, kind = "k" }
    t.eq(r.id, 42)
    t.eq(r.kind, "k")
end)

t.case("call by address", function()
    local r = Echo.client(sky.whereis("typed_echo")):Bump { id = -1 }
    t.eq(r.id, 0)
end)

t.case("oneway sends and returns nothing", function()
    local cli = Echo.client("typed_echo")
    t.eq(select("#", cli:Note { id = 1 }), 0)
    cli:Note { id = 2 }
    if target == "lua" then t.eq(cli:Bump { id = 0 }.session, 2) end
end)

t.case("deferred answer", function()
    t.eq(Echo.client():Later { id = 5 }.id, 105)
end)

if target == "lua" then
    t.case("sky.defer misuse", function()
        local cli = Echo.client()
        t.eq(cli:Bump { id = 1, kind = "twice" }.body, "EINVAL") -- deferring twice
        t.eq(cli:Bump { id = 1 }.body, "EINVAL")                 -- answering twice
    end)
end

t.case("error reply", function()
    t.raises("EEXIST", Echo.client().Fail, Echo.client(), { id = -12, body = "x" })
end)

t.case("an application error, unchanged", function()
    local e = t.raises("EOUTOFSTOCK", Echo.client().Fail, Echo.client(), { id = 1, kind = "EOUTOFSTOCK", body = "x" })
    t.eq(e.message, "fail x")
    t.eq(e.details, "\0\1det")
    t.eq(tostring(e), "EOUTOFSTOCK: fail x")
    -- a service's own "not found" is not the runtime's ENOENT
    e = t.raises("not_found", Echo.client().Fail, Echo.client(), { id = 1, kind = "not_found", body = "y" })
    t.eq(e.message, "fail y")
end)

t.case("a deferred reply never sent", function()
    local cli = Echo.client("typed_echo", { timeout_ms = 2000 })
    local want = target == "lua" and "ENOREPLY" or "ETIMEDOUT"
    local e = t.raises(want, cli.Hold, cli, {}, target == "c" and 50 or nil)
    t.truthy(#e.message > 0, "an error message")
end)

t.case("bad request field", function()
    local e = t.raises("EINVAL", Echo.client().Bump, Echo.client(), { id = "x" })
    t.truthy(e.message:find("Payload.id: expected integer, got string", 1, true), e.message)
end)

t.case("unknown field", function()
    t.raises("EINVAL", Echo.client().Bump, Echo.client(), { nope = 1 })
end)

t.case("no such service", function()
    t.raises("ENOSVC", Echo.client("nobody").Bump, Echo.client("nobody"), {})
end)

t.case("bad address", function()
    t.raises("EINVAL", Echo.client, {})
end)

t.case("schema registered once", function()
    -- requiring again (as another service would) finds it registered
    sky.schema("typed_test.proto", "not a descriptor set")
end)

t.case("no request: an empty message", function()
    t.eq(Echo.client():Bump().id, 1)
    t.eq(select("#", Echo.client():Note()), 0)
end)

t.case("a request that is not a table names the method", function()
    local cli = Echo.client()
    local e = t.raises("EINVAL", cli.Bump, cli, 5)
    t.truthy(e.message:find("skytest.Echo.Bump", 1, true), e.message)
    e = t.raises("EINVAL", cli.Note, cli, "text")
    t.truthy(e.message:find("skytest.Echo.Note", 1, true), e.message)
    t.truthy(tostring(e):find("^EINVAL: "), tostring(e))
end)

t.case("bad client options", function()
    t.raises("EINVAL", Echo.client, "typed_echo", 5)
end)

t.serve()
