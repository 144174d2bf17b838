/* The loop thread: one libev loop that owns every timer (and, later, every
 * socket and cluster link). Workers and outside threads hand it commands
 * through a queue plus ev_async; it hands events back as ordinary
 * messages (sky__deliver). Nothing here blocks a worker. */
#ifndef SKY__LOOP_H
#define SKY__LOOP_H

#include <stdint.h>
#include "core/node.h"
#include "sky/msg.h"
#include "sky/node.h"

typedef struct sky__loop sky__loop;

/* Creates the loop (not running). Returns NULL only on failure of libev. */
sky__loop *sky__loop_new(sky_node *node);

/* Starts the loop thread. Returns 0 or SKY_EINVAL. */
int sky__loop_start(sky__loop *loop);

/* Stops the loop thread and joins it; pending timers are discarded
 * (freed, never fired). Safe to call twice. */
void sky__loop_stop(sky__loop *loop);

/* Frees the loop (stopping it first if needed). NULL is a no-op. */
void sky__loop_free(sky__loop *loop);

/* From any thread: in `ms` milliseconds deliver a message of `kind`
 * (SKY_TIMER or SKY__DEADLINE) with `session` to `to`. Returns 0 or
 * SKY_ESTOPPED when the loop is stopping. */
int sky__loop_timeout(sky__loop *loop, sky_addr_t to, uint64_t ms, int kind, uint32_t session);

/* Work for the loop thread: fn(ev, arg), with ev NULL when the loop
 * stopped before it got there (fn then only frees arg). */
struct ev_loop;
typedef void sky__loop_fn(struct ev_loop *ev, void *arg);

/* From any thread: run fn(ev, arg) on the loop thread, after everything
 * posted before it. Returns 0, or SKY_ESTOPPED (fn will not run; arg is
 * still the caller's). */
int sky__loop_post(sky__loop *loop, sky__loop_fn *fn, void *arg);

/* The libev loop, for watchers started on the loop thread and for
 * stopping them once it has been joined. */
struct ev_loop *sky__loop_ev(sky__loop *loop);

/* From any thread, and async-signal-safe: wake the loop so it sees that
 * the node's shutdown flag is set, and calls sky__node_notify_shutdown(). */
void sky__loop_wake(sky__loop *loop);

/* The node's loop, kept in its hooks by the assembly. */
static inline sky__loop *sky__node_loop(sky_node *node) { return sky__node_hooks(node)->loop; }

#endif
