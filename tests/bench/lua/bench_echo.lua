-- Serves sky.bench.Echo: answers a call with session 43, as the C echo
-- does, and counts every message (calls and oneways); a raw request
-- answers the count.
local count = 0
sky.serve("sky.bench.Echo", {
    Echo = function(req)
        count = count + 1
        req.session = 43
        return req
    end,
})
sky.dispatch(function() return tostring(count) end)
