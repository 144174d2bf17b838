/* sky_bench's supervisor benchmark: supervisor_restart_us, the time from a
 * supervised Lua child's crash until its restarted self answers a call.
 * The supervisor is tests/bench/lua/bench_sup.lua (sky.supervisor,
 * one_for_one, an intensity no run reaches), the child bench_sup_child.lua
 * (registers "bench_sup_child", answers "ping", exits with an error on
 * "crash"). The main thread sends the crash as a oneway, then spins on the
 * name until another service holds it and calls it. Each sample is one
 * whole restart: the old child's exit, the trapped exit signal, a new Lua
 * state loading its file, its registration, and one call. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"

#define SUP_N 3000
#define SUP_WARM 100
#define CHILD "bench_sup_child"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Calls `to` with a raw "ping": 0 when it answers "pong". */
static int ping(sky_node *node, sky_addr_t to)
{
    sky_msg req = {.type_id = 1, .size = 4};
    req.data = memcpy(sky_malloc(4), "ping", 4);
    sky_msg reply = {0};
    char err[128];
    int rc = sky_node_call(node, to, &req, 1000, &reply, err, sizeof err);
    if (rc == 0 && (reply.size != 4 || memcmp(reply.data, "pong", 4) != 0)) rc = SKY_EBADMSG;
    free(reply.data);
    return rc;
}

/* One crash and restart, timed: seconds. */
static double restart_once(sky_node *node)
{
    sky_addr_t old = sky_node_whereis(node, CHILD);
    if (old == SKY_ADDR_NONE) die("no %s", CHILD);
    double t0 = now_s();
    node_send(node, old, 2, "crash", 5);
    for (;;) {
        sky_addr_t a = sky_node_whereis(node, CHILD);
        if (a != SKY_ADDR_NONE && a != old && ping(node, a) == 0) break;
        if (past_deadline()) die("the child was not restarted");
        sched_yield();
    }
    return now_s() - t0;
}

void bench_supervisor(sky_node *node)
{
    sky_addr_t sup = spawn(node, "lua", "bench_sup");
    static double t[SUP_N];
    for (int i = 0; i < SUP_WARM; i++) restart_once(node);
    double sum = 0;
    for (int i = 0; i < SUP_N; i++) sum += t[i] = restart_once(node);
    qsort(t, SUP_N, sizeof t[0], cmp_double);
    if (sky_node_whereis(node, "bench_sup") != sup)
        die("the supervisor did not survive");
    out_int("supervisor_restarts", SUP_N);
    out_f("supervisor_restart_us", sum * 1e6 / SUP_N);
    out_f("supervisor_restart_median_us", t[SUP_N / 2] * 1e6);
    out_f("supervisor_restart_p99_us", t[SUP_N * 99 / 100] * 1e6);
}
