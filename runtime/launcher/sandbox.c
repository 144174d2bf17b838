/* The launcher's sandbox. A file it runs is trusted no more than it must
 * be: it runs as text only, in an environment without io, os, require or
 * load, under a memory limit and an instruction budget, so a typo or an
 * endless loop ends in a message instead of a hung or half-configured
 * node. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "launcher/sandbox.h"

#define MEMORY_LIMIT ((size_t)64 << 20)
#define HOOK_EVERY 10000        /* instructions between two hook calls */
#define HOOK_CALLS 10000        /* hook calls allowed: 10^8 instructions */

/* What the sandbox offers besides the file's own assignments. */
static const char *const safe_base[] = {
    "assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall", "rawequal", "rawget",
    "rawlen", "rawset", "select", "setmetatable", "tonumber", "tostring", "type", "xpcall",
    "_VERSION", NULL,
};

static const luaL_Reg safe_libs[] = {
    {LUA_STRLIBNAME, luaopen_string},
    {LUA_MATHLIBNAME, luaopen_math},
    {LUA_TABLIBNAME, luaopen_table},
    {LUA_UTF8LIBNAME, luaopen_utf8},
    {NULL, NULL},
};

struct budget {
    size_t used;
    unsigned hook_calls;
};

struct run {
    const char *path;
    int nresults;
    sky_launcher_then then;
    void *ud;
};

static void *limited_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    struct budget *b = ud;

    if (ptr == NULL)
        osize = 0;
    if (nsize == 0) {
        free(ptr);
        b->used -= osize;
        return NULL;
    }
    if (nsize > osize && nsize - osize > MEMORY_LIMIT - b->used)
        return NULL;
    void *p = realloc(ptr, nsize);
    if (p)
        b->used = b->used - osize + nsize;
    return p;
}

static void count_hook(lua_State *L, lua_Debug *ar)
{
    void *ud;
    struct budget *b;

    (void)ar;
    lua_getallocf(L, &ud);
    b = ud;
    if (++b->hook_calls > HOOK_CALLS) {
        luaL_where(L, 0);
        lua_pushstring(L, "config runs too long (more than 10^8 instructions)");
        lua_concat(L, 2);
        lua_error(L);
    }
}

/* env(name [, default]): the environment variable, or default when it is
 * unset or empty (like the shell's ${NAME:-default}). */
static int l_env(lua_State *L)
{
    const char *v = getenv(luaL_checkstring(L, 1));

    if (v && *v) {
        lua_pushstring(L, v);
        return 1;
    }
    lua_settop(L, 2);
    return 1;
}

/* setmetatable without finalizers: Lua runs __gc with hooks off, so an
 * endless finalizer would escape the instruction budget and hang. */
static int l_setmetatable(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TTABLE && lua_getfield(L, 2, "__gc") != LUA_TNIL)
        return luaL_error(L, "setmetatable: a config may not set __gc (finalizers run outside the instruction limit)");
    lua_settop(L, 2);
    lua_getfield(L, LUA_REGISTRYINDEX, "sky.setmetatable");
    lua_insert(L, 1);
    lua_call(L, 2, 1);
    return 1;
}

/* Pushes the table the chunk runs in: empty, so that every key in it after
 * the run was assigned by the file, and reading the safe functions through
 * a protected metatable. */
static void push_sandbox(lua_State *L)
{
    luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
    int g = lua_gettop(L);
    lua_newtable(L);
    int base = lua_gettop(L);
    for (const char *const *n = safe_base; *n; n++) {
        lua_getfield(L, g, *n);
        lua_setfield(L, base, *n);
    }
    for (const luaL_Reg *lib = safe_libs; lib->name; lib++) {
        luaL_requiref(L, lib->name, lib->func, 0);
        lua_setfield(L, base, lib->name);
    }
    lua_pushcfunction(L, l_env);
    lua_setfield(L, base, "env");
    lua_getfield(L, base, "setmetatable");
    lua_setfield(L, LUA_REGISTRYINDEX, "sky.setmetatable");
    lua_pushcfunction(L, l_setmetatable);
    lua_setfield(L, base, "setmetatable");

    lua_newtable(L);                     /* the environment */
    lua_createtable(L, 0, 2);            /* its metatable */
    lua_pushvalue(L, base);
    lua_setfield(L, -2, "__index");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_replace(L, g);
    lua_settop(L, g);
}

/* Runs in protected mode: every Lua error, out-of-memory included, ends up
 * as the message of sky_launcher_sandbox_run(). */
static int run_protected(lua_State *L)
{
    struct run *r = lua_touserdata(L, 1);

    push_sandbox(L);                     /* index 2 */
    if (luaL_loadfilex(L, r->path, "t") != LUA_OK) {
        /* Lua's own message for this one does not name the file. */
        if (strstr(lua_tostring(L, -1), "binary chunk"))
            return luaL_error(L, "%s: not a text file (compiled Lua is not accepted)", r->path);
        return lua_error(L);
    }
    lua_pushvalue(L, 2);
    lua_setupvalue(L, -2, 1);            /* a main chunk's only upvalue is _ENV */
    lua_sethook(L, count_hook, LUA_MASKCOUNT, HOOK_EVERY);
    lua_call(L, 0, r->nresults);
    lua_sethook(L, NULL, 0, 0);
    lua_pushlightuserdata(L, r->ud);
    lua_replace(L, 1);
    return r->then(L);
}

/* Opening the file first gives "No such file or directory" and "is a
 * directory" messages that name the file the way the user wrote it. */
static int check_readable(const char *path, char *err, size_t errsize)
{
    struct stat st;
    FILE *f = fopen(path, "r");

    if (!f) {
        snprintf(err, errsize, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    int isdir = fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode);
    fclose(f);
    if (isdir) {
        snprintf(err, errsize, "%s: is a directory", path);
        return -1;
    }
    return 0;
}

int sky_launcher_sandbox_run(const char *path, int nresults, sky_launcher_then then, void *ud, char *err,
                             size_t errsize)
{
    struct budget budget = {0, 0};
    struct run r = {path, nresults, then, ud};

    if (check_readable(path, err, errsize) != 0)
        return -1;
    lua_State *L = lua_newstate(limited_alloc, &budget);
    if (!L) {
        snprintf(err, errsize, "%s: out of memory", path);
        return -1;
    }
    lua_pushcfunction(L, run_protected);
    lua_pushlightuserdata(L, &r);
    int status = lua_pcall(L, 1, 0, 0);
    if (status == LUA_ERRMEM)
        snprintf(err, errsize, "%s: out of memory (limit %zu MiB)", path, MEMORY_LIMIT >> 20);
    else if (status != LUA_OK && lua_type(L, -1) == LUA_TSTRING)
        snprintf(err, errsize, "%s", lua_tostring(L, -1));
    else if (status != LUA_OK)
        snprintf(err, errsize, "%s: error object is a %s value", path, luaL_typename(L, -1));
    lua_close(L);
    return status == LUA_OK ? 0 : -1;
}
