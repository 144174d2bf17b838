/* Rendering: see render.h. The engine module is kept in the registry. */
#include <config.h>
#include <lauxlib.h>
#include <lualib.h>
#include <string.h>
#include "render.h"

#define ENGINE_KEY "skyc.engine"

int skyc_render_init(lua_State *L, skyc_buf *errs)
{
    size_t len;
    const char *src = skyc_embedded_get("skyc/template.lua", &len);

    luaL_openlibs(L);
    if (!src) {
        skyc_buf_puts(errs, "skyc: template engine missing from the build\n");
        return -1;
    }
    if (luaL_loadbufferx(L, src, len, "=skyc/template.lua", "t") != LUA_OK ||
        lua_pcall(L, 0, 1, 0) != LUA_OK) {
        skyc_buf_printf(errs, "skyc: %s\n", lua_tostring(L, -1));
        lua_pop(L, 1);
        return -1;
    }
    lua_setfield(L, LUA_REGISTRYINDEX, ENGINE_KEY);
    return 0;
}

/* Calls engine[fn](args..., file) where the file table is at `file`;
 * returns the resulting string or NULL with the error in errs. */
static char *call(lua_State *L, const char *fn, const skyc_template *t, skyc_buf *errs)
{
    int file = lua_gettop(L), nargs = 1;
    char *text = NULL;

    lua_getfield(L, LUA_REGISTRYINDEX, ENGINE_KEY);
    lua_getfield(L, -1, fn);
    lua_remove(L, -2);
    if (t) {
        lua_pushlstring(L, t->src, t->len);
        lua_pushstring(L, t->name);
        nargs += 2;
    }
    lua_pushvalue(L, file);
    if (t) {
        lua_createtable(L, 0, 1);
        lua_pushstring(L, PACKAGE_VERSION);
        lua_setfield(L, -2, "version");
        nargs++;
    }
    if (lua_pcall(L, nargs, 1, 0) != LUA_OK) {
        const char *msg = lua_tostring(L, -1);

        skyc_buf_printf(errs, "%s", msg ? msg : "error in template (not a string)");
        lua_getfield(L, file, "name");
        if (t && lua_isstring(L, -1))
            skyc_buf_printf(errs, " (rendering %s)", lua_tostring(L, -1));
        skyc_buf_putc(errs, '\n');
    } else {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);

        text = skyc_xmalloc(len + 1);
        memcpy(text, s ? s : "", s ? len : 0);
        text[s ? len : 0] = '\0';
    }
    lua_settop(L, file);
    return text;
}

char *skyc_render(lua_State *L, const skyc_template *t, skyc_buf *errs)
{
    return call(L, "render", t, errs);
}

char *skyc_render_dump(lua_State *L, skyc_buf *errs)
{
    return call(L, "dump", NULL, errs);
}
