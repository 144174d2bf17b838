/* sky_bench: the runtime's benchmarks, shaped like the Erlang peer
 * (shared/peers/peer_bench.erl) so the figures can be set side by side.
 *
 *   sky_bench ring|pingpong|fanin|fanin_timer|fanin_spin|spawn|payload|
 *             lua|lua_call|lua_send|lua_spawn|process|link_exit|monitor_down|supervisor|
 *             cluster|all
 *             [--threads N] [--batch N]
 *             [--fanin-bound N] [--fanin-chunk N] [--fanin-backoff MS] [--cluster-bound N]
 *
 * `fanin` runs both fan-in variants (fanin_timer, keys fanin_*, and
 * fanin_spin, keys fanin_spin_*); `lua` the three Lua service ones
 * (bench_lua.c); `process` the process-model ones (bench_process.c);
 * `supervisor` the restart of a supervised child (bench_super.c); `cluster`
 * two nodes in two processes linked on 127.0.0.1 (bench_cluster.c, which
 * builds its own nodes). --threads defaults to the number of
 * cores, --batch to the node default; the fanin options default to a
 * consumer bound of 262144, chunks of 256 and a 0 ms retry timer;
 * --cluster-bound (the cluster flood's counter's bound) to the node default.
 *
 * Prints one `key value` line per figure; `#` lines are context. Every
 * benchmark runs in a fresh node whose services are C modules registered
 * with sky_node_register_module(). The main thread drives through the
 * public API and waits on a semaphore that the measuring service posts
 * ("done"); every wait is bounded and a benchmark that runs past
 * LIMIT_S seconds aborts the program with a message. See docs/benchmarks.md. */
#define _GNU_SOURCE
#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "sky/sky.h"
#include "bench.h"
#include "payload.sky.h"

#define RING_N 1000
#define RING_HOPS 1000000u
#define PP_N 1000000u
#define FANIN_PRODUCERS 2
#define FANIN_PER_PRODUCER 2000000u
#define SPAWN_N 100000

/* Padding for the state of services that run at the same time on different
 * workers, so that two heap neighbours never share a cache line. */
#define CACHE_PAD 128

/* Message types of the benchmark services. */
enum {
    T_NEXT = 1, /* ring: your successor (a sky_addr_t) */
    T_TOKEN,    /* ring: the token (uint32_t hops left) */
    T_GO,       /* start (payload depends on the service) */
    T_PING,     /* pingpong: uint32_t */
    T_PONG,     /* pingpong: uint32_t */
    T_CALL,     /* pingpong call: uint32_t, echoed back */
    T_INT,      /* fanin: one small integer */
    T_CONT,     /* fanin: a producer's note to itself to go on */
    T_READY,    /* spawn: a child is up */
    T_STAT,     /* fanin: a call for a producer's busy count (uint64_t) */
    T_STOP      /* exit */
};

/* ---- options, failure, the done signal --------------------------------- */

static struct {
    int threads;
    int batch;
    size_t fanin_bound;
    int fanin_chunk;
    int fanin_backoff_ms;
} opt = {0, 0, 1u << 18, 256, 0};

static sem_t done_sem;
static struct timespec bench_deadline; /* CLOCK_MONOTONIC */
static const char *bench_name = "";
static atomic_int failed;
static char fail_text[256];

void (*bench_die_hook)(void);

void die(const char *fmt, ...)
{
    va_list ap;
    if (bench_die_hook) bench_die_hook();
    fprintf(stderr, "sky_bench %s: ", bench_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(NULL);
    _exit(1); /* the node's threads still run: no exit-time teardown under them */
}

/* The last resort when the main thread itself is stuck (a spawn loop that
 * never returns): bounded waits cannot help there. */
static void on_alarm(int sig)
{
    static const char msg[] = "sky_bench: watchdog: a benchmark ran past its limit, aborting\n";
    (void)sig;
    if (bench_die_hook) bench_die_hook();
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(1);
}

double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* From a service: the measurement is over (or failed). */
static void done(void) { sem_post(&done_sem); }

/* From a service: record the first failure and release the main thread. */
static void fail(const char *fmt, ...) SKY_PRINTF(1, 2);
static void fail(const char *fmt, ...)
{
    int expected = 0;
    if (atomic_compare_exchange_strong(&failed, &expected, 1)) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(fail_text, sizeof fail_text, fmt, ap);
        va_end(ap);
        done();
    }
}

