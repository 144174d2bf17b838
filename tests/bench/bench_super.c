/* sky_bench's supervisor benchmark: supervisor_restart_us, the time from a
 * supervised Lua child's crash until its restarted self answers a call.
 *
 * The supervisor is tests/bench/lua/bench_sup.lua (sky.supervisor,
 * one_for_one, an intensity no run reaches), the child bench_sup_child.lua
 * (answers "ping", exits with an error on "crash", and tells the driver
 * "ready" from its init). The driver is a C service in the node, so no
 * thread outside it takes part: it sends the child a oneway "crash", and
 * when the restarted child's "ready" comes, calls it; the answer ends the
 * sample and starts the next. A sample is the whole restart: the old
 * child's exit, the trapped exit signal, the supervisor's Lua handler, a
 * new Lua state loading its file, its "ready", and one call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"

#define SUP_N 3000
#define SUP_WARM 100
#define T_PING 1
#define T_CRASH 2
#define T_READY 3

/* The driver's state; the main thread reads the samples once the driver
 * has answered its "run" (the reply orders the accesses). */
typedef struct sup_driver {
    sky_token run;       /* the main thread's request, answered when done */
    int n, i;            /* samples wanted, taken */
    sky_addr_t old;      /* the child crashed last */
    double t0;
    double t[SUP_WARM + SUP_N];
} sup_driver;

static sup_driver driver;

static void crash_next(sky_ctx *ctx)
{
    driver.old = sky_whereis(ctx, "bench_sup_child");
    driver.t0 = now_s();
    if (driver.old == SKY_ADDR_NONE || sky_send_copy(ctx, driver.old, T_CRASH, "crash", 5) < 0)
        die("cannot crash the child");
}

static void on_pong(sky_ctx *ctx, int status, const sky_msg *reply, void *ud)
{
    (void)reply;
    (void)ud;
    if (status < 0) die("the restarted child did not answer: %s", sky_strerror(status));
    driver.t[driver.i++] = now_s() - driver.t0;
    if (driver.i < driver.n) crash_next(ctx);
    else (void)sky_respond(ctx, driver.run, &(sky_msg){0});
}

static int driver_init(void *state, sky_ctx *ctx, const char *args)
{
    (void)state;
    (void)args;
    return sky_register(ctx, "bench_sup_driver");
}

static int driver_handle(void *state, sky_ctx *ctx, const sky_msg *m)
{
    (void)state;
    if (m->kind == SKY_REQUEST) { /* "run": from the main thread */
        driver.run = sky_defer(ctx, m);
        driver.n = SUP_WARM + SUP_N;
        driver.i = 0;
        crash_next(ctx);
    } else if (m->type_id == T_READY && driver.n && m->source != driver.old && driver.i < driver.n) {
        sky_msg req = {.type_id = T_PING, .size = 4, .data = memcpy(sky_malloc(4), "ping", 4)};
        if (sky_call(ctx, m->source, &req, 1000, on_pong, NULL) < 0) die("cannot call the restarted child");
    }
    return 0;
}

static const sky_module driver_module = {"bench_sup_driver", NULL, driver_init, driver_handle, NULL};

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void bench_supervisor(sky_node *node)
{
    if (sky_node_register_module(node, &driver_module) != 0) die("cannot register bench_sup_driver");
    sky_addr_t d = spawn(node, "bench_sup_driver", NULL);
    sky_addr_t sup = spawn(node, "lua", "bench_sup"); /* its child is up when this returns */
    sky_msg req = {.type_id = 1}, reply = {0};
    char err[256] = "";
    int rc = sky_node_call(node, d, &req, LIMIT_S * 1000, &reply, err, sizeof err);
    if (rc < 0) die("run: %s (%s)", sky_strerror(rc), err);
    free(reply.data);
    if (sky_node_whereis(node, "bench_sup") != sup) die("the supervisor did not survive");
    double *t = driver.t + SUP_WARM, sum = 0;
    for (int i = 0; i < SUP_N; i++) sum += t[i];
    qsort(t, SUP_N, sizeof t[0], cmp_double);
    out_int("supervisor_restarts", SUP_N);
    out_f("supervisor_restart_us", sum * 1e6 / SUP_N);
    out_f("supervisor_restart_median_us", t[SUP_N / 2] * 1e6);
    out_f("supervisor_restart_p99_us", t[SUP_N * 99 / 100] * 1e6);
}
