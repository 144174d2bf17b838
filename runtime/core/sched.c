/* Worker threads and the run queues. */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <string.h>
#include "core/overrun.h"
#include "core/sched.h"
#include "sky/alloc.h"
#include "sky/error.h"

#define CACHE 16 /* entries in a worker's cache of busy receivers */

typedef struct cached {
    sky_addr_t addr;
    sky__service *s;
} cached;

#define OUTBOX 64 /* mail a worker buffers for one busy receiver */

typedef struct outbox {
    sky__service *s; /* with a reference of its own; NULL when empty */
    sky_addr_t addr;
    uint32_t n, reserved; /* buffered; places still promised to us */
    sky__mail mail[OUTBOX];
} outbox;

typedef struct worker {
    sky__sched *sched;
    cached cache[CACHE];
    unsigned ncached;
    /* references let go of during a turn, dropped when it ends, so that a
     * pointer borrowed from the cache stays good for the whole turn */
    sky__service **later;
    size_t nlater, caplater;
    outbox out;
    pthread_t thread;
    sky__service *next;
    unsigned streak;
    atomic_uint_fast64_t handled;
    sky__busy busy; /* what it runs now, for the endless-loop monitor */
    sem_t sem;                  /* posted to wake it */
    struct worker *next_asleep; /* in sc->asleep, under sc->mu */
} worker;

struct sky__sched {
    sky_node *node;
    pthread_mutex_t mu;
    sky__service **q; /* ring of runnable services */
    size_t head, count, cap;
    atomic_size_t queued; /* == count, readable without the lock */
    worker *asleep; /* workers waiting for work, each on its own semaphore */
    int stopping;
    int started;
    atomic_uint_fast64_t wakeups;
    uint32_t batch;
    int nworkers;
    worker *workers;
};

static __thread worker *self_worker;

static worker *on_worker(sky__sched *sc)
{
    worker *w = self_worker;
    return w && w->sched == sc ? w : NULL;
}

sky__sched *sky__sched_new(sky_node *node, int threads, uint32_t batch)
{
    sky__sched *sc = sky_calloc(1, sizeof *sc);
    sc->node = node;
    pthread_mutex_init(&sc->mu, NULL);
    sc->cap = 256;
    sc->q = sky_malloc(sc->cap * sizeof *sc->q);
    sc->batch = batch ? batch : 32;
    sc->nworkers = threads > 0 ? threads : 1;
    sc->workers = sky_calloc((size_t)sc->nworkers, sizeof *sc->workers);
    for (int i = 0; i < sc->nworkers; i++) sem_init(&sc->workers[i].sem, 0, 0);
    return sc;
}

static void q_push_locked(sky__sched *sc, sky__service *s)
{
    if (sc->count == sc->cap) {
        sky__service **q = sky_malloc(sc->cap * 2 * sizeof *q);
        for (size_t i = 0; i < sc->count; i++) q[i] = sc->q[(sc->head + i) % sc->cap];
        sky_free(sc->q);
        sc->q = q;
        sc->head = 0;
        sc->cap *= 2;
    }
    sc->q[(sc->head + sc->count) % sc->cap] = s;
    sc->count++;
    atomic_store_explicit(&sc->queued, sc->count, memory_order_relaxed);
}

static sky__service *q_pop_locked(sky__sched *sc)
{
    if (sc->count == 0) return NULL;
    sky__service *s = sc->q[sc->head];
    sc->head = (sc->head + 1) % sc->cap;
    sc->count--;
    atomic_store_explicit(&sc->queued, sc->count, memory_order_relaxed);
    return s;
}

/* A sleeping worker, if any, is taken off the list under the lock and
 * woken after it: one futex call to wake, one to sleep. (A condition
 * variable cost more: a waiter signalled under the lock blocked on it
 * again, and glibc's re-lock after a wait always made the next unlock a
 * futex call.) A post that comes before the sleeper waits is kept by its
 * semaphore, so no wake-up is lost. */
static void global_push(sky__sched *sc, sky__service *s)
{
    pthread_mutex_lock(&sc->mu);
    q_push_locked(sc, s);
    worker *w = sc->asleep;
    if (w) sc->asleep = w->next_asleep;
    pthread_mutex_unlock(&sc->mu);
    if (w) sem_post(&w->sem);
}

