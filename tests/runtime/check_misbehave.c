/* Services that misbehave (docs/process-model.md ("Services that misbehave")): endless loops (reported by
 * the endless-loop monitor, runtime/overrun.c; a Lua one killed through
 * its instruction hook), unbounded allocation, floods past the mailbox
 * bound, handler errors. Every test ends by checking that the node still
 * answers calls.
 *
 * The C services here block or spin only until the test releases them or
 * a bounded time passes, so a failing test cannot wedge a worker. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"

static sky_node *node;
static sky_addr_t echo; /* a C echo started with every node */
static char service_path[2048];
static char log_file[256];

/* ---- a C handler that spins --------------------------------------------- */

static atomic_int looper_release;

/* "spin": runs until the test releases it (at most 10 s), then "done". */
static int looper_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st;
    uint64_t end = tu_now_ms() + (uint64_t)tu_ms(10000);
    while (!atomic_load(&looper_release) && tu_now_ms() < end) {
    }
    return m->kind == SKY_REQUEST ? sky_reply_copy(ctx, m, 0, "done", 4) : 0;
}

static const sky_module looper_module = {"looper", NULL, NULL, looper_handle, NULL};

/* ---- a watcher: links (trapping exits) and monitors one service --------- */

static pthread_mutex_t watch_mu = PTHREAD_MUTEX_INITIALIZER;
static char watch_events[1024]; /* "EXIT killed;DOWN killed;" */

/* args: the address to watch, in decimal. */
static int watcher_init(void *st, sky_ctx *ctx, const char *args)
{
    (void)st;
    sky_addr_t who = strtoull(args, NULL, 10);
    uint32_t ref;
    sky_trap_exit(ctx, 1);
    int rc = sky_link(ctx, who);
    return rc < 0 ? rc : sky_monitor(ctx, who, &ref);
}

static int watcher_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st, (void)ctx;
    if (m->kind != SKY_EXIT && m->kind != SKY_DOWN) return 0;
    pthread_mutex_lock(&watch_mu);
    size_t n = strlen(watch_events);
    snprintf(watch_events + n, sizeof watch_events - n, "%s %s%s%.*s;", m->kind == SKY_EXIT ? "EXIT" : "DOWN",
             sky_reason_name((int)m->type_id), m->size ? " " : "", (int)m->size,
             m->data ? (const char *)m->data : "");
    pthread_mutex_unlock(&watch_mu);
    return 0;
}

static const sky_module watcher_module = {"watcher", NULL, watcher_init, watcher_handle, NULL};

static int watched(const char *want)
{
    pthread_mutex_lock(&watch_mu);
    int found = strstr(watch_events, want) != NULL;
    pthread_mutex_unlock(&watch_mu);
    return found;
}

static sky_addr_t watch(sky_addr_t who)
{
    char args[32];
    snprintf(args, sizeof args, "%llu", (unsigned long long)who);
    return tu_spawn(node, "watcher", args);
}

/* ---- a service that handles mail only when the test lets it ------------- */

static tu_gate gate;
static atomic_long gated_oneways, gated_requests;

/* args: its mailbox bound. */
static int gated_init(void *st, sky_ctx *ctx, const char *args)
{
    (void)st;
    sky_set_mailbox_limit(ctx, (size_t)atol(args));
    return 0;
}

static int gated_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st;
    tu_gate_wait(&gate, 10000);
    if (m->kind == SKY_ONEWAY) atomic_fetch_add(&gated_oneways, 1);
    if (m->kind != SKY_REQUEST) return 0;
    atomic_fetch_add(&gated_requests, 1);
    return sky_reply_copy(ctx, m, 0, "ok", 2);
}

static const sky_module gated_module = {"gated", NULL, gated_init, gated_handle, NULL};

/* ---- a service that calls another many times ----------------------------- */

static atomic_long calls_sent, calls_busy, replies_ok, replies_err;

