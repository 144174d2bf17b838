/* The loop thread: one private libev loop (never the default loop, which the
 * embedding program may own) on its own pthread.
 *
 * Other threads talk to it only through the command queue: a mutex-guarded
 * array that posters append to and the loop thread swaps out whole, so the
 * lock is held for a push or a pointer swap and a poster never waits on the
 * loop doing work. Posting into an empty queue sends the ev_async; later
 * posts ride on that wake-up. Everything else in here (the ev loop, its
 * watchers, the timer pool) is touched by the loop thread alone, apart from
 * ev_async_send(), which libev makes safe from any thread and from signal
 * handlers. */
#define _GNU_SOURCE
#include <ev.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "core/deliver.h"
#include "core/node.h"
#include "core/overrun.h"
#include "io/loop.h"
#include "sky/alloc.h"

/* A command for the loop thread. A tagged union so sockets and cluster links
 * can add their own ops and members later without touching the queue. */
enum { CMD_TIMEOUT = 1, CMD_STOP = 2, CMD_RUN = 3 };

typedef struct cmd {
    int op;
    union {
        struct {
            sky_addr_t to;
            uint64_t deadline_ns; /* on the loop's clock: fires at or after */
            uint32_t session;
            int kind;
        } timeout;
        struct {
            sky__loop_fn *fn;
            void *arg;
        } run;
    } u;
} cmd;

typedef struct cmdbuf {
    cmd *v;
    size_t n, cap;
} cmdbuf;

/* One pending timeout. `w` comes first: the ev_timer pointer is the timer. */
typedef struct timer {
    ev_timer w;
    sky_addr_t to;
    uint32_t session;
    int kind;
    struct timer *next_free;
} timer;

/* Timers are carved from chunks that live until the loop thread ends, so a
 * steady timer load allocates nothing. */
#define CHUNK_TIMERS 64

typedef struct chunk {
    struct chunk *next;
    timer t[CHUNK_TIMERS];
} chunk;

struct sky__loop {
    sky_node *node;
    struct ev_loop *ev;
    ev_async async;
    pthread_t thread;

    pthread_mutex_t lock; /* guards post, started and stopping */
    cmdbuf post;
    int started;
    int stopping;

    /* Loop thread only. */
    ev_timer probe;    /* always armed: reveals libev's clock */
    ev_timer watch;    /* samples the workers for the endless-loop monitor */
    sky__overrun *overrun; /* NULL when loop_warn_ms is 0 */
    uint64_t ns0;      /* our clock ... */
    double ev0;        /* ... and libev's, read together at thread start */
    cmdbuf work;
    chunk *chunks;
    timer *free_timers;
    int halted;   /* stop seen: fire nothing more */
    int notified; /* sky__node_notify_shutdown() was called */
};

/* The node's clock: deadlines asked with sky__node_now_ms() land here. */
static uint64_t now_ns(const sky__loop *l) { return sky__node_now_ns(l->node); }

/* ---- timer pool (loop thread) ------------------------------------------ */

static timer *timer_get(sky__loop *l)
{
    timer *t = l->free_timers;
    if (!t) {
        chunk *c = sky_calloc(1, sizeof *c);
        c->next = l->chunks;
        l->chunks = c;
        for (int i = CHUNK_TIMERS - 1; i >= 0; i--) {
            c->t[i].next_free = l->free_timers;
            l->free_timers = &c->t[i];
        }
        t = l->free_timers;
    }
    l->free_timers = t->next_free;
    return t;
}

static void timer_put(sky__loop *l, timer *t)
{
    t->next_free = l->free_timers;
    l->free_timers = t;
}

/* Stops every timer still armed (without firing it) and frees the pool. */
static void timers_discard(sky__loop *l)
{
    chunk *c = l->chunks;
    while (c) {
        chunk *next = c->next;
        for (int i = 0; i < CHUNK_TIMERS; i++)
            ev_timer_stop(l->ev, &c->t[i].w);
        free(c);
        c = next;
    }
    l->chunks = NULL;
    l->free_timers = NULL;
}

