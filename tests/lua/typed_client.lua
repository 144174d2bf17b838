-- Calls the Lua skytest.Echo (registered as "typed_echo") through
-- sky.call and sky.send; "go" answers what it saw, joined by '|'.
local M = "skytest.Echo."

local function code(ok, e)
    if ok then return "no error" end
    return e.code .. " " .. e.message
end

sky.dispatch(function(m)
    if m.data ~= "go" then return end
    local out = {}
    local r = sky.call("typed_echo", M .. "Bump", { id = 41, kind = "k" })
    out[#out + 1] = r.id .. " " .. r.kind .. " " .. r.body
    sky.send("typed_echo", M .. "Note", { id = 1 })
    sky.send(sky.whereis("typed_echo"), M .. "Note", { id = 2 })
    out[#out + 1] = "notes " .. sky.call("typed_echo", M .. "Bump", { id = 0 }).session
    out[#out + 1] = code(pcall(sky.call, "typed_echo", M .. "Fail", { body = "x" }))
    out[#out + 1] = code(pcall(sky.call, "typed_echo", M .. "Hold", {}))
    out[#out + 1] = code(pcall(sky.call, "typed_echo", M .. "Bump", { id = "x" }))
    out[#out + 1] = code(pcall(sky.call, "typed_echo", M .. "Nope", {}))
    out[#out + 1] = code(pcall(sky.call, "nobody", M .. "Bump", {}))
    out[#out + 1] = sky.call("typed_echo", M .. "Later", { id = 5 }, 2000).body
    out[#out + 1] = "co " .. coroutine.wrap(function(id)
        return sky.call("typed_echo", M .. "Bump", { id = id }).id
    end)(9)
    return table.concat(out, "|")
end)
