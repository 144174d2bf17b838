/* The cluster's membership as the launcher reads it: a Lua table mapping
 * node name -> { id = N, address = "host:port" }, given as the config's
 * `cluster` key or returned by the file `cluster_file` names (see
 * docs/launcher.md, "Cluster").
 *
 *   struct sky_launcher_members m = {0};
 *   char err[512];
 *   if (sky_launcher_members_load("members.lua", &m, err, sizeof err) == 0)
 *       rc = sky_node_cluster_update(node, m.member, m.count, err, sizeof err);
 *   sky_launcher_members_free(&m);
 */
#ifndef SKY_LAUNCHER_MEMBERS_H
#define SKY_LAUNCHER_MEMBERS_H

#include <stddef.h>
#include <lua.h>
#include "sky/node.h"

/* Sorted by name; the names and addresses are owned. */
struct sky_launcher_members {
    sky_cluster_member *member;
    size_t count;
};

/* Checks the member table at stack index idx and fills *out, which must be
 * empty. A bad table raises a Lua error "WHERE: cluster: ..." naming the
 * member (the first bad one in name order): "WHERE: cluster: member 'b':
 * id: expected integer in 0..65535, got 70000". *out may then hold part of
 * the table: free it with sky_launcher_members_free() either way. */
void sky_launcher_members_check(lua_State *L, int idx, const char *where, struct sky_launcher_members *out);

/* Runs the cluster file at `path` in the launcher's sandbox; the table it
 * returns is checked as by sky_launcher_members_check(). Returns 0 and
 * fills *out (empty before), or -1 with one line in err naming the file
 * and leaves *out empty. */
int sky_launcher_members_load(const char *path, struct sky_launcher_members *out, char *err, size_t errsize);

/* The member named `name`, or NULL. */
const sky_cluster_member *sky_launcher_members_find(const struct sky_launcher_members *m, const char *name);

/* Frees what *m owns and empties it. Safe to call twice. */
void sky_launcher_members_free(struct sky_launcher_members *m);

#endif
