-- The Lua benchmarks' driver, asked by sky_bench with a raw request:
-- "call PEER N" makes N sequential typed calls of sky.bench.Echo.Echo to
-- PEER (the payload benchmark's message); "send PEER N" sends N typed
-- oneways, with a raw call every 1000 so PEER's mailbox stays bounded,
-- and answers PEER's count. Spawned with a budget that fits N.
--
-- The method goes by its id, as the generated stubs (X_sky.lua) pass it:
-- sky_method_id's FNV-1a hash of the full name, which sky.call would
-- otherwise compute on every call.
local function method_id(name)
    local h = 2166136261
    for i = 1, #name do h = ((h ~ name:byte(i)) * 16777619) & 0xffffffff end
    return h
end
local M = method_id("sky.bench.Echo.Echo")
local body = string.rep("0123456789abcdef", 4)

local function call(peer, n)
    local req = { id = 0, session = 42, kind = "reply", body = body }
    for i = 1, n do
        req.id = i
        local r = sky.call(peer, M, req)
        if r.id ~= i or r.session ~= 43 or r.body ~= body then
            error(string.format("call %d: got id %d session %d", i, r.id, r.session))
        end
    end
    return "ok"
end

local function send(peer, n)
    local msg = { id = 0 }
    for i = 1, n do
        msg.id = i
        sky.send(peer, M, msg)
        if i % 1000 == 0 then sky.rawcall(peer, 1, "") end
    end
    return sky.rawcall(peer, 1, "")
end

sky.dispatch(function(m)
    local verb, peer, n = m.data:match("^(%a+) (%d+) (%d+)$")
    peer, n = math.tointeger(tonumber(peer)), math.tointeger(tonumber(n))
    if verb == "call" then return call(peer, n) end
    if verb == "send" then return send(peer, n) end
    error("bench_driver: bad request " .. m.data)
end)
