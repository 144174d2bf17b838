/* Argument checks of the `sky` Lua module's functions and of its socket
 * methods (docs/lua.md, "Errors"). A bad argument raises an error object,
 * EINVAL, whose message names the function and the argument the way
 * Lua's own errors do, never a plain string:
 *
 *   sky.sleep: bad argument #1 (ms): an integer from 0 to 2147483647 expected, got 1.5
 *   s:read: bad self: a TCP socket expected, got a UDP socket
 *
 * `fn` is the function as scripts write it: "sky.sleep", or "s:read" for
 * a method (a name with a ':'), whose arguments are counted without self
 * (stack index 1). `arg` is the stack index; `name` the argument's name
 * in docs/lua.md, or NULL. Strings are not converted to numbers nor
 * numbers to strings; a float with an integral value is an integer.
 *
 *   lua_Integer ms = sky__lua_checkint(L, "sky.sleep", 1, "ms", 0, INT32_MAX);
 */
#ifndef SKY__LUA_ARGS_H
#define SKY__LUA_ARGS_H

#include <stddef.h>
#include <lua.h>
#include "sky/error.h"

/* Raises EINVAL: "FN: bad argument #N (NAME): " and the formatted text. */
int sky__lua_argerror(lua_State *L, const char *fn, int arg, const char *name, const char *fmt, ...)
    SKY_PRINTF(5, 6);

/* Raises EINVAL: "... WANT expected, got " and what the argument is
 * ("1.5", "\"text\"", "a table", "no value"). */
int sky__lua_typeerror(lua_State *L, const char *fn, int arg, const char *name, const char *want);

/* An integer in [min, max] (none or nil: def, for the opt form). */
lua_Integer sky__lua_checkint(lua_State *L, const char *fn, int arg, const char *name, lua_Integer min,
                              lua_Integer max);
lua_Integer sky__lua_optint(lua_State *L, const char *fn, int arg, const char *name, lua_Integer min,
                            lua_Integer max, lua_Integer def);

/* A string, its length in *len if len is not NULL (none or nil: def, for
 * the opt form; *len is then its length, 0 for NULL). */
const char *sky__lua_checkstr(lua_State *L, const char *fn, int arg, const char *name, size_t *len);
const char *sky__lua_optstr(lua_State *L, const char *fn, int arg, const char *name, const char *def,
                            size_t *len);

/* A value of `type` (LUA_TFUNCTION or LUA_TTABLE), or also nil if nil_ok. */
void sky__lua_checktype(lua_State *L, const char *fn, int arg, const char *name, int type, int nil_ok);

/* A boolean. */
int sky__lua_checkbool(lua_State *L, const char *fn, int arg, const char *name);

/* luaL_tolstring (pushing the text), but a __tostring that gives no
 * string is a bad argument, not a plain error. */
const char *sky__lua_tostring(lua_State *L, const char *fn, int arg, size_t *len);

/* The edit distance of a and b (insertions, deletions, substitutions),
 * for a "did you mean": names longer than 64 bytes are never close. */
size_t sky__lua_distance(const char *a, const char *b);

#endif
