/* The endless-loop monitor: reports a service whose current message has
 * been running longer than the node's loop_warn_ms.
 *
 * Cheap on the hot path: each worker publishes, in a slot of its own, the
 * service it runs (once per turn) and a sequence number it bumps once per
 * message (plain stores, no clock read). The loop thread samples every
 * slot a few times per loop_warn_ms: a slot whose number has not moved
 * since an earlier sample is a message still running since then. It logs
 * a WARN naming the service, its module and for how long (at least), once
 * when the message passes loop_warn_ms and again each time it runs twice
 * as long again, and counts the message once in the node's `overruns`.
 *
 * A handler stuck in C can only be reported; a Lua handler can also be
 * killed (sky_kill): the Lua host's instruction hook sees the pending kill
 * (sky__service_killing) and stops the handler. */
#ifndef SKY__OVERRUN_H
#define SKY__OVERRUN_H

#include <stdatomic.h>
#include <stdint.h>
#include "sky/node.h"

/* A worker's slot. Written by its worker only; read by the loop thread. */
typedef struct sky__busy {
    _Atomic sky_addr_t addr;     /* the service it runs, or SKY_ADDR_NONE */
    atomic_uint_fast64_t seq;    /* bumped at every message and at turn end */
} sky__busy;

static inline void sky__busy_bump(sky__busy *b)
{
    atomic_store_explicit(&b->seq, atomic_load_explicit(&b->seq, memory_order_relaxed) + 1,
                          memory_order_release);
}

/* A turn of service `a` starts (b may be NULL: nothing is published). */
static inline void sky__busy_enter(sky__busy *b, sky_addr_t a)
{
    if (b) atomic_store_explicit(&b->addr, a, memory_order_release);
}

/* The next message of the turn starts. */
static inline void sky__busy_next(sky__busy *b)
{
    if (b) sky__busy_bump(b);
}

/* The turn ended. */
static inline void sky__busy_leave(sky__busy *b)
{
    if (!b) return;
    atomic_store_explicit(&b->addr, SKY_ADDR_NONE, memory_order_release);
    sky__busy_bump(b);
}

typedef struct sky__overrun sky__overrun;

/* The monitor of `node`'s workers, owned by the loop thread. */
sky__overrun *sky__overrun_new(sky_node *node);
void sky__overrun_free(sky__overrun *o);

/* How often to sample, in milliseconds, for a threshold of warn_ms. */
unsigned sky__overrun_period_ms(int warn_ms);

/* One sample of every worker's slot at `now_ms` (the loop's clock). */
void sky__overrun_check(sky__overrun *o, uint64_t now_ms);

#endif