static void caller_reply(sky_ctx *ctx, int status, const sky_msg *reply, void *ud)
{
    (void)ctx, (void)reply, (void)ud;
    atomic_fetch_add(status == 0 ? &replies_ok : &replies_err, 1);
}

/* "N ADDR": N calls to ADDR at once; answers when they are sent. */
static int caller_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st;
    if (m->kind != SKY_REQUEST) return 0;
    char text[64];
    snprintf(text, sizeof text, "%.*s", (int)m->size, (const char *)m->data);
    long n = 0;
    unsigned long long to = 0;
    if (sscanf(text, "%ld %llu", &n, &to) != 2) return SKY_EINVAL;
    for (long i = 0; i < n; i++) {
        sky_msg req = {0};
        req.data = malloc(1);
        req.size = 1;
        memcpy(req.data, "x", 1);
        int rc = sky_call(ctx, (sky_addr_t)to, &req, tu_ms(10000), caller_reply, NULL);
        atomic_fetch_add(rc == 0 ? &calls_sent : rc == SKY_EBUSY ? &calls_busy : &replies_err, 1);
    }
    return sky_reply_copy(ctx, m, 0, "sent", 4);
}

static const sky_module caller_module = {"caller", NULL, NULL, caller_handle, NULL};

/* ---- a C handler that fails ---------------------------------------------- */

/* "fail": returns an error without replying; "reply": replies with an
 * error of its own; "quit": replies with an error and exits (error, "gave
 * up"); anything else: "pong". */
static int faulty_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st;
    if (m->kind != SKY_REQUEST) return 0;
    char text[16];
    snprintf(text, sizeof text, "%.*s", (int)m->size, m->data ? (const char *)m->data : "");
    if (strcmp(text, "fail") == 0) return SKY_EFAIL;
    if (strcmp(text, "reply") == 0) return sky_reply_error(ctx, m, SKY_EINVAL, "a bad wheel");
    if (strcmp(text, "quit") == 0) {
        sky_exit_with(ctx, SKY_REASON_ERROR, "gave up");
        return sky_reply_error(ctx, m, SKY_EFAIL, "giving up");
    }
    return sky_reply_copy(ctx, m, 0, "pong", 4);
}

static const sky_module faulty_module = {"faulty", NULL, NULL, faulty_handle, NULL};

/* ---- the node ----------------------------------------------------------- */

/* A node with two workers, WARN lines logged to a file of its own, the
 * endless-loop monitor at warn_ms (0: off), tests/lua/ as service path. */
static void start(int warn_ms)
{
    const char *src = getenv("SKY_SRCDIR");
    ck_assert_msg(src != NULL, "SKY_SRCDIR is not set");
    snprintf(service_path, sizeof service_path, "%s/tests/lua/?.lua", src);
    snprintf(log_file, sizeof log_file, "/tmp/sky_check_misbehave_%ld.log", (long)getpid());
    unlink(log_file);
    sky_config cfg;
    tu_config(&cfg, 2);
    cfg.service_path = service_path;
    cfg.log_path = log_file;
    cfg.log_level = SKY_LOG_WARN;
    cfg.loop_warn_ms = warn_ms;
    node = tu_start(&cfg, &tu_echo_module, &looper_module, &watcher_module, &gated_module, &caller_module,
                    &faulty_module, NULL);
    echo = tu_spawn(node, "echo", "");
    /* CK_FORK=no runs every test in one process: start from zero */
    atomic_store(&looper_release, 0);
    atomic_store(&gated_oneways, 0);
    atomic_store(&gated_requests, 0);
    atomic_store(&calls_sent, 0);
    atomic_store(&calls_busy, 0);
    atomic_store(&replies_ok, 0);
    atomic_store(&replies_err, 0);
    watch_events[0] = '\0';
    tu_gate_init(&gate);
}

static void stop(void)
{
    tu_gate_open(&gate); /* nothing stays blocked on a failed test */
    atomic_store(&looper_release, 1);
    sky_node_free(node);
    tu_gate_deinit(&gate);
    unlink(log_file);
}