static void check_failed(void)
{
    if (atomic_load(&failed)) die("%s", fail_text);
}

/* Waits for one done() until the benchmark's deadline. */
static void wait_done(const char *what)
{
    for (;;) {
        if (sem_clockwait(&done_sem, CLOCK_MONOTONIC, &bench_deadline) == 0) break;
        if (errno == EINTR) continue;
        if (errno == ETIMEDOUT) die("no %s within %d s, aborting", what, LIMIT_S);
        die("sem_clockwait: %s", strerror(errno));
    }
    check_failed();
}

void bench_done(void) { done(); }
void bench_wait_done(const char *what) { wait_done(what); }

int past_deadline(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec > bench_deadline.tv_sec ||
           (ts.tv_sec == bench_deadline.tv_sec && ts.tv_nsec >= bench_deadline.tv_nsec);
}

/* ---- output ------------------------------------------------------------ */

void out_int(const char *key, double v) { printf("%s %.0f\n", key, v); }
void out_f(const char *key, double v) { printf("%s %.3f\n", key, v); }

/* ---- helpers for the main thread --------------------------------------- */

void node_send(sky_node *node, sky_addr_t to, uint32_t type, const void *data, size_t size)
{
    void *copy = size ? memcpy(sky_malloc(size), data, size) : NULL;
    sky_msg m = {.kind = SKY_ONEWAY, .type_id = type, .size = size, .data = copy};
    int rc = sky_node_send(node, to, &m);
    if (rc < 0) die("send to %llx: %s", (unsigned long long)to, sky_strerror(rc));
}

sky_addr_t spawn(sky_node *node, const char *module, const char *args)
{
    char err[512];
    sky_addr_t a = SKY_ADDR_NONE;
    int rc = sky_node_spawn(node, module, args, &a, err, sizeof err);
    if (rc < 0) die("%s", err);
    return a;
}

static uint32_t u32_of(const sky_msg *m)
{
    uint32_t v = 0;
    if (m->size == sizeof v) memcpy(&v, m->data, sizeof v);
    return v;
}

/* ---- ring -------------------------------------------------------------- */

typedef struct ring_node {
    sky_addr_t next;
} ring_node;

static void *ring_create(void) { return sky_calloc(1, sizeof(ring_node)); }

static int ring_handle(void *state, sky_ctx *ctx, const sky_msg *m)
{
    ring_node *r = state;
    switch (m->type_id) {
    case T_NEXT:
        if (m->size == sizeof r->next) memcpy(&r->next, m->data, sizeof r->next);
        return 0;
    case T_TOKEN: {
        uint32_t k = u32_of(m);
        if (k == 0) {
            done();
            return 0;
        }
        k--;
        int rc = sky_send_copy(ctx, r->next, T_TOKEN, &k, sizeof k);
        if (rc < 0) fail("ring: send: %s", sky_strerror(rc));
        return 0;
    }
    case T_STOP:
        sky_exit(ctx);
        return 0;
    }
    return 0;
}

static const sky_module ring_module = {"bench_ring", ring_create, NULL, ring_handle, sky_free};

static void bench_ring(sky_node *node)
{
    static sky_addr_t addr[RING_N];
    for (int i = 0; i < RING_N; i++) addr[i] = spawn(node, "bench_ring", NULL);
    /* sent before the token: each node's T_NEXT is queued ahead of it */
    for (int i = 0; i < RING_N; i++) node_send(node, addr[i], T_NEXT, &addr[(i + 1) % RING_N], sizeof addr[0]);
    uint32_t hops = RING_HOPS;
    double t0 = now_s();
    node_send(node, addr[0], T_TOKEN, &hops, sizeof hops);
    wait_done("ring token back");
    double s = now_s() - t0;
    for (int i = 0; i < RING_N; i++) node_send(node, addr[i], T_STOP, NULL, 0);
    out_int("ring_hops_per_s", RING_HOPS / s);
    out_f("ring_elapsed_s", s);
}

