-- Serves skytest.deep.Deep (deep.proto): Count answers how many Trees
-- nest below the request, counted in the decoded tables.
local deep = require "deep_sky"

deep.Deep.serve {
    Count = function(req)
        local n, t = 0, req.child
        while t do
            n, t = n + 1, t.child
        end
        return { n = n }
    end,
}
