/* sky_bench's cluster benchmarks (`sky_bench cluster`, docs/benchmarks.md):
 * two nodes, "a" in this process and "b" in a child forked from it, linked
 * on 127.0.0.1 (free ports, a shared secret, cluster_tick_ms 100,
 * cluster_down_ms 500). Each process builds its own node with the C API.
 *
 *   cluster_floor_rt_us      the kernel's floor: a blocking 64-byte TCP
 *                            ping-pong (TCP_NODELAY) with a forked echo
 *                            process, no sky (also _p99_us, _1k_rt_us)
 *   cluster_call_rt_us       sequential sky_call's of 64 bytes from a C
 *   cluster_call_p99_us      service on a to a C echo on b: mean, p99
 *   cluster_call_1k_p99_us   the same with 1 KiB (also _1k_rt_us)
 *   cluster_calls_per_s_c64  64 calls in flight at all times
 *   cluster_send_msgs_per_s  a oneway flood to a counter on b, counted by
 *                            it to the last message; a send refused with
 *                            SKY_EBUSY (the link's queue is full) is sent
 *                            again on SKY_NODE_WRITABLE (cluster_send_busy
 *                            counts the refusals); cluster_send_lost:
 *                            accepted by a's link, never counted (must be 0)
 *   cluster_lua_call_rt_us   a Lua service on a calling a Lua service on
 *                            b (bench_driver.lua, bench_echo.lua)
 *   cluster_detect_ms        b is stopped (SIGSTOP) while a call to it is
 *                            pending: until the call fails SKY_ENODEDOWN
 *
 * The child: its own watchdog (alarm), PR_SET_PDEATHSIG so it dies with
 * this process, and this process kills and reaps it at the end, and from
 * die() and the watchdog (bench_die_hook) on failure. Every wait is
 * bounded. The child never writes to stdout (the parent's figures). */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"

#define SEQ_N 20000        /* sequential calls measured, each size, */
#define SEQ_MAX_S 5.0      /* or fewer, as many as this allows */
#define SEQ_WARM 2000      /* and before them, not measured */
#define C64_DEPTH 64       /* calls in flight */
#define RUN_S 2.0          /* c64 and the flood run this long */
#define FLOOD_CHUNK 256    /* oneways per turn of the sender */
#define FLOOR_N 20000      /* floor round trips, each size, */
#define FLOOR_MAX_S 3.0    /* or fewer, as many as this allows */
#define LUA_N 10000        /* Lua calls */
#define TICK_MS 100        /* cluster_tick_ms */
#define DOWN_MS 500        /* cluster_down_ms */
#define UP_WAIT_S 10       /* b must answer within this after the fork */
#define DETECT_CALL_MS 10000 /* the pending call's own deadline */
#define BIG 1024
#define SMALL 64

/* Message types. */
enum {
    C_WHERE = 1, /* b's echo: answers b's addresses (a `where`) */
    C_ECHO,      /* echoed */
    C_INT,       /* the flood: a uint64_t sequence number */
    C_COUNT,     /* the counter: answers a `count` */
    C_HOLD,      /* b's sink: never answered */
    C_CONT,      /* the sender's note to itself */
    C_RUN        /* a's driver: a `job` */
};

/* b's services, as b's echo tells a. */
typedef struct where {
    sky_addr_t echo, counter, sink, lua_echo;
} where;

typedef struct count {
    uint64_t n;    /* oneways counted */
    uint64_t gaps; /* numbers that were not the one after the last */
} count;

static pid_t child = -1; /* b */
static pid_t floor_child = -1;
static uint8_t pattern[BIG];

static void kill_children(void)
{
    if (child > 0) kill(child, SIGKILL);
    if (floor_child > 0) kill(floor_child, SIGKILL);
}

/* Kills and reaps *pid (bounded: SIGKILL ends even a stopped process,
 * without letting it run again first). */
static void reap(pid_t *pid)
{
    if (*pid <= 0) return;
    kill(*pid, SIGKILL);
    for (int i = 0; i < 5000 && waitpid(*pid, NULL, WNOHANG) == 0; i++) nanosleep(&(struct timespec){0, 1000000}, NULL);
    *pid = -1;
}

