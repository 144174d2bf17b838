-- The instruction budget per message. "slices N K" runs N slices of K
-- empty loop turns with a sky.sleep(0) before each; "cospin N K" runs N
-- coroutines of K turns each, ignoring their errors; anything else
-- answers "pong".
sky.dispatch(function(m)
    local verb, n, k = m.data:match("^(%a+) (%d+) (%d+)$")
    n, k = tonumber(n), tonumber(k)
    if verb == "slices" then
        for _ = 1, n do
            sky.sleep(0)
            for _ = 1, k do end
        end
        return "done"
    elseif verb == "cospin" then
        for _ = 1, n do
            coroutine.resume(coroutine.create(function() for _ = 1, k do end end))
        end
        return "done"
    end
    return "pong"
end)
