/* Mailboxes: rings that start empty (no memory for an idle service that
 * never got mail), grow by doubling, and are bounded for ordinary mail. */
#include <string.h>
#include "core/mailbox.h"
#include "sky/alloc.h"
#include "sky/error.h"

#define FIRST_CAP 4

/* Test-and-test-and-set: a waiter spins on a plain read, so it does not
 * keep pulling the line away from the holder with failed exchanges. */
static inline void lock(sky__mailbox *mb)
{
    while (atomic_exchange_explicit(&mb->lock, 1, memory_order_acquire)) {
        while (atomic_load_explicit(&mb->lock, memory_order_relaxed)) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        }
    }
}

static inline void unlock(sky__mailbox *mb) { atomic_store_explicit(&mb->lock, 0, memory_order_release); }

static void ring_grow(sky__ring *r)
{
    uint32_t cap = r->cap ? r->cap * 2 : FIRST_CAP;
    sky__mail *buf = sky_malloc(sizeof *buf * cap);
    for (uint32_t i = 0; i < r->count; i++) buf[i] = r->buf[(r->head + i) % r->cap];
    sky_free(r->buf);
    r->buf = buf;
    r->head = 0;
    r->cap = cap;
}

static void ring_push(sky__ring *r, const sky__mail *m)
{
    if (r->count == r->cap) ring_grow(r);
    uint32_t tail = r->head + r->count;
    if (tail >= r->cap) tail -= r->cap;
    r->buf[tail] = *m;
    r->count++;
}

static uint32_t ring_take(sky__ring *r, sky__mail *out, uint32_t max)
{
    uint32_t n = r->count < max ? r->count : max;
    for (uint32_t i = 0; i < n; i++) {
        out[i] = r->buf[r->head];
        if (++r->head == r->cap) r->head = 0;
    }
    r->count -= n;
    return n;
}

static void ring_free(sky__ring *r)
{
    for (uint32_t i = 0; i < r->count; i++) sky__mail_free(&r->buf[(r->head + i) % r->cap]);
    sky_free(r->buf);
    memset(r, 0, sizeof *r);
}

void sky__mailbox_init(sky__mailbox *mb, uint32_t limit, uint32_t warn_at)
{
    memset(mb, 0, sizeof *mb);
    atomic_init(&mb->lock, 0);
    mb->limit = limit;
    mb->warn_at = mb->warn_base = warn_at ? warn_at : UINT32_MAX;
}

void sky__mailbox_deinit(sky__mailbox *mb)
{
    ring_free(&mb->mail);
    ring_free(&mb->sig);
}

/* After mail went in (lock held): the warning and scheduling flags. */
static int pushed(sky__mailbox *mb, uint32_t *len)
{
    int r = 0;
    if (mb->mail.count >= mb->warn_at) {
        *len = mb->mail.count;
        mb->warn_at = mb->warn_at > UINT32_MAX / 2 ? UINT32_MAX : mb->warn_at * 2;
        r |= SKY__PUSH_WARN;
    }
    if (!mb->scheduled) {
        mb->scheduled = 1;
        r |= SKY__PUSH_SCHEDULE;
    }
    return r;
}

int sky__mailbox_push(sky__mailbox *mb, const sky__mail *m, int bounded, uint32_t *len)
{
    int r = 0;
    lock(mb);
    if (mb->closed) {
        unlock(mb);
        return SKY_ENOSVC;
    }
    if (sky__is_signal(m->kind)) {
        ring_push(&mb->sig, m);
    } else {
        if (bounded && mb->mail.count + mb->reserved >= mb->limit) {
            unlock(mb);
            return SKY_EBUSY;
        }
        ring_push(&mb->mail, m);
    }
    r |= pushed(mb, len);
    unlock(mb);
    return r;
}

int sky__mailbox_reserve(sky__mailbox *mb, uint32_t want)
{
    lock(mb);
    int r = mb->closed ? SKY_ENOSVC : 0;
    if (r == 0) {
        uint32_t used = mb->mail.count + mb->reserved;
        uint32_t room = used < mb->limit ? mb->limit - used : 0;
        r = room == 0 ? SKY_EBUSY : (int)(room < want ? room : want);
        if (r > 0) mb->reserved += (uint32_t)r;
    }
    unlock(mb);
    return r;
}

int sky__mailbox_push_reserved(sky__mailbox *mb, const sky__mail *m, uint32_t n, uint32_t promised, uint32_t *len)
{
    lock(mb);
    if (mb->closed) {
        unlock(mb);
        return SKY_ENOSVC;
    }
    mb->reserved -= promised;
    for (uint32_t i = 0; i < n; i++) ring_push(&mb->mail, &m[i]);
    int r = n ? pushed(mb, len) : 0;
    unlock(mb);
    return r;
}

uint32_t sky__mailbox_take(sky__mailbox *mb, sky__mail *out, uint32_t max)
{
    lock(mb);
    uint32_t n = ring_take(&mb->sig, out, max);
    n += ring_take(&mb->mail, out + n, max - n);
    unlock(mb);
    return n;
}

uint32_t sky__mailbox_take_signals(sky__mailbox *mb, sky__mail *out, uint32_t max)
{
    lock(mb);
    uint32_t n = ring_take(&mb->sig, out, max);
    unlock(mb);
    return n;
}

int sky__mailbox_done(sky__mailbox *mb)
{
    lock(mb);
    int more = mb->mail.count + mb->sig.count > 0;
    if (!more) {
        mb->scheduled = 0;
        mb->warn_at = mb->warn_base; /* a drained queue re-arms the warnings */
    }
    unlock(mb);
    return more;
}

void sky__mailbox_close(sky__mailbox *mb, sky__mail **out, uint32_t *n)
{
    lock(mb);
    mb->closed = 1;
    uint32_t total = mb->sig.count + mb->mail.count;
    sky__mail *all = NULL;
    if (total) { /* (NULL + 0 is undefined behaviour: no arithmetic on it) */
        all = sky_malloc(sizeof *all * total);
        uint32_t k = ring_take(&mb->sig, all, total);
        ring_take(&mb->mail, all + k, total - k);
    }
    unlock(mb);
    *out = all;
    *n = total;
}

uint32_t sky__mailbox_length(sky__mailbox *mb)
{
    lock(mb);
    uint32_t n = mb->mail.count + mb->sig.count;
    unlock(mb);
    return n;
}

void sky__mailbox_set_limit(sky__mailbox *mb, uint32_t limit)
{
    lock(mb);
    mb->limit = limit;
    unlock(mb);
}

uint32_t sky__mailbox_limit(sky__mailbox *mb)
{
    lock(mb);
    uint32_t n = mb->limit;
    unlock(mb);
    return n;
}
