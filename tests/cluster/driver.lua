-- driver.lua, on node alpha: the cases of test_cluster.sh, step by step.
-- The script calls skycluster.Ctl.Step {text = STEP, n = N} through
-- alpha's gate (cluster_client); between steps it acts on the other
-- nodes' processes (kill -9, -STOP, -CONT, a restart, an edited
-- cluster_file and SIGHUP). Each step answers a text: "ok NOTES" or
-- "FAIL WHAT WENT WRONG -- NOTES". Arguments: the cluster's tick and down
-- times (ms), as in config.lua.
local ct = require "cluster_test_sky"
local tt = require "typed_test_sky"

local tick_arg, down_arg = ...
local TICK, DOWN = tonumber(tick_arg), tonumber(down_arg)

-- What happened, as the handlers below saw it.
local ev = { node = {}, writable = 0, exits = {}, downs = {}, after = {} }
sky.trap_exit(true)
sky.on_node(function(name, what)
    if what == "writable" then
        ev.writable = ev.writable + 1
    else
        ev.node[#ev.node + 1] = { name = name, what = what, t = sky.now() }
    end
end)
sky.on_exit(function(addr, reason, text)
    ev.exits[#ev.exits + 1] = { addr = addr, reason = reason, text = text, t = sky.now() }
end)
sky.on_down(function(ref, addr, reason, text)
    ev.downs[#ev.downs + 1] = { ref = ref, addr = addr, reason = reason, text = text, t = sky.now() }
end)
sky.dispatch(function(m) -- counter.lua's oneway after its reply (type 3)
    if m.kind == "oneway" and m.type == 3 then ev.after[#ev.after + 1] = m.data end
end)

-- ---- helpers --------------------------------------------------------------

-- f(...) -> true, result | false, code, message (an error object's)
local function try(f, ...)
    local ok, r = pcall(f, ...)
    if ok then return true, r end
    if type(r) == "table" then return false, tostring(r.code), tostring(r.message) end
    return false, "raised", tostring(r)
end

-- Polls f (every `every` ms, 5 by default) for at most ms: its first
-- truthy value, or nil.
local function await(ms, f, every)
    local t = sky.now()
    while true do
        local v = f()
        if v then return v end
        if sky.now() - t > ms then return nil end
        sky.sleep(every or 5)
    end
end

-- A case's checks: check(cond, what) records what failed; text() is the
-- step's answer.
local function checks()
    local r = { fails = {}, notes = {} }
    function r.check(cond, what, ...)
        if not cond then r.fails[#r.fails + 1] = select("#", ...) > 0 and what:format(...) or what end
        return cond
    end
    function r.note(fmt, ...) r.notes[#r.notes + 1] = fmt:format(...) end
    function r.text()
        local notes = table.concat(r.notes, "; ")
        if #r.fails == 0 then return "ok " .. notes end
        return "FAIL " .. table.concat(r.fails, "; ") .. " -- " .. notes
    end
    -- a call that must work: its result, or nil with the failure recorded
    function r.call(what, f, ...)
        local ok, res, msg = try(f, ...)
        if ok then return res end
        r.fails[#r.fails + 1] = ("%s: %s: %s"):format(what, res, msg)
        return nil
    end
    -- a call that must fail with `code`: true if it did
    function r.fails_with(code, what, f, ...)
        local ok, got, msg = try(f, ...)
        if ok then return r.check(false, "%s: answered, expected %s", what, code) end
        return r.check(got == code, "%s: %s (%s), expected %s", what, got, msg, code)
    end
    return r
end

local function node_id(addr) return addr >> 48 end

-- The address of the service registered as `name` on `node`, from a reply.
local function address_on(node, name)
    local w = ct.Echo.client("lecho@" .. node):Whereis { name = name }
    if w.addr == 0 then error(sky.error("ENOSVC", ("no %s on %s"):format(name, node))) end
    return w.addr
end

local function event(name, what)
    for _, e in ipairs(ev.node) do
        if e.name == name and e.what == what then return e end
    end
end

-- Sends one raw oneway until it is taken: on EBUSY waits (2 s at most)
-- for the link's "writable", on ENODEDOWN retries 10 ms later. Counts in
-- st: sent, busy, down, no_writable (EBUSY waits that heard nothing).
local function send_taken(st, addr, ty, data)
    while true do
        local ok, code, msg = try(sky.rawsend, addr, ty, data)
        if ok then
            st.sent = st.sent + 1
            return
        end
        if code == "EBUSY" then
            st.busy = st.busy + 1
            local w0 = ev.writable
            if not await(2000, function() return ev.writable > w0 end, 1) then st.no_writable = st.no_writable + 1 end
        elseif code == "ENODEDOWN" then
            st.down = st.down + 1
            sky.sleep(10)
        else
            error(sky.error(code, msg))
        end
        if sky.now() > st.deadline then error(sky.error("ETIMEDOUT", "sending took over 30 s")) end
    end
end

local function new_sender() return { sent = 0, busy = 0, down = 0, no_writable = 0, deadline = sky.now() + 30000 } end

-- A call to typed_echo@beta's Hold (deferred, never answered) in a
-- coroutine of its own: p.done, p.ok, p.code, p.msg, p.t once it ended.
local function pending_call(timeout_ms)
    local p = { done = false }
    sky.timeout(0, function()
        local cli = tt.Echo.client("typed_echo@beta")
        p.ok, p.code, p.msg = try(cli.Hold, cli, { id = 1 }, timeout_ms)
        p.done, p.t = true, sky.now()
    end)
    return p
end

local steps = {}
local old = {}    -- addresses kept across steps
local mark = 0    -- sky.now() when the script was told to act
local pending     -- a pending_call()
local traffic     -- case 4's traffic

-- ---- the cluster is up ------------------------------------------------------

-- n = 1: beta and gamma; n = 2: beta (alpha does not know gamma).
function steps.hello(n)
    local r = checks()
    local up = await(10000, function()
        local ns = sky.nodes()
        return ns.beta and ns.beta.up and (n == 2 or (ns.gamma and ns.gamma.up))
    end)
    local names = {}
    for name, v in pairs(sky.nodes()) do names[#names + 1] = ("%s=%d%s"):format(name, v.id, v.up and "" or "(down)") end
    table.sort(names)
    r.check(up, "the other nodes did not come up within 10 s")
    r.check(sky.node() == "alpha", "sky.node() is %s", sky.node())
    r.note("sky.nodes(): %s", table.concat(names, " "))
    return r.text()
end

-- ---- 1: typed calls across nodes -------------------------------------------

function steps.typed()
    local r = checks()
    -- Lua -> C by name
    local cecho = tt.Echo.client("typed_echo@beta")
    local b = r.call("Lua->C typed_echo@beta Bump", cecho.Bump, cecho, { id = 41, kind = "k" })
    if b then r.check(b.id == 42 and b.kind == "k", "Bump answered id %d kind %s", b.id, b.kind) end
    -- Lua -> Lua by name, then by the address its answer carried
    local le = ct.Echo.client("lecho@beta")
    local s = r.call("Lua->Lua lecho@beta Say", le.Say, le, { text = "hi", n = 7 })
    if s then
        r.check(s.text == "hi" and s.n == 7 and s.node == "beta", "Say answered %s/%d from %s", s.text, s.n, s.node)
        r.check(node_id(s.addr) == 2, "lecho@beta's sky.self() 0x%x is not on node id 2", s.addr)
        old.lecho_beta = s.addr
        local by = ct.Echo.client(s.addr)
        local s2 = r.call("Lua->Lua by address", by.Say, by, { text = "again" })
        if s2 then r.check(s2.addr == s.addr and s2.node == "beta" and s2.text == "again", "Say by address: %s", s2.text) end
    end
    -- Lua -> C by an address beta sent (sky.whereis there)
    local w = r.call("lecho@beta Whereis typed_echo", le.Whereis, le, { name = "typed_echo" })
    if w then
        r.check(w.addr ~= 0 and node_id(w.addr) == 2, "typed_echo on beta is at 0x%x", w.addr)
        old.cecho_beta = w.addr
        local by = tt.Echo.client(w.addr)
        local b2 = r.call("Lua->C by address", by.Bump, by, { id = 1 })
        if b2 then r.check(b2.id == 2, "Bump by address answered %d", b2.id) end
    end
    -- C -> Lua: beta's C relay calls lecho on gamma through the C stubs,
    -- by name, then by the address gamma's answer carried
    local relay = ct.Relay.client("crelay@beta")
    local f = r.call("Lua->C->Lua crelay@beta Forward to lecho@gamma", relay.Forward, relay,
        { name = "lecho@gamma", text = "via C" })
    if f then r.check(f.node == "gamma" and f.text == "via C" and f.name == "crelay", "Forward answered %s from %s", f.text, f.node) end
    local lg = ct.Echo.client("lecho@gamma")
    local g = r.call("Lua->Lua lecho@gamma Say", lg.Say, lg, { text = "g" })
    if g then
        r.check(g.node == "gamma" and node_id(g.addr) == 3, "lecho@gamma answered from %s at 0x%x", g.node, g.addr)
        local f2 = r.call("C->Lua by address: Forward to gamma's lecho", relay.Forward, relay, { addr = g.addr, text = "by address" })
        if f2 then r.check(f2.node == "gamma" and f2.addr == g.addr, "Forward by address answered from %s", f2.node) end
    end
    -- and back: the C relay on beta calls alpha's lecho, whose address
    -- (its sky.self()) went across in the request
    local mine = sky.whereis("lecho")
    if r.check(mine and node_id(mine) == 1, "alpha's lecho at %s", tostring(mine)) then
        local f3 = r.call("C on beta -> Lua on alpha by an address sent across", relay.Forward, relay, { addr = mine, text = "home" })
        if f3 then r.check(f3.node == "alpha" and f3.addr == mine, "Forward to alpha answered from %s", f3.node) end
    end
    r.note("Lua->C, Lua->Lua, C->Lua by name@node and by address")
    return r.text()
end

-- ---- 2: a oneway flood, counted to the last message --------------------------

function steps.flood(n)
    local r = checks()
    local counter = address_on("beta", "counter")
    sky.rawcall(counter, 11, "")
    local st, w0 = new_sender(), ev.writable
    local t0 = sky.now()
    for i = 1, n do
        send_taken(st, counter, 1, "0123456789")
        if i % 5000 == 0 then sky.sleep(0) end
    end
    local t1 = sky.now()
    -- the count, asked after the last send: the pair's order puts the
    -- request behind every oneway (it may find the mailbox full: EBUSY;
    -- it waits for those ahead of it to be in: a slow build takes its time)
    local first, got, refused = nil, nil, 0
    await(30000, function()
        local ok, res = try(sky.rawcall, counter, 10, "", 30000)
        if not ok then
            refused = refused + 1
            return false
        end
        got = tonumber(res)
        first = first or got
        return got >= st.sent
    end, 20)
    r.check(st.sent == n, "sent %d of %d", st.sent, n)
    r.check(first == st.sent, "the first count beta answered is %s, %d sent", tostring(first), st.sent)
    r.check(got == st.sent, "beta counted %s, %d sent", tostring(got), st.sent)
    r.check(st.no_writable == 0, "%d EBUSY waits heard no writable within 2 s", st.no_writable)
    r.note("%d oneways in %d ms; EBUSY %d, ENODEDOWN %d, writable %d; beta counted %s (count refused %d times)",
        st.sent, t1 - t0, st.busy, st.down, ev.writable - w0, tostring(got), refused)
    return r.text()
end

-- ---- 3: a pair's order ------------------------------------------------------

function steps.order(n)
    local r = checks()
    local counter = address_on("beta", "counter")
    sky.rawcall(counter, 11, "")
    local big = string.rep("B", (1 << 20) - 8)
    local small = "ss" -- 8 + 2: 10 bytes
    local st, nbig = new_sender(), 0
    local t0 = sky.now()
    for i = 1, n do
        local body = small
        if i % 3 == 0 or i % 7 == 0 then
            body = big
            nbig = nbig + 1
        end
        send_taken(st, counter, 2, string.pack("<I4I4", i, 8 + #body) .. body)
    end
    local res = await(30000, function()
        local ok, res = try(sky.rawcall, counter, 12, "", 30000)
        return ok and tonumber(res:match("^%d+")) >= n and res
    end, 20)
    r.check(res, "beta did not receive the %d numbered messages within 30 s", n)
    if res then
        local got, bad, first = res:match("^(%d+) (%d+) (%S+)")
        r.check(tonumber(got) == n and tonumber(bad) == 0, "beta received %s, %s out of order or cut (first: %s)", got, bad, first)
    end
    r.note("%d messages (%d of 1 MiB) in %d ms, EBUSY %d", n, nbig, sky.now() - t0, st.busy)
    -- a reply, then a oneway of the same pair (beta -> alpha)
    local early, late, wrong = 0, 0, 0
    for k = 1, 200 do
        ev.after = {}
        local ok, ans = try(sky.rawcall, counter, 13, tostring(k))
        r.check(ok and ans == tostring(k), "call %d answered %s", k, tostring(ans))
        if #ev.after > 0 then early = early + 1 end
        if not await(2000, function() return #ev.after > 0 end, 1) then
            late = late + 1
        elseif ev.after[1] ~= tostring(k) then
            wrong = wrong + 1
        end
    end
    r.check(early == 0, "%d of 200 oneways came before the reply sent ahead of them", early)
    r.check(late == 0 and wrong == 0, "%d oneways after a reply never came, %d were another's", late, wrong)
    r.note("200 replies each followed by a oneway: in order")
    return r.text()
end

-- ---- 9: Remote's default_name "remote@beta", from Lua ------------------------

function steps.remote_lua()
    local r = checks()
    r.check(ct.Remote.default_name == "remote@beta", "Remote.default_name is %s", tostring(ct.Remote.default_name))
    local cli = ct.Remote.client()
    local w = r.call("Remote.client():Where", cli.Where, cli, { text = "from alpha" })
    if w then r.check(w.node == "beta" and w.text == "from alpha", "Where answered %s from %s", w.text, w.node) end
    r.note("the stub's default client reaches remote@beta")
    return r.text()
end

-- ---- 7: a slow receiver -----------------------------------------------------

-- n: how long to flood (ms). Attempts 1 KiB oneways to cslow on beta (2
-- ms per message for those n ms, a mailbox of 16) as fast as it can,
-- counting accepted and refused ones, then waits for beta to have handled
-- every accepted one.
function steps.slow(n)
    local r = checks()
    local slow = address_on("beta", "cslow")
    local data = string.rep("z", 1024)
    local c0 = tonumber(sky.rawcall(slow, 3, tostring(n)):match("^%d+")) -- slow from now on, for n ms
    local attempts, accepted, busy, down = 0, 0, 0, 0
    local t0 = sky.now()
    while sky.now() - t0 < n do
        for _ = 1, 256 do
            local ok, e = pcall(sky.rawsend, slow, 1, data)
            if ok then
                accepted = accepted + 1
            elseif e.code == "EBUSY" then
                busy = busy + 1
            elseif e.code == "ENODEDOWN" then
                down = down + 1
            else
                error(e)
            end
        end
        attempts = attempts + 256
        sky.sleep(1)
    end
    local t1 = sky.now()
    local count, bytes
    await(30000, function()
        local ok, res = try(sky.rawcall, slow, 1, "", 30000)
        if not ok then return false end
        local c, b = res:match("^(%d+) (%d+)")
        count, bytes = tonumber(c) - c0, tonumber(b) - c0 * 1024
        return count >= accepted
    end, 20)
    r.check(busy > 0, "no send was refused (EBUSY)")
    r.check(down == 0, "%d sends failed ENODEDOWN", down)
    r.check(count == accepted and bytes == accepted * 1024, "beta handled %s oneways (%s bytes), %d were accepted",
        tostring(count), tostring(bytes), accepted)
    r.note("%d attempts (attempted_mib=%d) in %d ms: %d accepted, %d EBUSY; beta handled %s, drained %d ms later",
        attempts, attempts >> 10, t1 - t0, accepted, busy, tostring(count), sky.now() - t1)
    return r.text()
end

-- ---- 5: a silent peer (kill -STOP), and back (kill -CONT) -----------------------

-- Before the script stops beta: watch it, and leave a call pending there.
function steps.mark()
    ev.node, ev.exits, ev.downs = {}, {}, {}
    sky.monitor_node("beta")
    pending = pending_call(20000)
    sky.sleep(100) -- the request is at beta by now
    old.lecho_now = address_on("beta", "lecho")
    mark = sky.now()
    return "ok marked"
end

function steps.stopped()
    local r = checks()
    local d = await(5000, function() return event("beta", "down") end)
    if r.check(d, "beta was not declared down within 5 s of kill -STOP") then
        local took = d.t - mark
        r.check(took <= DOWN + TICK, "beta was declared down %d ms after kill -STOP, over cluster_down_ms + a tick (%d)",
            took, DOWN + TICK)
        -- (its last tick came at most a tick before it stopped)
        r.check(took >= DOWN - 2 * TICK, "beta was declared down %d ms after kill -STOP, well before cluster_down_ms",
            took)
        r.note("declared down %d ms after kill -STOP (cluster_down_ms %d, tick %d)", took, DOWN, TICK)
    end
    await(1000, function() return pending.done end)
    r.check(pending.done and pending.code == "ENODEDOWN", "the call pending on beta ended %s (%s)",
        tostring(pending.code), tostring(pending.msg))
    if pending.done and d then r.note("the pending call failed %d ms after the down", pending.t - d.t) end
    local t = sky.now()
    r.fails_with("ENODEDOWN", "lecho@beta Say while beta is down", ct.Echo.client("lecho@beta").Say,
        ct.Echo.client("lecho@beta"), { text = "anyone?" })
    r.fails_with("ENODEDOWN", "Say by address while beta is down", ct.Echo.client(old.lecho_now).Say,
        ct.Echo.client(old.lecho_now), { text = "anyone?" })
    r.check(sky.now() - t < 100, "the calls to a down node took %d ms", sky.now() - t)
    r.check(sky.nodes().beta.up == false, "sky.nodes().beta.up is true")
    return r.text()
end

function steps.resumed()
    local r = checks()
    local t0 = sky.now()
    local u = await(10000, function() return event("beta", "up") end)
    r.check(u, "no sky.on_node(beta, up) within 10 s of kill -CONT")
    local le = ct.Echo.client("lecho@beta")
    local s = await(5000, function()
        local ok, res = try(le.Say, le, { text = "back?" })
        return ok and res
    end, 20)
    r.check(s and s.node == "beta", "calls to lecho@beta still fail 5 s after beta was up")
    r.check(s and s.addr == old.lecho_now, "lecho@beta is another service after kill -CONT")
    if u then r.note("beta up again %d ms %s this step began (after kill -CONT), calls work", math.abs(u.t - t0), u.t < t0 and "before" or "after") end
    return r.text()
end

-- ---- 4: kill -9 of beta mid-traffic -----------------------------------------

function steps.kill_prep()
    local r = checks()
    ev.node, ev.exits, ev.downs = {}, {}, {}
    local target = address_on("beta", "lecho")
    old.linked = target
    sky.link(target)
    old.ref = sky.monitor(target)
    pending = pending_call(20000)
    local counter = address_on("beta", "counter")
    traffic = { gamma_ok = 0, gamma_fail = {}, beta_sent = 0, beta_down = 0, beta_other = 0, stop = false, running = 2 }
    sky.timeout(0, function() -- gamma serves alpha throughout
        local lg = ct.Echo.client("lecho@gamma")
        while not traffic.stop do
            local ok, code, msg = try(lg.Say, lg, { text = "still there?" }, 1000)
            if ok then
                traffic.gamma_ok = traffic.gamma_ok + 1
            else
                traffic.gamma_fail[#traffic.gamma_fail + 1] = code .. ": " .. msg
            end
            sky.sleep(2)
        end
        traffic.running = traffic.running - 1
    end)
    sky.timeout(0, function() -- and oneways go to beta until it is gone
        while not traffic.stop do
            local ok, code = try(sky.rawsend, counter, 1, "x")
            if ok then
                traffic.beta_sent = traffic.beta_sent + 1
            elseif code == "ENODEDOWN" then
                traffic.beta_down = traffic.beta_down + 1
            else
                traffic.beta_other = traffic.beta_other + 1
            end
            sky.sleep(1)
        end
        traffic.running = traffic.running - 1
    end)
    sky.sleep(200)
    r.check(#ev.exits == 0 and #ev.downs == 0, "the link or monitor of lecho on beta fired before the kill: %s",
        ev.exits[1] and ev.exits[1].reason or ev.downs[1] and ev.downs[1].reason)
    r.check(traffic.gamma_ok > 0 and traffic.beta_sent > 0, "no traffic yet")
    mark = sky.now()
    traffic.gamma_at_kill = traffic.gamma_ok
    return r.text()
end

-- n = 1: the build is slow to die (TSan: its memory takes a while to
-- go), and only "by the time the process is gone" counts as at once.
function steps.kill_check(n)
    local r = checks()
    local gone = sky.now() -- the script waited for the killed process to be gone
    local done = await(100, function() return pending.done end, 1)
    r.check(done, "the call pending on beta had not failed 100 ms after the killed process was gone")
    await(3000, function() return pending.done and #ev.exits > 0 and #ev.downs > 0 end)
    r.check(pending.done and pending.code == "ENODEDOWN", "the call pending on beta ended %s (%s)",
        tostring(pending.code), tostring(pending.msg))
    if pending.done then
        local took = pending.t - mark
        r.check(n == 1 or took < DOWN / 2, "the pending call failed %d ms after kill -9: not at once (cluster_down_ms %d)",
            took, DOWN)
        r.note("the pending call failed ENODEDOWN %d ms after kill -9, %d ms %s the process was gone", took,
            math.abs(gone - pending.t), pending.t <= gone and "before" or "after")
    end
    local x, d = ev.exits[1], ev.downs[1]
    r.check(x and x.addr == old.linked and x.reason == "noconnection", "the linked service's exit: %s from 0x%x",
        x and x.reason or "none", x and x.addr or 0)
    r.check(d and d.addr == old.linked and d.ref == old.ref and d.reason == "noconnection", "the monitor's down: %s",
        d and d.reason or "none")
    sky.sleep(300) -- gamma goes on serving after the kill
    traffic.stop = true
    await(3000, function() return traffic.running == 0 end)
    r.check(#traffic.gamma_fail == 0, "calls to gamma failed: %s", traffic.gamma_fail[1])
    r.check(traffic.gamma_ok > traffic.gamma_at_kill, "no call to gamma was answered after the kill")
    r.check(traffic.beta_down > 0, "no oneway to beta failed ENODEDOWN after the kill")
    r.check(traffic.beta_other == 0, "%d oneways to beta failed otherwise", traffic.beta_other)
    r.note("%d calls to gamma answered (%d after the kill), none failed; oneways to beta: %d sent, %d ENODEDOWN",
        traffic.gamma_ok, traffic.gamma_ok - traffic.gamma_at_kill, traffic.beta_sent, traffic.beta_down)
    sky.unlink(old.linked)
    return r.text()
end

-- ---- 6: beta restarted -------------------------------------------------------

function steps.restarted()
    local r = checks()
    local le = ct.Echo.client("lecho@beta")
    local s = await(10000, function()
        local ok, res = try(le.Say, le, { text = "new run" })
        return ok and res
    end, 20)
    if r.check(s, "lecho@beta did not answer within 10 s of beta's restart") then
        r.check(s.node == "beta" and s.addr ~= old.lecho_beta, "lecho@beta answered from 0x%x (the old run's 0x%x)",
            s.addr, old.lecho_beta)
    end
    r.fails_with("ENOSVC", "Say to lecho's address of beta's old run", ct.Echo.client(old.lecho_beta).Say,
        ct.Echo.client(old.lecho_beta), { text = "old" })
    r.fails_with("ENOSVC", "Bump to typed_echo's address of beta's old run", tt.Echo.client(old.cecho_beta).Bump,
        tt.Echo.client(old.cecho_beta), { id = 1 })
    local cecho = tt.Echo.client("typed_echo@beta")
    local b = r.call("typed_echo@beta Bump after the restart", cecho.Bump, cecho, { id = 9 })
    if b then r.check(b.id == 10, "Bump answered %d", b.id) end
    r.note("old addresses ENOSVC, name@beta works")
    return r.text()
end

-- ---- 8: the membership from cluster_file, re-read on SIGHUP ----------------------

function steps.hup_before()
    local r = checks()
    r.check(sky.nodes().gamma == nil, "sky.nodes() lists gamma, which the cluster_file does not")
    r.fails_with("ENOENT", "lecho@gamma Say before gamma is a member", ct.Echo.client("lecho@gamma").Say,
        ct.Echo.client("lecho@gamma"), { text = "?" })
    r.fails_with("ENOENT", "sky.monitor_node('gamma') before gamma is a member", sky.monitor_node, "gamma")
    return r.text()
end

function steps.hup_added()
    local r = checks()
    r.check(sky.nodes().gamma, "sky.nodes() lacks gamma after SIGHUP")
    local t = sky.now()
    local lg = ct.Echo.client("lecho@gamma")
    local g = r.call("lecho@gamma Say after SIGHUP added gamma", lg.Say, lg, { text = "new member" })
    if g then r.check(g.node == "gamma", "answered from %s", g.node) end
    r.note("the first call to gamma took %d ms", sky.now() - t)
    return r.text()
end

function steps.hup_prep_remove()
    old.lecho_now = address_on("beta", "lecho")
    pending = pending_call(20000)
    sky.sleep(100)
    return "ok"
end

function steps.hup_removed()
    local r = checks()
    r.check(sky.nodes().beta == nil, "sky.nodes() lists beta after SIGHUP removed it")
    await(1000, function() return pending.done end)
    r.check(pending.done and pending.code == "ENODEDOWN", "the call pending on beta ended %s (%s)",
        tostring(pending.code), tostring(pending.msg))
    r.fails_with("ENODEDOWN", "Say to lecho's address on beta, removed", ct.Echo.client(old.lecho_now).Say,
        ct.Echo.client(old.lecho_now), { text = "?" })
    r.fails_with("ENOENT", "lecho@beta Say, beta removed", ct.Echo.client("lecho@beta").Say,
        ct.Echo.client("lecho@beta"), { text = "?" })
    local lg = ct.Echo.client("lecho@gamma")
    r.call("lecho@gamma Say", lg.Say, lg, { text = "still" })
    return r.text()
end

ct.Ctl.serve {
    Step = function(req)
        local f = steps[req.text]
        if not f then return { text = "FAIL no step " .. req.text } end
        local ok, res = pcall(f, req.n)
        if not ok then return { text = ("FAIL step %s raised %s"):format(req.text, tostring(res)) } end
        return { text = res }
    end,
}
