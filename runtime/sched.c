/* Worker threads and the run queues. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include "sched.h"
#include "sky/alloc.h"
#include "sky/error.h"

typedef struct worker {
    sky__sched *sched;
    pthread_t thread;
    sky__service *next;
    unsigned streak;
    atomic_uint_fast64_t handled;
} worker;

struct sky__sched {
    sky_node *node;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    sky__service **q; /* ring of runnable services */
    size_t head, count, cap;
    atomic_size_t queued; /* == count, readable without the lock */
    int sleepers;
    int stopping;
    int started;
    atomic_uint_fast64_t wakeups;
    uint32_t batch;
    int nworkers;
    worker *workers;
};

static __thread worker *self_worker;

sky__sched *sky__sched_new(sky_node *node, int threads, uint32_t batch)
{
    sky__sched *sc = sky_calloc(1, sizeof *sc);
    sc->node = node;
    pthread_mutex_init(&sc->mu, NULL);
    pthread_cond_init(&sc->wake, NULL);
    sc->cap = 256;
    sc->q = sky_malloc(sc->cap * sizeof *sc->q);
    sc->batch = batch ? batch : 32;
    sc->nworkers = threads > 0 ? threads : 1;
    sc->workers = sky_calloc((size_t)sc->nworkers, sizeof *sc->workers);
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

static void global_push(sky__sched *sc, sky__service *s)
{
    pthread_mutex_lock(&sc->mu);
    q_push_locked(sc, s);
    if (sc->sleepers > 0) pthread_cond_signal(&sc->wake);
    pthread_mutex_unlock(&sc->mu);
}

void sky__sched_push(sky__sched *sc, sky__service *s)
{
    worker *w = self_worker;
    if (w && w->sched == sc) {
        sky__service *old = w->next;
        w->next = s;
        if (!old) return;
        s = old; /* the newest stays hot here; the older one may go elsewhere */
    }
    global_push(sc, s);
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
        sc->sleepers++;
        pthread_cond_wait(&sc->wake, &sc->mu);
        sc->sleepers--;
        atomic_fetch_add_explicit(&sc->wakeups, 1, memory_order_relaxed);
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
        int again = sky__service_run(s, sc->batch, &handled);
        atomic_store_explicit(&w->handled, handled, memory_order_relaxed);
        if (again) {
            /* back of the queue: a busy service yields to the others */
            global_push(sc, s);
        } else {
            sky__service_unref(s);
        }
    }
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
    pthread_cond_broadcast(&sc->wake);
    pthread_mutex_unlock(&sc->mu);
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
    pthread_cond_destroy(&sc->wake);
    sky_free(sc->q);
    sky_free(sc->workers);
    sky_free(sc);
}

int sky__sched_on_worker(sky__sched *sc) { return self_worker && self_worker->sched == sc; }

uint64_t sky__sched_wakeups(sky__sched *sc) { return atomic_load(&sc->wakeups); }

uint64_t sky__sched_handled(sky__sched *sc)
{
    uint64_t n = 0;
    for (int i = 0; i < sc->nworkers; i++) n += atomic_load_explicit(&sc->workers[i].handled, memory_order_relaxed);
    return n;
}
