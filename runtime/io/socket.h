/* Sockets, the node's side: the table of sockets and what the rest of the
 * runtime tells it (see sky/socket.h for the services' side). */
#ifndef SKY__SOCKET_H
#define SKY__SOCKET_H

#include <stddef.h>
#include <stdint.h>
#include "core/node.h"
#include "sky/socket.h"

typedef struct sky__sockets sky__sockets;

/* The node's socket table, kept in its hooks by the assembly. */
static inline sky__sockets *sky__node_sockets(sky_node *node) { return sky__node_hooks(node)->sockets; }

/* The node's socket table, with its limits from the node's config. */
sky__sockets *sky__sockets_new(sky_node *node);

/* Closes every socket left and frees the table. Only once the loop
 * thread has been joined. NULL is a no-op. */
void sky__sockets_free(sky__sockets *ss);

/* The owner handled an `event` (a SKY_SOCK_* type id) of `size` bytes from
 * socket id: after data, reading may go on (the read limit). From the
 * owner's worker, through the core's socket_handled hook. */
void sky__socket_handled(sky_node *node, uint32_t event, uint32_t id, size_t size);

/* sky_socket_write of a copy of data (the caller keeps it): what the
 * kernel takes at once is not copied at all. */
SKY_MUST_CHECK int sky__socket_write_copy(sky_ctx *ctx, uint32_t id, const void *data, size_t size);

/* What is on its way through socket id (the caller's): *unsent, the
 * bytes written that its peer has not received yet (those still queued,
 * plus those in the kernel's send buffer not yet acknowledged, where the
 * system tells: SIOCOUTQ); *unread, the bytes read from it whose data
 * events the caller has not handled yet. Both 0 if id is no socket of
 * the caller's. */
void sky__socket_in_transit(sky_ctx *ctx, uint32_t id, size_t *unsent, size_t *unread);

/* Service `owner` died: its sockets close (queued writes dropped). */
void sky__socket_owner_exit(sky_node *node, sky_addr_t owner);

#endif