/* Forks a child (into *pid) that runs body(arg) and exits. The child dies
 * with this process and on its own watchdog. */
static void fork_child(pid_t *pid, void (*body)(const void *arg), const void *arg)
{
    pid_t parent = getpid();
    fflush(NULL); /* the child must not write our buffered figures again */
    *pid = fork();
    if (*pid < 0) die("fork: %s", strerror(errno));
    if (*pid > 0) return;
    bench_die_hook = NULL;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    alarm(LIMIT_S + 20);
    body(arg);
    _exit(0);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Mean and p99 of t[0..n) seconds, in microseconds (sorts t). */
static void stats_us(double *t, size_t n, double *mean, double *p99)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++) sum += t[i];
    qsort(t, n, sizeof t[0], cmp_double);
    *mean = sum * 1e6 / (double)n;
    *p99 = t[n * 99 / 100] * 1e6;
}

/* ---- the floor: blocking TCP, no sky ------------------------------------- */

static int loopback_socket(struct sockaddr_in *a)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    *a = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0) die("socket: %s", strerror(errno));
    return fd;
}

static void nodelay(int fd)
{
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) die("TCP_NODELAY: %s", strerror(errno));
}

/* The floor's echo (a child): each connection's bytes back as they come. */
static void floor_echo(const void *arg)
{
    int lfd = *(const int *)arg;
    char buf[4096];
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) _exit(errno == EINTR ? 0 : 1);
        nodelay(fd);
        ssize_t n;
        while ((n = recv(fd, buf, sizeof buf, 0)) > 0)
            for (ssize_t off = 0, w; off < n; off += w)
                if ((w = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL)) <= 0) _exit(1);
        close(fd);
    }
}

static void io_all(int fd, void *buf, size_t size, int out)
{
    for (size_t off = 0; off < size;) {
        ssize_t n = out ? send(fd, (char *)buf + off, size - off, MSG_NOSIGNAL) : recv(fd, (char *)buf + off, size - off, 0);
        if (n <= 0) die("floor: %s: %s", out ? "send" : "recv", n == 0 ? "the echo closed" : strerror(errno));
        off += (size_t)n;
    }
}

/* n round trips of `size` bytes on a new connection to port, or as many
 * as FLOOR_MAX_S allows; seconds each in t. Returns how many. */
static int floor_round_trips(int port, size_t size, double *t, int n)
{
    struct sockaddr_in a;
    int fd = loopback_socket(&a);
    a.sin_port = htons((uint16_t)port);
    struct timeval tv = {5, 0}; /* every wait bounded */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) die("floor: connect: %s", strerror(errno));
    nodelay(fd);
    uint8_t buf[BIG];
    double end = 0;
    int i;
    for (i = -SEQ_WARM; i < n && (i <= 0 || now_s() < end); i++) {
        double t0 = now_s();
        if (i == 0) end = t0 + FLOOR_MAX_S;
        io_all(fd, pattern, size, 1);
        io_all(fd, buf, size, 0);
        if (i >= 0) t[i] = now_s() - t0;
    }
    if (memcmp(buf, pattern, size) != 0) die("floor: the echo changed the bytes");
    close(fd);
    return i;
}

static void measure_floor(double *t)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int lfd = loopback_socket(&a);
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 4) != 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &len) != 0)
        die("floor: listen: %s", strerror(errno));
    fork_child(&floor_child, floor_echo, &lfd);
    close(lfd);
    double mean, p99;
    int n = floor_round_trips(ntohs(a.sin_port), SMALL, t, FLOOR_N);
    stats_us(t, (size_t)n, &mean, &p99);
    printf("# cluster: floor: %d round trips of %d bytes\n", n, SMALL);
    out_f("cluster_floor_rt_us", mean);
    out_f("cluster_floor_p99_us", p99);
    n = floor_round_trips(ntohs(a.sin_port), BIG, t, FLOOR_N);
    stats_us(t, (size_t)n, &mean, &p99);
    printf("# cluster: floor: %d round trips of %d bytes\n", n, BIG);
    out_f("cluster_floor_1k_rt_us", mean);
    fflush(stdout);
    reap(&floor_child);
}

/* ---- node b's services ------------------------------------------------------ */