/* ---- pingpong: raw oneway sends and calls ------------------------------ */

typedef struct go_msg {
    sky_addr_t peer;
    uint32_t n;
} go_msg;

typedef struct pinger {
    sky_addr_t peer;
    uint32_t left;
    char pad[CACHE_PAD];
} pinger;

static void *pinger_create(void) { return sky_calloc(1, sizeof(pinger)); }

static void ping_next(pinger *p, sky_ctx *ctx)
{
    int rc = sky_send_copy(ctx, p->peer, T_PING, &p->left, sizeof p->left);
    if (rc < 0) fail("ping: send: %s", sky_strerror(rc));
}

/* A client that drives round trips: T_GO {peer, n} starts them with
 * next(), T_STOP ends it. */
static int drive(pinger *p, sky_ctx *ctx, const sky_msg *m, void (*next)(pinger *, sky_ctx *))
{
    if (m->type_id == T_GO && m->size == sizeof(go_msg)) {
        go_msg go;
        memcpy(&go, m->data, sizeof go);
        p->peer = go.peer;
        p->left = go.n;
        next(p, ctx);
    } else if (m->type_id == T_STOP) {
        sky_exit(ctx);
    }
    return 0;
}

static int ping_handle(void *state, sky_ctx *ctx, const sky_msg *m)
{
    pinger *p = state;
    if (m->type_id != T_PONG) return drive(p, ctx, m, ping_next);
    if (u32_of(m) != p->left) {
        fail("ping: got pong %u, expected %u", u32_of(m), p->left);
    } else if (--p->left == 0) {
        done();
    } else {
        ping_next(p, ctx);
    }
    return 0;
}

static int pong_handle(void *state, sky_ctx *ctx, const sky_msg *m)
{
    (void)state;
    if (m->type_id == T_PING) {
        int rc = sky_send_copy(ctx, m->source, T_PONG, m->data, m->size);
        if (rc < 0) fail("pong: send: %s", sky_strerror(rc));
    } else if (m->type_id == T_STOP) {
        sky_exit(ctx);
    }
    return 0;
}

static void call_next(pinger *p, sky_ctx *ctx);

static void on_answer(sky_ctx *ctx, int status, const sky_msg *reply, void *ud)
{
    pinger *p = ud;
    if (status != 0) {
        char buf[128];
        fail("call: %s", sky_error_text(reply, status, buf, sizeof buf));
    } else if (u32_of(reply) != p->left) {
        fail("call: got %u, expected %u", u32_of(reply), p->left);
    } else if (--p->left == 0) {
        done();
    } else {
        call_next(p, ctx);
    }
}

static void call_next(pinger *p, sky_ctx *ctx)
{
    uint32_t *k = sky_malloc(sizeof *k);
    *k = p->left;
    sky_msg req = {.type_id = T_CALL, .size = sizeof *k, .data = k};
    int rc = sky_call(ctx, p->peer, &req, 0, on_answer, p); /* 0: the node's default deadline */
    if (rc < 0) fail("call: %s", sky_strerror(rc));
}

static int caller_handle(void *state, sky_ctx *ctx, const sky_msg *m) { return drive(state, ctx, m, call_next); }

static int echo_handle(void *state, sky_ctx *ctx, const sky_msg *m)
{
    (void)state;
    if (m->kind == SKY_REQUEST) return sky_reply_copy(ctx, m, m->type_id, m->data, m->size);
    if (m->type_id == T_STOP) sky_exit(ctx);
    return 0;
}

static const sky_module ping_module = {"bench_ping", pinger_create, NULL, ping_handle, sky_free};
static const sky_module pong_module = {"bench_pong", NULL, NULL, pong_handle, NULL};
static const sky_module caller_module = {"bench_caller", pinger_create, NULL, caller_handle, sky_free};
static const sky_module echo_module = {"bench_echo", NULL, NULL, echo_handle, NULL};

/* Spawns `client` and `server`, lets client run PP_N round trips, returns
 * the seconds they took. */
