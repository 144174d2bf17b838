/* The `sky` Lua module of the Lua service host: what a Lua service can do
 * (sky.self, sky.spawn, sky.sleep, ...; see docs/lua.md), and how mail
 * reaches its functions. */
#ifndef SKY__LUA_SKYLIB_H
#define SKY__LUA_SKYLIB_H

#include <lua.h>
#include "sky/service.h"

/* Pushes the `sky` table. */
void sky__lua_openlib(lua_State *L);

/* After the service script ran (protected): schedules the sky.start
 * function, if any. Returns 0 or the code of sky_timeout(). */
int sky__lua_started(lua_State *L);

/* Hands message m to Lua (on the main thread, protected): timers wake
 * what waits on them; requests, oneways and text go to the sky.dispatch
 * function, each in a fiber. A request nobody handles is answered
 * SKY_ENOTSUP. */
void sky__lua_dispatch(lua_State *L, const sky_msg *m);

/* Answers request tok with the `n` values a handler returned, on top of
 * L (and pops them). Returns 0, or a negative code with an error object
 * pushed (a result that is not an answer). */
int sky__lua_answer(lua_State *L, sky_ctx *ctx, sky_token tok, uint32_t type_id, const void *method, int n);

#endif
