/* Lua error objects: what a `sky` function raises, what a failed call
 * raises in its caller, and how an error value a handler raised becomes
 * an error reply (docs/lua.md, "Errors").
 *
 * An error object is a table {code = "ENOSVC", message = "..."} with a
 * __tostring; an application error (status SKY_EAPP) has its application
 * code as `code` ("EOUTOFSTOCK") and, if it came with details, `details`
 * (a string of bytes). */
#ifndef SKY__LUA_LUAERR_H
#define SKY__LUA_LUAERR_H

#include <stddef.h>
#include <lua.h>
#include "sky/service.h"

/* Pushes an error object {code = "ENOSVC", message = msg} (with a
 * __tostring) for `code` (< 0). */
void sky__lua_pusherror(lua_State *L, int code, const char *fmt, ...) SKY_PRINTF(3, 4);

/* sky__lua_pusherror, then lua_error. */
int sky__lua_raise(lua_State *L, int code, const char *fmt, ...) SKY_PRINTF(3, 4);

/* sky.error(code, message [, details]): a new error object, not raised
 * (for `error(...)`): code a sky code's name or an application code. */
int sky__lua_l_error(lua_State *L);

/* Pushes the error object of a call that failed with `status`: from the
 * sky.Status of `reply` (an error reply; NULL when none came) its
 * message, application code and details. */
void sky__lua_pushstatus(lua_State *L, int status, const sky_msg *reply);

/* The SKY_E* code and text of the error value at `idx`: an error object,
 * a memory error, or anything else (SKY_EFAIL, its tostring). Never
 * allocates in the Lua state. */
int sky__lua_errcode(lua_State *L, int idx, char *buf, size_t size);

/* Answers the request `tok` with the error value at `idx` (as
 * sky__lua_errcode reads it, with an application code and details if it
 * has them). Returns the code, the text in buf. Never allocates in the
 * Lua state. */
int sky__lua_respond_error(lua_State *L, int idx, sky_ctx *ctx, sky_token tok, char *buf, size_t size);

#endif
