-- "spin" never ends; "pcallspin" tries to swallow the budget error;
-- anything else answers "pong".
sky.dispatch(function(m)
    if m.data == "spin" then
        while true do end
    elseif m.data == "pcallspin" then
        while true do pcall(function() while true do end end) end
    end
    return "pong"
end)
