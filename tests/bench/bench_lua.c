/* sky_bench's Lua service benchmarks (the services are in tests/bench/lua/):
 * typed calls and oneways between two Lua services, and spawning idle
 * Lua services. The main thread drives the Lua driver service with raw
 * requests (sky_node_call, bounded by LIMIT_S) and times them. The
 * *_cpu_us figures are CPU time (every thread of the process, or the
 * spawning thread) per operation: on a shared machine they move less
 * with the load than the wall times do. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench.h"

#define LUA_CALL_N 200000
#define LUA_SEND_N 1000000
#define LUA_SPAWN_N 2000

/* The driver runs a whole benchmark in one message: a budget to fit. */
#define DRIVER LUA_DRIVER_ARGS

/* Asks `to` `text` with a raw request; its answer's text in out. */
static void ask(sky_node *node, sky_addr_t to, const char *text, char *out, size_t size)
{
    sky_msg req = {.type_id = 1, .size = strlen(text)};
    req.data = memcpy(sky_malloc(req.size + 1), text, req.size + 1);
    sky_msg reply = {0};
    char err[256] = "";
    int rc = sky_node_call(node, to, &req, LIMIT_S * 1000, &reply, err, sizeof err);
    if (rc < 0) die("%s: %s (%s)", text, sky_strerror(rc), err);
    snprintf(out, size, "%.*s", (int)reply.size, reply.data ? (const char *)reply.data : "");
    free(reply.data);
}

/* CPU time of the whole process (every thread), seconds. */
static double process_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The driver's "VERB ECHO N", timed (and in *cpu, the process's CPU
 * seconds, if cpu is not NULL); checks the answer. */
double lua_drive(sky_node *node, sky_addr_t driver, sky_addr_t echo, const char *verb, int n, const char *want,
                    double *cpu)
{
    char cmd[96], out[256];
    snprintf(cmd, sizeof cmd, "%s %llu %d", verb, (unsigned long long)echo, n);
    double t0 = now_s(), c0 = process_cpu_s();
    ask(node, driver, cmd, out, sizeof out);
    double s = now_s() - t0;
    if (cpu) *cpu = process_cpu_s() - c0;
    if (strcmp(out, want) != 0) die("%s: answered \"%s\", expected \"%s\"", cmd, out, want);
    return s;
}

void bench_lua_call(sky_node *node)
{
    sky_addr_t echo = spawn(node, "lua", "bench_echo"), driver = spawn(node, "lua", DRIVER);
    lua_drive(node, driver, echo, "call", 1000, "ok", NULL); /* warm: fibers pooled, heaps grown */
    double cpu, s = lua_drive(node, driver, echo, "call", LUA_CALL_N, "ok", &cpu);
    out_int("lua_call_n", LUA_CALL_N);
    out_int("lua_call_rt_per_s", LUA_CALL_N / s);
    out_f("lua_call_rt_us", s * 1e6 / LUA_CALL_N);
    out_f("lua_call_cpu_us", cpu * 1e6 / LUA_CALL_N);
}

void bench_lua_send(sky_node *node)
{
    sky_addr_t echo = spawn(node, "lua", "bench_echo"), driver = spawn(node, "lua", DRIVER);
    char want[32];
    snprintf(want, sizeof want, "%d", LUA_SEND_N);
    double s = lua_drive(node, driver, echo, "send", LUA_SEND_N, want, NULL);
    out_int("lua_send_n", LUA_SEND_N);
    out_int("lua_send_msgs_per_s", LUA_SEND_N / s);
}

/* CPU time of the calling thread, seconds. */
static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* From C (sky_node_spawn): a Lua service's init runs inside the call, so
 * it is ready, its script run, when the call returns. */
void bench_lua_spawn(sky_node *node)
{
    sky_addr_t *kids = sky_malloc(LUA_SPAWN_N * sizeof *kids);
    uint64_t base = services_alive(node);
    long rss0 = rss_bytes();
    double t0 = now_s(), c0 = thread_cpu_s();
    for (int i = 0; i < LUA_SPAWN_N; i++) {
        kids[i] = spawn(node, "lua", "bench_idle");
        if ((i & 255) == 0 && past_deadline()) die("spawning took more than %d s, aborting", LIMIT_S);
    }
    double s = now_s() - t0, cpu = thread_cpu_s() - c0;
    long rss1 = rss_bytes();
    char out[16];
    ask(node, kids[LUA_SPAWN_N - 1], "up", out, sizeof out);
    if (strcmp(out, "up") != 0) die("the last Lua service answered \"%s\"", out);
    out_int("lua_spawn_n", LUA_SPAWN_N);
    out_f("lua_spawn_us", s * 1e6 / LUA_SPAWN_N);
    out_f("lua_spawn_cpu_us", cpu * 1e6 / LUA_SPAWN_N);
    out_int("lua_service_rss_bytes", (double)((rss1 - rss0) / LUA_SPAWN_N));
    fflush(stdout);
    for (int i = 0; i < LUA_SPAWN_N; i++)
        if (sky_node_kill(node, kids[i]) != 0) die("kill: a Lua service is gone already");
    while (services_alive(node) > base) {
        if (past_deadline()) die("Lua services still alive after %d s, aborting", LIMIT_S);
        nanosleep(&(struct timespec){0, 100000}, NULL);
    }
    sky_free(kids);
}
