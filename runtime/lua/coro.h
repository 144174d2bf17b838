/* The `coroutine` library of Lua services: Lua's own, wrapped so that
 * sky.sleep, sky.call and sky.rawcall work inside the script's coroutines
 * (coroutine.create/wrap), as they do in a handler: the wait suspends
 * every coroutine from the one that waits up to the job's fiber, and the
 * reply resumes them all again. Yields between the script's coroutines
 * behave as in plain Lua. The job's fiber is the script's main coroutine:
 * coroutine.running() says it is main, coroutine.yield() there is an
 * error, and the script can neither resume nor close it, nor a coroutine
 * that waits in a sky call (its status is "normal").
 *
 *   local gen = coroutine.wrap(function()
 *       for i = 1, 3 do sky.sleep(10) coroutine.yield(i) end
 *   end)
 *   print(gen(), gen(), gen())   -- 1 2 3, 30 ms later
 */
#ifndef SKY__LUA_CORO_H
#define SKY__LUA_CORO_H

#include <lua.h>

/* Opens the wrapped `coroutine` library: pushes its table (a
 * lua_CFunction, for luaL_requiref). */
int sky__luaopen_coro(lua_State *L);

#endif