static where b_where; /* b: filled before its echo is spawned */

static int echo_init(void *state, sky_ctx *ctx, const char *args)
{
    (void)state, (void)args;
    b_where.echo = sky_self(ctx);
    return sky_register(ctx, "cl_echo");
}

static int echo_handle(void *state, sky_ctx *ctx, const sky_msg *m)
{
    (void)state;
    if (m->kind != SKY_REQUEST) return 0;
    if (m->type_id == C_WHERE) return sky_reply_copy(ctx, m, C_WHERE, &b_where, sizeof b_where);
    return sky_reply_copy(ctx, m, m->type_id, m->data, m->size);
}

typedef struct counter {
    count c;
    uint64_t next;
} counter;

static void *counter_create(void) { return sky_calloc(1, sizeof(counter)); }

size_t bench_cluster_bound; /* 0: the node's default */

/* A oneway that finds the counter's mailbox full waits on its link, which
 * b stops reading meanwhile (docs/cluster.md): a's queue fills and its
 * sends are refused with SKY_EBUSY. */
static int counter_init(void *state, sky_ctx *ctx, const char *args)
{
    (void)state, (void)args;
    sky_set_mailbox_limit(ctx, bench_cluster_bound);
    return 0;
}

static int counter_handle(void *state, sky_ctx *ctx, const sky_msg *m)
{
    counter *k = state;
    if (m->kind == SKY_ONEWAY && m->type_id == C_INT) {
        uint64_t v = 0;
        if (m->size == sizeof v) memcpy(&v, m->data, sizeof v);
        if (v != k->next) k->c.gaps++;
        k->next = v + 1;
        k->c.n++;
    } else if (m->kind == SKY_REQUEST && m->type_id == C_COUNT) {
        return sky_reply_copy(ctx, m, C_COUNT, &k->c, sizeof k->c);
    }
    return 0;
}

static int sink_handle(void *state, sky_ctx *ctx, const sky_msg *m)
{
    (void)state;
    if (m->kind == SKY_REQUEST) (void)sky_defer(ctx, m); /* held until the node goes */
    return 0;
}

static const sky_module echo_module = {"cl_echo", NULL, echo_init, echo_handle, NULL};
static const sky_module counter_module = {"cl_counter", counter_create, counter_init, counter_handle, sky_free};
static const sky_module sink_module = {"cl_sink", NULL, NULL, sink_handle, NULL};

/* ---- node a's driver ------------------------------------------------------- */

enum { J_SEQ = 1, J_C64, J_FLOOD, J_DETECT };

typedef struct job {
    int op;
    sky_addr_t to;
    size_t size;
    int n;    /* J_SEQ: calls timed (fewer once SEQ_MAX_S passed), */
    int warm; /* after this many not timed */
} job;

/* The driver's state; the main thread reads it once the driver answered
 * its job (J_DETECT: once it posted done). */
static struct {
    job j;
    sky_token tok;
    int failed;
    int i;           /* J_SEQ: calls answered */
    double t_call;   /* J_SEQ: when the current call went */
    double *lat;     /* J_SEQ: seconds per timed call */
    uint64_t issued, answered; /* J_C64 */
    uint64_t sent, busy;       /* J_FLOOD: accepted sends, refusals */
    count got;                 /* J_FLOOD: the counter's answer */
    uint64_t count_busy;       /* J_FLOOD: the count refused (the link, the mailbox) */
    int refused;               /* J_FLOOD: waiting for SKY_NODE_WRITABLE */
    double t0, t1, t_end;
    int status;      /* J_DETECT: the call's status */
    char text[256];  /* J_DETECT: its error text */
} drv;

/* The job failed: the main thread's call gets the error. */
static void drv_fail(sky_ctx *ctx, int code, const char *fmt, ...) SKY_PRINTF(3, 4);
static void drv_fail(sky_ctx *ctx, int code, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (!drv.failed) (void)sky_respond_error(ctx, drv.tok, code < 0 ? code : SKY_EINVAL, text);
    drv.failed = 1;
}

static void drv_finish(sky_ctx *ctx)
{
    drv.t1 = now_s();
    (void)sky_respond(ctx, drv.tok, &(sky_msg){0});
}

