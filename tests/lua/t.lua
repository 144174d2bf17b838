-- A small test library for Lua services: cases run one after another in
-- the service's own fiber (so they may call and sleep), and the service
-- answers the raw request "run" with "ok N" or the failures, one a line.
--
--   local t = require "t"
--   t.case("adds", function() t.eq(1 + 1, 2) end)
--   t.serve()
local t = {}
local cases = {}

function t.case(name, fn) cases[#cases + 1] = { name = name, fn = fn } end

local function show(v)
    if type(v) == "string" then return ("%q"):format(v) end
    return tostring(v)
end

function t.eq(got, want, what)
    if got ~= want then
        error(("%sgot %s, want %s"):format(what and what .. ": " or "", show(got), show(want)), 2)
    end
end

function t.truthy(v, what)
    if not v then error((what or "expected a true value") .. ", got " .. show(v), 2) end
end

-- Calls fn(...), which must raise an error object with .code == code;
-- returns the object.
function t.raises(code, fn, ...)
    local ok, e = pcall(fn, ...)
    if ok then error("expected error " .. code .. ", got none", 2) end
    if type(e) ~= "table" or e.code ~= code then
        error("expected error " .. code .. ", got " .. show(type(e) == "table" and tostring(e) or e), 2)
    end
    return e
end

function t.run()
    local failed = {}
    for _, c in ipairs(cases) do
        local ok, e = pcall(c.fn)
        if not ok then failed[#failed + 1] = c.name .. ": " .. tostring(e) end
    end
    if #failed == 0 then return "ok " .. #cases end
    return ("%d of %d failed\n"):format(#failed, #cases) .. table.concat(failed, "\n")
end

-- Answers "run" with t.run()'s report.
function t.serve()
    sky.dispatch(function(m)
        if m.data == "run" then return t.run() end
    end)
end

return t
