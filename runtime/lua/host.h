/* The Lua service host: the C service module "lua", which runs one Lua
 * service in a lua_State of its own.
 *
 * Spawn args are "[KEY=VALUE...] NAME [ARGS...]" (split on blanks). NAME matches
 * [A-Za-z0-9_.]+ and is looked up through the node's service_path
 * patterns ('?' = NAME); the file is loaded as text only (bytecode is
 * refused). The script runs at init with ARGS as `...`; `sky.start(fn)`
 * registers a function run right after init.
 *
 * Limits: the state's memory (the node's lua_mem_limit, or the spawn
 * option mem_limit=BYTES; past it, allocations fail with a Lua memory
 * error in this service only) and an instruction budget per job (the
 * node's lua_budget, or budget=COUNT): a message, a sky.start or a
 * sky.timeout function, counted over all its resumes and the coroutines it
 * resumes; past it, an ELIMIT error fails the job, and a request gets it
 * as an error reply. Every job runs in its own coroutine (a fiber), taken
 * from a small pool of idle ones. The script's own coroutines may wait in
 * sky calls too (coro.c).
 *
 *   sky_spawn(ctx, "lua", "counter start=10", &addr);
 *   sky_spawn(ctx, "lua", "budget=100000 mem_limit=1048576 counter", &addr);
 */
#ifndef SKY__LUA_HOST_H
#define SKY__LUA_HOST_H

#include <lua.h>
#include "lua/luaerr.h"
#include "sky/service.h"

#define SKY_LUA_MEM_DEFAULT ((size_t)32 << 20)
#define SKY_LUA_MEM_MIN ((size_t)64 << 10)
#define SKY_LUA_BUDGET_DEFAULT 10000000

extern const sky_module sky__lua_module;

/* The service a Lua state belongs to; raises a Lua error if that service
 * has gone (a __gc running at close). */
sky_ctx *sky__lua_ctx(lua_State *L);

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

/* 1 if L may wait in a sky call: a fiber's thread, or a coroutine of the
 * script resumed by one (through the wrapped coroutine library), and not
 * inside a call that cannot yield (a table.sort comparator). */
int sky__lua_yieldable(lua_State *L);

/* Yields L for a sky wait (a session is remembered, sky__lua_wait):
 * lua_yieldk with k and kctx, which see the values the wait ends with. */
int sky__lua_yield(lua_State *L, lua_KContext kctx, lua_KFunction k);

/* For sky.spawn{name =, mem_limit =, budget =} (fn: the function, for
 * errors): writes the spawn args' option words ("mem_limit=N budget=N ",
 * the values unchecked: the host checks them at init) to out (64 bytes
 * do) and replaces the table at idx with the name. Raises EINVAL on a
 * field that is unknown or not an integer, or a missing name. */
void sky__lua_spawn_opts(lua_State *L, const char *fn, int idx, char *out, size_t size);

/* ---- for libs.c --------------------------------------------------------- */

/* A package.searchers function: finds module NAME in the service path
 * (dots as '/'), text only; returns its loader and file name, or a string
 * saying where it looked. */
int sky__lua_search_module(lua_State *L);

/* ---- for coro.c --------------------------------------------------------- */

/* After lua_resume(co) yielded nres values: 1 if it was a sky wait (the
 * marker is popped), 0 if a plain yield. */
int sky__lua_waited(lua_State *co, int nres);

/* 1 if L is a fiber's own thread (the script must not resume or close
 * it, nor yield from it). */
int sky__lua_is_fiber(lua_State *L);

/* Called by a script's resume of co from L: co may wait in sky calls if L
 * may, for L's fiber; it gets the budget hook if it has none. */
void sky__lua_adopt(lua_State *L, lua_State *co);

/* co waits in a sky call below the script's resume: until the host
 * resumes through it (sky__lua_adopt again), the script may not resume or
 * close it. */
void sky__lua_mark_waiting(lua_State *co);
int sky__lua_is_waiting(lua_State *co);

/* A new session, remembered as waiting: the function at index fn (a
 * timeout), or with fn 0 the running fiber (which must then yield). */
uint32_t sky__lua_wait(lua_State *L, int fn);

/* Forgets a session (its timer or call could not be started). */
void sky__lua_unwait(lua_State *L, uint32_t session);

/* Wakes what waits on session with the `nargs` values on top of L (the
 * main thread): resumes the fiber with them, or runs the function with
 * them in a new fiber. Nothing waits: drops them. */
void sky__lua_wake(lua_State *L, uint32_t session, int nargs);

/* sky_schema_method(id) through a small cache of the state's, so that a
 * message does not take the schema registry's lock. (Schemas are never
 * unregistered: an entry stays true.) */
const struct sky_method_desc *sky__lua_method(lua_State *L, uint32_t id);

/* The reason the last Lua service init on this thread failed ("" if none). */
const char *sky__lua_last_error(void);

/* Why the spawn that just failed on this thread with rc failed, as the
 * core tells it: the text its init gave, the name its sky_register was
 * refused ("the name 'NAME' is taken"), or sky_strerror(rc). */
const char *sky__lua_spawn_error(int rc);

/* The service's name, for log lines. */
const char *sky__lua_name(lua_State *L);

#endif
