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

-- a writer past the high-water mark waits until the reader catches up
local function pushback()
    local total, chunk = 0, string.rep("x", 65536)
    local l = sky.listen(0, function(conn)
        for _ = 1, 64 do conn:write(chunk) end    -- 4 MiB: waits on the way
        conn:close()
    end, "127.0.0.1")
    local c = sky.connect("127.0.0.1", l:port())
    sky.sleep(100)                 -- let the writer fill every buffer
    while true do
        local data = c:read()
        if not data then break end
        total = total + #data
    end
    l:close()
    return tostring(total)
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

sky.dispatch(function(m)
    local what, arg = m.data:match("^(%S+)%s*(.*)$")
    if what == "tcp" then return tcp_echo() end
    if what == "udp" then return udp_echo() end
    if what == "refused" then return refused(tonumber(arg)) end
    if what == "peerclose" then return peer_close() end
    if what == "pushback" then return pushback() end
    if what == "bad" then return bad_args() end
    error("unknown scenario " .. tostring(what))
end)