/* An answer that is not the echo of what went: fails the job. */
static int bad_answer(sky_ctx *ctx, int status, const sky_msg *reply, const char *what)
{
    char buf[200];
    if (drv.failed) return 1;
    if (status != 0) {
        drv_fail(ctx, status, "%s: %s", what, sky_error_text(reply, status, buf, sizeof buf));
        return 1;
    }
    if (reply->size != drv.j.size || memcmp(reply->data, pattern, drv.j.size) != 0) {
        drv_fail(ctx, SKY_EBADMSG, "%s: the echo answered %zu bytes, not the %zu sent", what, reply->size, drv.j.size);
        return 1;
    }
    return 0;
}

static int call_echo(sky_ctx *ctx, sky_reply_fn *cb)
{
    sky_msg req = {.type_id = C_ECHO, .size = drv.j.size, .data = memcpy(sky_malloc(drv.j.size), pattern, drv.j.size)};
    int rc = sky_call(ctx, drv.j.to, &req, 5000, cb, NULL);
    if (rc < 0) drv_fail(ctx, rc, "call: %s", sky_strerror(rc));
    return rc;
}

static void seq_answer(sky_ctx *ctx, int status, const sky_msg *reply, void *ud);

static void seq_next(sky_ctx *ctx)
{
    if (drv.i == drv.j.warm + drv.j.n || (drv.i > drv.j.warm && now_s() >= drv.t_end)) {
        drv_finish(ctx);
        return;
    }
    drv.t_call = now_s();
    (void)call_echo(ctx, seq_answer);
}

static void seq_answer(sky_ctx *ctx, int status, const sky_msg *reply, void *ud)
{
    double t = now_s() - drv.t_call;
    (void)ud;
    if (bad_answer(ctx, status, reply, "sequential call")) return;
    if (drv.i >= drv.j.warm) drv.lat[drv.i - drv.j.warm] = t;
    if (++drv.i == drv.j.warm) drv.t_end = now_s() + SEQ_MAX_S;
    seq_next(ctx);
}

static void c64_answer(sky_ctx *ctx, int status, const sky_msg *reply, void *ud)
{
    (void)ud;
    if (bad_answer(ctx, status, reply, "call with 64 in flight")) return;
    drv.answered++;
    if (now_s() < drv.t_end) {
        if (call_echo(ctx, c64_answer) == 0) drv.issued++;
    } else if (drv.answered == drv.issued) {
        drv_finish(ctx);
    }
}

static void flood_counted(sky_ctx *ctx, int status, const sky_msg *reply, void *ud)
{
    char buf[200];
    int rc;
    (void)ud;
    if (status == SKY_EBUSY) { /* the counter's mailbox was full: again in a while */
        drv.count_busy++;
        if ((rc = sky_timeout(ctx, 10, 1)) < 0) drv_fail(ctx, rc, "flood: timer: %s", sky_strerror(rc));
        return;
    }
    if (status != 0 || reply->size != sizeof drv.got) {
        drv_fail(ctx, status, "the counter's count: %s", sky_error_text(reply, status, buf, sizeof buf));
        return;
    }
    memcpy(&drv.got, reply->data, sizeof drv.got);
    drv_finish(ctx);
}

/* One turn of the flood: up to FLOOD_CHUNK oneways, then a note to itself
 * to go on. A send refused with SKY_EBUSY (the link's queue is past
 * cluster_high_water) is sent again, the same number, when the SKY_NODE
 * message SKY_NODE_WRITABLE says the queue drained to cluster_low_water.
 * Once RUN_S passed: a call to the counter, which comes after every oneway
 * (a pair's messages stay in order). */
