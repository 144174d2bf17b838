-- Serves skytest.Echo (tests/runtime/typed_test.proto) through the
-- generated Lua stubs, as the C server of check_typed does: Bump answers
-- id + 1; Later answers id + 100 from a timer, through sky.defer(); Hold
-- defers and drops its reply function (the caller gets ENOREPLY once it
-- is collected); Note counts (Bump answers the count in session); Fail
-- fails with EEXIST, or with id > 0 and a kind with the application
-- error {code = kind, message = "fail " .. body, details = "\0\1det"}.
-- Bump with kind "twice" misuses sky.defer: it answers with the error
-- code of a second sky.defer() in body, then answers again; the next
-- Bump's body is the code that second answer raised.
local echo = require "typed_test_sky"

local notes, last_error = 0, ""

local function code_of(f, ...)
    local ok, e = pcall(f, ...)
    return ok and "no error" or e.code
end

echo.Echo.serve {
    Bump = function(req)
        if req.kind == "twice" then
            local reply = sky.defer()
            reply { id = req.id + 1, body = code_of(sky.defer) }
            last_error = code_of(reply, { id = 0 })
            return
        end
        return { id = req.id + 1, kind = req.kind, body = last_error, session = notes }
    end,
    Later = function(req)
        local reply = sky.defer()
        sky.timeout(10, function() reply { id = req.id + 100 } end)
    end,
    Hold = function()
        sky.defer()
        sky.timeout(0, function() collectgarbage() end)
    end,
    Note = function() notes = notes + 1 end,
    Fail = function(req)
        if req.id > 0 and req.kind ~= "" then -- the application error {kind, "fail " body, details}
            error({ code = req.kind, message = "fail " .. req.body, details = "\0\1det" })
        end
        error({ code = "EEXIST", message = "fail " .. req.body })
    end,
}
