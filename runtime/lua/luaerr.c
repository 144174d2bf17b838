/* Lua error objects (see luaerr.h). */
#include "lua/luaerr.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <lauxlib.h>
#include "core/status.h"
#include "lua/args.h"

static int error_tostring(lua_State *L)
{
    sky__lua_checktype(L, "sky.error:__tostring", 1, NULL, LUA_TTABLE, 0);
    lua_getfield(L, 1, "code");
    lua_getfield(L, 1, "message");
    lua_pushfstring(L, "%s: %s", luaL_optstring(L, -2, "EUNKNOWN"), luaL_optstring(L, -1, ""));
    return 1;
}

/* Pushes {code = name} with the error objects' metatable. */
static void push_object(lua_State *L, const char *name, size_t len)
{
    lua_createtable(L, 0, 2);
    lua_pushlstring(L, name, len);
    lua_setfield(L, -2, "code");
    if (luaL_newmetatable(L, "sky.error")) {
        lua_pushcfunction(L, error_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_setmetatable(L, -2);
}

/* Pushes the text of fmt and ap. A printf format, as SKY_PRINTF tells the
 * compiler (lua_pushvfstring knows no "%08llx"); the text may be of any
 * length. */
static void pushvformat(lua_State *L, const char *fmt, va_list ap)
{
    char buf[512];
    va_list again;
    va_copy(again, ap);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    if (n < 0) {
        lua_pushstring(L, fmt);
    } else if ((size_t)n < sizeof buf) {
        lua_pushlstring(L, buf, (size_t)n);
    } else {
        luaL_Buffer b;
        char *p = luaL_buffinitsize(L, &b, (size_t)n + 1);
        vsnprintf(p, (size_t)n + 1, fmt, again);
        luaL_pushresultsize(&b, (size_t)n);
    }
    va_end(again);
}

static void vpusherror(lua_State *L, int code, const char *fmt, va_list ap)
{
    push_object(L, sky_errname(code), strlen(sky_errname(code)));
    pushvformat(L, fmt, ap);
    lua_setfield(L, -2, "message");
}

void sky__lua_pusherror(lua_State *L, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vpusherror(L, code, fmt, ap);
    va_end(ap);
}

int sky__lua_raise(lua_State *L, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vpusherror(L, code, fmt, ap);
    va_end(ap);
    return lua_error(L);
}

int sky__lua_l_error(lua_State *L)
{
    size_t len, mlen, dlen = 0;
    const char *code = sky__lua_checkstr(L, "sky.error", 1, "code", &len);
    if (!sky__status_code_chars_ok(code, len))
        sky__lua_argerror(L, "sky.error", 1, "code", "1 to %d letters, digits, '_', '.' or '-' expected",
                          SKY_APP_CODE_MAX);
    const char *msg = sky__lua_checkstr(L, "sky.error", 2, "message", &mlen);
    const char *details = lua_isnoneornil(L, 3) ? NULL : sky__lua_checkstr(L, "sky.error", 3, "details", &dlen);
    push_object(L, code, len);
    lua_pushlstring(L, msg, mlen);
    lua_setfield(L, -2, "message");
    if (details) {
        lua_pushlstring(L, details, dlen);
        lua_setfield(L, -2, "details");
    }
    return 1;
}

void sky__lua_pushstatus(lua_State *L, int status, const sky_msg *reply)
{
    sky__status st;
    if (!reply || reply->kind != SKY_ERROR || sky__status_decode(reply->data, reply->size, &st) != 0) {
        sky__lua_pusherror(L, status, "%s", sky_strerror(status));
        return;
    }
    if (status == SKY_EAPP && sky__status_app_code_ok(st.app_code, st.app_codelen))
        push_object(L, st.app_code, st.app_codelen);
    else
        push_object(L, sky_errname(status), strlen(sky_errname(status)));
    if (st.textlen) lua_pushlstring(L, st.text, st.textlen);
    else lua_pushstring(L, sky_strerror(status));
    lua_setfield(L, -2, "message");
    if (st.detailslen) {
        lua_pushlstring(L, st.details, st.detailslen);
        lua_setfield(L, -2, "details");
    }
}

/* ---- an error value as an answer ---------------------------------------- */

static int code_of_name(const char *name)
{
    for (int c = -1; c >= -64; c--) {
        const char *n = sky_errname(c);
        if (strcmp(n, "EUNKNOWN") == 0) break;
        if (strcmp(n, name) == 0) return c;
    }
    return 0;
}

/* The fields of an error table, read without allocating (lua_next, not
 * lookups by a key that might have to be made). */
typedef struct fields {
    int code_type, message_type, details_type;
    const char *code, *message, *details;
    size_t codelen, detailslen;
    lua_Integer num;
    int isint;
} fields;

static void read_fields(lua_State *L, int idx, fields *f)
{
    memset(f, 0, sizeof *f);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        size_t kl;
        const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &kl) : NULL;
        int t = lua_type(L, -1);
        if (k && strcmp(k, "code") == 0) {
            f->code_type = t;
            if (t == LUA_TSTRING) f->code = lua_tolstring(L, -1, &f->codelen);
            if (t == LUA_TNUMBER) f->num = lua_tointegerx(L, -1, &f->isint);
        } else if (k && strcmp(k, "message") == 0) {
            f->message_type = t;
            if (t == LUA_TSTRING) f->message = lua_tostring(L, -1);
        } else if (k && strcmp(k, "details") == 0) {
            f->details_type = t;
            if (t == LUA_TSTRING) f->details = lua_tolstring(L, -1, &f->detailslen);
        }
        lua_pop(L, 1);
    }
}

