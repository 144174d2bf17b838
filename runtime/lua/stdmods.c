/* sky's standard Lua modules (see stdmods.h). */
#include "lua/stdmods.h"
#include <string.h>
#include <lauxlib.h>

#define PREFIX "sky."

int sky__lua_search_stdmod(lua_State *L)
{
    const char *name = luaL_checkstring(L, 1);
    size_t plen = sizeof PREFIX - 1;
    if (strncmp(name, PREFIX, plen) != 0) return 0;
    const char *mod = name + plen;
    size_t mlen = strlen(mod);
    for (const sky__lua_stdmods_file *f = sky__lua_stdmods; f->name; f++) {
        /* "supervisor.lua" for "sky.supervisor" */
        if (strncmp(f->name, mod, mlen) != 0 || strcmp(f->name + mlen, ".lua") != 0) continue;
        lua_pushfstring(L, "=[sky] %s", f->name);
        if (luaL_loadbufferx(L, f->data, f->len, lua_tostring(L, -1), "t") != LUA_OK) return lua_error(L);
        lua_insert(L, -2);
        return 2;
    }
    lua_pushfstring(L, "\n\tno module '%s' in sky's standard library", name);
    return 1;
}