static void on_timer(struct ev_loop *ev, ev_timer *w, int revents)
{
    sky__loop *l = ev_userdata(ev);
    timer *t = (timer *)w;
    sky_addr_t to = t->to;
    uint32_t session = t->session;
    int kind = t->kind;
    (void)revents;
    timer_put(l, t);
    if (l->halted) return;
    /* SKY_ENOSVC only means the service died meanwhile: nothing to do. */
    (void)sky__deliver_event(l->node, to, kind, session);
}

/* libev's monotonic time now. It keeps that clock private; its timers
 * expose it: an armed timer's `at` minus its remaining time. */
static double ev_clock(sky__loop *l) { return l->probe.at - ev_timer_remaining(l->ev, &l->probe); }

/* The probe only has to stay armed; it re-arms daily. */
#define PROBE_S 86400.

static void on_probe(struct ev_loop *ev, ev_timer *w, int revents)
{
    (void)revents;
    ev_timer_set(w, PROBE_S, 0.);
    ev_timer_start(ev, w);
}

/* Maps our deadline onto libev's clock with one offset fixed at thread
 * start (ev0 was read after ns0, so a timer never fires early). Fixed, so
 * deadlines keep their order across batches and timers with equal `ms`
 * from one poster fire in the order posted. An overdue deadline gives a
 * negative `after`, which libev fires on the next iteration. */
static void arm_timer(sky__loop *l, const cmd *c, double ev_now_mono)
{
    timer *t = timer_get(l);
    uint64_t d = c->u.timeout.deadline_ns;
    double at = l->ev0 + (d >= l->ns0 ? (double)(d - l->ns0) : -(double)(l->ns0 - d)) / 1e9;
    t->to = c->u.timeout.to;
    t->session = c->u.timeout.session;
    t->kind = c->u.timeout.kind;
    ev_timer_init(&t->w, on_timer, at - ev_now_mono, 0.);
    ev_timer_start(l->ev, &t->w);
}

/* ---- command queue ------------------------------------------------------ */

/* Appends c; returns 1 if the queue was empty (the caller must wake the
 * loop). Caller holds l->lock. */
static int push_locked(sky__loop *l, const cmd *c)
{
    cmdbuf *b = &l->post;
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->v = sky_realloc(b->v, b->cap * sizeof *b->v);
    }
    b->v[b->n++] = *c;
    return b->n == 1;
}

static void on_async(struct ev_loop *ev, ev_async *w, int revents)
{
    sky__loop *l = ev_userdata(ev);
    cmdbuf tmp;
    double mono;
    (void)w;
    (void)revents;

    pthread_mutex_lock(&l->lock);
    tmp = l->post;
    l->post = l->work;
    l->work = tmp;
    pthread_mutex_unlock(&l->lock);

    if (l->work.n) {
        ev_now_update(ev);
        mono = ev_clock(l);
        for (size_t i = 0; i < l->work.n; i++) {
            const cmd *c = &l->work.v[i];
            switch (c->op) {
            case CMD_TIMEOUT:
                if (!l->halted) arm_timer(l, c, mono);
                break;
            case CMD_RUN:
                c->u.run.fn(l->halted ? NULL : ev, c->u.run.arg);
                break;
            case CMD_STOP:
                l->halted = 1;
                ev_break(ev, EVBREAK_ALL);
                break;
            }
        }
        l->work.n = 0;
    }

    if (!l->notified && sky__node_stopping(l->node)) {
        l->notified = 1;
        sky__node_notify_shutdown(l->node);
    }
}

static void on_watch(struct ev_loop *ev, ev_timer *w, int revents)
{
    sky__loop *l = ev_userdata(ev);
    (void)w, (void)revents;
    if (!l->halted) sky__overrun_check(l->overrun, sky__node_now_ms(l->node));
}

static void *loop_main(void *arg)
{
    sky__loop *l = arg;
    l->ns0 = now_ns(l);
    ev_now_update(l->ev);
    ev_timer_init(&l->probe, on_probe, PROBE_S, 0.);
    ev_timer_start(l->ev, &l->probe);
    l->ev0 = ev_clock(l);
    int warn_ms = sky__node_config(l->node)->loop_warn_ms;
    if (warn_ms > 0) {
        double period = sky__overrun_period_ms(warn_ms) / 1e3;
        l->overrun = sky__overrun_new(l->node);
        ev_timer_init(&l->watch, on_watch, period, period);
        ev_timer_start(l->ev, &l->watch);
    }
    ev_run(l->ev, 0);
    ev_timer_stop(l->ev, &l->probe);
    if (l->overrun) ev_timer_stop(l->ev, &l->watch);
    sky__overrun_free(l->overrun);
    l->overrun = NULL;
    timers_discard(l);
    return NULL;
}

