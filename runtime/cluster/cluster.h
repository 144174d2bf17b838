/* The cluster: this node's links to the other members (docs/cluster.md).
 *
 * Everything that touches a socket runs on the loop thread; workers reach
 * a link through sky__cluster_deliver (the core's `remote` hook), which
 * puts the frame on the link's bounded send queue under the peer's lock
 * and wakes the loop thread. Frames and the handshake are wire.c and
 * handshake.c; this file's code puts them on sockets. */
#ifndef SKY__CLUSTER_H
#define SKY__CLUSTER_H

#include <stddef.h>
#include <stdint.h>
#include "core/mail.h"
#include "sky/node.h"

/* A name address: `name@node` resolves to the remote node's id and this
 * bit plus an index in the node's table of such names; the link sends the
 * name with the message and the receiving node looks it up. Local serials
 * stay below it. */
#define SKY__NAME_SERIAL (UINT64_C(1) << 47)

typedef struct sky__cluster sky__cluster;

/* Checks the cluster part of a configuration (no cluster: nothing to
 * check). Returns 0, or -1 with a line naming the setting in err. */
int sky__cluster_check(const sky_config *cfg, char *err, size_t errsize);

/* The first serial of this run's addresses: past every earlier run's
 * (docs/cluster.md, "Addresses"). */
uint64_t sky__cluster_first_serial(void);

/* Creates the cluster of a node whose configuration has one: resolves
 * every member's address and binds this node's listening socket. Returns
 * NULL with err set if it cannot (an address that does not resolve, a
 * port in use). Nothing runs until sky__cluster_start. */
sky__cluster *sky__cluster_new(sky_node *node, const sky_config *cfg, char *err, size_t errsize);

/* On the started loop: accept links and dial every member. */
int sky__cluster_start(sky__cluster *c);

/* Before the loop stops: close every link (pending calls fail with
 * SKY_ESTOPPED, as the node stops anyway). */
void sky__cluster_stop(sky__cluster *c);

/* After the loop thread was joined. NULL is a no-op. */
void sky__cluster_free(sky__cluster *c);

/* The core's remote hook, from any thread: sends mail m (its source
 * stamped) to `to`, an address of another node. Always takes m's payload.
 * Returns 0, SKY_ENOSVC (no such node), SKY_ENODEDOWN (its link is down),
 * SKY_EBUSY (the link's send queue is past cluster_high_water; bounded
 * kinds only) or SKY_EINVAL (a kind that does not travel). */
int sky__cluster_deliver(sky_node *node, sky_addr_t to, sky__mail *m);

/* The core's whereis hook for "name@node" with `at` naming another node:
 * the name address, or SKY_ADDR_NONE with *rc SKY_ENOENT (no such node)
 * or SKY_EINVAL (a bad name). */
sky_addr_t sky__cluster_whereis(sky_node *node, const char *name, size_t namelen, const char *at, int *rc);

/* sky_node_nodes(), sky_node_cluster_update(), sky_monitor_node() and
 * sky_demonitor_node() (sky/node.h, sky/service.h) are defined here. */

#endif