static double round_trips(sky_node *node, const char *client, const char *server, const char *what)
{
    sky_addr_t c = spawn(node, client, NULL), s = spawn(node, server, NULL);
    go_msg go = {s, PP_N};
    double t0 = now_s();
    node_send(node, c, T_GO, &go, sizeof go);
    wait_done(what);
    double sec = now_s() - t0;
    node_send(node, c, T_STOP, NULL, 0);
    node_send(node, s, T_STOP, NULL, 0);
    return sec;
}

/* ---- payload: typed calls through the stubs skyc generated ------------- */

/* The peer's payload_codec: the caller encodes {id, session, kind, 64-byte
 * body}, the echo decodes it, changes `session` and encodes the answer,
 * the caller decodes that and checks `id`. Here skyc's stubs do the
 * encoding and decoding (protobuf on the wire, checked on arrival). */
static const char payload_body[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static void payload_fill(Sky__Bench__Payload *p, uint32_t k)
{
    sky__bench__payload__init(p);
    p->id = (int32_t)k;
    p->session = 42;
    p->kind = (char *)"reply";
    p->body = (char *)payload_body;
}

static void payload_next(pinger *p, sky_ctx *ctx);

static void payload_answer(sky_ctx *ctx, int status, const Sky__Bench__Payload *resp, const sky_msg *reply, void *ud)
{
    pinger *p = ud;
    (void)reply;
    if (status != 0) {
        fail("payload call: %s", sky_strerror(status));
    } else if (resp->id != (int32_t)p->left || resp->session != 43 || strcmp(resp->body, payload_body) != 0) {
        fail("payload call: got id %d session %d, expected id %u session 43", resp->id, resp->session, p->left);
    } else if (--p->left == 0) {
        done();
    } else {
        payload_next(p, ctx);
    }
}

static void payload_next(pinger *p, sky_ctx *ctx)
{
    Sky__Bench__Payload req;
    payload_fill(&req, p->left);
    int rc = sky_bench_Echo_Echo_call(ctx, p->peer, &req, 0, payload_answer, p);
    if (rc < 0) fail("payload call: %s", sky_strerror(rc));
}

static int payload_client_handle(void *state, sky_ctx *ctx, const sky_msg *m)
{
    return drive(state, ctx, m, payload_next);
}

static int payload_echo(sky_ctx *ctx, const Sky__Bench__Payload *req, const sky_request *r, void *ud)
{
    (void)ud;
    Sky__Bench__Payload resp = *req;
    resp.session = 43;
    return sky_bench_Echo_Echo_reply(ctx, r, &resp);
}

static int payload_server_init(void *state, sky_ctx *ctx, const char *args)
{
    static const sky_bench_Echo_handlers impl = {.Echo = payload_echo};
    (void)state, (void)args;
    return sky_bench_Echo_serve(ctx, &impl, NULL);
}

static int payload_server_handle(void *state, sky_ctx *ctx, const sky_msg *m)
{
    (void)state;
    if (m->type_id == T_STOP) sky_exit(ctx);
    return 0;
}

static const sky_module payload_client_module = {"bench_payload_client", pinger_create, NULL, payload_client_handle,
                                                 sky_free};
static const sky_module payload_server_module = {"bench_payload_server", NULL, payload_server_init,
                                                 payload_server_handle, NULL};

static void bench_payload(sky_node *node)
{
    Sky__Bench__Payload p;
    payload_fill(&p, PP_N);
    out_int("payload_encoded_bytes", (double)sky__bench__payload__get_packed_size(&p));
    double s = round_trips(node, "bench_payload_client", "bench_payload_server", "end of the payload calls");
    out_int("payload_codec_rt_per_s", PP_N / s);
    out_f("payload_codec_rt_us", s * 1e6 / PP_N);
}

static void bench_pingpong(sky_node *node)
{
    double s = round_trips(node, "bench_ping", "bench_pong", "end of the ping-pong");
    out_int("pingpong_rt_per_s", PP_N / s);
    out_f("pingpong_rt_us", s * 1e6 / PP_N);
    fflush(stdout);
    s = round_trips(node, "bench_caller", "bench_echo", "end of the calls");
    out_int("pingpong_call_rt_per_s", PP_N / s);
    out_f("pingpong_call_rt_us", s * 1e6 / PP_N);
}

/* ---- fan-in ------------------------------------------------------------ */

typedef struct consumer {
    uint64_t left;
    char pad[CACHE_PAD];
} consumer;

static void *consumer_create(void) { return sky_calloc(1, sizeof(consumer)); }

static int consumer_init(void *state, sky_ctx *ctx, const char *args)
{
    consumer *c = state;
    c->left = strtoull(args, NULL, 10);
    /* the peer's mailboxes are unbounded; ours are not, so give the one
     * receiver of everything room to absorb the producers' bursts */
    sky_set_mailbox_limit(ctx, opt.fanin_bound);
    return c->left ? 0 : SKY_EINVAL;
}

static int consumer_handle(void *state, sky_ctx *ctx, const sky_msg *m)
{
    consumer *c = state;
    if (m->type_id == T_INT) {
        if (--c->left == 0) done();
    } else if (m->type_id == T_STOP) {
        sky_exit(ctx);
    }
    return 0;
}

typedef struct producer {
    sky_addr_t to;
    uint32_t left;
    int spin;      /* on SKY_EBUSY: 1 = retry on the next turn, 0 = after a timer */
    uint64_t busy; /* sends refused with SKY_EBUSY (and retried) */
    char pad[CACHE_PAD];
} producer;

static void *producer_create(void) { return sky_calloc(1, sizeof(producer)); }

/* args: "<consumer address, hex> <count> spin|timer" */
static int producer_init(void *state, sky_ctx *ctx, const char *args)
{
    producer *p = state;
    char *end;
    (void)ctx;
    p->to = strtoull(args, &end, 16);
    p->left = (uint32_t)strtoul(end, &end, 10);
    p->spin = strstr(end, "spin") != NULL;
    return p->to && p->left ? 0 : SKY_EINVAL;
}

/* One turn: up to opt.fanin_chunk sends, then a `continue` to itself so
 * the consumer and the other producer get turns in between. A send refused
 * with SKY_EBUSY is never lost: the same integer is sent again on a later
 * turn, either the very next one (spin) or the one a timer starts (timer:
 * sky_timeout(opt.fanin_backoff_ms), 0 = as soon as the loop thread fires
 * it), which leaves the consumer alone with its full mailbox meanwhile. */
static void produce(producer *p, sky_ctx *ctx)
{
    int rc;
    for (int i = 0; i < opt.fanin_chunk && p->left > 0; i++) {
        rc = sky_send_copy(ctx, p->to, T_INT, &p->left, sizeof p->left);
        if (rc == SKY_EBUSY) {
            p->busy++;
            if (p->spin) break;
            if ((rc = sky_timeout(ctx, opt.fanin_backoff_ms, 0)) < 0) fail("producer: timer: %s", sky_strerror(rc));
            return;
        }
        if (rc < 0) {
            fail("producer: send: %s", sky_strerror(rc));
            return;
        }
        p->left--;
    }
    if (p->left > 0 && (rc = sky_send_copy(ctx, sky_self(ctx), T_CONT, NULL, 0)) < 0)
        fail("producer: send to itself: %s", sky_strerror(rc));
}

static int producer_handle(void *state, sky_ctx *ctx, const sky_msg *m)
{
    producer *p = state;
    if (m->type_id == T_GO || m->type_id == T_CONT || m->kind == SKY_TIMER) {
        produce(p, ctx);
    } else if (m->kind == SKY_REQUEST && m->type_id == T_STAT) {
        return sky_reply_copy(ctx, m, T_STAT, &p->busy, sizeof p->busy);
    } else if (m->type_id == T_STOP) {
        sky_exit(ctx);
    }
    return 0;
}

static const sky_module consumer_module = {"bench_consumer", consumer_create, consumer_init, consumer_handle,
                                           sky_free};
static const sky_module producer_module = {"bench_producer", producer_create, producer_init, producer_handle,
                                           sky_free};

/* prefix: "fanin" or "fanin_spin"; mode: "timer" or "spin". */
static void fanin(sky_node *node, const char *prefix, const char *mode)
{
    uint64_t total = (uint64_t)FANIN_PRODUCERS * FANIN_PER_PRODUCER;
    char args[64], key[64];
    snprintf(args, sizeof args, "%llu", (unsigned long long)total);
    sky_addr_t c = spawn(node, "bench_consumer", args);
    sky_addr_t p[FANIN_PRODUCERS];
    snprintf(args, sizeof args, "%llx %u %s", (unsigned long long)c, FANIN_PER_PRODUCER, mode);
    for (int i = 0; i < FANIN_PRODUCERS; i++) p[i] = spawn(node, "bench_producer", args);
    double t0 = now_s();
    for (int i = 0; i < FANIN_PRODUCERS; i++) node_send(node, p[i], T_GO, NULL, 0);
    wait_done("end of the fan-in");
    double s = now_s() - t0;
    uint64_t busy = 0;
    for (int i = 0; i < FANIN_PRODUCERS; i++) {
        sky_msg req = {.type_id = T_STAT}, rep;
        char err[128];
        int rc = sky_node_call(node, p[i], &req, 0, &rep, err, sizeof err);
        if (rc < 0) die("producer stat: %s", err);
        uint64_t n = 0;
        if (rep.size == sizeof n) memcpy(&n, rep.data, sizeof n);
        free(rep.data);
        busy += n;
        node_send(node, p[i], T_STOP, NULL, 0);
    }
    node_send(node, c, T_STOP, NULL, 0);
    printf("# %s: consumer_bound=%zu chunk=%d retry=%s\n", prefix, opt.fanin_bound, opt.fanin_chunk,
           strcmp(mode, "spin") == 0 ? "next turn" : "after sky_timeout");
#define FANIN_OUT(fn, name, v) (snprintf(key, sizeof key, "%s_%s", prefix, name), fn(key, v))
    if (strcmp(prefix, "fanin") == 0) out_int("fanin_producers", FANIN_PRODUCERS);
    FANIN_OUT(out_int, "msgs_per_s", (double)total / s);
    FANIN_OUT(out_f, "elapsed_s", s);
    FANIN_OUT(out_int, "busy_retries", (double)busy);
#undef FANIN_OUT
}

static void bench_fanin(sky_node *node) { fanin(node, "fanin", "timer"); }
static void bench_fanin_spin(sky_node *node) { fanin(node, "fanin_spin", "spin"); }

/* ---- spawn ------------------------------------------------------------- */

typedef struct parent {
    uint32_t left;
} parent;

static void *parent_create(void) { return sky_calloc(1, sizeof(parent)); }

static int parent_init(void *state, sky_ctx *ctx, const char *args)
{
    parent *p = state;
    p->left = (uint32_t)strtoul(args, NULL, 10);
    /* every child acks at once, like the peer's unbounded mailbox */
    sky_set_mailbox_limit(ctx, (size_t)p->left + 1024);
    return p->left ? 0 : SKY_EINVAL;
}

static int parent_handle(void *state, sky_ctx *ctx, const sky_msg *m)
{
    parent *p = state;
    (void)ctx;
    if (m->type_id == T_READY && --p->left == 0) done();
    return 0;
}

/* A child sends `ready` from its init, which runs on the spawner's thread
 * inside sky_node_spawn(): so spawn_loop_s includes queueing the acks,
 * while the parent counts them on a worker at the same time. The child
 * has no state of its own and stays idle until `stop`. */
static int child_init(void *state, sky_ctx *ctx, const char *args)
{
    (void)state;
    sky_addr_t parent = strtoull(args, NULL, 16);
    return sky_send_copy(ctx, parent, T_READY, NULL, 0);
}

static int child_handle(void *state, sky_ctx *ctx, const sky_msg *m)
{
    (void)state;
    if (m->type_id == T_STOP) sky_exit(ctx);
    return 0;
}

static const sky_module parent_module = {"bench_parent", parent_create, parent_init, parent_handle, sky_free};
static const sky_module child_module = {"bench_child", NULL, child_init, child_handle, NULL};

long rss_bytes(void)
{
    long size = 0, res = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) die("/proc/self/statm: %s", strerror(errno));
    if (fscanf(f, "%ld %ld", &size, &res) != 2) die("/proc/self/statm: unexpected format");
    fclose(f);
    return res * sysconf(_SC_PAGESIZE);
}

