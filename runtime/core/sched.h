/* The scheduler: N worker threads, one global run queue of services that
 * have mail, and one "next" slot per worker.
 *
 * When a handler makes an idle service runnable, the service goes into the
 * sending worker's next slot and runs on that worker as soon as the
 * current turn ends, so a conversation stays on one core instead of
 * bouncing between cores (a cross-core hand-off costs ~330 ns here). A
 * displaced next service and everything made runnable from outside a
 * worker goes to the global queue, and a sleeping worker is woken at once.
 * A worker runs its next slot at most SKY__NEXT_STREAK times in a row
 * while the global queue has work, so nothing starves. */
#ifndef SKY__SCHED_H
#define SKY__SCHED_H

#include <stdint.h>
#include "core/service.h"

typedef struct sky__sched sky__sched;

sky__sched *sky__sched_new(sky_node *node, int threads, uint32_t batch);

/* Starts the workers. Returns 0 or SKY_EINVAL. */
int sky__sched_start(sky__sched *sched);

/* Makes s runnable; the caller hands over one reference to s. */
void sky__sched_push(sky__sched *sched, sky__service *s);

/* A small per-worker cache of busy receivers, so that a flood into one
 * mailbox does not bounce the receiver's reference count between cores on
 * every send. Each entry holds a reference; the cache is emptied before
 * its worker sleeps and when it exits. Off a worker these do nothing. */

/* The cached service for `a`, borrowed (no reference taken), or NULL. */
sky__service *sky__sched_cache_get(sky__sched *sched, sky_addr_t a);

/* Caches s for `a`, taking over the caller's reference (dropped at once
 * off a worker). */
void sky__sched_cache_put(sky__sched *sched, sky_addr_t a, sky__service *s);

/* Drops the entry for `a` (its service died). */
void sky__sched_cache_forget(sky__sched *sched, sky_addr_t a);

/* The outbox: ordinary mail from a worker to a cached (busy) receiver is
 * buffered and pushed in one go at the end of the sender's turn, so
 * senders on different cores take the receiver's lock once per batch,
 * not once per message. Places are reserved in the receiver's mailbox
 * first, so the sender still learns of SKY_EBUSY at once and the bound
 * holds; and any other push to that receiver flushes the outbox first, so
 * a sender's mail arrives in the order sent. */

/* Buffers m for s (a cached receiver). Returns 0 (m taken), SKY_EBUSY or
 * SKY_ENOSVC (m still the caller's). */
int sky__sched_outbox_put(sky__sched *sched, sky__service *s, sky_addr_t a, sky__mail *m);

/* Flushes the calling worker's outbox if it holds mail for s. */
void sky__sched_outbox_sync(sky__sched *sched, sky__service *s);

/* Stops the workers after their current turn and joins them. Services
 * still queued keep their scheduler reference: sky__sched_free drops
 * them. */
void sky__sched_stop(sky__sched *sched);
void sky__sched_free(sky__sched *sched);

/* Messages handled by all workers. */
uint64_t sky__sched_handled(sky__sched *sched);

/* Times a sleeping worker was woken. */
uint64_t sky__sched_wakeups(sky__sched *sched);

/* The workers and each one's slot for the endless-loop monitor
 * (overrun.h); i in [0, sky__sched_nworkers). */
struct sky__busy;
int sky__sched_nworkers(sky__sched *sched);
struct sky__busy *sky__sched_busy(sky__sched *sched, int i);

#define SKY__NEXT_STREAK 32

#endif
