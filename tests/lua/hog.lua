-- "hog" allocates without bound; anything else answers "alive".
sky.dispatch(function(m)
    if m.data == "hog" then
        local t, i = {}, 0
        while true do
            i = i + 1
            t[i] = string.rep("x", 4096) .. i
        end
    end
    return "alive"
end)
