-- Kills the service whose address is the request's text, with the reason
-- shutdown and a text; answers "sent".
sky.dispatch(function(m)
    sky.kill(math.tointeger(tonumber(m.data)), "shutdown", "time to go")
    return "sent"
end)
