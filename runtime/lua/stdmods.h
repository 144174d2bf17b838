/* sky's standard Lua modules: "sky.NAME" is runtime/lua/lib/NAME.lua,
 * compiled into libsky at build time (skyc/embed writes the table), so
 * `require "sky.supervisor"` works in every Lua service with nothing on
 * its service path.
 *
 *   package.searchers: { preload, sky__lua_search_stdmod, service path }
 */
#ifndef SKY__LUA_STDMODS_H
#define SKY__LUA_STDMODS_H

#include <stddef.h>
#include <lua.h>

/* One embedded file: its name ("supervisor.lua") and text. */
typedef struct sky__lua_stdmods_file {
    const char *name;
    const char *data; /* NUL-terminated, `len` bytes before the NUL */
    size_t len;
} sky__lua_stdmods_file;

/* The table skyc/embed generates (stdmods_gen.c); ends with a NULL name. */
extern const sky__lua_stdmods_file sky__lua_stdmods[];

/* A package searcher: for "sky.NAME" pushes the loader of NAME's embedded
 * source and its name (2 results), or a string saying there is no such
 * module; for any other name, nothing (the next searcher looks). */
int sky__lua_search_stdmod(lua_State *L);

#endif
