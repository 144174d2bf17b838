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

/* The address argument at idx of function fn ("sky.call"): an integer,
 * or a name registered on this node. Raises ENOSVC (no such name) or
 * EINVAL. */
sky_addr_t sky__lua_check_addr(lua_State *L, const char *fn, int idx);

/* Pushes the arguments from `first` on, joined by blanks (after `lead`),
 * and returns the string: a spawn argument. Each must be a string, a
 * number or a boolean, not empty nor holding a blank (else EINVAL naming
 * fn and the argument). */
const char *sky__lua_join_args(lua_State *L, const char *fn, int first, const char *lead);

/* The "lua" spawn argument of sky.spawn's arguments (a name or an
 * options table, then the service's arguments), pushed and returned;
 * raises EINVAL naming fn for a bad one. */
const char *sky__lua_spawn_arg(lua_State *L, const char *fn);

/* Returns if the node has or can load C module `module`; else raises
 * ENOENT naming fn, the module and the files tried, on one line. */
void sky__lua_find_module(lua_State *L, const char *fn, const char *module);

/* proclib.c: adds sky.link, sky.monitor, ... to the table on top of L. */
void sky__lua_openproc(lua_State *L);

/* proclib.c: a SKY_EXIT or SKY_DOWN message for the service of L: runs its
 * sky.on_exit or sky.on_down function in a fiber. */
void sky__lua_proc_signal(lua_State *L, const sky_msg *m);

/* socklib.c: adds sky.connect, sky.listen, sky.udp to the table on top
 * of L. */
void sky__lua_opensock(lua_State *L);

/* socklib.c: a SKY_SOCKET event for the service of L: feeds the socket
 * object, wakes what waits on it, or runs a listener's function. */
void sky__lua_socket_event(lua_State *L, const sky_msg *m);

#endif