void sky__sched_push(sky__sched *sc, sky__service *s)
{
    worker *w = on_worker(sc);
    if (w) {
        sky__service *old = w->next;
        w->next = s;
        if (!old) return;
        s = old; /* the newest stays hot here; the older one may go elsewhere */
    }
    global_push(sc, s);
}

sky__service *sky__sched_cache_get(sky__sched *sc, sky_addr_t a)
{
    worker *w = on_worker(sc);
    if (!w || !w->ncached) return NULL;
    cached *c = &w->cache[SKY_ADDR_SERIAL(a) % CACHE];
    return c->addr == a ? c->s : NULL;
}

static void cache_drop(worker *w, cached *c)
{
    if (!c->s) return;
    if (w->nlater == w->caplater) {
        w->caplater = w->caplater ? w->caplater * 2 : 16;
        w->later = sky_realloc(w->later, w->caplater * sizeof *w->later);
    }
    w->later[w->nlater++] = c->s;
    c->s = NULL;
    c->addr = SKY_ADDR_NONE;
    w->ncached--;
}

/* The end of a turn: let go of what the cache dropped during it. */
static void drop_later(worker *w)
{
    while (w->nlater > 0) sky__service_unref(w->later[--w->nlater]);
}

void sky__sched_cache_put(sky__sched *sc, sky_addr_t a, sky__service *s)
{
    worker *w = on_worker(sc);
    if (!w) {
        sky__service_unref(s);
        return;
    }
    cached *c = &w->cache[SKY_ADDR_SERIAL(a) % CACHE];
    cache_drop(w, c);
    c->addr = a;
    c->s = s;
    w->ncached++;
}

void sky__sched_cache_forget(sky__sched *sc, sky_addr_t a)
{
    worker *w = on_worker(sc);
    if (!w) return;
    cached *c = &w->cache[SKY_ADDR_SERIAL(a) % CACHE];
    if (c->addr == a) cache_drop(w, c);
}

/* Pushes what the outbox holds. What that sends in turn (an overload
 * warning to a cached logger, a bounce's answer to a caller) may land in
 * the outbox again: outbox_flush below repeats until it stays empty. */
static void flush_once(worker *w)
{
    outbox *o = &w->out;
    sky__service *s = o->s;
    if (!s) return;
    uint32_t n = o->n, len = 0;
    int r = sky__mailbox_push_reserved(&s->mb, o->mail, n, n + o->reserved, &len);
    sky__mail dead[OUTBOX];
    if (r < 0) memcpy(dead, o->mail, n * sizeof dead[0]);
    /* empty before anything below can send again through this worker */
    o->s = NULL;
    o->n = o->reserved = 0;
    if (r < 0) { /* it died meanwhile: as if the mail had been queued */
        for (uint32_t i = 0; i < n; i++) sky__service_bounce(s, &dead[i], SKY_EEXIT);
    } else {
        sky__service_pushed(s, o->addr, r, len, 0);
    }
    sky__service_unref(s);
}

/* Leaves the outbox empty. (A single push let the mail a flush sent sit
 * in the outbox: the next mail for another receiver was appended to it
 * and went to the wrong service, or stayed there while the worker slept.) */
static void outbox_flush(worker *w)
{
    while (w->out.s) flush_once(w);
}

int sky__sched_outbox_put(sky__sched *sc, sky__service *s, sky_addr_t a, sky__mail *m)
{
    worker *w = on_worker(sc);
    outbox *o = &w->out;
    if (o->s != s || o->n == OUTBOX) outbox_flush(w);
    if (o->reserved == 0) {
        int r = sky__mailbox_reserve(&s->mb, OUTBOX - o->n);
        if (r < 0) return r;
        if (!o->s) {
            sky__service_ref(s);
            o->s = s;
            o->addr = a;
        }
        o->reserved = (uint32_t)r;
    }
    o->mail[o->n++] = *m;
    o->reserved--;
    return 0;
}

void sky__sched_outbox_sync(sky__sched *sc, sky__service *s)
{
    worker *w = on_worker(sc);
    if (w && w->out.s == s) outbox_flush(w);
}

static void cache_flush(worker *w)
{
    for (unsigned i = 0; i < CACHE && w->ncached; i++) cache_drop(w, &w->cache[i]);
    drop_later(w);
}

/* Next service for worker w: its next slot, unless that has run long enough
 * while others wait; else the global queue, sleeping when it is empty.
 * NULL when stopping. */