static void flood_turn(sky_ctx *ctx)
{
    int rc;
    if (now_s() >= drv.t_end) {
        sky_msg req = {.type_id = C_COUNT};
        rc = sky_call(ctx, drv.j.to, &req, LIMIT_S * 1000, flood_counted, NULL);
        if (rc == SKY_EBUSY) { /* refused by the link too */
            drv.count_busy++;
            drv.refused = 1;
        } else if (rc < 0) {
            drv_fail(ctx, rc, "the counter's count: %s", sky_strerror(rc));
        }
        return;
    }
    for (int i = 0; i < FLOOD_CHUNK; i++) {
        rc = sky_send_copy(ctx, drv.j.to, C_INT, &drv.sent, sizeof drv.sent);
        if (rc == SKY_EBUSY) {
            drv.busy++;
            drv.refused = 1;
            return;
        }
        if (rc < 0) {
            drv_fail(ctx, rc, "flood: send: %s", sky_strerror(rc));
            return;
        }
        drv.sent++;
    }
    if ((rc = sky_send_copy(ctx, sky_self(ctx), C_CONT, NULL, 0)) < 0)
        drv_fail(ctx, rc, "flood: send to itself: %s", sky_strerror(rc));
}

static void detect_answer(sky_ctx *ctx, int status, const sky_msg *reply, void *ud)
{
    (void)ctx, (void)ud;
    drv.t1 = now_s();
    drv.status = status;
    sky_error_text(reply, status, drv.text, sizeof drv.text);
    bench_done();
}

static void drv_start(sky_ctx *ctx)
{
    int rc;
    drv.failed = 0;
    drv.t0 = now_s();
    drv.t_end = drv.t0 + RUN_S;
    switch (drv.j.op) {
    case J_SEQ:
        drv.i = 0;
        seq_next(ctx);
        break;
    case J_C64:
        drv.issued = drv.answered = 0;
        for (int i = 0; i < C64_DEPTH; i++)
            if (call_echo(ctx, c64_answer) == 0) drv.issued++;
        break;
    case J_FLOOD:
        drv.sent = drv.busy = drv.count_busy = 0;
        drv.refused = 0;
        flood_turn(ctx);
        break;
    case J_DETECT: {
        sky_msg req = {.type_id = C_HOLD};
        if ((rc = sky_call(ctx, drv.j.to, &req, DETECT_CALL_MS, detect_answer, NULL)) < 0) {
            drv.status = rc;
            snprintf(drv.text, sizeof drv.text, "%s", sky_strerror(rc));
            bench_done();
        }
        break;
    }
    }
}

static int driver_handle(void *state, sky_ctx *ctx, const sky_msg *m)
{
    (void)state;
    if (m->type_id == C_RUN && m->size == sizeof drv.j) {
        memcpy(&drv.j, m->data, sizeof drv.j);
        if (m->kind == SKY_REQUEST) drv.tok = sky_defer(ctx, m);
        drv_start(ctx);
    } else if ((m->kind == SKY_ONEWAY && m->type_id == C_CONT) || m->kind == SKY_TIMER) {
        if (!drv.failed) flood_turn(ctx);
    } else if (m->kind == SKY_NODE && m->type_id == SKY_NODE_WRITABLE && drv.refused) {
        drv.refused = 0;
        if (!drv.failed) flood_turn(ctx);
    }
    return 0;
}

static const sky_module driver_module = {"cl_driver", NULL, NULL, driver_handle, NULL};

/* Runs job j (`what`, for a failure) on the driver and waits for its end
 * (bounded). */
static double run_job(sky_node *node, sky_addr_t driver, job j, const char *what)
{
    sky_msg req = {.type_id = C_RUN, .size = sizeof j, .data = memcpy(sky_malloc(sizeof j), &j, sizeof j)}, reply;
    char err[256] = "";
    int rc = sky_node_call(node, driver, &req, LIMIT_S * 1000, &reply, err, sizeof err);
    if (rc < 0) die("%s: %s", what, err[0] ? err : sky_strerror(rc));
    free(reply.data);
    return drv.t1 - drv.t0;
}

/* ---- the two nodes ------------------------------------------------------- */

static const char secret[] = "sky_bench cluster secret";

static int free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = loopback_socket(&a);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        die("a free port: %s", strerror(errno));
    close(fd);
    return ntohs(a.sin_port);
}