uint64_t services_alive(sky_node *node)
{
    sky_node_stat st;
    sky_node_stat_get(node, &st);
    return st.services;
}

static void bench_spawn(sky_node *node)
{
    char args[32];
    snprintf(args, sizeof args, "%d", SPAWN_N);
    sky_addr_t parent = spawn(node, "bench_parent", args);
    snprintf(args, sizeof args, "%llx", (unsigned long long)parent);
    sky_addr_t *kids = sky_malloc(SPAWN_N * sizeof *kids); /* touched while spawning, like the peer's list */
    uint64_t base = services_alive(node);
    long rss0 = rss_bytes();
    double t0 = now_s();
    for (int i = 0; i < SPAWN_N; i++) {
        kids[i] = spawn(node, "bench_child", args);
        if ((i & 1023) == 0 && past_deadline()) die("spawning took more than %d s, aborting", LIMIT_S);
    }
    double loop_s = now_s() - t0;
    wait_done("ready acks from every child");
    double ready_s = now_s() - t0;
    long rss1 = rss_bytes();
    out_int("spawn_n", SPAWN_N);
    out_f("spawn_loop_s", loop_s);
    out_f("spawn_ready_s", ready_s);
    out_int("spawn_per_s", SPAWN_N / ready_s);
    out_int("spawn_rss_bytes_per_actor", (double)((rss1 - rss0) / SPAWN_N));
    fflush(stdout);
    double t1 = now_s();
    for (int i = 0; i < SPAWN_N; i++) node_send(node, kids[i], T_STOP, NULL, 0);
    while (services_alive(node) > base) {
        if (past_deadline()) die("children still alive after %d s, aborting", LIMIT_S);
        nanosleep(&(struct timespec){0, 20000}, NULL);
    }
    out_f("spawn_stop_s", now_s() - t1);
    sky_free(kids);
}