/* The code an error table's code field names: a sky code's name or
 * number, or SKY_EAPP for an application code; 0 with *bad saying why
 * for anything else. */
static int code_of(const fields *f, const char **bad)
{
    if (f->code_type == LUA_TSTRING) {
        int c = code_of_name(f->code);
        if (c) return c;
        if (sky__status_app_code_ok(f->code, f->codelen)) return SKY_EAPP;
        *bad = "is neither a sky code nor an application code (1 to 63 letters, digits, _ . -)";
    } else if (f->code_type == LUA_TNUMBER) {
        if (f->isint && f->num < 0 && f->num >= -64 && code_of_name(sky_errname((int)f->num))) return (int)f->num;
        *bad = "is not a sky code (an application's own codes are strings)";
    }
    return 0;
}

/* What the error value at idx answers: st's pointers point into it (valid
 * while it is on the stack) or into buf, which holds its text. */
static void error_status(lua_State *L, int idx, sky__status *st, char *buf, size_t size)
{
    memset(st, 0, sizeof *st);
    st->code = SKY_EFAIL;
    st->text = buf;
    if (lua_type(L, idx) != LUA_TTABLE) {
        const char *msg = lua_type(L, idx) == LUA_TSTRING ? lua_tostring(L, idx) : NULL;
        snprintf(buf, size, "%s", msg ? msg : "error object is not a string");
        st->textlen = strlen(buf);
        return;
    }
    fields f;
    const char *bad = NULL;
    read_fields(L, lua_absindex(L, idx), &f);
    int code = code_of(&f, &bad);
    if (code == SKY_EAPP && f.details_type != LUA_TNIL && f.details_type != LUA_TSTRING) {
        code = 0;
        bad = "comes with details that are not a string";
    }
    if (code) st->code = code;
    if (code == SKY_EAPP) {
        st->app_code = f.code;
        st->app_codelen = f.codelen;
        st->details = f.details;
        st->detailslen = f.detailslen;
    }
    const char *text = f.message ? f.message : sky_strerror(st->code);
    if (bad && f.code_type == LUA_TSTRING)
        snprintf(buf, size, "error code '%s' %s: %s", f.code, bad, text);
    else if (bad && f.isint)
        snprintf(buf, size, "error code %lld %s: %s", (long long)f.num, bad, text);
    else if (bad)
        snprintf(buf, size, "error code (not an integer) %s: %s", bad, text);
    else
        snprintf(buf, size, "%s", text);
    st->textlen = strlen(buf);
}

int sky__lua_errcode(lua_State *L, int idx, char *buf, size_t size)
{
    sky__status st;
    error_status(L, idx, &st, buf, size);
    return st.code;
}

int sky__lua_respond_error(lua_State *L, int idx, sky_ctx *ctx, sky_token tok, char *buf, size_t size)
{
    sky__status st;
    char app[SKY_APP_CODE_MAX + 1];
    error_status(L, idx, &st, buf, size);
    if (st.code != SKY_EAPP) {
        (void)sky_respond_error(ctx, tok, st.code, buf);
        return st.code;
    }
    memcpy(app, st.app_code, st.app_codelen);
    app[st.app_codelen] = '\0';
    (void)sky_respond_app_error(ctx, tok, app, buf, st.details, st.detailslen);
    return st.code;
}
