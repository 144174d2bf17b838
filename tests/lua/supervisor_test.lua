-- sky.supervisor (docs/process-model.md, "Supervisors"): strategies,
-- restart types, restart intensity, nesting, ordered shutdown, a C child,
-- callers during a restart, the requests, start_child with a spec,
-- simple_one_for_one, obeying only the parent. Supervisors are
-- sup_under_test.lua, their children sup_child.lua, which tell this
-- service "start ID" and "stop ID". Run by check_lua ("run" -> "ok N").
local t = require "t"
local supervisor = require "sky.supervisor"

sky.register("sup_test")

local events = {} -- "start a", "stop b", ... as the children told them
local downs = {}  -- ref -> { reason, text }
sky.on_down(function(ref, _, reason, text) downs[ref] = { reason = reason, text = text } end)

-- Polls `f` every 5 ms for up to 3 s; its first true result.
local function wait_until(f, what)
    for _ = 1, 600 do
        local v = f()
        if v then return v end
        sky.sleep(5)
    end
    error("timed out waiting for " .. what, 2)
end

-- Takes the events told so far once `n` have come (and a little more
-- time passed for any extra one to show).
local function take(n)
    wait_until(function() return #events >= n end, n .. " events (have: " .. table.concat(events, ", ") .. ")")
    sky.sleep(30)
    local got = table.concat(events, ", ")
    events = {}
    return got
end

local function down_of(ref)
    return wait_until(function() return downs[ref] end, "a down")
end

local n = 0
-- Spawns sup_under_test with a fresh name -> its address, a monitor ref
-- and the name; the children's start events are taken.
local function sup(strategy, intensity, period, ...)
    n = n + 1
    local name = "sup" .. n
    local a = sky.spawn("sup_under_test", name, strategy, intensity, period, ...)
    local ref = sky.monitor(a)
    local told = 0 -- by sup_child.lua: the Lua children and the inner ones' workers
    for _, c in ipairs({ ... }) do
        if not c:match("/c$") and not c:match("tmpl$") then told = told + 1 end
    end
    take(told)
    return a, ref, name
end

local function ping(who) return sky.rawcall(who, 1, "ping", 1000) end

local function crash(who, reason) sky.rawcall(who, 1, "exit " .. (reason or "error") .. " crashed") end

-- Waits until `id` is registered again, by another service than `old`.
local function renewed(id, old)
    return wait_until(function()
        local a = sky.whereis(id)
        return a ~= old and a
    end, id .. " restarted")
end

local function addrs(s)
    local out = {}
    for _, c in ipairs(supervisor.which_children(s)) do out[c.id] = c.addr or false end
    return out
end

local function stop(s, ref)
    sky.send_exit(s, "shutdown")
    return down_of(ref)
end

t.case("one_for_one: only the child that died restarts", function()
    local s, ref = sup("one_for_one", 3, 5000, "a/permanent/2000/trap/lua", "b/permanent/2000/trap/lua",
        "c/permanent/2000/trap/lua")
    local before = addrs(s)
    crash("b")
    local b = renewed("b", before.b)
    t.eq(take(1), "start b")
    t.eq(ping("b"), "pong b")
    local after = addrs(s)
    t.eq(after.a, before.a, "a left alone")
    t.eq(after.c, before.c, "c left alone")
    t.eq(after.b, b)
    stop(s, ref)
    t.eq(take(3), "stop c, stop b, stop a")
end)

t.case("one_for_all: the others stop in reverse order, all start in order", function()
    local s, ref = sup("one_for_all", 3, 5000, "a/permanent/2000/trap/lua", "b/permanent/2000/trap/lua",
        "c/permanent/2000/trap/lua")
    local before = addrs(s)
    crash("b")
    t.eq(take(5), "stop c, stop a, start a, start b, start c")
    local after = addrs(s)
    for _, id in ipairs({ "a", "b", "c" }) do
        t.truthy(after[id] and after[id] ~= before[id], id .. " restarted")
        t.eq(ping(id), "pong " .. id)
    end
    stop(s, ref)
    take(3)
end)

t.case("rest_for_one: the ones started after it restart with it", function()
    local s, ref = sup("rest_for_one", 3, 5000, "a/permanent/2000/trap/lua", "b/permanent/2000/trap/lua",
        "c/permanent/2000/trap/lua", "d/permanent/2000/trap/lua")
    local before = addrs(s)
    crash("b")
    t.eq(take(5), "stop d, stop c, start b, start c, start d")
    local after = addrs(s)
    t.eq(after.a, before.a, "a left alone")
    for _, id in ipairs({ "b", "c", "d" }) do t.truthy(after[id] ~= before[id], id .. " restarted") end
    stop(s, ref)
    take(4)
end)

t.case("restart types: permanent always, transient if abnormal, temporary never", function()
    local s, ref = sup("one_for_one", 10, 5000, "p/permanent/2000/-/lua", "tn/transient/2000/-/lua",
        "ta/transient/2000/-/lua", "ts/transient/2000/-/lua", "te/temporary/2000/-/lua")
    local before = addrs(s)
    crash("p", "normal")
    t.eq(take(1), "start p", "permanent, normal exit")
    crash("ta", "error")
    t.eq(take(1), "start ta", "transient, abnormal exit")
    crash("tn", "normal")
    crash("ts", "shutdown")
    crash("te", "error")
    for _, id in ipairs({ "tn", "ts", "te" }) do
        wait_until(function() return sky.whereis(id) == nil end, id .. " gone")
    end
    t.eq(take(0), "", "nothing else restarted")
    local after = addrs(s)
    t.truthy(after.p and after.p ~= before.p, "p restarted")
    t.truthy(after.ta and after.ta ~= before.ta, "ta restarted")
    t.eq(after.tn, false, "transient after a normal exit: kept, not running")
    t.eq(after.ts, false, "transient after a shutdown exit: kept, not running")
    t.eq(after.te, nil, "the temporary child is forgotten")
    t.eq(#supervisor.which_children(s), 4)
    t.eq(downs[ref], nil, "the supervisor runs on")
    stop(s, ref)
end)

t.case("a burst of exits is handled one by one, every child restarted", function()
    local specs = {}
    for i = 1, 10 do specs[i] = "k" .. i .. "/permanent/2000/-/lua" end
    local s, ref = sup("one_for_one", 20, 5000, table.unpack(specs))
    local before = addrs(s)
    for i = 1, 10 do sky.kill(before["k" .. i], "error", "burst") end
    for i = 1, 10 do renewed("k" .. i, before["k" .. i]) end
    take(10)
    for i = 1, 10 do t.eq(ping("k" .. i), "pong k" .. i) end
    t.eq(downs[ref], nil, "the supervisor runs on")
    stop(s, ref)
end)

t.case("intensity: past it the supervisor stops its children and exits with shutdown", function()
    local s, ref, name = sup("one_for_one", 2, 5000, "a/permanent/2000/-/lua", "b/permanent/2000/trap/lua")
    local a = sky.whereis("a")
    for i = 1, 2 do
        crash(a)
        a = renewed("a", a)
        t.eq(take(1), "start a", "restart " .. i)
    end
    local b = sky.whereis("b")
    local bref = sky.monitor(b)
    crash(a)
    local d = down_of(ref)
    t.eq(d.reason, "shutdown")
    t.eq(d.text, "reached max restart intensity")
    t.eq(down_of(bref).reason, "shutdown", "b was asked to stop")
    t.eq(take(1), "stop b")
    t.eq(sky.whereis("a"), nil)
    t.eq(sky.whereis("b"), nil)
    t.eq(sky.whereis(name), nil)
    t.raises("ENOSVC", ping, b)
end)

t.case("intensity counts only the restarts within the period", function()
    local s, ref = sup("one_for_one", 1, 150, "a/permanent/2000/-/lua")
    local a = sky.whereis("a")
    for _ = 1, 3 do
        crash(a)
        a = renewed("a", a)
        take(1)
        sky.sleep(200)
    end
    t.eq(downs[ref], nil, "still running")
    t.eq(ping("a"), "pong a")
    stop(s, ref)
end)

t.case("a child that cannot be started again is retried, each try a restart, up to the intensity", function()
    local _, ref = sup("one_for_one", 3, 5000, "a/permanent/2000/-/lua", "b/permanent/2000/trap/lua")
    local stopper = sky.spawn("proc_child", "register", "a_nomore")
    crash("a")
    local d = down_of(ref)
    t.eq(d.reason, "shutdown")
    t.eq(d.text, "reached max restart intensity")
    t.eq(take(1), "stop b", "no start of a got through")
    t.eq(sky.whereis("b"), nil)
    sky.kill(stopper)
    wait_until(function() return sky.whereis("a_nomore") == nil end, "a_nomore gone")
end)

t.case("nested: the outer restarts an inner that hit its intensity, and counts it", function()
    local s, ref = sup("one_for_one", 1, 5000, "in/permanent/5000/-/inner", "x/permanent/2000/trap/lua")
    take(0)
    local inner, w = sky.whereis("in"), sky.whereis("in_w")
    t.truthy(inner and w, "inner and its worker")
    crash(w)
    w = renewed("in_w", w) -- the inner's first restart: within its intensity
    t.eq(sky.whereis("in"), inner)
    crash(w)               -- the inner's second: past it; the outer restarts the inner
    local inner2 = renewed("in", inner)
    w = renewed("in_w", w)
    t.eq(take(2), "start in_w, start in_w")
    local x = sky.whereis("x")
    crash(w)
    crash(renewed("in_w", w)) -- the inner dies again: the outer's second restart, past its intensity
    local d = down_of(ref)
    t.eq(d.reason, "shutdown")
    t.eq(take(2), "start in_w, stop x")
    for _, id in ipairs({ "in", "in_w", "x" }) do t.eq(sky.whereis(id), nil, id .. " gone") end
    t.raises("ENOSVC", ping, x)
    t.truthy(inner2 ~= inner)
end)

t.case("ordered shutdown: reverse order, nested supervisors first stop their own children", function()
    local s, ref = sup("one_for_one", 1, 5000, "a/permanent/2000/trap/lua", "in/permanent/5000/-/inner",
        "c/permanent/2000/trap/lua")
    take(0)
    local d = stop(s, ref)
    t.eq(d.reason, "shutdown")
    t.eq(take(2), "stop c, stop a")
    for _, id in ipairs({ "a", "in", "in_w", "c" }) do t.eq(sky.whereis(id), nil, id .. " gone") end
end)

t.case("ordered shutdown: a child too slow to stop is killed after its shutdown time; brutal_kill", function()
    local s, ref = sup("one_for_one", 1, 5000, "bk/permanent/brutal_kill/trap/lua", "slow/permanent/100/slow/lua")
    local slow, bk = sky.whereis("slow"), sky.whereis("bk")
    local sref, bref = sky.monitor(slow), sky.monitor(bk)
    local t0 = sky.now()
    local d = stop(s, ref)
    local took = sky.now() - t0
    t.eq(d.reason, "shutdown")
    t.eq(down_of(sref).reason, "killed", "slow")
    t.eq(down_of(bref).reason, "killed", "brutal_kill")
    t.eq(take(1), "stop slow", "brutal_kill gives no chance to clean up")
    t.truthy(took >= 100 and took < 2000, "stopped in " .. took .. " ms")
end)

t.case("a C module's child (sky.launch_link) restarts", function()
    local s, ref = sup("one_for_one", 3, 5000, "e/permanent/2000/-/c")
    local e = addrs(s).e
    t.eq(sky.rawcall(e, 7, "hello", 1000), "hello")
    sky.kill(e, "error", "c crash")
    local e2 = wait_until(function()
        local a = addrs(s).e
        return a and a ~= e and a
    end, "e restarted")
    t.eq(sky.rawcall(e2, 7, "again", 1000), "again")
    stop(s, ref)
    t.raises("ENOSVC", sky.rawcall, e2, 7, "x", 1000)
end)

t.case("callers get clean errors while a child restarts, and answers after", function()
    local s, ref = sup("one_for_one", 3, 5000, "a/permanent/2000/-/lua")
    local a = sky.whereis("a")
    sky.rawsend(a, 1, "exit error crashed")
    local ok, e = pcall(ping, a)
    t.truthy(not ok and (e.code == "ENOSVC" or e.code == "EEXIT"), "the old one: " .. tostring(e))
    local answered = wait_until(function()
        local ok, r = pcall(ping, "a")
        if ok then return r end
        t.truthy(r.code == "ENOSVC" or r.code == "EEXIT", "by name: " .. tostring(r))
    end, "a answering")
    t.eq(answered, "pong a")
    stop(s, ref)
end)

t.case("which_children, terminate_child, restart_child, delete_child", function()
    local s, ref, name = sup("one_for_one", 1, 5000, "a/permanent/2000/trap/lua", "b/temporary/2000/-/lua")
    local cs = supervisor.which_children(name)
    t.eq(#cs, 2)
    t.eq(cs[1].id, "a")
    t.eq(cs[1].addr, sky.whereis("a"))
    t.eq(cs[1].type, "worker")
    t.eq(cs[2].restart, "temporary")
    supervisor.terminate_child(s, "a")
    t.eq(take(1), "stop a")
    t.eq(addrs(s).a, false, "terminated, not restarted")
    t.raises("EEXIST", supervisor.delete_child, s, "b")
    local a = supervisor.restart_child(s, "a")
    t.eq(take(1), "start a")
    t.eq(sky.whereis("a"), a)
    t.raises("EEXIST", supervisor.restart_child, s, "a")
    supervisor.terminate_child(s, "b") -- temporary: its spec goes too
    t.eq(#supervisor.which_children(s), 1)
    t.raises("ENOENT", supervisor.terminate_child, s, "b")
    supervisor.terminate_child(s, "a")
    take(1)
    supervisor.delete_child(s, "a")
    t.eq(#supervisor.which_children(s), 0)
    t.raises("EINVAL", sky.rawcall, s, supervisor.REQUEST, "reboot")
    -- a child id that is not a name or an address is an error object
    for _, f in ipairs({ supervisor.terminate_child, supervisor.restart_child, supervisor.delete_child }) do
        t.raises("EINVAL", f, s, {})
        t.raises("EINVAL", f, s, nil)
        t.raises("EINVAL", f, s, "two words")
        t.eq(tostring(t.raises("EINVAL", f, s, {})):sub(1, 20), "EINVAL: supervisor: ")
    end
    t.raises("ENOTSUP", sky.rawcall, s, 1, "ping")
    t.eq(downs[ref], nil, "none of it was a restart")
    stop(s, ref)
end)

t.case("start_child: a new spec, started last, supervised like the others", function()
    local s, ref = sup("one_for_one", 2, 5000, "a/permanent/2000/trap/lua")
    local n = supervisor.start_child(s, { id = "n", start = { service = "sup_child", args = { "n", "trap" } } })
    t.eq(take(1), "start n")
    t.eq(sky.whereis("n"), n)
    local cs = supervisor.which_children(s)
    t.eq(#cs, 2)
    t.eq(cs[2].id, "n")
    t.eq(cs[2].addr, n)
    t.eq(cs[2].restart, "permanent")
    t.eq(cs[2].type, "worker")
    -- the raw text form, any language's
    local r = math.tointeger(tonumber(sky.rawcall(s, supervisor.REQUEST,
        "start_child\nid=r\nservice=sup_child\nargs=r trap\nrestart=transient\nshutdown=1000")))
    t.eq(take(1), "start r")
    t.eq(sky.whereis("r"), r)
    t.eq(supervisor.which_children(s)[3].restart, "transient")
    -- restarted as a static child is
    crash(n)
    n = renewed("n", n)
    t.eq(take(1), "start n")
    t.eq(addrs(s).n, n)
    -- ids in use, bad specs, a child that cannot start
    local e = t.raises("EEXIST", supervisor.start_child, s, { id = "a", start = { service = "sup_child", args = "a" } })
    t.truthy(e.message:find("child a is running", 1, true), e.message)
    supervisor.terminate_child(s, "r")
    t.eq(take(1), "stop r")
    e = t.raises("EEXIST", sky.rawcall, s, supervisor.REQUEST, "start_child\nid=r\nservice=sup_child")
    t.truthy(e.message:find("child r exists (not running)", 1, true), e.message)
    e = t.raises("EINVAL", sky.rawcall, s, supervisor.REQUEST, "start_child\nid=x\nservice=sup_child\nrestart=sometimes")
    t.truthy(e.message:find("child x: restart must be permanent, transient or temporary", 1, true), e.message)
    e = t.raises("EINVAL", sky.rawcall, s, supervisor.REQUEST, "start_child\nid=x\nservce=sup_child")
    t.truthy(e.message:find('"servce=sup_child" is not KEY=VALUE', 1, true), e.message)
    e = t.raises("EINVAL", sky.rawcall, s, supervisor.REQUEST, "start_child\nid=x")
    t.truthy(e.message:find("child x: start must be", 1, true), e.message)
    e = t.raises("EINVAL", sky.rawcall, s, supervisor.REQUEST, "start_child x y")
    t.truthy(e.message:find("start_child takes a child spec", 1, true), e.message)
    e = t.raises("EINVAL", supervisor.start_child, s, { id = "f", start = function() end })
    t.truthy(e.message:find("no function", 1, true), e.message)
    e = t.raises("EINVAL", supervisor.start_child, s, { id = "x", start = { service = "sup_child" }, shutdown = -1 })
    t.truthy(e.message:find("child x: shutdown must be", 1, true), e.message)
    e = t.raises("EFAIL", supervisor.start_child, s, { id = "bad", start = { service = "sup_child", args = "bad fail" } })
    t.truthy(e.message:find("child bad failed to start", 1, true), e.message)
    t.eq(#supervisor.which_children(s), 3, "no spec kept for it")
    t.eq(downs[ref], nil, "none of it stopped the supervisor")
    -- ordered shutdown: the ones added last stop first
    stop(s, ref)
    t.eq(take(2), "stop n, stop a")
end)

t.case("simple_one_for_one: children of the template with their args, restarted alone", function()
    local s, ref = sup("simple_one_for_one", 3, 5000, "w/transient/2000/-/tmpl")
    t.eq(#supervisor.which_children(s), 0, "none at first")
    local w1 = supervisor.start_child(s, { "w1", "trap" })
    local w2 = supervisor.start_child(s, "w2 trap")
    local w3 = supervisor.start_child(s, { "w3" })
    t.eq(take(3), "start w1, start w2, start w3")
    t.eq(sky.whereis("w1"), w1)
    local cs = supervisor.which_children(s)
    t.eq(#cs, 3)
    t.eq(cs[1].id, tostring(w1), "anonymous: the id is the address")
    t.eq(cs[1].addr, w1)
    t.eq(cs[2].addr, w2)
    t.eq(cs[1].restart, "transient", "the template's")
    crash(w2)
    local w2b = renewed("w2", w2)
    t.eq(take(1), "start w2", "only it restarts, with its args")
    t.eq(sky.whereis("w1"), w1)
    t.eq(sky.whereis("w3"), w3)
    cs = supervisor.which_children(s)
    t.eq(cs[2].addr, w2b, "in its place")
    t.eq(cs[2].id, tostring(w2b))
    crash(w3, "normal") -- transient, a normal exit: forgotten
    wait_until(function() return #supervisor.which_children(s) == 2 end, "w3 forgotten")
    supervisor.terminate_child(s, w1)
    t.eq(take(1), "stop w1")
    t.eq(#supervisor.which_children(s), 1, "a terminated child is forgotten")
    t.raises("ENOENT", supervisor.terminate_child, s, w1)
    t.raises("ENOTSUP", supervisor.restart_child, s, w2b)
    t.raises("ENOTSUP", supervisor.delete_child, s, w2b)
    local e = t.raises("EINVAL", supervisor.start_child, s, { id = "x", start = { service = "sup_child" } })
    t.truthy(e.message:find("takes args", 1, true), e.message)
    e = t.raises("EFAIL", supervisor.start_child, s, { "w4", "fail" })
    t.truthy(e.message:find("child w failed to start", 1, true), e.message)
    t.eq(#supervisor.which_children(s), 1)
    supervisor.start_child(s, { "w5", "trap" })
    t.eq(take(1), "start w5")
    t.eq(downs[ref], nil, "the supervisor runs on")
    stop(s, ref)
    t.eq(take(2), "stop w5, stop w2")
    t.eq(sky.whereis("w5"), nil)
end)

t.case("simple_one_for_one: past the intensity every child stops", function()
    local s, ref = sup("simple_one_for_one", 1, 5000, "w/permanent/2000/-/tmpl")
    local a = supervisor.start_child(s, { "sa" })
    local b = supervisor.start_child(s, { "sb", "trap" })
    t.eq(take(2), "start sa, start sb")
    crash(a)
    a = renewed("sa", a)
    t.eq(take(1), "start sa")
    crash(a)
    local d = down_of(ref)
    t.eq(d.reason, "shutdown")
    t.eq(d.text, "reached max restart intensity")
    t.eq(take(1), "stop sb")
    t.eq(sky.whereis("sa"), nil)
    t.raises("ENOSVC", ping, b)
end)

t.case("simple_one_for_one: a template's start function gets the start_child args", function()
    local s, ref = sup("simple_one_for_one", 1, 5000, "f/temporary/2000/-/fntmpl")
    local f1 = supervisor.start_child(s, { "f1", "trap" })
    t.eq(take(1), "start f1")
    t.eq(sky.whereis("f1"), f1)
    crash(f1)
    wait_until(function() return #supervisor.which_children(s) == 0 end, "the temporary child forgotten")
    t.eq(take(0), "", "not restarted")
    stop(s, ref)
end)

t.case("a supervisor obeys only its parent; other services' exits are ignored", function()
    local s, ref = sup("one_for_one", 1, 5000, "a/permanent/2000/trap/lua")
    local other = sky.spawn("proc_child")
    sky.rawcall(other, 1, "send_exit " .. s .. " shutdown")
    sky.rawcall(other, 1, "send_exit " .. s .. " error")
    sky.sleep(50)
    t.eq(downs[ref], nil, "not its parent: ignored")
    t.eq(addrs(s).a, sky.whereis("a"))
    t.eq(take(0), "", "its child left alone")
    sky.kill(other)
    local d = stop(s, ref) -- this service spawned it
    t.eq(d.reason, "shutdown")
    t.eq(take(1), "stop a")
end)

t.case("bad specs and children that fail to start fail the supervisor's spawn", function()
    local e = t.raises("EINVAL", sky.spawn, "sup_under_test", "bad1", "one_for_none", 1, 5000)
    t.truthy(e.message:find("strategy must be one_for_one, one_for_all, rest_for_one or simple_one_for_one", 1, true),
        e.message)
    e = t.raises("EINVAL", sky.spawn, "sup_under_test", "bad0", "simple_one_for_one", 1, 5000, "a/permanent/2000/-/tmpl",
        "b/permanent/2000/-/tmpl")
    t.truthy(e.message:find("exactly one child spec, its template (has 2)", 1, true), e.message)
    e = t.raises("EINVAL", sky.spawn, "sup_under_test", "bad2", "one_for_one", -1, 5000)
    t.truthy(e.message:find("intensity must be an integer >= 0", 1, true), e.message)
    e = t.raises("EINVAL", sky.spawn, "sup_under_test", "bad3", "one_for_one", 1, 5000, "a/sometimes/2000/-/lua")
    t.truthy(e.message:find("child a: restart must be permanent, transient or temporary", 1, true), e.message)
    e = t.raises("EINVAL", sky.spawn, "sup_under_test", "bad4", "one_for_one", 1, 5000, "a/permanent/soon/-/lua")
    t.truthy(e.message:find("child a: shutdown must be", 1, true), e.message)
    e = t.raises("EINVAL", sky.spawn, "sup_under_test", "bad5", "one_for_one", 1, 5000, "a/permanent/2000/-/lua",
        "a/permanent/2000/-/lua")
    t.truthy(e.message:find("two children have the id a", 1, true), e.message)
    e = t.raises("EFAIL", sky.spawn, "sup_under_test", "bad6", "one_for_one", 1, 5000, "a/permanent/2000/trap/lua",
        "b/permanent/2000/fail/lua")
    t.truthy(e.message:find("child b failed to start", 1, true), e.message)
    t.eq(take(1), "start a")
    wait_until(function() return sky.whereis("a") == nil end, "a killed")
    t.eq(sky.whereis("bad6"), nil)
end)

sky.dispatch(function(m)
    if m.kind == "oneway" and m.type == 2 then
        events[#events + 1] = m.data
    elseif m.data == "run" then
        return t.run()
    end
end)