/* ---- driver ------------------------------------------------------------ */

static const sky_module *const modules[] = {&ring_module,   &ping_module,     &pong_module,
                                            &caller_module, &echo_module,     &consumer_module,
                                            &producer_module, &parent_module, &child_module,
                                            &payload_client_module, &payload_server_module,
                                            &bench_link_module, &bench_chain_watch_module,
                                            &bench_down_child_module, &bench_down_watcher_module};

void bench_config(sky_config *cfg)
{
    sky_config_init(cfg);
    cfg->threads = opt.threads;
    if (opt.batch) cfg->batch = opt.batch;
    /* fan-in fills the consumer's mailbox on purpose: no overload warning
     * for that (the refusals are counted as fanin_busy_retries) */
    if (cfg->overload_warn <= opt.fanin_bound) cfg->overload_warn = opt.fanin_bound + 1;
    cfg->service_path = SKY_BENCH_LUADIR "/?.lua";
    /* a supervisor logs every restart at INFO: not thousands of lines */
    cfg->log_level = SKY_LOG_WARN;
}

static sky_node *node_up(void)
{
    sky_config cfg;
    char err[256];
    bench_config(&cfg);
    sky_node *node = sky_node_new(&cfg, err, sizeof err);
    if (!node) die("node: %s", err);
    for (size_t i = 0; i < sizeof modules / sizeof modules[0]; i++)
        if (sky_node_register_module(node, modules[i]) != 0) die("cannot register %s", modules[i]->name);
    if (sky_node_start(node) != 0) die("cannot start the node");
    return node;
}

