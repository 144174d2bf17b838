-- Sockets from Lua (check_socket): each request runs one scenario and
-- answers what it saw, as text.
local function tcp_echo()
    local l = sky.listen(0, function(conn, peer)
        while true do
            local data = conn:read()
            if not data then break end
            conn:write(data)
        end
        conn:close()
    end, "127.0.0.1")
    local c = sky.connect("127.0.0.1", l:port(), 2000)
    c:write("hello ")
    c:write("world")
    local got = c:read(11)
    c:close()
    l:close()
    return got
end

local function udp_echo()
    local server = sky.udp("127.0.0.1", 0)
    sky.timeout(0, function()
        local data, host, port = server:recv()
        server:sendto(host, port, data:upper())
    end)
    local client = sky.udp("127.0.0.1", 0)
    client:sendto("127.0.0.1", server:port(), "ping")
    local data, host, port = client:recv()
    local ok = host == "127.0.0.1" and port == server:port()
    client:close()
    server:close()
    return data .. (ok and " from server" or " from elsewhere")
end

local function refused(port)
    local ok, err = pcall(sky.connect, "127.0.0.1", port, 2000)
    return tostring(ok) .. " " .. tostring(err.message)
end

-- the peer closes: read returns what came, then nil, "closed"
local function peer_close()
    local l = sky.listen(0, function(conn)
        conn:write("bye")
        conn:close()
    end, "127.0.0.1")
    local c = sky.connect("127.0.0.1", l:port())
    local a = c:read(10)          -- fewer than asked: the end came
    local b, why = c:read()
    l:close()
    return tostring(a) .. " " .. tostring(b) .. " " .. tostring(why)
end

-- connects to a listener that runs serve(conn) and counts the bytes that
-- come until the end (bounded: after 5 s the count falls short)
local function count_served(serve)
    local l = sky.listen(0, serve, "127.0.0.1")
    local c = sky.connect("127.0.0.1", l:port())
    sky.timeout(5000, function() c:close() end)
    sky.sleep(100)                 -- let the writers fill every buffer
    local total = 0
    while true do
        local data = c:read()
        if not data then break end
        total = total + #data
    end
    c:close()
    l:close()
    return tostring(total)
end

-- a writer past the high-water mark waits until the reader catches up
local function pushback()
    local chunk = string.rep("x", 65536)
    return count_served(function(conn)
        for _ = 1, 64 do conn:write(chunk) end    -- 4 MiB: waits on the way
        conn:close()
    end)
end

local function bad_args()
    local out = {}
    for _, f in ipairs{
        function() return sky.listen(70000, function() end) end,
        function() return sky.connect("nonsense", 1) end,
        function() local u = sky.udp() u:close() return u:recv() end,
    } do
        local ok, err = pcall(f)
        out[#out + 1] = ok and "ok" or err.code
    end
    return table.concat(out, " ")
end

-- sockets dropped without close (n connections to port, n listeners, n UDP
-- sockets, n connections accepted here) close when collected
local function drop(n, port)
    local l = sky.listen(0, function() end, "127.0.0.1") -- drops each conn
    for _ = 1, n do
        sky.connect("127.0.0.1", port, 2000)
        sky.connect("127.0.0.1", l:port(), 2000)
        sky.listen(0, function() end, "127.0.0.1")
        sky.udp("127.0.0.1", 0)
    end
    sky.sleep(50)                 -- the accepts come in
    l:close()
    collectgarbage()
    collectgarbage()
    return "dropped"
end

-- `local s <close>` closes s as its block ends, normally or by an error
local function close_attr(port)
    local kept = {}
    do
        local u <close> = sky.udp("127.0.0.1", 0)
        kept[1] = u
    end
    pcall(function()
        local c <close> = sky.connect("127.0.0.1", port, 2000)
        kept[2] = c
        error("boom")
    end)
    local out = {}
    for i, s in ipairs(kept) do out[i] = (tostring(s):gsub("%d+", "N")) end
    return table.concat(out, " ")
end

-- a flood of datagrams past the high-water mark: sendto waits (the timer's
-- fiber runs meanwhile) and queues every one
local function udp_flood(n)
    local rx = sky.udp("127.0.0.1", 0)
    local tx = sky.udp("127.0.0.1", 0)
    local ticked, falses, got = false, 0, 0
    sky.timeout(0, function() ticked = true end)
    local payload = string.rep("d", 64)
    for _ = 1, n do
        if not tx:sendto("127.0.0.1", rx:port(), payload) then falses = falses + 1 end
    end
    local waited = ticked
    sky.timeout(3000, function() rx:close() end) -- bounds the count below
    while got < n and rx:recv() do got = got + 1 end
    tx:close()
    rx:close()
    return string.format("false %d got %d waited %s", falses, got, tostring(waited))
end

-- a sendto waiting on a full queue raises when another fiber closes the socket
local function udp_close_wait()
    local rx = sky.udp("127.0.0.1", 0)
    local tx = sky.udp("127.0.0.1", 0)
    local port = rx:port()
    sky.timeout(0, function() tx:close() end)
    local ok, err = pcall(function()
        for _ = 1, 10000 do tx:sendto("127.0.0.1", port, "x") end
    end)
    rx:close()
    return tostring(ok) .. " " .. tostring(type(err) == "table" and err.code or err)
end

-- the peer closes with our data unread: the writer waiting on the full
-- queue raises, the reader waiting gets nil and why
local function write_reset()
    local l = sky.listen(0, function(conn)
        sky.sleep(100)             -- the writer fills every buffer and waits
        conn:close()               -- with data unread: a reset
    end, "127.0.0.1")
    local c = sky.connect("127.0.0.1", l:port())
    local rd
    sky.timeout(0, function()
        local d, why = c:read()
        rd = tostring(d) .. " " .. type(why)
    end)
    local chunk = string.rep("x", 65536)
    local ok, err = pcall(function() for _ = 1, 1024 do c:write(chunk) end end)
    sky.sleep(0)                   -- the reader was woken after the writer
    l:close()
    -- EFAIL with the reason, or ENOENT if the write was retried after the
    -- node dropped the socket but before its error event came
    local code = type(err) == "table" and err.code
    local raised = not ok and (code == "EFAIL" or code == "ENOENT")
    return (raised and "raised" or tostring(ok) .. " " .. tostring(code or err)) .. " " .. tostring(rd)
end

-- two fibers write to one connection past the high-water mark: both wait
-- and both finish
local function two_writers()
    local chunk = string.rep("y", 65536)
    return count_served(function(conn)
        local done = 0
        for _ = 1, 2 do
            sky.timeout(0, function()
                for _ = 1, 32 do conn:write(chunk) end
                done = done + 1
                if done == 2 then conn:close() end
            end)
        end
    end)
end

sky.dispatch(function(m)
    local what, arg = m.data:match("^(%S+)%s*(.*)$")
    if what == "tcp" then return tcp_echo() end
    if what == "udp" then return udp_echo() end
    if what == "refused" then return refused(tonumber(arg)) end
    if what == "peerclose" then return peer_close() end
    if what == "pushback" then return pushback() end
    if what == "bad" then return bad_args() end
    if what == "drop" then
        local n, port = arg:match("^(%d+) (%d+)$")
        return drop(tonumber(n), tonumber(port))
    end
    if what == "closeattr" then return close_attr(tonumber(arg)) end
    if what == "udpflood" then return udp_flood(tonumber(arg)) end
    if what == "udpclosewait" then return udp_close_wait() end
    if what == "writereset" then return write_reset() end
    if what == "twowriters" then return two_writers() end
    error("unknown scenario " .. tostring(what))
end)
