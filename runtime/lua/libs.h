/* The standard libraries of a Lua service (docs/lua.md, "Libraries"):
 * base (without dofile and loadfile; load takes text only) and, opened on
 * first use (reading the global, through a metatable on _G, or require),
 * string, coroutine (wrapped: coro.h), package (require searches sky's
 * standard modules, stdmods.h, and the service path, text only), table,
 * math, utf8 and os (without what ends the process or reaches the file
 * system). A service pays, at spawn
 * and in memory, only for what it names. Strings have their methods and
 * arithmetic from the start: the first use opens string.
 *
 *   sky__lua_openlibs(L);                 -- protected: it allocates
 */
#ifndef SKY__LUA_LIBS_H
#define SKY__LUA_LIBS_H

#include <lua.h>

/* Opens the libraries in L's globals. */
void sky__lua_openlibs(lua_State *L);

#endif