/* fn runs with a node made by node_up(); bench_cluster makes its own
 * nodes (in two processes) and gets NULL. */
static void run(const char *name, void (*fn)(sky_node *))
{
    bench_name = name;
    atomic_store(&failed, 0);
    clock_gettime(CLOCK_MONOTONIC, &bench_deadline);
    bench_deadline.tv_sec += LIMIT_S;
    alarm(LIMIT_S + 30);
    if (fn == bench_cluster) {
        fn(NULL);
        fflush(stdout);
        alarm(0);
        return;
    }
    sky_node *node = node_up();
    fn(node);
    sky_node_stat st;
    sky_node_stat_get(node, &st);
    printf("# %s: messages=%llu wakeups=%llu dropped=%llu\n", name, (unsigned long long)st.messages,
           (unsigned long long)st.wakeups, (unsigned long long)st.dropped);
    fflush(stdout);
    sky_node_free(node);
    alarm(0);
}

static void usage(void)
{
    fprintf(stderr, "usage: sky_bench ring|pingpong|fanin|fanin_timer|fanin_spin|spawn|payload|lua|lua_call|lua_send|lua_spawn|"
                    "process|link_exit|monitor_down|supervisor|cluster|all [--threads N] [--batch N] "
                    "[--fanin-bound N] [--fanin-chunk N] [--fanin-backoff MS] [--cluster-bound N]\n");
    exit(2);
}