/* How many times the node's log holds `text`. */
static int log_count(const char *text) { return tu_file_count(log_file, text); }

/* Calls `to` with `text`; the answer's text (or the error's) in out. */
static int mcall(sky_addr_t to, const char *text, char *out, size_t size)
{
    return tu_call_text(node, to, 0, text, out, size);
}

/* mcall that must answer `want`. */
static void expect(sky_addr_t to, const char *text, const char *want)
{
    char out[512];
    int rc = mcall(to, text, out, sizeof out);
    ck_assert_msg(rc == 0, "%s: %s (%s)", text, sky_strerror(rc), out);
    ck_assert_msg(strcmp(out, want) == 0, "%s: got \"%s\", want \"%s\"", text, out, want);
}

/* mcall that must fail with `code` and a text holding `part`. */
static void expect_error(sky_addr_t to, const char *text, int code, const char *part)
{
    char out[512];
    int rc = mcall(to, text, out, sizeof out);
    ck_assert_msg(rc == code, "%s: %s (%s), want %s", text, sky_strerror(rc), out, sky_errname(code));
    ck_assert_msg(strstr(out, part) != NULL, "%s: \"%s\" lacks \"%s\"", text, out, part);
}

/* The node answers calls: the C echo, and a Lua service spawned now. */
static void node_answers(void)
{
    expect(echo, "still there?", "still there?");
    sky_addr_t lua = tu_spawn(node, "lua", "echo");
    expect(lua, "and in Lua?", "and in Lua?");
    ck_assert_int_eq(sky_node_kill(node, lua), 0);
}

static uint64_t overruns(void)
{
    sky_node_stat st;
    sky_node_stat_get(node, &st);
    return st.overruns;
}

/* ---- endless loops -------------------------------------------------------- */

/* A C handler in a loop is reported (WARN naming it, its module and how
 * long; again at twice the time) and counted once; it cannot be stopped,
 * and the node answers meanwhile. A kill takes it once it returns. */
START_TEST(c_endless_loop_reported)
{
    start(tu_ms(40));
    sky_addr_t spin = tu_spawn(node, "looper", "");
    sky_addr_t w = watch(spin);
    char name[96];
    snprintf(name, sizeof name, "service %04x:%08llx (looper) has been handling", SKY_ADDR_NODE(spin),
             (unsigned long long)SKY_ADDR_SERIAL(spin));
    ck_assert_int_eq(tu_send(node, spin, 0, "spin", 4), 0);
    ck_assert_msg(TU_WAIT(log_count(name) == 1, 3000), "no report");
    ck_assert_msg(TU_WAIT(log_count("(looper) is still handling one message") >= 1, 3000), "no second report");
    ck_assert_int_eq(log_count(name), 1);
    ck_assert_uint_eq(overruns(), 1); /* reported twice, counted once */
    node_answers();
    ck_assert_int_eq(sky_node_kill(node, spin), 0);
    tu_sleep_ms(tu_ms(100));
    ck_assert(tu_alive(node, spin)); /* C code cannot be interrupted */
    atomic_store(&looper_release, 1);
    ck_assert(TU_WAIT(!tu_alive(node, spin), 3000));
    ck_assert_msg(TU_WAIT(watched("EXIT killed;") && watched("DOWN killed;"), 3000), "%s", watch_events);
    (void)w;
    node_answers();
    stop();
}
END_TEST

/* Many short messages are not a loop; with loop_warn_ms 0 nothing is
 * watched at all. */
START_TEST(short_messages_not_reported)
{
    start(tu_ms(20));
    uint64_t end = tu_now_ms() + 200;
    int calls = 0;
    while (tu_now_ms() < end || calls < 100) {
        expect(echo, "quick", "quick");
        calls++;
    }
    ck_assert_uint_eq(overruns(), 0);
    ck_assert_int_eq(log_count("an endless loop?"), 0);
    node_answers();
    stop();

    start(0);
    sky_addr_t spin = tu_spawn(node, "looper", "");
    ck_assert_int_eq(tu_send(node, spin, 0, "spin", 4), 0);
    tu_sleep_ms(200);
    ck_assert_uint_eq(overruns(), 0);
    ck_assert_int_eq(log_count("an endless loop?"), 0);
    atomic_store(&looper_release, 1);
    node_answers();
    stop();
}
END_TEST

