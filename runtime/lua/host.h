/* The Lua service host: the C service module "lua", which runs one Lua
 * service in a lua_State of its own.
 *
 * Spawn args are "NAME [ARGS...]" (split on blanks). NAME matches
 * [A-Za-z0-9_.]+ and is looked up through the node's service_path
 * patterns ('?' = NAME); the file is loaded as text only (bytecode is
 * refused). The script runs at init with ARGS as `...`; `sky.start(fn)`
 * registers a function run right after init.
 *
 * Limits: the state's memory (SKY_LUA_MEM_LIMIT; past it, allocations fail
 * with a Lua memory error in this service only) and an instruction budget
 * per activation (SKY_LUA_BUDGET instructions each time a coroutine runs:
 * past it, an ELIMIT error fails that message; a request gets it as an
 * error reply). Every incoming message runs in its own coroutine, taken
 * from a small pool of idle ones.
 *
 *   sky_spawn(ctx, "lua", "counter start=10", &addr);
 */
#ifndef SKY__LUA_HOST_H
#define SKY__LUA_HOST_H

#include <lua.h>
#include "sky/service.h"

#define SKY_LUA_MEM_LIMIT ((size_t)32 << 20)
#define SKY_LUA_BUDGET 10000000

extern const sky_module sky__lua_module;

/* The service a Lua state belongs to; raises a Lua error if that service
 * has gone (a __gc running at close). */
sky_ctx *sky__lua_ctx(lua_State *L);

/* Pushes an error object {code = "ENOSVC", message = msg} (with a
 * __tostring) for `code` (< 0). */
void sky__lua_pusherror(lua_State *L, int code, const char *fmt, ...) SKY_PRINTF(3, 4);

/* sky__lua_pusherror, then lua_error. */
int sky__lua_raise(lua_State *L, int code, const char *fmt, ...) SKY_PRINTF(3, 4);

/* The SKY_E* code and text of the error value at `idx`: an error object,
 * a memory error, or anything else (SKY_EFAIL, its tostring). */
int sky__lua_errcode(lua_State *L, int idx, char *buf, size_t size);

/* ---- for skylib.c ------------------------------------------------------- */

/* The main thread of the Lua service `ctx` (a "lua" module service). */
lua_State *sky__lua_state(sky_ctx *ctx);

/* Runs fn(ud) on L's main thread, protected; logs and returns the code of
 * a failure. For callbacks from the runtime (replies). */
int sky__lua_protect(lua_State *L, lua_CFunction fn, void *ud);

/* Runs the function below `nargs` arguments on top of L (the main
 * thread) in a fiber. If req is a request, the fiber answers it when the
 * function returns (sky__lua_answer, with method) or fails. */
void sky__lua_run(lua_State *L, int nargs, const sky_msg *req, const void *method);

/* Takes over the request the fiber running on L answers when it returns
 * (sky.defer): returns 1 with its token, type id and method (NULL for an
 * untyped request), after which the fiber answers nothing; 0 if L runs
 * no request or it was taken already. */
int sky__lua_take_request(lua_State *L, sky_token *tok, uint32_t *type_id, const void **method);

/* The service of L, or NULL once it has exited (for __gc metamethods). */
sky_ctx *sky__lua_ctx_if_alive(lua_State *L);

/* 1 if L is a fiber's coroutine, which may yield to the host. */
int sky__lua_yieldable(lua_State *L);

/* A new session, remembered as waiting: the function at index fn (a
 * timeout), or with fn 0 the running fiber (which must then yield). */
uint32_t sky__lua_wait(lua_State *L, int fn);

/* Forgets a session (its timer or call could not be started). */
void sky__lua_unwait(lua_State *L, uint32_t session);

/* Wakes what waits on session with the `nargs` values on top of L (the
 * main thread): resumes the fiber with them, or runs the function with
 * them in a new fiber. Nothing waits: drops them. */
void sky__lua_wake(lua_State *L, uint32_t session, int nargs);

/* The reason the last Lua service init on this thread failed ("" if none). */
const char *sky__lua_last_error(void);

/* The service's name, for log lines. */
const char *sky__lua_name(lua_State *L);

#endif
