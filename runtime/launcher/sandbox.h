/* The sandbox the launcher runs its Lua files in (the config file and the
 * cluster_file): text only, no io, os, require or load, at most 64 MiB of
 * memory and 10^8 instructions (docs/launcher.md, "The config file").
 *
 *   static int check(lua_State *L) { ...; return 0; }   // may raise
 *   char err[512];
 *   if (sky_launcher_sandbox_run("members.lua", 1, check, &out, err, sizeof err) != 0)
 *       fprintf(stderr, "sky: %s\n", err);
 */
#ifndef SKY_LAUNCHER_SANDBOX_H
#define SKY_LAUNCHER_SANDBOX_H

#include <stddef.h>
#include <lua.h>

/* What runs after the file: on the stack are `ud` (a light userdata) at
 * index 1, the file's environment (its globals) at 2 and its nresults
 * results above. It may raise a Lua error; its message becomes err. */
typedef int (*sky_launcher_then)(lua_State *L);

/* Runs the Lua text file `path` in a fresh sandboxed state, keeping
 * nresults of its results, then `then` (in protected mode, without the
 * instruction limit). Returns 0, or -1 with one line in err: Lua's own
 * "path:LINE: ..." for an error in the file, "path: cannot open: ...",
 * "path: is a directory", "path: out of memory (limit 64 MiB)", or the
 * message `then` raised. */
int sky_launcher_sandbox_run(const char *path, int nresults, sky_launcher_then then, void *ud, char *err,
                             size_t errsize);

#endif
