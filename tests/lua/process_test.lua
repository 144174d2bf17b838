-- The process model from Lua (docs/process-model.md): links, trap_exit and
-- sky.on_exit, monitors and sky.on_down, kill, exit reasons, spawn_link and
-- spawn_monitor, names on death. Run by check_lua ("run" -> "ok N").
local t = require "t"

local exits, downs = {}, {}
sky.on_exit(function(addr, reason, text) exits[#exits + 1] = { addr = addr, reason = reason, text = text } end)
sky.on_down(function(ref, addr, reason, text)
    downs[#downs + 1] = { ref = ref, addr = addr, reason = reason, text = text }
end)

-- Waits (up to 2 s) for an event in `list` matching f; returns it.
local function wait_for(list, f)
    for _ = 1, 400 do
        for i, e in ipairs(list) do
            if f(e) then
                table.remove(list, i)
                return e
            end
        end
        sky.sleep(5)
    end
    error("no such event", 2)
end

local function down_of(ref) return wait_for(downs, function(e) return e.ref == ref end) end
local function exit_of(addr) return wait_for(exits, function(e) return e.addr == addr end) end

local function alive(addr)
    local ok = pcall(sky.rawcall, addr, 1, "ping", 1000)
    return ok
end

local function gone(addr)
    for _ = 1, 400 do
        if not alive(addr) then return true end
        sky.sleep(5)
    end
    return false
end

t.case("trapped exit of a linked service, with reason and text", function()
    t.eq(sky.trap_exit(true), false)
    local a = sky.spawn("proc_child")
    sky.link(a)
    sky.rawcall(a, 1, "exit error it broke")
    local e = exit_of(a)
    t.eq(e.reason, "error")
    t.eq(e.text, "it broke")
end)

t.case("normal exits are trapped too", function()
    local a = sky.spawn("proc_child")
    sky.link(a)
    sky.rawcall(a, 1, "exit normal")
    t.eq(exit_of(a).reason, "normal")
end)

t.case("a linked service that does not trap dies with the reason", function()
    local a, b = sky.spawn("proc_child"), sky.spawn("proc_child")
    local ref = sky.monitor(b)
    sky.rawcall(b, 1, "link " .. a)
    sky.rawcall(a, 1, "exit shutdown going")
    local d = down_of(ref)
    t.eq(d.reason, "shutdown")
    t.eq(d.text, "going")
end)

t.case("monitor: one down with the ref; demonitor stops it", function()
    local a = sky.spawn("proc_child")
    local r1, r2 = sky.monitor(a), sky.monitor(a)
    t.truthy(r1 ~= r2, "two refs")
    t.eq(sky.demonitor(r2), true)
    t.eq(sky.demonitor(r2), false)
    sky.kill(a)
    local d = down_of(r1)
    t.eq(d.reason, "killed")
    t.eq(d.addr, a)
    sky.sleep(20)
    for _, e in ipairs(downs) do t.truthy(e.ref ~= r2, "a down after demonitor") end
end)

t.case("noproc: link and monitor of a dead address", function()
    local a = sky.spawn("proc_child")
    sky.kill(a)
    t.truthy(gone(a), "killed")
    t.eq(down_of(sky.monitor(a)).reason, "noproc")
    sky.link(a)
    t.eq(exit_of(a).reason, "noproc")
end)

t.case("kill cannot be trapped; the reason may be given", function()
    local v = sky.spawn("proc_child")
    local ref = sky.monitor(v)
    sky.rawcall(v, 1, "ping")
    sky.kill(v, "timeout", "too slow")
    local d = down_of(ref)
    t.eq(d.reason, "timeout")
    t.eq(d.text, "too slow")
end)

t.case("spawn_link and spawn_monitor see a child that dies in its init", function()
    local c = sky.spawn_link("proc_child", "exit", "error", "early")
    local e = exit_of(c)
    t.eq(e.reason, "error")
    t.eq(e.text, "early")
    local c2, ref = sky.spawn_monitor("proc_child", "exit", "normal")
    t.eq(down_of(ref).addr, c2)
end)

t.case("launch_link and launch_monitor: a C module's service, linked or monitored", function()
    local h = sky.launch_link("hole")
    sky.kill(h, "error", "c died")
    local e = exit_of(h)
    t.eq(e.reason, "error")
    t.eq(e.text, "c died")
    local h2, ref = sky.launch_monitor("hole")
    t.truthy(ref > 0, "a ref")
    sky.kill(h2)
    local d = down_of(ref)
    t.eq(d.addr, h2)
    t.eq(d.reason, "killed")
    local err = t.raises("ENOENT", sky.launch_link, "no_such_module")
    t.truthy(err.message:find("sky.launch_link no_such_module: ", 1, true), err.message)
    t.raises("EINVAL", sky.launch_monitor, "hole", "two words")
end)

t.case("sky.parent: the spawner, however it spawned; nil when spawned from outside the node", function()
    t.eq(sky.parent(), nil, "this service came from sky_node_spawn")
    local me = tostring(sky.self())
    local a = sky.spawn("proc_child")
    local l = sky.spawn_link("proc_child")
    local m = sky.spawn_monitor("proc_child")
    for _, c in ipairs({ a, l, m }) do t.eq(sky.rawcall(c, 1, "parent", 1000), me) end
    for _, c in ipairs({ a, l, m }) do sky.kill(c) end
end)

t.case("names go with their service", function()
    local a = sky.spawn("proc_child", "register", "proc_worker")
    t.eq(sky.whereis("proc_worker"), a)
    local ref = sky.monitor(a)
    sky.kill(a)
    down_of(ref)
    t.eq(sky.whereis("proc_worker"), nil)
    t.raises("ENOSVC", sky.rawcall, "proc_worker", 1, "ping")
end)

t.case("unlink: no exit afterwards", function()
    local a = sky.spawn("proc_child")
    sky.link(a)
    sky.unlink(a)
    local ref = sky.monitor(a)
    sky.kill(a)
    down_of(ref)
    sky.sleep(20)
    for _, e in ipairs(exits) do t.truthy(e.addr ~= a, "an exit after unlink") end
end)

t.case("send_exit: trappable, and normal is ignored by a service that does not trap", function()
    local a = sky.spawn("proc_child")
    local ref = sky.monitor(a)
    sky.send_exit(a, "normal")
    t.eq(sky.rawcall(a, 1, "ping"), "pong")
    sky.send_exit(a, "shutdown", "enough")
    local d = down_of(ref)
    t.eq(d.reason, "shutdown")
    t.eq(d.text, "enough")
end)

t.case("bad arguments", function()
    t.raises("EINVAL", sky.exit, "bored")
    t.raises("EINVAL", sky.kill, sky.self(), "sleepy")
    t.raises("EINVAL", sky.link, {})
    t.raises("ENOSVC", sky.monitor, "nobody")
end)

t.serve()
