/* sky_bench's shared helpers (bench.c) for the benchmark files. */
#ifndef SKY_BENCH_H
#define SKY_BENCH_H

#include <stdint.h>
#include "sky/sky.h"

/* Seconds a benchmark may run before it is aborted. */
#define LIMIT_S 120

/* Prints "sky_bench NAME: message" to stderr and exits 1 at once. */
void die(const char *fmt, ...) SKY_PRINTF(1, 2);

/* Run by die() and the watchdog before they exit (async-signal-safe code
 * only): a benchmark that started another process ends it here. */
extern void (*bench_die_hook)(void);

/* The benchmarks' node configuration (threads, batch, the Lua path, the
 * log level), for a benchmark that makes its nodes itself. */
void bench_config(sky_config *cfg);

/* CLOCK_MONOTONIC in seconds. */
double now_s(void);

/* 1 once the running benchmark's LIMIT_S deadline has passed. */
int past_deadline(void);

/* A `key value` line: an integer, or with 3 decimals. */
void out_int(const char *key, double v);
void out_f(const char *key, double v);

/* From the main thread; die on failure. */
void node_send(sky_node *node, sky_addr_t to, uint32_t type, const void *data, size_t size);
sky_addr_t spawn(sky_node *node, const char *module, const char *args);

/* The process's resident set, bytes. */
long rss_bytes(void);

/* Services alive in the node. */
uint64_t services_alive(sky_node *node);

/* The running benchmark is over (from its measuring service), and the
 * main thread's bounded wait for that. */
void bench_done(void);
void bench_wait_done(const char *what);

/* bench_process.c: the process-model benchmarks and their modules. */
void bench_link_exit(sky_node *node);
void bench_monitor_down(sky_node *node);
extern const sky_module bench_link_module, bench_chain_watch_module, bench_down_child_module,
    bench_down_watcher_module;

/* bench_lua.c: the Lua service benchmarks. */
void bench_lua_call(sky_node *node);
void bench_lua_send(sky_node *node);
void bench_lua_spawn(sky_node *node);
/* Asks the Lua driver service `driver` (tests/bench/lua/bench_driver.lua)
 * "VERB ECHO N", timed; dies unless it answers `want`. Returns seconds,
 * and the process's CPU seconds in *cpu (if not NULL). */
double lua_drive(sky_node *node, sky_addr_t driver, sky_addr_t echo, const char *verb, int n, const char *want,
                 double *cpu);
/* The driver's spawn arguments: a budget for a whole run in one message. */
#define LUA_DRIVER_ARGS "budget=1000000000000 bench_driver"

/* bench_cluster.c: two nodes in two processes; it makes them itself and
 * is called with NULL. */
void bench_cluster(sky_node *unused);
/* The mailbox bound of its counter (--cluster-bound; 0: the node default). */
extern size_t bench_cluster_bound;

/* bench_super.c: supervisor_restart_us. */
void bench_supervisor(sky_node *node);

#endif
