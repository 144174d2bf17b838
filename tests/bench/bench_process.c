/* sky_bench's process-model benchmarks (docs/process-model.md), shaped
 * like their Erlang twins in tests/bench/process_bench.erl:
 *
 *   link_exit_propagation_us  a chain of LINK_N services, each linked to
 *                             the one before; from the kill of the first
 *                             until the watcher of the last gets its DOWN
 *   monitor_down_us           a watcher spawn_monitors a child and stops
 *                             it; from the child's exit (its handler
 *                             calling sky_exit) to the watcher handling
 *                             the DOWN: the median over DOWN_N rounds
 *                             (and monitor_down_mean_us)
 *
 * supervisor_restart_us comes with the supervisor (issue 5): it will sit
 * next to these. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench.h"

#define LINK_N 1000
#define DOWN_N 20000

enum { P_STOP = 1, P_GO, P_SYNC };

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- link_exit_propagation_us ------------------------------------------- */

static atomic_uint_fast64_t chain_end_ns; /* when the watcher saw the last go */
static atomic_int chain_done;

/* A link in the chain: args are the address before it (hex), or "". It
 * answers any request, which tells the caller its links are recorded
 * (link signals go ahead of mail). */
static int link_init(void *state, sky_ctx *ctx, const char *args)
{
    (void)state;
    sky_addr_t prev = strtoull(args, NULL, 16);
    return prev ? sky_link(ctx, prev) : 0;
}

static int link_handle(void *state, sky_ctx *ctx, const sky_msg *m)
{
    (void)state;
    return m->kind == SKY_REQUEST ? sky_reply_copy(ctx, m, 0, NULL, 0) : 0;
}

/* Monitors the address in args (hex); notes the time of its DOWN. */
static int chain_watch_init(void *state, sky_ctx *ctx, const char *args)
{
    (void)state;
    uint32_t ref;
    return sky_monitor(ctx, strtoull(args, NULL, 16), &ref);
}

static int chain_watch_handle(void *state, sky_ctx *ctx, const sky_msg *m)
{
    (void)state, (void)ctx;
    if (m->kind != SKY_DOWN) return 0;
    atomic_store(&chain_end_ns, now_ns());
    atomic_store(&chain_done, m->type_id == SKY_REASON_KILLED ? 1 : -1);
    return 0;
}

const sky_module bench_link_module = {"bench_link", NULL, link_init, link_handle, NULL};
const sky_module bench_chain_watch_module = {"bench_chain_watch", NULL, chain_watch_init, chain_watch_handle, NULL};

/* Calls `to` with an empty request and waits for the answer. */
static void sync_with(sky_node *node, sky_addr_t to)
{
    sky_msg req = {0}, reply = {0};
    char err[128] = "";
    int rc = sky_node_call(node, to, &req, LIMIT_S * 1000, &reply, err, sizeof err);
    if (rc < 0) die("sync: %s (%s)", sky_strerror(rc), err);
    free(reply.data);
}

void bench_link_exit(sky_node *node)
{
    sky_addr_t *chain = sky_malloc(LINK_N * sizeof *chain);
    char args[32] = "";
    for (int i = 0; i < LINK_N; i++) {
        chain[i] = spawn(node, "bench_link", args);
        snprintf(args, sizeof args, "%llx", (unsigned long long)chain[i]);
    }
    for (int i = 0; i < LINK_N; i++) sync_with(node, chain[i]); /* every link recorded both ways */
    spawn(node, "bench_chain_watch", args);                      /* args: the last one */
    uint64_t base = services_alive(node);
    uint64_t t0 = now_ns();
    if (sky_node_kill(node, chain[0]) != 0) die("cannot kill the chain's first service");
    while (!atomic_load(&chain_done)) {
        if (past_deadline()) die("the chain is still alive after %d s", LIMIT_S);
        nanosleep(&(struct timespec){0, 20000}, NULL);
    }
    if (atomic_load(&chain_done) < 0) die("the chain's last service went down for another reason than killed");
    double us = (double)(atomic_load(&chain_end_ns) - t0) / 1e3;
    while (services_alive(node) > base - LINK_N) /* the last one's count goes after its DOWN */
        if (past_deadline()) die("%llu services still alive", (unsigned long long)services_alive(node));
    out_int("link_chain_n", LINK_N);
    out_f("link_exit_propagation_us", us);
    out_f("link_exit_per_hop_us", us / LINK_N);
    sky_free(chain);
}

/* ---- monitor_down_us ---------------------------------------------------- */

static atomic_uint_fast64_t child_exit_ns; /* one child at a time */

static int down_child_handle(void *state, sky_ctx *ctx, const sky_msg *m)
{
    (void)state;
    if (m->type_id != P_STOP) return 0;
    atomic_store_explicit(&child_exit_ns, now_ns(), memory_order_relaxed);
    sky_exit(ctx);
    return 0;
}

typedef struct down_watcher {
    int left;
    uint64_t *samples; /* ns */
    int n;
} down_watcher;

static void next_child(sky_ctx *ctx)
{
    sky_addr_t child;
    uint32_t ref;
    if (sky_spawn_monitor(ctx, "bench_down_child", "", &child, &ref) != 0) die("spawn_monitor failed");
    if (sky_send_copy(ctx, child, P_STOP, NULL, 0) != 0) die("cannot stop the child");
}

static int down_watcher_handle(void *state, sky_ctx *ctx, const sky_msg *m)
{
    down_watcher *w = state;
    if (m->kind == SKY_DOWN) {
        uint64_t t = now_ns();
        w->samples[w->n++] = t - atomic_load_explicit(&child_exit_ns, memory_order_relaxed);
        if (--w->left == 0) {
            bench_done();
            return 0;
        }
        next_child(ctx);
    } else if (m->type_id == P_GO) {
        next_child(ctx);
    }
    return 0;
}

static void *down_watcher_create(void)
{
    down_watcher *w = sky_calloc(1, sizeof *w);
    w->left = DOWN_N;
    w->samples = sky_malloc(DOWN_N * sizeof *w->samples);
    return w;
}

static down_watcher *the_watcher; /* read after bench_done */

static int down_watcher_init(void *state, sky_ctx *ctx, const char *args)
{
    (void)ctx, (void)args;
    the_watcher = state;
    return 0;
}

static void down_watcher_release(void *state)
{
    down_watcher *w = state;
    sky_free(w->samples);
    sky_free(w);
}

const sky_module bench_down_child_module = {"bench_down_child", NULL, NULL, down_child_handle, NULL};
const sky_module bench_down_watcher_module = {"bench_down_watcher", down_watcher_create, down_watcher_init,
                                              down_watcher_handle, down_watcher_release};

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void bench_monitor_down(sky_node *node)
{
    sky_addr_t w = spawn(node, "bench_down_watcher", "");
    double t0 = now_s();
    node_send(node, w, P_GO, NULL, 0);
    bench_wait_done("a DOWN for every child");
    double total = now_s() - t0;
    down_watcher *dw = the_watcher; /* idle now: nothing else touches it */
    qsort(dw->samples, (size_t)dw->n, sizeof *dw->samples, cmp_u64);
    double sum = 0;
    for (int i = 0; i < dw->n; i++) sum += (double)dw->samples[i];
    out_int("monitor_down_n", dw->n);
    out_f("monitor_down_us", (double)dw->samples[dw->n / 2] / 1e3);
    out_f("monitor_down_mean_us", sum / dw->n / 1e3);
    out_f("monitor_down_p99_us", (double)dw->samples[dw->n * 99 / 100] / 1e3);
    out_f("monitor_spawn_stop_down_us", total / dw->n * 1e6);
}
