/* Helpers shared by the runtime's Check suites.
 *
 * Rules the suites follow: services never call ck_assert (a failing
 * assertion on a worker thread cannot unwind the test); they record what
 * they see in test-owned state (atomics or a tu_rec), and the test thread
 * waits for it with a bounded TU_WAIT and asserts there. Nodes are created
 * inside each test, so the default fork mode gives every test a fresh
 * process; CK_FORK=no (valgrind, gdb) works too. */
#ifndef SKY_TESTUTIL_H
#define SKY_TESTUTIL_H

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include "sky/sky.h"

/* ---- suites (one per check_<module>.c) --------------------------------- */

Suite *handle_suite(void);
Suite *mailbox_suite(void);
Suite *sched_suite(void);
Suite *timer_suite(void);
Suite *call_suite(void);
Suite *shutdown_suite(void);
Suite *module_suite(void);
Suite *outbox_suite(void);
Suite *typed_suite(void);
Suite *codec_suite(void);
Suite *lua_suite(void);
Suite *dynschema_suite(void);
Suite *process_suite(void);
Suite *socket_suite(void);
Suite *gate_suite(void);
Suite *misbehave_suite(void);
Suite *cluster_suite(void);
Suite *link_suite(void);
Suite *pbjson_suite(void);

/* Per-test time limit in seconds (Check scales it by CK_TIMEOUT_MULTIPLIER). */
#define TU_TEST_TIMEOUT 20

/* A test case named `name` with the per-test time limit set. */
TCase *tu_tcase(const char *name);

/* ---- time -------------------------------------------------------------- */

/* Monotonic milliseconds. */
uint64_t tu_now_ms(void);
void tu_sleep_ms(int ms);

/* `ms` scaled for slow runs: times 20 under valgrind, times
 * CK_TIMEOUT_MULTIPLIER when that is set. Every bounded wait goes through
 * this, so a slow run waits longer instead of failing. */
int tu_ms(int ms);

/* 1 when running under valgrind. */
int tu_under_valgrind(void);

/* Polls `cond` every millisecond until it holds or tu_ms(ms) passed.
 * Evaluates to 1 if it held. */
#define TU_WAIT(cond, ms)                                                  \
    ({                                                                     \
        uint64_t tu_end_ = tu_now_ms() + (uint64_t)tu_ms(ms);              \
        int tu_ok_;                                                        \
        while (!(tu_ok_ = (cond) ? 1 : 0) && tu_now_ms() < tu_end_)        \
            tu_sleep_ms(1);                                                \
        tu_ok_;                                                            \
    })

/* The same as a function. */
int tu_wait(int (*pred)(void *), void *arg, int ms);

/* Drops a SKY_MUST_CHECK result on purpose (a cast to void does not). */
#define TU_IGNORE(expr) \
    do {                \
        if (expr) {     \
        }               \
    } while (0)

/* ---- nodes ------------------------------------------------------------- */

/* sky_config_init plus: `threads` workers, errors-only logging (tests
 * provoke warnings on purpose), and a 10 s default call deadline so that
 * a test relying on its own shorter deadline cannot pass by accident. */
void tu_config(sky_config *cfg, int threads);

/* Creates a node from cfg, registers the NULL-terminated list of modules
 * and starts it. Fails the test on any error. */
sky_node *tu_start(const sky_config *cfg, ...);

/* tu_start with tu_config(threads). Modules: NULL-terminated. */
sky_node *tu_node(int threads, ...);

/* Spawns `mod` with args; fails the test unless it succeeds. */
sky_addr_t tu_spawn(sky_node *node, const char *mod, const char *args);

/* Sends a copy of data as a oneway from outside. Returns the send's code. */
int tu_send(sky_node *node, sky_addr_t to, uint32_t type_id, const void *data, size_t size);

/* Calls `to` from outside with `text` as the payload (type `type_id`),
 * waiting at most tu_ms(5000). Returns the call's code; out holds the
 * answer's text, or the error's. */
int tu_call_text(sky_node *node, sky_addr_t to, uint32_t type_id, const char *text, char *out, size_t size);
/* The same with a deadline of tu_ms(ms). */
int tu_call_text_for(sky_node *node, sky_addr_t to, uint32_t type_id, const char *text, char *out, size_t size,
                     int ms);

/* How many times the file at `path` holds `text` (in its first 64 KiB);
 * 0 if it cannot be read. For a node's log. */
int tu_file_count(const char *path, const char *text);

/* 1 if `a` is a live service. */
int tu_alive(sky_node *node, sky_addr_t a);

/* The service's counters; fails the test if it is not alive. */
sky_service_stat tu_stat(sky_node *node, sky_addr_t a);

/* Spawn args that carry a pointer to test-owned state, and back. */
typedef struct tu_arg {
    char s[40];
} tu_arg;
tu_arg tu_ptr_arg(const void *p);
void *tu_arg_ptr(const char *args);

/* ---- shared state ------------------------------------------------------ */

/* A gate that service handlers block on until the test opens it. Waits are
 * bounded (so a failing test cannot wedge a worker forever). */
typedef struct tu_gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int open;
    atomic_int waiting; /* handlers blocked on it now */
} tu_gate;

void tu_gate_init(tu_gate *g);
void tu_gate_deinit(tu_gate *g);
/* Blocks until the gate opens or tu_ms(ms) passes; 1 if it opened. */
int tu_gate_wait(tu_gate *g, int ms);
void tu_gate_open(tu_gate *g);

/* A thread-safe list of 64-bit values, recorded by services in order. */
#define TU_REC_MAX 4096
typedef struct tu_rec {
    pthread_mutex_t mu;
    size_t n;
    int64_t v[TU_REC_MAX];
} tu_rec;

void tu_rec_init(tu_rec *r);
void tu_rec_deinit(tu_rec *r);
void tu_rec_add(tu_rec *r, int64_t v);
size_t tu_rec_count(tu_rec *r);
/* The i-th value (0 if out of range). */
int64_t tu_rec_get(tu_rec *r, size_t i);

/* ---- a few shared modules ---------------------------------------------- */

/* "echo": answers every request with its own bytes and type; counts
 * oneways it gets in tu_echo_oneways. */
extern const sky_module tu_echo_module;
extern atomic_long tu_echo_oneways;

/* "hole": defers every request and never answers; its deferred requests
 * are answered with SKY_EEXIT when it dies. */
extern const sky_module tu_hole_module;

/* A blocking TCP socket of the test thread, connected to 127.0.0.1:port;
 * fails the test if it cannot connect. */
int tu_tcp_connect(int port);

/* A 32-bit seed from a service address: deterministic per test. */
uint32_t tu_seed(sky_addr_t a);

#endif