static long num_arg(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) usage();
    char *end;
    long v = strtol(argv[++*i], &end, 10);
    if (*end || v < 0) usage();
    return v;
}

int main(int argc, char **argv)
{
    const char *which = "all";
    int named = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--threads") == 0) {
            opt.threads = (int)num_arg(argc, argv, &i);
        } else if (strcmp(argv[i], "--batch") == 0) {
            opt.batch = (int)num_arg(argc, argv, &i);
        } else if (strcmp(argv[i], "--fanin-bound") == 0) {
            opt.fanin_bound = (size_t)num_arg(argc, argv, &i);
            if (opt.fanin_bound == 0) usage();
        } else if (strcmp(argv[i], "--fanin-backoff") == 0) {
            opt.fanin_backoff_ms = (int)num_arg(argc, argv, &i);
        } else if (strcmp(argv[i], "--cluster-bound") == 0) {
            bench_cluster_bound = (size_t)num_arg(argc, argv, &i);
        } else if (strcmp(argv[i], "--fanin-chunk") == 0) {
            opt.fanin_chunk = (int)num_arg(argc, argv, &i);
            if (opt.fanin_chunk == 0) usage();
        } else if (argv[i][0] == '-' || named++) {
            usage();
        } else {
            which = argv[i];
        }
    }
    /* `fanin` runs both fan-in variants, each in its own node; a label
     * picks one of them */
    static const struct {
        const char *name, *label;
        void (*fn)(sky_node *);
    } benches[] = {{"ring", "ring", bench_ring},
                   {"pingpong", "pingpong", bench_pingpong},
                   {"fanin", "fanin_timer", bench_fanin},
                   {"fanin", "fanin_spin", bench_fanin_spin},
                   {"spawn", "spawn", bench_spawn},
                   {"payload", "payload", bench_payload},
                   {"lua", "lua_call", bench_lua_call},
                   {"lua", "lua_send", bench_lua_send},
                   {"lua", "lua_spawn", bench_lua_spawn},
                   {"process", "link_exit", bench_link_exit},
                   {"process", "monitor_down", bench_monitor_down},
                   {"supervisor", "supervisor", bench_supervisor},
                   {"cluster", "cluster", bench_cluster}};
#define PICKED(i) (all || strcmp(which, benches[i].name) == 0 || strcmp(which, benches[i].label) == 0)
    int all = strcmp(which, "all") == 0, found = 0;
    for (size_t i = 0; i < sizeof benches / sizeof benches[0]; i++) found |= PICKED(i);
    if (!found) usage();

    if (opt.threads == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        opt.threads = cores > 0 ? (int)cores : 1;
    }
    if (sky_schema_register(&sky_bench_payload_file) != 0) die("cannot register payload.proto's schema");
    sem_init(&done_sem, 0, 0);
    signal(SIGALRM, on_alarm);
    sky_config dflt;
    sky_config_init(&dflt);
    printf("# sky threads=%d batch=%d\n", opt.threads, opt.batch ? opt.batch : dflt.batch);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    printf("# warning: built with sanitizers: these figures are not the runtime's\n");
#endif
    fflush(stdout);
    for (size_t i = 0; i < sizeof benches / sizeof benches[0]; i++)
        if (PICKED(i)) run(benches[i].label, benches[i].fn);
#undef PICKED
    sem_destroy(&done_sem);
    return 0;
}
