-- Handler errors: "raise" raises an error, "bug" has one, "quit" chooses
-- to exit (reason error) and raises; anything else answers "ok".
sky.dispatch(function(m)
    if m.data == "raise" then
        error("it broke", 0)
    elseif m.data == "bug" then
        local t
        return t.x
    elseif m.data == "quit" then
        sky.exit("error", "gave up")
        error("giving up", 0)
    end
    return "ok"
end)