/* ---- API ---------------------------------------------------------------- */

sky__loop *sky__loop_new(sky_node *node)
{
    sky__loop *l = sky_calloc(1, sizeof *l);
    l->ev = ev_loop_new(EVFLAG_AUTO);
    if (!l->ev) {
        free(l);
        return NULL;
    }
    l->node = node;
    pthread_mutex_init(&l->lock, NULL);
    ev_set_userdata(l->ev, l);
    ev_async_init(&l->async, on_async);
    ev_async_start(l->ev, &l->async);
    return l;
}

int sky__loop_start(sky__loop *l)
{
    sigset_t all, old;
    int rc;

    pthread_mutex_lock(&l->lock);
    if (l->started || l->stopping) {
        pthread_mutex_unlock(&l->lock);
        return SKY_EINVAL;
    }
    l->started = 1;
    pthread_mutex_unlock(&l->lock);

    /* Signals belong to the embedding program's threads, never to ours. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&l->thread, NULL, loop_main, l);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_mutex_lock(&l->lock);
        l->started = 0;
        pthread_mutex_unlock(&l->lock);
        return SKY_ELIMIT; /* no thread to be had */
    }
    pthread_setname_np(l->thread, "sky-loop");
    /* Commands posted before start are waiting: make sure they are seen. */
    ev_async_send(l->ev, &l->async);
    return 0;
}

/* Not from the loop thread itself (it would join itself): the node stops
 * the loop from its owner's thread. */
void sky__loop_stop(sky__loop *l)
{
    cmd c = {.op = CMD_STOP};
    int first, running;

    pthread_mutex_lock(&l->lock);
    first = !l->stopping;
    l->stopping = 1;
    running = first && l->started;
    if (running) push_locked(l, &c);
    pthread_mutex_unlock(&l->lock);

    if (!running) return;
    ev_async_send(l->ev, &l->async);
    pthread_join(l->thread, NULL);
}

void sky__loop_free(sky__loop *l)
{
    if (!l) return;
    sky__loop_stop(l);
    /* The thread is joined (or never ran): its data is ours now. */
    ev_async_stop(l->ev, &l->async);
    ev_loop_destroy(l->ev);
    pthread_mutex_destroy(&l->lock);
    free(l->post.v);
    free(l->work.v);
    free(l);
}

/* Queues c unless the loop is stopping; wakes it if the queue was empty. */
static int post_cmd(sky__loop *l, const cmd *c)
{
    int wake;
    pthread_mutex_lock(&l->lock);
    if (l->stopping) {
        pthread_mutex_unlock(&l->lock);
        return SKY_ESTOPPED;
    }
    wake = push_locked(l, c);
    pthread_mutex_unlock(&l->lock);
    if (wake) ev_async_send(l->ev, &l->async);
    return 0;
}

int sky__loop_timeout(sky__loop *l, sky_addr_t to, uint64_t ms, int kind, uint32_t session)
{
    cmd c = {.op = CMD_TIMEOUT};
    uint64_t now = now_ns(l);

    /* Saturate rather than wrap: a timeout of centuries never fires. */
    c.u.timeout.deadline_ns = ms > (UINT64_MAX - now) / 1000000u ? UINT64_MAX : now + ms * 1000000u;
    c.u.timeout.to = to;
    c.u.timeout.kind = kind;
    c.u.timeout.session = session;
    return post_cmd(l, &c);
}

void sky__loop_wake(sky__loop *l) { ev_async_send(l->ev, &l->async); }

int sky__loop_post(sky__loop *l, sky__loop_fn *fn, void *arg)
{
    cmd c = {.op = CMD_RUN};
    c.u.run.fn = fn;
    c.u.run.arg = arg;
    return post_cmd(l, &c);
}

struct ev_loop *sky__loop_ev(sky__loop *l) { return l->ev; }