static sky_node *cluster_node(const sky_cluster_member *members, int self, const sky_module *const *mods, int nmods)
{
    sky_config cfg;
    char err[256];
    bench_config(&cfg);
    cfg.node_name = members[self].name;
    cfg.node_id = members[self].id;
    cfg.cluster = members;
    cfg.cluster_size = 2;
    cfg.cluster_secret = secret;
    cfg.cluster_secret_len = sizeof secret - 1;
    cfg.cluster_tick_ms = TICK_MS;
    cfg.cluster_down_ms = DOWN_MS;
    sky_node *node = sky_node_new(&cfg, err, sizeof err);
    if (!node) die("node %s: %s", members[self].name, err);
    for (int i = 0; i < nmods; i++)
        if (sky_node_register_module(node, mods[i]) != 0) die("cannot register %s", mods[i]->name);
    if (sky_node_start(node) != 0) die("cannot start node %s", members[self].name);
    return node;
}

/* Node b, in the child: its services up, then it waits to be killed. */
static void node_b(const void *arg)
{
    const sky_cluster_member *members = arg;
    static const sky_module *const mods[] = {&echo_module, &counter_module, &sink_module};
    sky_node *node = cluster_node(members, 1, mods, 3);
    b_where.counter = spawn(node, "cl_counter", NULL);
    b_where.sink = spawn(node, "cl_sink", NULL);
    b_where.lua_echo = spawn(node, "lua", "bench_echo");
    spawn(node, "cl_echo", NULL); /* last: once a finds it, b is ready */
    (void)sky_node_wait(node, (LIMIT_S + 10) * 1000); /* no teardown: the parent kills this process */
}

/* a asks b's echo by name until b is up and answers. */
static where wait_for_b(sky_node *node, double *up_s)
{
    double t0 = now_s();
    sky_addr_t echo = sky_node_whereis(node, "cl_echo@b");
    if (echo == SKY_ADDR_NONE) die("cl_echo@b: no address");
    for (;;) {
        sky_msg req = {.type_id = C_WHERE}, reply;
        char err[256] = "";
        int rc = sky_node_call(node, echo, &req, 1000, &reply, err, sizeof err);
        if (rc == 0 && reply.size == sizeof(where)) {
            where w;
            memcpy(&w, reply.data, sizeof w);
            free(reply.data);
            *up_s = now_s() - t0;
            return w;
        }
        if (rc == 0) free(reply.data);
        if (waitpid(child, NULL, WNOHANG) != 0) {
            child = -1;
            die("node b's process ended before it answered");
        }
        if (now_s() - t0 > UP_WAIT_S) die("node b did not answer within %d s: %s", UP_WAIT_S, err);
        nanosleep(&(struct timespec){0, 20000000}, NULL);
    }
}

static int b_is_up(sky_node *node)
{
    sky_node_info info[2];
    size_t k = sky_node_nodes(node, info, 2);
    return k >= 2 && info[1].up;
}

/* From SIGSTOP of b, with a call to b's sink pending, until the call fails. */
static void detect(sky_node *node, sky_addr_t driver, sky_addr_t sink)
{
    job j = {.op = J_DETECT, .to = sink};
    node_send(node, driver, C_RUN, &j, sizeof j);
    nanosleep(&(struct timespec){0, 100000000}, NULL); /* the request is at b, held */
    double t0 = now_s(), t_nodes = 0;
    if (kill(child, SIGSTOP) != 0) die("SIGSTOP: %s", strerror(errno));
    while (b_is_up(node) && now_s() - t0 < 5) nanosleep(&(struct timespec){0, 1000000}, NULL);
    if (!b_is_up(node)) t_nodes = now_s() - t0;
    bench_wait_done("the pending call's failure");
    if (drv.status != SKY_ENODEDOWN)
        die("the call pending to a stopped node ended with %s (%s), not SKY_ENODEDOWN", sky_strerror(drv.status),
            drv.text);
    printf("# cluster: detect: the call failed with \"%s\"; sky_node_nodes() showed b down after %.1f ms\n", drv.text,
           t_nodes * 1e3);
    out_int("cluster_detect_tick_ms", TICK_MS);
    out_int("cluster_detect_down_ms", DOWN_MS);
    out_f("cluster_detect_ms", (drv.t1 - t0) * 1e3);
}