typedef struct stuck_call {
    sky_addr_t to;
    const char *text;
    int rc;
    char out[512];
} stuck_call;

static void *call_thread(void *arg)
{
    stuck_call *c = arg;
    c->rc = mcall(c->to, c->text, c->out, sizeof c->out);
    return NULL;
}

/* A watched Lua service whose budget is far out of reach, so that only a
 * kill stops it, stuck in a call of `cmd` made in the background. */
static sky_addr_t stuck_spinner(stuck_call *c, const char *cmd, pthread_t *t)
{
    sky_addr_t spin = tu_spawn(node, "lua", "budget=1000000000000 spinner");
    watch(spin);
    *c = (stuck_call){spin, cmd, 0, ""};
    ck_assert_int_eq(pthread_create(t, NULL, call_thread, c), 0);
    return spin;
}

/* The stuck call ends with EEXIT once the spinner is killed; it goes,
 * and its watcher sees `event`. */
static void expect_killed(stuck_call *c, pthread_t t, const char *event)
{
    pthread_join(t, NULL);
    ck_assert_msg(c->rc == SKY_EEXIT, "%s: %s (%s)", c->text, sky_strerror(c->rc), c->out);
    ck_assert_msg(strstr(c->out, "killed while handling a message") != NULL, "%s", c->out);
    ck_assert(TU_WAIT(!tu_alive(node, c->to), 3000));
    ck_assert_msg(TU_WAIT(watched(event), 3000), "%s", watch_events);
}

/* A Lua handler in `while true do end` (or looping through pcall) is
 * reported, then killed: its instruction hook sees the kill, the caller
 * gets EEXIT, its link and monitor see `killed`, the node goes on. */
static void lua_loop_killed(const char *cmd)
{
    start(tu_ms(40));
    stuck_call c;
    pthread_t t;
    sky_addr_t spin = stuck_spinner(&c, cmd, &t);
    ck_assert_msg(TU_WAIT(log_count("(lua spinner) has been handling one message for") == 1, 3000), "no report");
    ck_assert_msg(TU_WAIT(log_count("(lua spinner) is still handling one message") >= 1, 3000), "no 2nd report");
    node_answers();
    ck_assert(tu_alive(node, spin));
    ck_assert_int_eq(sky_node_kill(node, spin), 0);
    expect_killed(&c, t, "EXIT killed;");
    ck_assert(watched("DOWN killed;"));
    ck_assert_uint_eq(overruns(), 1);
    node_answers();
    stop();
}

START_TEST(lua_endless_loop_killed) { lua_loop_killed("spin"); }
END_TEST

START_TEST(lua_endless_loop_killed_through_pcall) { lua_loop_killed("pcallspin"); }
END_TEST

/* A kill from a Lua service, with a reason of its choosing, reaches a
 * looping Lua service too, and its watchers see that reason. */
START_TEST(lua_endless_loop_killed_with_reason)
{
    start(1000);
    sky_addr_t killer = tu_spawn(node, "lua", "killer");
    stuck_call c;
    pthread_t t;
    sky_addr_t spin = stuck_spinner(&c, "spin", &t);
    tu_sleep_ms(50);
    char addr[32];
    snprintf(addr, sizeof addr, "%llu", (unsigned long long)spin);
    expect(killer, addr, "sent");
    expect_killed(&c, t, "DOWN shutdown time to go;");
    node_answers();
    stop();
}
END_TEST

/* ---- unbounded allocation ------------------------------------------------ */

