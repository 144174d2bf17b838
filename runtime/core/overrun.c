/* The endless-loop monitor: see overrun.h. Loop thread only. */
#include "core/overrun.h"
#include <stdio.h>
#include "core/handle.h"
#include "core/node.h"
#include "core/sched.h"
#include "core/service.h"
#include "sky/alloc.h"

/* What the monitor knows of one worker's slot. */
typedef struct seen {
    uint64_t seq;      /* the number at the last sample */
    uint64_t since;    /* when that number was first seen (ms) */
    uint64_t next;     /* running time of the next report (ms) */
    int reported;      /* this message was reported (and counted) */
} seen;

struct sky__overrun {
    sky_node *node;
    uint64_t warn_ms;
    int n;
    seen *v;
};

sky__overrun *sky__overrun_new(sky_node *node)
{
    sky__overrun *o = sky_calloc(1, sizeof *o);
    o->node = node;
    o->warn_ms = (uint64_t)sky__node_config(node)->loop_warn_ms;
    o->n = sky__sched_nworkers(sky__node_sched(node));
    o->v = sky_calloc((size_t)o->n, sizeof *o->v);
    return o;
}

void sky__overrun_free(sky__overrun *o)
{
    if (!o) return;
    sky_free(o->v);
    sky_free(o);
}

unsigned sky__overrun_period_ms(int warn_ms)
{
    unsigned p = (unsigned)warn_ms / 4;
    return p < 1 ? 1 : p > 250 ? 250 : p;
}

/* Logs that service `a` has run one message for `ms` milliseconds. */
static void report(sky__overrun *o, sky_addr_t a, uint64_t ms, int again)
{
    sky__service *s = sky__handles_get(sky__node_handles(o->node), a);
    if (!s) return; /* it died in the meantime: its message ended */
    sky__log(o->node, SKY_ADDR_NONE, SKY_LOG_WARN,
             "service %04x:%08llx (%s%s%s) %s one message for %llu ms (loop_warn_ms %llu): an endless loop?",
             SKY_ADDR_NODE(a), (unsigned long long)SKY_ADDR_SERIAL(a), s->mod->name, s->tag[0] ? " " : "",
             s->tag, again ? "is still handling" : "has been handling", (unsigned long long)ms,
             (unsigned long long)o->warn_ms);
    sky__service_unref(s);
}

void sky__overrun_check(sky__overrun *o, uint64_t now)
{
    sky__sched *sched = sky__node_sched(o->node);
    for (int i = 0; i < o->n; i++) {
        sky__busy *b = sky__sched_busy(sched, i);
        seen *w = &o->v[i];
        uint64_t seq = atomic_load_explicit(&b->seq, memory_order_acquire);
        sky_addr_t a = atomic_load_explicit(&b->addr, memory_order_acquire);
        /* a new number: a new message (or none) since the last sample */
        if (seq != w->seq || a == SKY_ADDR_NONE || seq != atomic_load_explicit(&b->seq, memory_order_acquire)) {
            w->seq = seq;
            w->since = now;
            w->next = o->warn_ms;
            w->reported = 0;
            continue;
        }
        uint64_t ran = now - w->since;
        if (ran < w->next) continue;
        report(o, a, ran, w->reported);
        if (!w->reported) sky__node_count(o->node, SKY__C_OVERRUNS, 1);
        w->reported = 1;
        w->next *= 2;
    }
}
