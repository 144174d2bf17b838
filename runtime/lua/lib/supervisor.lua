-- sky.supervisor: Erlang/OTP's supervisor for sky services
-- (docs/process-model.md, "Supervisors"). Embedded into libsky: any Lua
-- service may `require "sky.supervisor"`.
--
--   local supervisor = require "sky.supervisor"
--   supervisor.run {
--       strategy = "one_for_one", intensity = 3, period = 5000,
--       children = {
--           { id = "db", start = { service = "db", args = { "x" } } },
--           { id = "cache", start = { module = "cache", args = "64" }, restart = "transient" },
--       },
--   }
--
-- The service that calls run becomes the supervisor: it traps exits,
-- starts its children in order (linked), restarts them by its strategy
-- and their restart types, and past the restart intensity stops them all
-- in reverse order and exits with "shutdown". A trapped exit with any
-- other reason than "normal" from its parent (sky.parent(): the service
-- that spawned it) stops it the same way, with that reason; from another
-- service that is not a child it is ignored, unless the supervisor has no
-- parent (spawned from outside the node), which obeys anyone's.
--
-- supervisor.start_child adds a child spec to a running supervisor; a
-- "simple_one_for_one" supervisor has one spec, a template, and
-- start_child starts anonymous children of it with extra args.
--
-- Everything the supervisor does runs one event at a time (a child's
-- exit, a request), in order: a handler queues its event, and an event is
-- handled only once the one before it is done, so a restart that waits
-- for children to stop never interleaves with another.
local supervisor = {}

-- Raw request type ids: a request to a supervisor ("supv"), and its wait
-- for a child's down, a call to itself ("supw").
supervisor.REQUEST = 0x73757076
local WAIT = 0x73757077

-- How long a killed child may take to go (a kill cannot be trapped, so
-- this is only a bound).
local KILL_WAIT_MS = 5000

local STRATEGIES = { one_for_one = true, one_for_all = true, rest_for_one = true, simple_one_for_one = true }
local RESTARTS = { permanent = true, transient = true, temporary = true }
local TYPES = { worker = true, supervisor = true }
local DEFAULT_SHUTDOWN = { worker = 5000, supervisor = 30000 }

local function bad(fmt, ...)
    error(sky.error("EINVAL", "supervisor: " .. fmt:format(...)), 3)
end

local function is_int(v) return math.type(v) == "integer" end

-- An address as the node's log shows one: node:serial in hex.
local function show(a) return ("%04x:%08x"):format(a >> 48, a & 0xffffffffffff) end

