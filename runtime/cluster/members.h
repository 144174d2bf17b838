/* Checking a cluster's membership (members.c). */
#ifndef SKY__MEMBERS_H
#define SKY__MEMBERS_H

#include <stdarg.h>
#include <stddef.h>
#include "sky/node.h"

/* 1 if `name` may name a node: 1..255 bytes of printable ASCII, no space,
 * no '@'. */
int sky__member_name_ok(const char *name);

/* Splits "host:port" ("[v6]:port" too) into its parts. Returns 0, or -1
 * if it is not one (a port outside 1..65535, a part too long). */
int sky__member_split(const char *address, char *host, size_t hostsize, char *port, size_t portsize);

/* Checks names, addresses, and that names and ids are unique. Returns 0
 * or -1 with err naming the member. */
int sky__members_check(const sky_cluster_member *m, size_t n, char *err, size_t errsize);

/* The member named `name`, or NULL. */
const sky_cluster_member *sky__members_find(const sky_cluster_member *m, size_t n, const char *name);

#endif
