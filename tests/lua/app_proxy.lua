-- Calls skytest.Echo.Fail (the server registered as "typed_echo") with
-- id 1 and the application code the raw request names, and lets the error
-- object the call raises go up to its own caller: an application error
-- is carried on unchanged through a Lua service in the middle.
local echo = require "typed_test_sky"

sky.dispatch(function(m)
    if m.kind ~= "request" then return end
    echo.Echo.client():Fail { id = 1, kind = m.data, body = "x" }
end)