/* A Lua service that allocates without bound hits its memory limit: that
 * message fails with ENOMEM, the service lives on (no exit, no down), and
 * nothing else notices. */
START_TEST(lua_unbounded_allocation_fails_alone)
{
    start(1000);
    sky_addr_t hog = tu_spawn(node, "lua", "mem_limit=2097152 hog");
    sky_addr_t neighbour = tu_spawn(node, "lua", "echo");
    watch(hog);
    sky_node_stat before;
    sky_node_stat_get(node, &before);
    for (int i = 0; i < 3; i++) {
        expect_error(hog, "hog", SKY_ENOMEM, "not enough memory");
        expect(hog, "ping", "alive");
        expect(neighbour, "fine", "fine");
    }
    ck_assert(tu_alive(node, hog));
    tu_sleep_ms(tu_ms(50));
    ck_assert_msg(watch_events[0] == '\0', "%s", watch_events);
    sky_node_stat after;
    sky_node_stat_get(node, &after);
    ck_assert_uint_eq(after.services, before.services);
    node_answers();
    stop();
}
END_TEST

/* ---- floods --------------------------------------------------------------- */

/* The flooded service's bound; besides its queue, it holds up to BATCH
 * messages taken for the turn it is in (the node's default batch). */
enum { BOUND = 64, BATCH = 32 };

/* Oneways past the bound: every send is either queued (and handled
 * later) or refused with EBUSY and counted as dropped, by the service and
 * the node; nothing is lost silently. The node answers meanwhile. */
START_TEST(flood_oneways_refused_and_counted)
{
    start(0);
    char args[16];
    snprintf(args, sizeof args, "%d", BOUND);
    sky_addr_t g = tu_spawn(node, "gated", args);
    enum { N = 1000 };
    long ok = 0, busy = 0;
    for (int i = 0; i < N; i++) {
        int rc = tu_send(node, g, 1, "x", 1);
        ck_assert_msg(rc == 0 || rc == SKY_EBUSY, "send: %s", sky_strerror(rc));
        if (rc == 0) ok++;
        else busy++;
    }
    ck_assert_int_ge(busy, N - BOUND - BATCH);
    ck_assert_int_ge(ok, BOUND);
    node_answers(); /* while the flooded service is stuck at its gate */
    sky_service_stat st = tu_stat(node, g);
    ck_assert_uint_eq(st.dropped, (uint64_t)busy);
    ck_assert_uint_eq(st.limit, BOUND);
    sky_node_stat ns;
    sky_node_stat_get(node, &ns);
    ck_assert_uint_ge(ns.dropped, (uint64_t)busy);
    tu_gate_open(&gate);
    ck_assert(TU_WAIT(atomic_load(&gated_oneways) == ok, 3000));
    tu_sleep_ms(tu_ms(20));
    ck_assert_int_eq(atomic_load(&gated_oneways) + busy, N); /* sent = handled + refused */
    node_answers();
    stop();
}
END_TEST

/* Calls past the bound fail at once with EBUSY, from outside and from a
 * service; every call that got in is answered; the counters show the
 * refusals. */
