-- Bad arguments to every function of the `sky` module and every method of
-- its socket objects (docs/lua.md, "Errors"): each raises an error object,
-- a table with .code (EINVAL, or the code given) and a .message naming
-- the function and the argument, never a plain string. Run by check_lua
-- (test_bad_arguments), with typed_test.proto's stubs on the service path
-- and a module path of two directories that do not exist.
local t = require "t"
local echo = require "typed_test_sky"

local BUMP = "skytest.Echo.Bump"
local fn = function() end
local liar = setmetatable({}, { __tostring = function() return 5 end })

-- The cases: { name as the message gives it, function, arguments... ,
-- arg = the argument's name in the message, code = its code if not
-- EINVAL, has = more text the message must hold }. An address or socket
-- argument is a function of the fixtures, called when the case runs.
local cases = {}
local function case(name, f, arg, ...)
    cases[#cases + 1] = { name = name, f = f, arg = arg, args = table.pack(...) }
    return cases[#cases]
end

-- `sky` functions without arguments: nothing to get wrong.
local no_args = { self = true, now = true, parent = true, shutdown = true, defer = true, node = true, nodes = true }

local S = function(f) return f end -- marks a fixture argument
local fx = {}                      -- the fixtures, made by the first case
local function me() return fx.self end
local function other() return fx.other end
local function tcp() return fx.tcp end
local function udp() return fx.udp end

case("sky.start", sky.start, "fn", 5)
case("sky.start", sky.start, "fn")
case("sky.dispatch", sky.dispatch, "fn", "x")
case("sky.spawn", sky.spawn, "name", nil)
case("sky.spawn", sky.spawn, "name", 5)
case("sky.spawn", sky.spawn, "#2", "echo", {})
case("sky.spawn", sky.spawn, "#3", "echo", "a", nil)
case("sky.spawn", sky.spawn, "#2", "echo", "a b")
case("sky.spawn", sky.spawn, "name", { name = "echo", colour = 1 })
case("sky.launch", sky.launch, "module", nil)
case("sky.launch", sky.launch, "module", 5)
case("sky.launch", sky.launch, "#2", "echo", {})
case("sky.launch", sky.launch, "module", "missing").code = "ENOENT"
case("sky.sleep", sky.sleep, "ms", 1.5)
case("sky.sleep", sky.sleep, "ms", -1)
case("sky.sleep", sky.sleep, "ms", "10")
case("sky.sleep", sky.sleep, "ms", nil)
case("sky.timeout", sky.timeout, "fn", 10, nil)
case("sky.timeout", sky.timeout, "ms", 1.5, fn)
case("sky.timeout", sky.timeout, "ms", -1, fn)
case("sky.timeout", sky.timeout, "ms", 2 ^ 31, fn)
case("sky.register", sky.register, "name", nil)
case("sky.register", sky.register, "name", 5)
case("sky.register", sky.register, "name", {})
case("sky.error", sky.error, "code", nil, "m")
case("sky.error", sky.error, "code", "", "m")
case("sky.error", sky.error, "code", "no spaces", "m")
case("sky.error", sky.error, "message", "EX", nil)
case("sky.error", sky.error, "details", "EX", "m", 5)
case("sky.whereis", sky.whereis, "name", nil)
case("sky.whereis", sky.whereis, "name", {})
case("sky.log", sky.log, "#2", "x", liar)
case("sky.rawsend", sky.rawsend, "type", S(me), "x", "y")
case("sky.rawsend", sky.rawsend, "type", S(me), -1, "")
case("sky.rawsend", sky.rawsend, "type", S(me), 1 << 32, "")
case("sky.rawsend", sky.rawsend, "bytes", S(me), 1, {})
case("sky.rawsend", sky.rawsend, "addr", {}, 1, "")
case("sky.rawsend", sky.rawsend, "addr", 1.5, 1, "")
case("sky.rawsend", sky.rawsend, "addr", nil, 1, "")
case("sky.rawcall", sky.rawcall, "type", S(me), "x")
case("sky.rawcall", sky.rawcall, "bytes", S(me), 1, {})
case("sky.rawcall", sky.rawcall, "timeout_ms", S(me), 1, "", -1)
case("sky.rawcall", sky.rawcall, "timeout_ms", S(me), 1, "", "x")
case("sky.rawcall", sky.rawcall, "addr", true, 1, "")
case("sky.send", sky.send, "method", S(me), {}, {})
case("sky.send", sky.send, "method", S(me), -1, {})
case("sky.send", sky.send, "method", S(me), 1.5, {})
case("sky.send", sky.send, "method", S(me), 0x12345678, {}).code = "ENOENT"
case("sky.send", sky.send, "method", S(me), "skytest.Echo.Nope", {}).code = "ENOENT"
case("sky.send", sky.send, "msg", S(me), BUMP, 5).has = BUMP
case("sky.send", sky.send, "msg", S(me), BUMP, "x").has = BUMP
case("sky.send", sky.send, "msg", S(me), BUMP, { id = "x" }).has = "Payload.id"
case("sky.send", sky.send, "addr", {}, BUMP, {})
case("sky.call", sky.call, "method", S(me), nil, {})
case("sky.call", sky.call, "method", S(me), 0x12345678, {}).code = "ENOENT"
case("sky.call", sky.call, "method", S(me), 2 ^ 40, {})
case("sky.call", sky.call, "msg", S(me), BUMP, true).has = BUMP
case("sky.call", sky.call, "timeout_ms", S(me), BUMP, {}, -5)
case("sky.call", sky.call, "timeout_ms", S(me), BUMP, {}, "x")
case("sky.call", sky.call, "timeout_ms", S(me), BUMP, {}, 0.5)
case("sky.call", sky.call, "addr", 0, BUMP, {})
case("sky.serve", sky.serve, "service", nil, {})
case("sky.serve", sky.serve, "service", 5, {})
case("sky.serve", sky.serve, "service", "skytest.Nope", {}).code = "ENOENT"
case("sky.serve", sky.serve, "impl", "skytest.Echo", nil)
case("sky.serve", sky.serve, "impl", "skytest.Echo", 5)
case("sky.serve", sky.serve, "impl", "skytest.Echo", { Bumpp = fn }).has = "did you mean 'Bump'?"
case("sky.serve", sky.serve, "impl", "skytest.Echo", { Bump = fn, Mirror = fn }).has = "'Mirror'"
case("sky.serve", sky.serve, "impl", "skytest.Echo", { Bump = 5 }).has = "Bump"
case("sky.serve", sky.serve, "impl", "skytest.Echo", { Bump = fn, [1] = fn })
case("sky.schema", sky.schema, "file_name", nil, "")
case("sky.schema", sky.schema, "file_name", 5, "")
case("sky.schema", sky.schema, "descriptor_set", "x.proto", nil)
case("sky.schema", sky.schema, "descriptor_set", "x.proto", {})
case("sky.schema", sky.schema, "descriptor_set", "x.proto", "not protobuf").code = "EBADMSG"
case("sky.exit", sky.exit, "reason", "bogus")
case("sky.exit", sky.exit, "reason", 5)
case("sky.exit", sky.exit, "text", "error", {})
case("sky.link", sky.link, "addr", {})
case("sky.link", sky.link, "addr", 1.5)
case("sky.link", sky.link, "addr", nil)
case("sky.unlink", sky.unlink, "addr", {})
case("sky.monitor", sky.monitor, "addr", false)
case("sky.demonitor", sky.demonitor, "ref", "x")
case("sky.demonitor", sky.demonitor, "ref", 1.5)
case("sky.demonitor", sky.demonitor, "ref", nil)
case("sky.kill", sky.kill, "addr", {})
case("sky.kill", sky.kill, "reason", S(other), "bogus")
case("sky.kill", sky.kill, "reason", S(other), 7)
case("sky.kill", sky.kill, "text", S(other), "killed", {})
case("sky.send_exit", sky.send_exit, "addr", {}, "normal")
case("sky.send_exit", sky.send_exit, "reason", S(other), nil)
case("sky.send_exit", sky.send_exit, "reason", S(other), "bogus")
case("sky.send_exit", sky.send_exit, "text", S(other), "normal", fn)
case("sky.trap_exit", sky.trap_exit, "on", "yes")
case("sky.trap_exit", sky.trap_exit, "on", 1)
case("sky.trap_exit", sky.trap_exit, "on", nil)
case("sky.spawn_link", sky.spawn_link, "name", nil)
case("sky.spawn_link", sky.spawn_link, "#2", "echo", {})
case("sky.spawn_monitor", sky.spawn_monitor, "name", 5)
case("sky.spawn_monitor", sky.spawn_monitor, "#2", "echo", "")
case("sky.launch_link", sky.launch_link, "module", nil)
case("sky.launch_link", sky.launch_link, "#2", "echo", {})
case("sky.launch_link", sky.launch_link, "module", "missing").code = "ENOENT"
case("sky.launch_monitor", sky.launch_monitor, "module", {})
case("sky.launch_monitor", sky.launch_monitor, "module", "missing").code = "ENOENT"
case("sky.on_exit", sky.on_exit, "fn", 5)
case("sky.on_down", sky.on_down, "fn", "f")
case("sky.on_node", sky.on_node, "fn", "f")
case("sky.monitor_node", sky.monitor_node, "node", nil)
case("sky.monitor_node", sky.monitor_node, "node", {})
case("sky.monitor_node", sky.monitor_node, "node", "nowhere").code = "ENOENT" -- no cluster: no such node
case("sky.demonitor_node", sky.demonitor_node, "node", 5)
case("sky.demonitor_node", sky.demonitor_node, "node", nil)
local c = case("sky.send", sky.send, "addr", "x@nowhere", BUMP, {})
c.code, c.has = "ENOENT", "no node named 'nowhere'"
case("sky.connect", sky.connect, "host", nil, 1)
case("sky.connect", sky.connect, "host", {}, 1)
case("sky.connect", sky.connect, "port", "127.0.0.1", "x")
case("sky.connect", sky.connect, "port", "127.0.0.1", 0)
case("sky.connect", sky.connect, "port", "127.0.0.1", 70000)
case("sky.connect", sky.connect, "timeout_ms", "127.0.0.1", 1, -1)
case("sky.listen", sky.listen, "port", "x", fn)
case("sky.listen", sky.listen, "port", -1, fn)
case("sky.listen", sky.listen, "fn", 0, nil)
case("sky.listen", sky.listen, "host", 0, fn, {})
case("sky.udp", sky.udp, "host", {})
case("sky.udp", sky.udp, "port", "127.0.0.1", "x")
case("sky.udp", sky.udp, "port", "127.0.0.1", 70000)

-- socket methods: m(self, ...); "self" is a bad socket
local function method(name) return function(s, ...) return s[name](s, ...) end end
local function raw(name) return function(...) return fx.methods[name](...) end end
case("s:read", method("read"), "n", S(tcp), -1)
case("s:read", method("read"), "n", S(tcp), "x")
case("s:read", method("read"), "n", S(tcp), 1.5)
case("s:read", raw("read"), "self", 5)
case("s:read", method("read"), "self", S(udp)).has = "a TCP socket"
case("s:write", method("write"), "data", S(tcp), nil)
case("s:write", method("write"), "data", S(tcp), {})
case("s:write", method("write"), "self", S(udp), "x")
case("s:close", raw("close"), "self", {})
case("s:port", raw("port"), "self", nil)
case("s:pause", method("pause"), "on", S(tcp), "yes")
case("s:pause", raw("pause"), "self", 5, true)
case("u:recv", method("recv"), "self", S(tcp)).has = "a UDP socket"
case("u:recv", raw("recv"), "self", "x")
case("u:sendto", method("sendto"), "host", S(udp), nil, 1, "x")
case("u:sendto", method("sendto"), "port", S(udp), "127.0.0.1", 0, "x")
case("u:sendto", method("sendto"), "port", S(udp), "127.0.0.1", "x", "x")
case("u:sendto", method("sendto"), "data", S(udp), "127.0.0.1", 1, nil)
case("u:sendto", method("sendto"), "self", S(tcp), "127.0.0.1", 1, "x")

local function fixtures()
    if fx.self then return end
    fx.self = sky.self()
    fx.other = sky.spawn("echo")
    fx.listener = sky.listen(0, function(conn) fx.accepted = conn end, "127.0.0.1")
    fx.tcp = sky.connect("127.0.0.1", fx.listener:port(), 2000)
    fx.udp = sky.udp("127.0.0.1", 0)
    fx.methods = getmetatable(fx.udp).__index
end

local function show(v)
    if type(v) == "string" then return ("%q"):format(v) end
    return tostring(v)
end

local function run(c)
    local args = {}
    for i = 1, c.args.n do
        local v = c.args[i]
        if v == me or v == other or v == tcp or v == udp then v = v() end
        args[i] = v
    end
    local shown = {}
    for i = 1, c.args.n do shown[i] = show(args[i]) end
    local what = c.name .. "(" .. table.concat(shown, ", ") .. ")"
    local ok, e = pcall(c.f, table.unpack(args, 1, c.args.n))
    if ok then error(what .. ": no error", 0) end
    if type(e) ~= "table" then error(what .. ": raised a " .. type(e) .. ": " .. show(e), 0) end
    local code = c.code or "EINVAL"
    if e.code ~= code then error(what .. ": code " .. show(e.code) .. ", want " .. code .. " (" .. show(e.message) .. ")", 0) end
    if type(e.message) ~= "string" then error(what .. ": no message", 0) end
    -- an EINVAL names the argument as Lua does: "bad argument #2 (ms)"
    local parts = { c.name, c.has }
    if code == "EINVAL" then
        parts[#parts + 1] = c.arg:sub(1, 1) == "#" and "bad argument " .. c.arg or "(" .. c.arg .. ")"
        if c.arg == "self" then parts[#parts] = "bad self" end
    end
    for _, part in ipairs(parts) do
        if not e.message:find(part, 1, true) then
            error(what .. ": message " .. show(e.message) .. " does not hold " .. show(part), 0)
        end
    end
    if getmetatable(e) == nil or tostring(e) ~= e.code .. ": " .. e.message then
        error(what .. ": not an error object (tostring gives " .. show(tostring(e)) .. ")", 0)
    end
end

t.case("every bad argument raises an error object naming the function and argument", function()
    fixtures()
    local failed = {}
    for _, c in ipairs(cases) do
        local ok, e = pcall(run, c)
        if not ok then failed[#failed + 1] = tostring(e) end
    end
    if #failed > 0 then error(#failed .. " of " .. #cases .. " cases:\n  " .. table.concat(failed, "\n  "), 0) end
end)

t.case("every function has cases", function()
    fixtures()
    local named = {}
    for _, c in ipairs(cases) do named[c.name] = true end
    local missing = {}
    for k, v in pairs(sky) do
        if type(v) == "function" and not no_args[k] and not named["sky." .. k] then missing[#missing + 1] = "sky." .. k end
    end
    for k in pairs(fx.methods) do
        if not named["s:" .. k] and not named["u:" .. k] then missing[#missing + 1] = "s:" .. k end
    end
    table.sort(missing)
    t.eq(table.concat(missing, " "), "")
end)

-- the messages docs/lua.md shows
t.case("messages as the docs give them", function()
    fixtures()
    local function msg(f, ...) return tostring(t.raises("EINVAL", f, ...)) end
    t.eq(msg(sky.sleep, 1.5), "EINVAL: sky.sleep: bad argument #1 (ms): an integer from 0 to 2147483647 expected, got 1.5")
    t.eq(msg(sky.rawsend, fx.self, "x"),
        'EINVAL: sky.rawsend: bad argument #2 (type): an integer from 0 to 4294967295 expected, got string "x"')
    t.eq(msg(sky.timeout, 10, nil), "EINVAL: sky.timeout: bad argument #2 (fn): a function expected, got nil")
    t.eq(msg(fx.tcp.read, fx.tcp, -1), "EINVAL: s:read: bad argument #1 (n): an integer >= 0 expected, got -1")
    t.eq(msg(fx.udp.write, fx.udp, "x"), "EINVAL: s:write: bad self: a TCP socket expected, got a UDP socket")
    t.eq(msg(sky.call, fx.self, "skytest.Echo.Bump", 5), "EINVAL: sky.call: bad argument #3 (msg): "
        .. "skytest.Echo.Bump's request (a table, or nil for an empty one) expected, got 5")
    t.eq(tostring(t.raises("ENOENT", sky.call, fx.self, 0x12345678, {})),
        "ENOENT: sky.call: unknown method id 0x12345678 (is its schema registered?)")
    t.eq(msg(echo.Echo.serve, { Bmp = fn }),
        "EINVAL: sky.serve: bad argument #2 (impl): skytest.Echo has no method 'Bmp' (did you mean 'Bump'?)")
    t.eq(msg(echo.Echo.serve, { Note = 5 }),
        "EINVAL: sky.serve: bad argument #2 (impl): Note must be a function, not a number")
    t.eq(msg(echo.Echo.serve, { Zap = fn }), "EINVAL: sky.serve: bad argument #2 (impl): skytest.Echo has no "
        .. "method 'Zap' (its methods: Bump, Later, Hold, Note, Fail)")
    t.raises("EINVAL", sky.register, 5)
    -- a message longer than the formatting buffer (512 bytes) comes whole
    local long = ("n"):rep(600)
    t.eq(t.raises("ENOSVC", sky.call, long, "skytest.Echo.Bump", {}).message,
        "sky.call: no service named '" .. long .. "'")
end)

-- sky.error makes an error object (not raised); the stubs' own errors are such objects
t.case("sky.error and the stubs' own errors are error objects", function()
    local e = sky.error("EOUTOFSTOCK", "only 3 left", "\0\1")
    t.eq(e.code, "EOUTOFSTOCK")
    t.eq(e.message, "only 3 left")
    t.eq(e.details, "\0\1")
    t.eq(tostring(e), "EOUTOFSTOCK: only 3 left")
    t.eq(sky.error("EINVAL", "x").details, nil)
    local bad = t.raises("EINVAL", echo.Echo.client, {})
    t.eq(tostring(bad), "EINVAL: skytest.Echo.client: the address is an integer or a name")
    bad = t.raises("EINVAL", echo.Echo.client, "typed_echo", 5)
    t.eq(tostring(bad), "EINVAL: skytest.Echo.client: opts is a table or nil")
end)

-- sky.launch of a missing module: the error lists the paths it tried
t.case("sky.launch lists the paths tried", function()
    for _, f in ipairs({ sky.launch, sky.launch_link, sky.launch_monitor }) do
        local e = t.raises("ENOENT", f, "missing")
        t.truthy(e.message:find("/nonexistent/one/missing.so", 1, true), e.message)
        t.truthy(e.message:find("/nonexistent/two/libmissing.so", 1, true), e.message)
        t.truthy(not e.message:find("\n", 1, true), "one line: " .. e.message)
    end
    t.eq(t.raises("ENOENT", sky.launch, "missing").message, "sky.launch missing: module 'missing' not found; "
        .. "searched: /nonexistent/one/missing.so (no such file); /nonexistent/two/libmissing.so (no such file)")
    local e = t.raises("ENOENT", sky.spawn, "nosuch")
    t.truthy(e.message:find("nosuch.lua", 1, true), e.message)
end)

-- a serve that fails serves nothing: a good one goes through after it
t.case("a refused serve leaves nothing served", function()
    t.raises("EINVAL", echo.Echo.serve, { Bump = fn, Bumpp = fn })
    t.raises("EINVAL", echo.Echo.serve, { Bump = fn, Later = 5 })
    echo.Echo.serve { Bump = function(req) return { id = req.id * 2 } end }
    t.eq(echo.Echo.client(sky.self()):Bump { id = 21 }.id, 42)
end)

t.serve()
