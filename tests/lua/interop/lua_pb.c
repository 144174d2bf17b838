/* lua_pb SCRIPT [ARG]...: runs a Lua script in a plain lua_State (every
 * standard library) with the table <-> protobuf codec as the global
 * `codec` and the arguments in `arg`, as the stand-alone lua does. The
 * schemas of alltypes.proto and alltypes2.proto are linked in and
 * register themselves (their generated .sky.c), so codec.encode and
 * codec.decode know interop.* and interop2.*.
 *
 * Exit status: 0 when the script ran to its end, 1 with Lua's message on
 * stderr when it raised, 2 on bad usage. */
#include <stdio.h>
#include <stdlib.h>
#include <lauxlib.h>
#include <lualib.h>
#include "lua/codec.h"

static int traceback(lua_State *L)
{
    luaL_traceback(L, L, lua_tostring(L, 1), 1);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s SCRIPT [ARG]...\n", argv[0]);
        return 2;
    }
    lua_State *L = luaL_newstate();
    if (L == NULL) {
        fprintf(stderr, "%s: cannot create a Lua state\n", argv[0]);
        return 1;
    }
    luaL_openlibs(L);
    luaL_requiref(L, "codec", sky__luaopen_codec, 1);
    lua_pop(L, 1);
    lua_createtable(L, argc - 2, 1);
    for (int i = 1; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - 1);
    }
    lua_setglobal(L, "arg");

    lua_pushcfunction(L, traceback);
    int rc = luaL_loadfile(L, argv[1]);
    if (rc == LUA_OK)
        rc = lua_pcall(L, 0, 0, 1);
    if (rc != LUA_OK)
        fprintf(stderr, "%s: %s\n", argv[0], lua_tostring(L, -1));
    lua_close(L);
    return rc == LUA_OK ? 0 : 1;
}
