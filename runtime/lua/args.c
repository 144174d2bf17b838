/* Argument checks of the `sky` Lua module (see args.h). Only the error
 * paths do more than the luaL_check* functions they replace. */
#include "lua/args.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <lauxlib.h>
#include "lua/host.h"

/* Longest name sky__lua_distance compares. */
#define DIST_MAX 64

int sky__lua_argerror(lua_State *L, const char *fn, int arg, const char *name, const char *fmt, ...)
{
    char what[64], text[256];
    int method = strchr(fn, ':') != NULL;
    if (method && arg == 1) snprintf(what, sizeof what, "bad self");
    else if (name) snprintf(what, sizeof what, "bad argument #%d (%s)", arg - method, name);
    else snprintf(what, sizeof what, "bad argument #%d", arg - method);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return sky__lua_raise(L, SKY_EINVAL, "%s: %s: %s", fn, what, text);
}

/* What the value at idx is, for "got ...": a number or boolean as it
 * prints, a string quoted (its start), else its type with an article. */
static void describe(lua_State *L, int idx, char *out, size_t size)
{
    switch (lua_type(L, idx)) {
    case LUA_TNONE: snprintf(out, size, "no value"); break;
    case LUA_TNIL: snprintf(out, size, "nil"); break;
    case LUA_TBOOLEAN: snprintf(out, size, "%s", lua_toboolean(L, idx) ? "true" : "false"); break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) snprintf(out, size, "%lld", (long long)lua_tointeger(L, idx));
        else snprintf(out, size, "%.14g", (double)lua_tonumber(L, idx));
        break;
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);
        snprintf(out, size, "string \"%.*s\"%s", len > 32 ? 32 : (int)len, s, len > 32 ? "..." : "");
        break;
    }
    default: {
        const char *t = luaL_typename(L, idx);
        snprintf(out, size, "a%s %s", strchr("aeiou", t[0]) ? "n" : "", t);
    }
    }
}

int sky__lua_typeerror(lua_State *L, const char *fn, int arg, const char *name, const char *want)
{
    char got[64];
    describe(L, arg, got, sizeof got);
    return sky__lua_argerror(L, fn, arg, name, "%s expected, got %s", want, got);
}

lua_Integer sky__lua_checkint(lua_State *L, const char *fn, int arg, const char *name, lua_Integer min,
                              lua_Integer max)
{
    int ok = 0;
    lua_Integer v = lua_type(L, arg) == LUA_TNUMBER ? lua_tointegerx(L, arg, &ok) : 0;
    if (ok && v >= min && v <= max) return v;
    char want[80] = "an integer";
    if (max == LUA_MAXINTEGER && min != LUA_MININTEGER) snprintf(want, sizeof want, "an integer >= %lld", (long long)min);
    else if (max != LUA_MAXINTEGER)
        snprintf(want, sizeof want, "an integer from %lld to %lld", (long long)min, (long long)max);
    return sky__lua_typeerror(L, fn, arg, name, want);
}

lua_Integer sky__lua_optint(lua_State *L, const char *fn, int arg, const char *name, lua_Integer min,
                            lua_Integer max, lua_Integer def)
{
    return lua_isnoneornil(L, arg) ? def : sky__lua_checkint(L, fn, arg, name, min, max);
}

const char *sky__lua_checkstr(lua_State *L, const char *fn, int arg, const char *name, size_t *len)
{
    if (lua_type(L, arg) != LUA_TSTRING) sky__lua_typeerror(L, fn, arg, name, "a string");
    return lua_tolstring(L, arg, len);
}

const char *sky__lua_optstr(lua_State *L, const char *fn, int arg, const char *name, const char *def,
                            size_t *len)
{
    if (!lua_isnoneornil(L, arg)) return sky__lua_checkstr(L, fn, arg, name, len);
    if (len) *len = def ? strlen(def) : 0;
    return def;
}

void sky__lua_checktype(lua_State *L, const char *fn, int arg, const char *name, int type, int nil_ok)
{
    int t = lua_type(L, arg);
    if (t == type || (nil_ok && t == LUA_TNIL)) return;
    char want[32];
    snprintf(want, sizeof want, "a %s%s", lua_typename(L, type), nil_ok ? " or nil" : "");
    sky__lua_typeerror(L, fn, arg, name, want);
}

int sky__lua_checkbool(lua_State *L, const char *fn, int arg, const char *name)
{
    if (lua_type(L, arg) != LUA_TBOOLEAN) sky__lua_typeerror(L, fn, arg, name, "a boolean");
    return lua_toboolean(L, arg);
}

const char *sky__lua_tostring(lua_State *L, const char *fn, int arg, size_t *len)
{
    if (luaL_callmeta(L, arg, "__tostring")) {
        if (lua_type(L, -1) != LUA_TSTRING)
            sky__lua_argerror(L, fn, arg, NULL, "its __tostring gave a %s, not a string", luaL_typename(L, -1));
        return lua_tolstring(L, -1, len);
    }
    return luaL_tolstring(L, arg, len);
}

static size_t min3(size_t a, size_t b, size_t c)
{
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

/* Levenshtein's, one row at a time: row[j] is the distance of a's first
 * i bytes and b's first j. */
size_t sky__lua_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t row[DIST_MAX + 1];
    if (la > DIST_MAX || lb > DIST_MAX) return (size_t)-1;
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t before = row[0]; /* row[j - 1] of the row above */
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t above = row[j];
            row[j] = min3(above + 1, row[j - 1] + 1, before + (a[i - 1] != b[j - 1]));
            before = above;
        }
    }
    return row[lb];
}