-- A child's start arguments as a list of words (`who` names them in errors).
local function words(args, who)
    if args == nil then return {} end
    if type(args) == "string" then
        local out = {}
        for w in args:gmatch("%S+") do out[#out + 1] = w end
        return out
    end
    if type(args) ~= "table" then bad("%s: args must be a table or a string, not a %s", who, type(args)) end
    local out = {}
    for i, a in ipairs(args) do out[i] = tostring(a) end
    return out
end

-- Checks child spec c (`where` names it in errors: "children[2]") -> the
-- supervisor's record of it.
local function check_child(c, where, ids)
    if type(c) ~= "table" then bad("%s is not a table", where) end
    local id = c.id
    if type(id) ~= "string" or not id:match("^[%w_.%-]+$") then
        bad("%s: id must be a string of letters, digits, '_', '.' or '-'", where)
    end
    if ids[id] then bad("two children have the id %s", id) end
    ids[id] = true
    local s = c.start
    local start
    if type(s) == "function" then
        start = s
    elseif type(s) == "table" and (s.service ~= nil) ~= (s.module ~= nil) then
        local what = s.service or s.module
        if type(what) ~= "string" and not (s.service and type(what) == "table") then
            bad("child %s: start.%s must be a name", id, s.service and "service" or "module")
        end
        start = { service = s.service, module = s.module, args = words(s.args, "child " .. id) }
    else
        bad("child %s: start must be { service = NAME, args = ... }, { module = NAME, args = ... } or a function", id)
    end
    local restart = c.restart or "permanent"
    if not RESTARTS[restart] then bad("child %s: restart must be permanent, transient or temporary", id) end
    local ctype = c.type or "worker"
    if not TYPES[ctype] then bad("child %s: type must be worker or supervisor", id) end
    local shutdown = c.shutdown or DEFAULT_SHUTDOWN[ctype]
    if shutdown ~= "brutal_kill" and not (is_int(shutdown) and shutdown > 0 and shutdown <= 0x7fffffff) then
        bad("child %s: shutdown must be a time in ms (> 0) or \"brutal_kill\"", id)
    end
    return { id = id, start = start, restart = restart, type = ctype, shutdown = shutdown }
end

local function check_spec(spec)
    if type(spec) ~= "table" then bad("run takes a table") end
    local strategy = spec.strategy or "one_for_one"
    if not STRATEGIES[strategy] then
        bad("strategy must be one_for_one, one_for_all, rest_for_one or simple_one_for_one")
    end
    local intensity, period = spec.intensity or 1, spec.period or 5000
    if not is_int(intensity) or intensity < 0 then bad("intensity must be an integer >= 0") end
    if not is_int(period) or period <= 0 then bad("period must be a time in ms (> 0)") end
    if spec.name ~= nil and type(spec.name) ~= "string" then bad("name must be a string") end
    if type(spec.children) ~= "table" then bad("children must be a list") end
    local children, ids = {}, {}
    for i, c in ipairs(spec.children) do children[i] = check_child(c, ("children[%d]"):format(i), ids) end
    if strategy == "simple_one_for_one" and #children ~= 1 then
        bad("a simple_one_for_one supervisor has exactly one child spec, its template (has %d)", #children)
    end
    return { strategy = strategy, intensity = intensity, period = period, name = spec.name, children = children }
end

-- ---- a child spec as text: the raw start_child request ----
--
--   start_child
--   id=ID
--   service=NAME            (or module=NAME)
--   args=WORD WORD ...
--   restart=permanent       (or transient, temporary)
--   shutdown=5000           (ms, or brutal_kill)
--   type=worker             (or supervisor)
--
-- One KEY=VALUE a line; id and service or module are required, the others
-- have the defaults of a static spec. A start function cannot be sent.

local SPEC_KEYS = { id = true, service = true, module = true, args = true, restart = true, shutdown = true, type = true }

-- The lines after "start_child" -> a child spec (checked by check_child).
local function spec_of_text(text)
    local c, start = {}, {}
    for line in text:gmatch("[^\n]+") do
        local k, v = line:match("^(%w+)=(.*)$")
        if not SPEC_KEYS[k] then
            bad("start_child: %q is not KEY=VALUE with the key id, service, module, args, restart, shutdown or type",
                line)
        end
        if k == "service" or k == "module" or k == "args" then
            start[k] = v
        elseif k == "shutdown" then
            c.shutdown = math.tointeger(tonumber(v)) or v
        else
            c[k] = v
        end
    end
    c.start = start
    return c
end

-- Words as one line of a request: none may be empty or hold a blank.
local function line_of(args, who)
    local ws = words(args, who)
    for i, w in ipairs(ws) do
        if w == "" or w:find("%s") then bad("%s: args[%d] is empty or has blanks", who, i) end
    end
    return table.concat(ws, " ")
end

-- A child spec -> the lines after "start_child".
local function text_of_spec(spec)
    local c = check_child(spec, "start_child's spec", {})
    local s = c.start
    local what = type(s) == "table" and (s.service or s.module)
    if type(what) ~= "string" or not what:match("^%S+$") then
        bad("child %s: start_child sends the spec to the supervisor, so start must be { service = NAME, args = ... }"
            .. " or { module = NAME, args = ... }, NAME a word (no function, no spawn options)", c.id)
    end
    return ("\nid=%s\n%s=%s\nargs=%s\nrestart=%s\nshutdown=%s\ntype=%s"):format(c.id,
        s.service and "service" or "module", what, line_of(s.args, "child " .. c.id), c.restart, c.shutdown, c.type)
end

-- The error of child c that failed to start (err: as raised).
local function start_failed(label, c, err)
    local msg = type(err) == "table" and err.message or tostring(err)
    return { code = type(err) == "table" and err.code or "EFAIL",
             message = ("supervisor %s: child %s failed to start: %s"):format(label, c.id, msg) }
end

local running = false

-- Makes the calling service the supervisor of spec.children (see the top
-- of this file). Starts the children before it returns: if one fails to
-- start, those started are killed and run raises its error (at load time,
-- the supervisor's spawn fails with it).
function supervisor.run(spec)
    if running then bad("run was called already in this service") end
    local sup = check_spec(spec)
    running = true
    local self = sky.self()
    local label = sup.name or show(self)
    local parent = sky.parent()   -- the only non-child it obeys (nil: anyone)
    local sofo = sup.strategy == "simple_one_for_one"
    local template = sofo and sup.children[1] or nil
    local children = sofo and {} or sup.children -- in start order
    local by_addr = {}            -- a running child's address -> its record
    local restarts = {}           -- times of the restarts in the period
    local queue, busy, stopped = {}, false, false
    local downs, waiters = {}, {} -- monitor ref -> the down; ref -> the deferred wait

    local function log(fmt, ...) sky.log(("supervisor %s: " .. fmt):format(label, ...)) end

    -- Starts child c: its start, with c.extra (a simple_one_for_one
    -- child's start_child args) appended to the args or passed to the
    -- function.
    local function start(c)
        local s, extra = c.start, c.extra or {}
        local ok, a
        if type(s) == "function" then
            ok, a = pcall(s, table.unpack(extra))
        else
            local args = table.move(extra, 1, #extra, #s.args + 1, table.move(s.args, 1, #s.args, 1, {}))
            if s.module then
                ok, a = pcall(sky.launch_link, s.module, table.unpack(args))
            else
                ok, a = pcall(sky.spawn_link, s.service, table.unpack(args))
            end
        end
        if ok and not is_int(a) then ok, a = false, "its start function returned no address" end
        if not ok then return nil, a end
        c.addr = a
        if sofo then c.id = tostring(a) end -- anonymous: known by its address
        by_addr[a] = c
        return a
    end

    local function remove(c)
        for i, x in ipairs(children) do
            if x == c then
                table.remove(children, i)
                return
            end
        end
    end

    -- Waits up to ms for the down of monitor `ref`: the reason, or nil.
    local function wait_down(ref, ms)
        if not downs[ref] then
            pcall(sky.rawcall, self, WAIT, tostring(ref), ms)
            waiters[ref] = nil
        end
        local d = downs[ref]
        downs[ref] = nil
        return d
    end

    -- Stops a running child: asks it ("shutdown"), waits up to its
    -- shutdown time, then kills it; brutal_kill kills at once.
    local function terminate(c)
        local addr = c.addr
        by_addr[addr] = nil
        c.addr = nil
        local ref = sky.monitor(addr)
        sky.unlink(addr)
        -- an exit it sent before the unlink may wait in the queue: it is
        -- not news any more
        for i = #queue, 1, -1 do
            if queue[i].addr == addr then table.remove(queue, i) end
        end
        if c.shutdown ~= "brutal_kill" then
            pcall(sky.send_exit, addr, "shutdown")
            if wait_down(ref, c.shutdown) then return end
            log("child %s did not stop within %d ms: killing it", c.id, c.shutdown)
        end
        pcall(sky.kill, addr)
        if not wait_down(ref, KILL_WAIT_MS) then sky.demonitor(ref) end
    end

    local function stop(reason, text)
        stopped = true
        for i = #children, 1, -1 do
            if children[i].addr then terminate(children[i]) end
        end
        log("stopped (%s%s)", reason, text and ": " .. text or "")
        sky.exit(reason, text)
    end

    -- Records a restart; false past the intensity (more than `intensity`
    -- restarts within `period` ms).
    local function add_restart()
        local now, kept = sky.now(), {}
        for _, t in ipairs(restarts) do
            if now - t < sup.period then kept[#kept + 1] = t end
        end
        kept[#kept + 1] = now
        restarts = kept
        return #kept <= sup.intensity
    end

    -- The children restarted with c by the strategy, in start order.
    local function group_of(c)
        if sup.strategy == "one_for_one" or sofo then return { c } end
        local g, seen = {}, sup.strategy == "one_for_all"
        for _, x in ipairs(children) do
            if x == c then seen = true end
            if seen then g[#g + 1] = x end
        end
        return g
    end

    local function restart(c)
        if not add_restart() then
            log("reached its restart intensity (%d in %d ms)", sup.intensity, sup.period)
            return stop("shutdown", "reached max restart intensity")
        end
        local group = group_of(c)
        for i = #group, 1, -1 do
            if group[i].addr then terminate(group[i]) end
        end
        for _, g in ipairs(group) do
            if g.restart == "temporary" and g ~= c then
                remove(g) -- stopped for a sibling: never restarted
            else
                local a, err = start(g)
                if not a then
                    log("child %s failed to restart: %s", g.id, tostring(err))
                    queue[#queue + 1] = { kind = "retry", child = g }
                    return
                end
                log("child %s restarted as %s", g.id, show(a))
            end
        end
    end

    local function on_child_exit(c, reason, text)
        log("child %s exited (%s%s)", c.id, reason, text and ": " .. text or "")
        by_addr[c.addr] = nil
        c.addr = nil
        if c.restart == "temporary" then return remove(c) end
        if c.restart == "transient" and (reason == "normal" or reason == "shutdown") then
            -- an anonymous child not running is no use to anyone
            if sofo then remove(c) end
            return
        end
        restart(c)
    end

    local function find(id)
        for _, c in ipairs(children) do
            if c.id == id then return c end
        end
        error({ code = "ENOENT", message = "supervisor " .. label .. ": no child " .. tostring(id) })
    end

    -- start_child: `text` is the spec's lines (spec_of_text), or for a
    -- simple_one_for_one supervisor the args of a new child of its
    -- template. The child starts last in the start order.
    local function start_child(text)
        local c
        if sofo then
            if text:find("\n") then
                bad("a simple_one_for_one supervisor's start_child takes args (one line), not a child spec")
            end
            c = { start = template.start, restart = template.restart, type = template.type,
                  shutdown = template.shutdown, extra = words(text, "start_child") }
        else
            if text:match("^[^\n]*%S") then
                bad("start_child takes a child spec (KEY=VALUE lines); args are for simple_one_for_one")
            end
            local spec = spec_of_text(text)
            for _, x in ipairs(children) do
                if x.id == spec.id then
                    error({ code = "EEXIST", message = ("supervisor %s: child %s %s"):format(label, x.id,
                        x.addr and "is running" or "exists (not running)") })
                end
            end
            c = check_child(spec, "start_child's spec", {})
        end
        children[#children + 1] = c
        local a, err = start(c)
        if not a then
            remove(c)
            error(start_failed(label, c.id and c or template, err), 0)
        end
        log("child %s started", c.id)
        return tostring(a)
    end

    -- Requests that change the children (which_children needs no turn).
    local function request(cmd, arg)
        if cmd == "start_child" then return start_child(arg) end
        local id = arg
        local c = find(id)
        if cmd == "terminate_child" then
            if c.addr then terminate(c) end
            if sofo or c.restart == "temporary" then remove(c) end
            return "ok"
        elseif sofo then
            error({ code = "ENOTSUP", message = "supervisor " .. label .. ": " .. cmd
                .. " is not for a simple_one_for_one supervisor's children" })
        elseif cmd == "restart_child" then
            if c.addr then error({ code = "EEXIST", message = "child " .. id .. " is running" }) end
            local a, err = start(c)
            if not a then error(err, 0) end
            return tostring(a)
        end
        if c.addr then error({ code = "EEXIST", message = "child " .. id .. " is running" }) end
        remove(c) -- delete_child
        return "ok"
    end

    local function handle(e)
        if e.kind == "exit" then
            local c = by_addr[e.addr]
            if c then return on_child_exit(c, e.reason, e.text) end
            if e.reason == "normal" then return end
            if parent == nil or e.addr == parent then return stop(e.reason, e.text) end
            log("ignored an exit (%s) from %s, neither its parent nor a child", e.reason, show(e.addr))
        elseif e.kind == "retry" then
            if e.child.addr == nil then restart(e.child) end
        else
            local ok, r = pcall(request, e.cmd, e.arg)
            if ok then e.reply(r) else e.reply(nil, r) end
        end
    end

    -- Handles the first queued event, then hands the next to a job of its
    -- own (sky.timeout 0): the instruction budget is per job, so a pile
    -- of events cannot exhaust it.
    local function drain()
        local ok, err = pcall(handle, table.remove(queue, 1))
        if not ok and not stopped then
            log("failed: %s", tostring(err))
            stop("error", tostring(err))
        end
        if #queue == 0 or stopped then
            busy = false
        elseif not pcall(sky.timeout, 0, drain) then
            return drain()
        end
    end

    local function enqueue(e)
        if stopped then return end
        queue[#queue + 1] = e
        if busy then return end
        busy = true
        drain()
    end

    sky.trap_exit(true)
    sky.on_exit(function(addr, reason, text) enqueue({ kind = "exit", addr = addr, reason = reason, text = text }) end)
    sky.on_down(function(ref, _, reason, text)
        downs[ref] = { reason = reason, text = text }
        local w = waiters[ref]
        if w then
            waiters[ref] = nil
            w("")
        end
    end)
    sky.dispatch(function(m)
        if m.kind ~= "request" then return end
        if m.type == WAIT and m.source == self then
            local ref = math.tointeger(tonumber(m.data))
            if ref and not downs[ref] then waiters[ref] = sky.defer() end
            return ""
        end
        if m.type ~= supervisor.REQUEST then
            error({ code = "ENOTSUP", message = "a supervisor answers only supervisor requests" })
        end
        local cmd = m.data:match("^%S+")
        if cmd == "start_child" then
            return enqueue({ kind = "request", cmd = cmd, arg = m.data:sub(#cmd + 1), reply = sky.defer() })
        end
        local id = m.data:match("^%S+%s+(%S+)$") or ""
        if cmd == "which_children" then
            local lines = {}
            for _, c in ipairs(children) do
                lines[#lines + 1] = ("%s\t%s\t%s\t%s"):format(c.id, c.addr or "-", c.type, c.restart)
            end
            return table.concat(lines, "\n")
        end
        if cmd ~= "terminate_child" and cmd ~= "restart_child" and cmd ~= "delete_child" or id == "" then
            error({ code = "EINVAL", message = "supervisor requests: which_children, start_child SPEC-OR-ARGS, "
                .. "terminate_child ID, restart_child ID, delete_child ID" })
        end
        enqueue({ kind = "request", cmd = cmd, arg = id, reply = sky.defer() })
    end)
    if sup.name then sky.register(sup.name) end

    for i, c in ipairs(children) do
        local a, err = start(c)
        if not a then
            for j = i - 1, 1, -1 do
                if children[j].addr then pcall(sky.kill, children[j].addr, "shutdown") end
            end
            error(start_failed(label, c, err), 0)
        end
    end
end

-- ---- asking a supervisor (from a handler, sky.start or sky.timeout) ----

local function ask(sup, text, timeout_ms) return sky.rawcall(sup, supervisor.REQUEST, text, timeout_ms) end

-- A child's id as a request carries it: a name without blanks, or an
-- address (a simple_one_for_one child's).
local function id_arg(id, who)
    if is_int(id) then return tostring(id) end
    if type(id) == "string" and id:match("^%S+$") then return id end
    bad("%s: the child id is a name without blanks or an address, not %s", who,
        type(id) == "string" and ("%q"):format(id) or "a " .. type(id))
end

-- The children of supervisor `sup` (an address or name), in start order:
-- { id =, addr = (nil while not running), type =, restart = }.
function supervisor.which_children(sup, timeout_ms)
    local out = {}
    for line in ask(sup, "which_children", timeout_ms):gmatch("[^\n]+") do
        local id, addr, ctype, restart = line:match("^(%S+)\t(%S+)\t(%S+)\t(%S+)$")
        out[#out + 1] = { id = id, addr = math.tointeger(tonumber(addr)), type = ctype, restart = restart }
    end
    return out
end

-- Adds child `spec` (a table as in run's children; its start a service or
-- a module, not a function) and starts it, last in the start order -> its
-- address. EINVAL: a bad spec; EEXIST: its id is taken. To a
-- simple_one_for_one supervisor, pass instead the args (a list or a
-- string of words, or nil) of a new child of its template.
function supervisor.start_child(sup, what, timeout_ms)
    local text = ""
    if type(what) == "table" and (what.id ~= nil or what.start ~= nil) then
        text = text_of_spec(what)
    elseif what ~= nil then
        text = " " .. line_of(what, "start_child")
    end
    return math.tointeger(tonumber(ask(sup, "start_child" .. text, timeout_ms)))
end

-- Stops child `id` (its shutdown, as in a restart) and keeps its spec
-- (a temporary child's is removed); it is not restarted until restart_child.
-- A simple_one_for_one supervisor's child (id: its address) is removed.
function supervisor.terminate_child(sup, id, timeout_ms)
    ask(sup, "terminate_child " .. id_arg(id, "terminate_child"), timeout_ms)
end

-- Starts child `id`, which is not running -> its new address.
function supervisor.restart_child(sup, id, timeout_ms)
    return math.tointeger(tonumber(ask(sup, "restart_child " .. id_arg(id, "restart_child"), timeout_ms)))
end

-- Removes the spec of child `id`, which is not running.
function supervisor.delete_child(sup, id, timeout_ms)
    ask(sup, "delete_child " .. id_arg(id, "delete_child"), timeout_ms)
end

return supervisor
