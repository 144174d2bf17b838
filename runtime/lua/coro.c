/* The sandbox's `coroutine` library (see coro.h).
 *
 * A sky wait yields a marker (sky__lua_yield). When a wrapped resume sees
 * its coroutine yield the marker, it yields the marker in turn, so the
 * wait travels up through every resume of the script to the fiber and the
 * host. When the reply or timer comes, the host resumes the fiber with its
 * values, and each wrapped resume on the way down (its continuation)
 * resumes its coroutine with the same values, until the sky call that
 * waited returns them. Any other yield is the script's and comes back from
 * resume as usual. */
#include "lua/coro.h"
#include <lauxlib.h>
#include <lualib.h>
#include "lua/host.h"

#define WAITING_TEXT "a coroutine waiting in a sky call"

static lua_State *check_co(lua_State *L, int idx)
{
    lua_State *co = lua_tothread(L, idx);
    luaL_argexpected(L, co, idx, "coroutine");
    return co;
}

/* Ends a failed resume, with the error object on top of L: resume returns
 * (false, error), a wrapped function raises it (a string with where). */
static int fail(lua_State *L, lua_KContext wrap, int status)
{
    if (!wrap) {
        lua_pushboolean(L, 0);
        lua_insert(L, -2);
        return 2;
    }
    if (status != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING) {
        luaL_where(L, 1);
        lua_insert(L, -2);
        lua_concat(L, 2);
    }
    return lua_error(L);
}

/* Lua 5.4.6 renamed lua_resetthread, adding the thread it is closed from. */
static void close_thread(lua_State *co, lua_State *from)
{
#if LUA_VERSION_RELEASE_NUM >= 50406
    (void)lua_closethread(co, from);
#else
    (void)from;
    (void)lua_resetthread(co);
#endif
}

/* Suspended in a yield, or not started. */
static int resumable(lua_State *co)
{
    lua_Debug ar;
    int st = lua_status(co);
    return st == LUA_YIELD || (st == LUA_OK && lua_getstack(co, 0, &ar) == 0 && lua_gettop(co) > 0);
}

/* Resumes the coroutine at index 1 with the values above it. Also the
 * continuation after a wait passed up through this call: L is resumed with
 * the wait's values, which go down to the coroutine the same way. wrap
 * (kctx) picks resume's results or a wrapped function's. */
static int resume_k(lua_State *L, int status, lua_KContext wrap)
{
    (void)status;
    lua_State *co = lua_tothread(L, 1);
    int nargs = lua_gettop(L) - 1, nres;
    if (!lua_checkstack(co, nargs)) {
        lua_pushliteral(L, "too many arguments to resume");
        return fail(L, wrap, LUA_ERRRUN);
    }
    int ok = resumable(co); /* else lua_resume says why */
    lua_xmove(L, co, nargs);
    if (ok) sky__lua_adopt(L, co);
    int st = lua_resume(co, L, nargs, &nres);
    if (st == LUA_YIELD && sky__lua_waited(co, nres)) {
        sky__lua_mark_waiting(co);
        return sky__lua_yield(L, wrap, resume_k);
    }
    if (st == LUA_OK || st == LUA_YIELD) {
        if (!lua_checkstack(L, nres + 1)) {
            lua_pop(co, nres);
            lua_pushliteral(L, "too many results to resume");
            return fail(L, wrap, LUA_ERRRUN);
        }
        if (!wrap) lua_pushboolean(L, 1);
        lua_xmove(co, L, nres);
        return nres + !wrap;
    }
    int cst = lua_status(co);
    if (wrap && cst != LUA_OK && cst != LUA_YIELD) close_thread(co, L); /* its to-be-closed variables */
    lua_xmove(co, L, 1);
    return fail(L, wrap, st);
}

/* Why the script may not resume or close co here, or NULL. */
static const char *refused(lua_State *L, lua_State *co)
{
    if (co != L && sky__lua_is_fiber(co)) return "a service fiber";
    if (sky__lua_is_waiting(co)) return WAITING_TEXT;
    return NULL;
}

static int co_resume(lua_State *L)
{
    lua_State *co = check_co(L, 1);
    const char *why = refused(L, co);
    if (why) {
        lua_pushboolean(L, 0);
        lua_pushfstring(L, "cannot resume %s", why);
        return 2;
    }
    return resume_k(L, LUA_OK, 0);
}

static int wrapped_call(lua_State *L)
{
    lua_State *co = lua_tothread(L, lua_upvalueindex(1));
    if (sky__lua_is_waiting(co)) return luaL_error(L, "cannot resume " WAITING_TEXT);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    return resume_k(L, LUA_OK, 1);
}

static int co_wrap(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_State *co = lua_newthread(L);
    lua_pushvalue(L, 1);
    lua_xmove(L, co, 1);
    lua_pushcclosure(L, wrapped_call, 1);
    return 1;
}

/* A job's own fiber is the script's main coroutine: it cannot yield. */
static int co_yield(lua_State *L)
{
    if (sky__lua_is_fiber(L)) return luaL_error(L, "attempt to yield from outside a coroutine");
    return lua_yield(L, lua_gettop(L));
}

static int co_isyieldable(lua_State *L)
{
    lua_State *co = lua_isnone(L, 1) ? L : check_co(L, 1);
    lua_pushboolean(L, !sky__lua_is_fiber(co) && lua_isyieldable(co));
    return 1;
}

static int co_running(lua_State *L)
{
    int main = lua_pushthread(L);
    lua_pushboolean(L, main || sky__lua_is_fiber(L));
    return 2;
}

/* A fiber or a waiting coroutine is "normal": active, not resumable. */
static int co_status(lua_State *L)
{
    lua_State *co = check_co(L, 1);
    if (co != L && refused(L, co)) {
        lua_pushliteral(L, "normal");
        return 1;
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    return 1;
}

static int co_close(lua_State *L)
{
    lua_State *co = check_co(L, 1);
    const char *why = refused(L, co);
    if (why) return luaL_error(L, "cannot close %s", why);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

int sky__luaopen_coro(lua_State *L)
{
    static const luaL_Reg plain[] = {{"resume", co_resume},         {"wrap", co_wrap},
                                     {"yield", co_yield},           {"isyieldable", co_isyieldable},
                                     {"running", co_running},       {NULL, NULL}};
    static const luaL_Reg over[] = {{"status", co_status}, {"close", co_close}, {NULL, NULL}};
    luaopen_coroutine(L);
    luaL_setfuncs(L, plain, 0);
    for (const luaL_Reg *r = over; r->name; r++) {
        lua_getfield(L, -1, r->name); /* the original, as the upvalue */
        lua_pushcclosure(L, r->func, 1);
        lua_setfield(L, -2, r->name);
    }
    return 1;
}
