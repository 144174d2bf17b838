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
#include "service.h"

typedef struct sky__sched sky__sched;

sky__sched *sky__sched_new(sky_node *node, int threads, uint32_t batch);

/* Starts the workers. Returns 0 or SKY_EINVAL. */
int sky__sched_start(sky__sched *sched);

/* Makes s runnable; the caller hands over one reference to s. */
void sky__sched_push(sky__sched *sched, sky__service *s);

/* Stops the workers after their current turn and joins them. Services
 * still queued keep their scheduler reference: sky__sched_free drops
 * them. */
void sky__sched_stop(sky__sched *sched);
void sky__sched_free(sky__sched *sched);

/* 1 if the calling thread is one of this scheduler's workers. */
int sky__sched_on_worker(sky__sched *sched);

/* Messages handled by all workers. */
uint64_t sky__sched_handled(sky__sched *sched);

/* Times a sleeping worker was woken. */
uint64_t sky__sched_wakeups(sky__sched *sched);

#define SKY__NEXT_STREAK 32

#endif
