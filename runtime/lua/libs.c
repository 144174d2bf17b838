/* The standard libraries of a Lua service (see libs.h). Lazy opening goes
 * through luaL_requiref, so a library is opened once, and its global,
 * package.loaded and require agree on its table. */
#include "lua/libs.h"
#include <string.h>
#include <lauxlib.h>
#include <lualib.h>
#include "lua/coro.h"
#include "lua/host.h"
#include "lua/stdmods.h"

#define REQUIRE_KEY "sky.require" /* package's own require, once opened */

/* load(): never bytecode. */
static int load_text(lua_State *L)
{
    lua_settop(L, 4);
    lua_pushstring(L, "t");
    lua_replace(L, 3);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, 4, LUA_MULTRET);
    return lua_gettop(L);
}

/* os without what ends the process or reaches the file system */
static int open_os(lua_State *L)
{
    static const char *const os_out[] = {"exit", "execute", "remove", "rename", "tmpname", "setlocale", NULL};
    luaopen_os(L);
    for (int i = 0; os_out[i]; i++) {
        lua_pushnil(L);
        lua_setfield(L, -2, os_out[i]);
    }
    return 1;
}

static int lazy_require(lua_State *L);

/* package: no C modules, and require searches the preloaded libraries,
 * sky's standard modules (stdmods.h) and the service path (text only).
 * Opening it sets the global require to package's own, unless the script
 * has put its own there. */
static int open_package(lua_State *L)
{
    lua_pushglobaltable(L);
    lua_getfield(L, -1, "require");
    int mine = lua_tocfunction(L, -1) == lazy_require, top = lua_gettop(L);
    luaopen_package(L); /* sets _G.require; may leave more than its table */
    lua_replace(L, top + 1);
    lua_settop(L, top + 1);
    lua_pushliteral(L, "");
    lua_setfield(L, -2, "cpath");
    lua_pushnil(L);
    lua_setfield(L, -2, "loadlib");
    lua_createtable(L, 3, 0);
    lua_getfield(L, -2, "searchers");
    lua_rawgeti(L, -1, 1); /* the preload searcher */
    lua_rawseti(L, -3, 1);
    lua_pop(L, 1);
    lua_pushcfunction(L, sky__lua_search_stdmod);
    lua_rawseti(L, -2, 2);
    lua_pushcfunction(L, sky__lua_search_module);
    lua_rawseti(L, -2, 3);
    lua_setfield(L, -2, "searchers");
    lua_getfield(L, -3, "require");
    lua_setfield(L, LUA_REGISTRYINDEX, REQUIRE_KEY);
    if (!mine) { /* the script's require stays */
        lua_pushvalue(L, -2);
        lua_setfield(L, -4, "require");
    }
    lua_replace(L, -3);
    lua_pop(L, 1);
    return 1;
}

/* The global require until package is open: opens it, then requires. */
static int lazy_require(lua_State *L)
{
    if (lua_getfield(L, LUA_REGISTRYINDEX, REQUIRE_KEY) != LUA_TFUNCTION) {
        lua_pop(L, 1);
        luaL_requiref(L, LUA_LOADLIBNAME, open_package, 1);
        lua_pop(L, 1);
        lua_getfield(L, LUA_REGISTRYINDEX, REQUIRE_KEY);
    }
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

static const luaL_Reg lazy_libs[] = {{LUA_STRLIBNAME, luaopen_string}, {LUA_COLIBNAME, sky__luaopen_coro},
                                     {LUA_LOADLIBNAME, open_package}, {LUA_TABLIBNAME, luaopen_table},
                                     {LUA_MATHLIBNAME, luaopen_math},    {LUA_UTF8LIBNAME, luaopen_utf8},
                                     {LUA_OSLIBNAME, open_os},           {NULL, NULL}};

/* _G's __index: a library's name opens it. */
static int lazy_global(lua_State *L)
{
    const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : "";
    for (const luaL_Reg *l = lazy_libs; l->func; l++) {
        if (strcmp(k, l->name) == 0) {
            luaL_requiref(L, l->name, l->func, 1);
            return 1;
        }
    }
    return 0;
}

static int str_index(lua_State *L);

/* The strings' metatable until string is open: every event opens it
 * (which puts string's own metatable in place) and is passed on. */
static int string_event(lua_State *L, const char *event)
{
    int n = lua_gettop(L);
    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
    lua_pop(L, 1);
    lua_pushliteral(L, "");
    luaL_getmetafield(L, -1, "__index");
    if (lua_tocfunction(L, -1) == str_index) { /* package.loaded.string was not string's own */
        luaopen_string(L);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (luaL_getmetafield(L, -1, event) == LUA_TNIL) return luaL_error(L, "string metatable has no %s", event);
    lua_remove(L, -2);
    if (strcmp(event, "__index") == 0) {
        lua_pushvalue(L, 2);
        lua_gettable(L, -2);
        return 1;
    }
    lua_insert(L, 1);
    lua_call(L, n, 1);
    return 1;
}

#define STRING_EVENT(name) \
    static int str_##name(lua_State *L) { return string_event(L, "__" #name); }
STRING_EVENT(index)
STRING_EVENT(add)
STRING_EVENT(sub)
STRING_EVENT(mul)
STRING_EVENT(mod)
STRING_EVENT(pow)
STRING_EVENT(div)
STRING_EVENT(idiv)
STRING_EVENT(unm)

static void lazy_string_metatable(lua_State *L)
{
    static const luaL_Reg events[] = {{"__index", str_index}, {"__add", str_add}, {"__sub", str_sub},
                                      {"__mul", str_mul},     {"__mod", str_mod}, {"__pow", str_pow},
                                      {"__div", str_div},     {"__idiv", str_idiv}, {"__unm", str_unm},
                                      {NULL, NULL}};
    lua_pushliteral(L, "");
    lua_createtable(L, 0, 9);
    luaL_setfuncs(L, events, 0);
    lua_setmetatable(L, -2);
    lua_pop(L, 1);
}

void sky__lua_openlibs(lua_State *L)
{
    /* sized up front: no rehash while they fill */
    lua_createtable(L, 0, 32);
    lua_rawseti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    lua_createtable(L, 0, 8);
    lua_setfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_createtable(L, 0, 8);
    lua_setfield(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);

    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    /* nothing that reaches the file system, or loads bytecode or C code */
    lua_pushnil(L);
    lua_setfield(L, -2, "dofile");
    lua_pushnil(L);
    lua_setfield(L, -2, "loadfile");
    lua_getfield(L, -1, "load");
    lua_pushcclosure(L, load_text, 1);
    lua_setfield(L, -2, "load");
    lua_pushcfunction(L, lazy_require);
    lua_setfield(L, -2, "require");
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, lazy_global);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    lua_pop(L, 1);

    lua_getfield(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    for (const luaL_Reg *l = lazy_libs; l->func; l++) {
        lua_pushcfunction(L, l->func);
        lua_setfield(L, -2, l->name);
    }
    lua_pop(L, 1);
    lazy_string_metatable(L);
}
