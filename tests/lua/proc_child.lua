-- A service for process_test.lua. Args: "exit REASON [TEXT]" exits at once
-- (in its init, as the script runs); "register NAME" registers NAME;
-- nothing: waits. Raw requests: "exit REASON [TEXT]", "ping", "parent"
-- (-> sky.parent() as text), "link ADDR" (links to ADDR, which then dies
-- with it) and "send_exit ADDR REASON" (sky.send_exit).
local function act(words)
    if words[1] == "exit" then
        sky.exit(words[2], words[3] and table.concat(words, " ", 3) or nil)
    elseif words[1] == "register" then
        sky.register(words[2])
    elseif words[1] == "link" then
        sky.link(math.tointeger(tonumber(words[2])))
    elseif words[1] == "send_exit" then
        sky.send_exit(math.tointeger(tonumber(words[2])), words[3])
    end
end

act({ ... })

sky.dispatch(function(m)
    local words = {}
    for w in m.data:gmatch("%S+") do words[#words + 1] = w end
    if words[1] == "ping" then return "pong" end
    if words[1] == "parent" then return tostring(sky.parent()) end
    act(words)
    return "ok"
end)
