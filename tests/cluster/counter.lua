-- counter.lua, on beta: the receiver of test_cluster.sh's floods, in raw
-- mail (sky.dispatch).
--   oneway type 1        counted
--   oneway type 2        numbered: 4 bytes of its number, 4 of its size,
--                        then filler; checked to come in order and whole
--   request type 10      answers "COUNT" (the type 1 oneways so far)
--   request type 11      resets both counts
--   request type 12      answers "RECEIVED BAD FIRST_BAD" for the type 2
--   request type 13      answers its data, then sends a oneway (type 3,
--                        the same data) to the caller: a reply, then a
--                        oneway of the same pair
local count, got, bad, first_bad = 0, 0, 0, "-"

local function wrong(what)
    bad = bad + 1
    if first_bad == "-" then first_bad = what end
end

sky.dispatch(function(m)
    if m.kind == "oneway" then
        if m.type == 1 then
            count = count + 1
        elseif m.type == 2 then
            local n, size = string.unpack("<I4I4", m.data)
            got = got + 1
            if n ~= got then wrong(("message %d came as number %d"):format(n, got)) end
            if size ~= #m.data then wrong(("message %d: %d bytes, sent %d"):format(n, #m.data, size)) end
        end
        return
    end
    if m.type == 10 then return tostring(count) end
    if m.type == 11 then
        count, got, bad, first_bad = 0, 0, 0, "-"
        return "reset"
    end
    if m.type == 12 then return ("%d %d %s"):format(got, bad, (first_bad:gsub(" ", "_"))) end
    if m.type == 13 then
        local reply = sky.defer()
        reply(m.data)
        sky.rawsend(m.source, 3, m.data)
        return
    end
    error(sky.error("EINVAL", "counter: no request type " .. m.type))
end)
sky.register("counter")