START_TEST(flood_calls_refused_and_counted)
{
    start(0);
    char args[16];
    snprintf(args, sizeof args, "%d", BOUND);
    sky_addr_t g = tu_spawn(node, "gated", args);
    sky_addr_t c = tu_spawn(node, "caller", "");
    enum { N = 500 };
    char cmd[64], out[128];
    snprintf(cmd, sizeof cmd, "%d %llu", N, (unsigned long long)g);
    expect(c, cmd, "sent");
    ck_assert_int_eq(atomic_load(&calls_sent) + atomic_load(&calls_busy), N);
    ck_assert_int_ge(atomic_load(&calls_busy), N - BOUND - BATCH);
    /* once it holds a turn's mail at its gate, fill its queue up again:
     * then a call from outside is refused at once, not queued */
    ck_assert(TU_WAIT(atomic_load(&gate.waiting) == 1, 3000));
    long filled = 0;
    while (tu_send(node, g, 1, "x", 1) == 0) filled++;
    ck_assert_int_le(filled, BATCH);
    uint64_t t0 = tu_now_ms();
    int rc = mcall(g, "me too", out, sizeof out);
    ck_assert_msg(rc == SKY_EBUSY, "%s (%s)", sky_strerror(rc), out);
    ck_assert_uint_lt(tu_now_ms() - t0, 1000);
    node_answers();
    sky_service_stat st = tu_stat(node, g);
    ck_assert_uint_eq(st.dropped, (uint64_t)atomic_load(&calls_busy) + 2); /* + the fill's last, the call */
    tu_gate_open(&gate);
    ck_assert(TU_WAIT(atomic_load(&replies_ok) == atomic_load(&calls_sent), 3000));
    ck_assert(TU_WAIT(atomic_load(&gated_oneways) == filled, 3000));
    ck_assert_int_eq(atomic_load(&replies_err), 0);
    ck_assert_int_eq(atomic_load(&gated_requests), atomic_load(&calls_sent));
    expect(g, "after", "ok");
    node_answers();
    stop();
}
END_TEST

/* ---- handler errors --------------------------------------------------------- */

/* A C handler's error reaches its caller as an error reply with the
 * message; the service goes on, or exits when it chose to. */
START_TEST(c_handler_errors)
{
    start(1000);
    sky_addr_t f = tu_spawn(node, "faulty", "");
    watch(f);
    expect_error(f, "fail", SKY_EFAIL, sky_strerror(SKY_EFAIL));
    expect_error(f, "reply", SKY_EINVAL, "a bad wheel");
    expect(f, "ping", "pong");
    ck_assert_uint_eq(tu_stat(node, f).errors, 1); /* the failed handler, not the error it replied */
    expect_error(f, "quit", SKY_EFAIL, "giving up");
    ck_assert(TU_WAIT(!tu_alive(node, f), 3000));
    ck_assert_msg(TU_WAIT(watched("DOWN error gave up;") && watched("EXIT error gave up;"), 3000), "%s",
                  watch_events);
    char out[64];
    ck_assert_int_eq(mcall(f, "ping", out, sizeof out), SKY_ENOSVC);
    node_answers();
    stop();
}
END_TEST

/* The same in Lua: a raised error or a bug is the caller's error reply;
 * the service goes on, or exits with the reason it chose. */
START_TEST(lua_handler_errors)
{
    start(1000);
    sky_addr_t f = tu_spawn(node, "lua", "faulty");
    watch(f);
    expect_error(f, "raise", SKY_EFAIL, "it broke");
    expect(f, "ping", "ok");
    expect_error(f, "bug", SKY_EFAIL, "attempt to index a nil value");
    expect(f, "ping", "ok");
    expect_error(f, "quit", SKY_EFAIL, "giving up");
    ck_assert(TU_WAIT(!tu_alive(node, f), 3000));
    ck_assert_msg(TU_WAIT(watched("DOWN error gave up;") && watched("EXIT error gave up;"), 3000), "%s",
                  watch_events);
    node_answers();
    stop();
}
END_TEST

Suite *misbehave_suite(void)
{
    Suite *s = suite_create("misbehave");
    TCase *tc = tu_tcase("misbehave");
    tcase_add_test(tc, c_endless_loop_reported);
    tcase_add_test(tc, short_messages_not_reported);
    tcase_add_test(tc, lua_endless_loop_killed);
    tcase_add_test(tc, lua_endless_loop_killed_through_pcall);
    tcase_add_test(tc, lua_endless_loop_killed_with_reason);
    tcase_add_test(tc, lua_unbounded_allocation_fails_alone);
    tcase_add_test(tc, flood_oneways_refused_and_counted);
    tcase_add_test(tc, flood_calls_refused_and_counted);
    tcase_add_test(tc, c_handler_errors);
    tcase_add_test(tc, lua_handler_errors);
    suite_add_tcase(s, tc);
    return s;
}
