-- echo_server.lua — echo.Echo served from Lua, as echo_server.c does in C.
--
-- `skyc --lua_out=. echo.proto` generates echo_sky.lua: requiring it
-- registers the schema with the node, and Echo.serve takes one function
-- per rpc. A request reaches its function already decoded into a table;
-- the table it returns is encoded as the reply. An error raised with a
-- code is the caller's error reply.
local echo = require "echo_sky"

local said, notes = 0, 0

echo.Echo.serve {
    -- rpc Say(SayRequest) returns (SayReply)
    Say = function(req)
        if req.text == "" then
            error({ code = "EINVAL", message = "nothing to echo" })
        end
        said = said + 1
        return { text = req.text, count = said, notes = notes }
    end,
    -- rpc Note(SayRequest) returns (google.protobuf.Empty), oneway
    Note = function(req)
        notes = notes + 1
        sky.log("note: " .. req.text) -- to the node's log, stderr by default
    end,
}