static sky__service *pick(worker *w)
{
    sky__sched *sc = w->sched;
    if (w->next && (w->streak < SKY__NEXT_STREAK ||
                    atomic_load_explicit(&sc->queued, memory_order_relaxed) == 0)) {
        sky__service *s = w->next;
        w->next = NULL;
        w->streak++;
        return s;
    }
    w->streak = 0;
    pthread_mutex_lock(&sc->mu);
    for (;;) {
        if (sc->stopping) {
            pthread_mutex_unlock(&sc->mu);
            return NULL;
        }
        sky__service *s = q_pop_locked(sc);
        if (s) {
            pthread_mutex_unlock(&sc->mu);
            return s;
        }
        if (w->next) { /* the global queue emptied meanwhile: stay local */
            pthread_mutex_unlock(&sc->mu);
            s = w->next;
            w->next = NULL;
            return s;
        }
        if (w->ncached) { /* no references held while asleep */
            pthread_mutex_unlock(&sc->mu);
            cache_flush(w);
            pthread_mutex_lock(&sc->mu);
            continue;
        }
        w->next_asleep = sc->asleep;
        sc->asleep = w;
        pthread_mutex_unlock(&sc->mu);
        while (sem_wait(&w->sem) != 0 && errno == EINTR) {
        }
        atomic_fetch_add_explicit(&sc->wakeups, 1, memory_order_relaxed);
        pthread_mutex_lock(&sc->mu);
    }
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    sky__sched *sc = w->sched;
    self_worker = w;
    sky__service *s;
    uint64_t handled = 0;
    while ((s = pick(w)) != NULL) {
        int again = sky__service_run(s, sc->batch, &handled, &w->busy);
        outbox_flush(w); /* the end of its turn: what it buffered goes out */
        drop_later(w);
        atomic_store_explicit(&w->handled, handled, memory_order_relaxed);
        if (again) {
            /* back of the queue: a busy service yields to the others */
            global_push(sc, s);
        } else {
            sky__service_unref(s);
        }
    }
    outbox_flush(w);
    cache_flush(w);
    sky_free(w->later);
    w->later = NULL;
    /* a service left in the next slot goes back for the others to see */
    if (w->next) {
        pthread_mutex_lock(&sc->mu);
        q_push_locked(sc, w->next);
        pthread_mutex_unlock(&sc->mu);
        w->next = NULL;
    }
    self_worker = NULL;
    return NULL;
}

int sky__sched_start(sky__sched *sc)
{
    if (sc->started) return SKY_EINVAL;
    sc->started = 1;
    for (int i = 0; i < sc->nworkers; i++) {
        sc->workers[i].sched = sc;
        if (pthread_create(&sc->workers[i].thread, NULL, worker_main, &sc->workers[i]) != 0) {
            sc->nworkers = i;
            return SKY_EINVAL;
        }
    }
    return 0;
}

void sky__sched_stop(sky__sched *sc)
{
    pthread_mutex_lock(&sc->mu);
    int was = sc->stopping;
    sc->stopping = 1;
    worker *asleep = sc->asleep;
    sc->asleep = NULL;
    pthread_mutex_unlock(&sc->mu);
    while (asleep) {
        worker *w = asleep;
        asleep = w->next_asleep;
        sem_post(&w->sem);
    }
    if (was || !sc->started) return;
    for (int i = 0; i < sc->nworkers; i++) pthread_join(sc->workers[i].thread, NULL);
}

void sky__sched_free(sky__sched *sc)
{
    if (!sc) return;
    sky__sched_stop(sc);
    sky__service *s;
    while ((s = q_pop_locked(sc)) != NULL) sky__service_unref(s);
    pthread_mutex_destroy(&sc->mu);
    for (int i = 0; i < sc->nworkers; i++) sem_destroy(&sc->workers[i].sem);
    sky_free(sc->q);
    sky_free(sc->workers);
    sky_free(sc);
}

uint64_t sky__sched_wakeups(sky__sched *sc) { return atomic_load(&sc->wakeups); }

int sky__sched_nworkers(sky__sched *sc) { return sc->nworkers; }

sky__busy *sky__sched_busy(sky__sched *sc, int i) { return &sc->workers[i].busy; }

uint64_t sky__sched_handled(sky__sched *sc)
{
    uint64_t n = 0;
    for (int i = 0; i < sc->nworkers; i++) n += atomic_load_explicit(&sc->workers[i].handled, memory_order_relaxed);
    return n;
}
