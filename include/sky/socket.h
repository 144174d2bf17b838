/* sky — sockets for services: TCP and UDP, driven by the node's loop thread.
 *
 * A socket belongs to the service that opened it (or, for an accepted
 * connection, to the listener's service). Its events come to that service
 * as SKY_SOCKET messages: session = the socket's id, type_id = the event
 * (enum sky_sock_event), payload as described there. When the service
 * exits, its sockets close. Every function here must be called from the
 * owning service's init or handler.
 *
 *   static int handle(void *st, sky_ctx *ctx, const sky_msg *m) {
 *       if (m->kind == SKY_SOCKET && m->type_id == SKY_SOCK_DATA)   // echo
 *           return sky_socket_write(ctx, m->session, sky_take_data(ctx, m), m->size);
 *       return 0;
 *   }
 *   ... in init: sky_socket_listen(ctx, "127.0.0.1", 7000, &id);
 *
 * Writes queue on the loop thread up to the node's socket_high_water
 * (bytes): a write while the queue holds that much is refused with
 * SKY_EBUSY, and a SKY_SOCK_WRITABLE event follows once the queue drains
 * to socket_low_water. A write is accepted whole while the queue is under
 * the mark, so a queue never holds more than the mark plus one write.
 *
 * Reading is bounded too: the loop thread stops reading a socket while
 * socket_read_limit bytes of its data events wait unhandled in the owner's
 * mailbox, and goes on as the owner handles them. */
#ifndef SKY_SOCKET_H
#define SKY_SOCKET_H

#include <stddef.h>
#include <stdint.h>
#include "sky/error.h"
#include "sky/service.h"

enum sky_sock_event {
    SKY_SOCK_DATA = 1,     /* bytes arrived on a TCP socket: payload = them */
    SKY_SOCK_ACCEPT = 2,   /* a listener accepted: session = the NEW socket's
                              id; payload = the listener's id (4 bytes, host
                              order) then the peer's "ip:port" (see
                              sky_socket_accepted) */
    SKY_SOCK_CONNECT = 3,  /* sky_socket_connect succeeded; payload empty */
    SKY_SOCK_WRITABLE = 4, /* a write refused with SKY_EBUSY may be retried */
    SKY_SOCK_CLOSE = 5,    /* the peer closed; the socket is gone */
    SKY_SOCK_ERROR = 6,    /* payload = the reason (text). The socket is gone,
                              but a listener's accept error (EMFILE): it
                              pauses briefly and keeps listening */
    SKY_SOCK_UDP = 7       /* a datagram: payload = 1 byte n, n bytes of the
                              sender's "ip:port", then the datagram (see
                              sky_socket_datagram) */
};

/* Listens on TCP host:port (host NULL = "0.0.0.0"; port 0 = any free
 * port, see sky_socket_port). Accepted connections arrive as
 * SKY_SOCK_ACCEPT events. Returns 0 with the id in *id, or SKY_EINVAL (bad
 * host or port), SKY_EEXIST (address in use), SKY_ELIMIT (no file
 * descriptor to be had), SKY_EFAIL. */
SKY_MUST_CHECK int sky_socket_listen(sky_ctx *ctx, const char *host, int port, uint32_t *id);

/* Starts a TCP connection to host:port (a numeric IPv4/IPv6 address or
 * "localhost"). Returns 0 with the id in *id, after which exactly one
 * SKY_SOCK_CONNECT or SKY_SOCK_ERROR event comes (refused, unreachable,
 * or no connection within timeout_ms; <= 0 = the node's call timeout).
 * Writes made before the connect event wait in the queue. Fails at once
 * with SKY_EINVAL or SKY_ELIMIT. */
SKY_MUST_CHECK int sky_socket_connect(sky_ctx *ctx, const char *host, int port, int timeout_ms, uint32_t *id);

/* Opens a UDP socket bound to host:port (NULL/0 = any). Datagrams arrive
 * as SKY_SOCK_UDP events. Errors as for sky_socket_listen. */
SKY_MUST_CHECK int sky_socket_udp(sky_ctx *ctx, const char *host, int port, uint32_t *id);

/* Queues `size` bytes of `data` (from malloc; always taken, freed on
 * failure too) for TCP socket id. Returns 0, SKY_EBUSY (past the high-water
 * mark: not queued; a SKY_SOCK_WRITABLE event comes when it drains),
 * SKY_ENOENT (no such socket of this service, or closed), SKY_EINVAL (a
 * listener or UDP socket). */
SKY_MUST_CHECK int sky_socket_write(sky_ctx *ctx, uint32_t id, void *data, size_t size);

/* Sends one datagram (copied) from UDP socket id to host:port. Returns 0,
 * SKY_EBUSY (as for sky_socket_write), SKY_ENOENT, SKY_EINVAL (bad
 * address, not UDP, or larger than 65507 bytes). */
SKY_MUST_CHECK int sky_socket_sendto(sky_ctx *ctx, uint32_t id, const char *host, int port, const void *data,
                                     size_t size);

/* Closes socket id: what is queued is still written (for up to 5 s), then
 * the connection closes; no event of it comes any more. Returns 0 or
 * SKY_ENOENT. */
int sky_socket_close(sky_ctx *ctx, uint32_t id);

/* paused != 0: stop reading socket id (or accepting, for a listener)
 * until called again with 0. Returns 0 or SKY_ENOENT. */
int sky_socket_pause(sky_ctx *ctx, uint32_t id, int paused);

/* The local port of socket id (what a port-0 listen got), or SKY_ENOENT. */
int sky_socket_port(sky_ctx *ctx, uint32_t id);

/* Reads a SKY_SOCK_ACCEPT event: the listener's id and the peer's address
 * (NUL-terminated in peer). Returns 0, or SKY_EINVAL if m is not one. */
int sky_socket_accepted(const sky_msg *m, uint32_t *listener, char *peer, size_t peersize);

/* Reads a SKY_SOCK_UDP event: the sender's address (NUL-terminated in
 * from) and the datagram (pointing into m). Returns 0 or SKY_EINVAL. */
int sky_socket_datagram(const sky_msg *m, char *from, size_t fromsize, const void **data, size_t *size);

/* Splits "ip:port" / "[ip6]:port" as the events give them. Returns 0 or
 * SKY_EINVAL. */
int sky_socket_split(const char *addr, char *host, size_t hostsize, int *port);

#endif
