/* Rendering: runs skyc's Lua template engine (skyc/template.lua, compiled
 * in) on the model of one file. */
#ifndef SKYC_RENDER_H
#define SKYC_RENDER_H

#include <lua.h>
#include "buf.h"
#include "templates.h"

/* Loads the engine into L. Returns 0, or -1 with a line in errs. */
int skyc_render_init(lua_State *L, skyc_buf *errs);

/* Renders template t with the `file` table at the top of L's stack (left
 * there). Returns the text (free() it), or NULL with a line in errs naming
 * the template line at fault. */
char *skyc_render(lua_State *L, const skyc_template *t, skyc_buf *errs);

/* The model at the top of the stack as sorted `path = value` lines (free()
 * it), for tests and debugging. */
char *skyc_render_dump(lua_State *L, skyc_buf *errs);

#endif
