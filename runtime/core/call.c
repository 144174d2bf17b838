/* Pending calls: an open-addressing hash table keyed by session (linear
 * probing, backward-shift deletion), one per service that calls. */
#include <string.h>
#include "core/call.h"
#include "core/node.h"
#include "sky/alloc.h"

struct sky__calls {
    sky__pending *slot; /* session 0 marks an empty slot */
    uint32_t mask, count;
    uint64_t armed; /* earliest deadline a wake-up was asked for; 0 = none */
};

static uint32_t hash(uint32_t s) { return s * 2654435761u; }

static void put(sky__calls *c, const sky__pending *p)
{
    uint32_t i = hash(p->session) & c->mask;
    while (c->slot[i].session) i = (i + 1) & c->mask;
    c->slot[i] = *p;
    c->count++;
}

static void resize(sky__calls *c, uint32_t cap)
{
    sky__pending *old = c->slot;
    uint32_t oldcap = c->slot ? c->mask + 1 : 0;
    c->slot = sky_calloc(cap, sizeof *c->slot);
    c->mask = cap - 1;
    c->count = 0;
    for (uint32_t i = 0; i < oldcap; i++)
        if (old[i].session) put(c, &old[i]);
    sky_free(old);
}

static void del_at(sky__calls *c, uint32_t i)
{
    uint32_t j = i;
    c->slot[i].session = 0;
    c->count--;
    for (;;) {
        j = (j + 1) & c->mask;
        if (!c->slot[j].session) return;
        uint32_t home = hash(c->slot[j].session) & c->mask;
        /* move j back to i if its home is not cyclically within (i, j] */
        if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
            c->slot[i] = c->slot[j];
            c->slot[j].session = 0;
            i = j;
        }
    }
}

static void arm(sky__service *s, sky__calls *c, uint64_t deadline)
{
    if (c->armed && c->armed <= deadline) return;
    uint64_t now = sky__node_now_ms(s->node);
    if (sky__node_hooks(s->node)->timeout(s->node, atomic_load_explicit(&s->addr, memory_order_relaxed),
                                          deadline > now ? deadline - now : 0, SKY__DEADLINE, 0) == 0)
        c->armed = deadline;
}

void sky__calls_add(sky__service *s, uint32_t session, uint64_t deadline, sky_reply_fn *cb, void *ud)
{
    sky__calls *c = s->calls;
    if (!c) {
        c = s->calls = sky_calloc(1, sizeof *c);
        resize(c, 8);
    } else if ((c->count + 1) * 4 > (c->mask + 1) * 3) {
        resize(c, (c->mask + 1) * 2);
    }
    sky__pending p = {session, deadline, cb, ud};
    put(c, &p);
    arm(s, c, deadline);
}

/* Slot of `session`, or -1. */
static int64_t find(const sky__calls *c, uint32_t session)
{
    if (!c || !session) return -1;
    for (uint32_t i = hash(session) & c->mask; c->slot[i].session; i = (i + 1) & c->mask)
        if (c->slot[i].session == session) return i;
    return -1;
}

int sky__calls_take(sky__service *s, uint32_t session, sky__pending *out)
{
    int64_t i = find(s->calls, session);
    if (i < 0) return 0;
    *out = s->calls->slot[i];
    del_at(s->calls, (uint32_t)i);
    return 1;
}

int sky__calls_has(sky__service *s, uint32_t session) { return find(s->calls, session) >= 0; }

void sky__calls_expire(sky__service *s)
{
    sky__calls *c = s->calls;
    if (!c) return;
    uint64_t now = sky__node_now_ms(s->node), next = 0;
    if (c->armed <= now) c->armed = 0;
    sky__pending *due = NULL;
    uint32_t ndue = 0;
    for (uint32_t i = 0; i <= c->mask;) {
        sky__pending *p = &c->slot[i];
        if (p->session && p->deadline <= now) {
            if (!due) due = sky_malloc(c->count * sizeof *due);
            due[ndue++] = *p;
            del_at(c, i); /* may shift a later entry into i: look again */
            continue;
        }
        if (p->session && (!next || p->deadline < next)) next = p->deadline;
        i++;
    }
    if (next) arm(s, c, next);
    /* callbacks last: they may start new calls */
    for (uint32_t k = 0; k < ndue && !s->exiting; k++) due[k].cb(sky__ctx(s), SKY_ETIMEDOUT, NULL, due[k].ud);
    sky_free(due);
}

uint32_t sky__calls_count(sky__service *s) { return s->calls ? s->calls->count : 0; }

void sky__calls_free(sky__service *s)
{
    if (!s->calls) return;
    sky_free(s->calls->slot);
    sky_free(s->calls);
    s->calls = NULL;
}