static void seq(sky_node *node, sky_addr_t driver, sky_addr_t echo, size_t size, const char *rt_key,
                const char *p99_key)
{
    double mean, p99;
    drv.lat = sky_malloc(SEQ_N * sizeof *drv.lat);
    run_job(node, driver, (job){.op = J_SEQ, .to = echo, .size = size, .n = SEQ_N, .warm = SEQ_WARM},
            "sequential calls");
    size_t n = (size_t)(drv.i - SEQ_WARM);
    printf("# cluster: %zu sequential calls of %zu bytes\n", n, size);
    stats_us(drv.lat, n, &mean, &p99);
    sky_free(drv.lat);
    drv.lat = NULL;
    out_f(rt_key, mean);
    out_f(p99_key, p99);
    fflush(stdout);
}

void bench_cluster(sky_node *unused)
{
    (void)unused;
    for (size_t i = 0; i < sizeof pattern; i++) pattern[i] = (uint8_t)('a' + i % 26);
    bench_die_hook = kill_children;
    double *t = sky_malloc(FLOOR_N * sizeof *t);
    measure_floor(t);
    sky_free(t);

    char addr[2][32];
    snprintf(addr[0], sizeof addr[0], "127.0.0.1:%d", free_port());
    snprintf(addr[1], sizeof addr[1], "127.0.0.1:%d", free_port());
    const sky_cluster_member members[2] = {{"a", 1, addr[0]}, {"b", 2, addr[1]}};
    fork_child(&child, node_b, members);
    static const sky_module *const mods[] = {&driver_module};
    sky_node *node = cluster_node(members, 0, mods, 1);
    sky_addr_t driver = spawn(node, "cl_driver", NULL);
    double up_s;
    where w = wait_for_b(node, &up_s);
    printf("# cluster: a (pid %d) and b (pid %d) on %s and %s, tick %d ms, down %d ms; b answered %.0f ms after "
           "the fork\n", (int)getpid(), (int)child, addr[0], addr[1], TICK_MS, DOWN_MS, up_s * 1e3);
    fflush(stdout);

    seq(node, driver, w.echo, SMALL, "cluster_call_rt_us", "cluster_call_p99_us");
    seq(node, driver, w.echo, BIG, "cluster_call_1k_rt_us", "cluster_call_1k_p99_us");

    double s = run_job(node, driver, (job){.op = J_C64, .to = w.echo, .size = SMALL}, "64 calls in flight");
    out_int("cluster_calls_per_s_c64", (double)drv.answered / s);
    fflush(stdout);

    s = run_job(node, driver, (job){.op = J_FLOOD, .to = w.counter}, "the flood");
    printf("# cluster: flood: %llu oneways accepted, %llu refused with SKY_EBUSY and sent again on writable, %llu counted by b "
           "(%llu out of sequence) in %.3f s; the count was refused %llu times\n", (unsigned long long)drv.sent,
           (unsigned long long)drv.busy, (unsigned long long)drv.got.n, (unsigned long long)drv.got.gaps, s,
           (unsigned long long)drv.count_busy);
    uint64_t lost = drv.sent - drv.got.n, gaps = drv.got.gaps; /* a failure, once the rest is measured */
    out_int("cluster_send_busy", (double)drv.busy);
    out_int("cluster_send_lost", (double)(drv.sent - drv.got.n));
    out_int("cluster_send_msgs_per_s", (double)drv.got.n / s);
    fflush(stdout);

    sky_addr_t lua_driver = spawn(node, "lua", LUA_DRIVER_ARGS);
    lua_drive(node, lua_driver, w.lua_echo, "call", 1000, "ok", NULL); /* warm */
    s = lua_drive(node, lua_driver, w.lua_echo, "call", LUA_N, "ok", NULL);
    out_f("cluster_lua_call_rt_us", s * 1e6 / LUA_N);
    fflush(stdout);

    detect(node, driver, w.sink);
    reap(&child);
    sky_node_stat st;
    sky_node_stat_get(node, &st);
    printf("# cluster: node a: messages=%llu wakeups=%llu dropped=%llu\n", (unsigned long long)st.messages,
           (unsigned long long)st.wakeups, (unsigned long long)st.dropped);
    sky_node_free(node);
    bench_die_hook = NULL;
    if (lost || gaps)
        die("the flood: %llu oneways that a's link accepted never reached b's counter (%llu out of sequence)",
            (unsigned long long)lost, (unsigned long long)gaps);
}
