-- Serves skytest.Echo (tests/runtime/typed_test.proto) from Lua: Bump adds
-- one to id and counts Notes in session; Later answers after a sleep
-- (with its method, from the context);
-- Fail raises an error object; Hold has no handler (callers get ENOTSUP).
local notes = 0
sky.serve("skytest.Echo", {
    Bump = function(req, ctx)
        return { id = req.id + 1, kind = req.kind, body = ctx.method, session = notes }
    end,
    Later = function(req, ...) -- the context comes as the vararg too
        local ctx = ...
        sky.sleep(20)
        return { id = req.id, body = "later " .. ctx.method }
    end,
    Note = function() notes = notes + 1 end,
    Fail = function(req) error({ code = "EEXIST", message = "fail " .. req.body }) end,
})
