/* The process model (runtime/link.c): links, monitors, exit reasons,
 * trap_exit, kill, spawn_link/spawn_monitor, names on death, signals
 * ahead of mail. One test per row of semantics (docs/process-model.md,
 * compared with ../shared/peers/FEATURES.md).
 *
 * The services are "actors" driven by requests from the test thread whose
 * text is a command ("link 0x...", "trap 1", "exit error boom"); each
 * records the exit and down messages it gets as text lines the test reads
 * back with "events". */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"

#define EV_MAX 2048

typedef struct actor {
    pthread_mutex_t mu;
    char ev[EV_MAX]; /* "EXIT <serial> <reason> <text>;DOWN <serial> <ref> <reason> <text>;" */
    char arg[64];
} actor;

static void record(actor *a, const char *fmt, ...) SKY_PRINTF(2, 3);
static void record(actor *a, const char *fmt, ...)
{
    pthread_mutex_lock(&a->mu);
    size_t n = strlen(a->ev);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->ev + n, sizeof a->ev - n, fmt, ap);
    va_end(ap);
    pthread_mutex_unlock(&a->mu);
}

static void *actor_create(void)
{
    actor *a = calloc(1, sizeof *a);
    pthread_mutex_init(&a->mu, NULL);
    return a;
}

static void actor_release(void *st)
{
    actor *a = st;
    pthread_mutex_destroy(&a->mu);
    free(a);
}

/* args: "" or a command run in init ("exit error early", "trap 1"). */
static int run(actor *a, sky_ctx *ctx, const char *cmd, char *out, size_t size);

static int actor_init(void *st, sky_ctx *ctx, const char *args)
{
    char out[256];
    return args[0] ? run(st, ctx, args, out, sizeof out) : 0;
}

static int reason_arg(const char *name)
{
    int r = sky_reason_of(name);
    return r < 0 ? SKY_REASON_ERROR : r;
}

static int run(actor *a, sky_ctx *ctx, const char *cmd, char *out, size_t size)
{
    char verb[32] = "", w1[64] = "", w2[128] = "";
    unsigned long long addr = 0;
    sscanf(cmd, "%31s %63s %127[^\n]", verb, w1, w2);
    addr = strtoull(w1, NULL, 0);
    out[0] = '\0';
    if (strcmp(verb, "link") == 0) return sky_link(ctx, addr);
    if (strcmp(verb, "unlink") == 0) return sky_unlink(ctx, addr);
    if (strcmp(verb, "monitor") == 0) {
        uint32_t ref = 0;
        int rc = sky_monitor(ctx, addr, &ref);
        snprintf(out, size, "%u", ref);
        return rc;
    }
    if (strcmp(verb, "demonitor") == 0) return sky_demonitor(ctx, (uint32_t)addr);
    if (strcmp(verb, "trap") == 0) {
        snprintf(out, size, "%d", sky_trap_exit(ctx, atoi(w1)));
        return 0;
    }
    if (strcmp(verb, "exit") == 0) { /* exit REASON [TEXT] */
        sky_exit_with(ctx, reason_arg(w1), w2[0] ? w2 : NULL);
        return 0;
    }
    if (strcmp(verb, "fail") == 0) { /* fail TEXT: in init, fails it saying why */
        sky_exit_with(ctx, SKY_REASON_ERROR, cmd + 5);
        return SKY_EINVAL;
    }
    if (strcmp(verb, "kill") == 0) { /* kill ADDR [REASON [TEXT]] */
        char reason[32] = "", text[128] = "";
        if (sscanf(w2, "%31s %127[^\n]", reason, text) < 1) return sky_kill(ctx, addr);
        return sky_kill_with(ctx, addr, reason_arg(reason), text[0] ? text : NULL);
    }
    if (strcmp(verb, "spawn") == 0 || strcmp(verb, "spawnlink") == 0 || strcmp(verb, "spawnmon") == 0) {
        /* spawn|spawnlink|spawnmon [INIT CMD] */
        const char *init = cmd + strlen(verb);
        while (*init == ' ') init++;
        sky_addr_t child = 0;
        uint32_t ref = 0;
        int rc = verb[5] == '\0'  ? sky_spawn(ctx, "actor", init, &child)
                 : verb[5] == 'l' ? sky_spawn_link(ctx, "actor", init, &child)
                                  : sky_spawn_monitor(ctx, "actor", init, &child, &ref);
        snprintf(out, size, "%" PRIu64 " %u", (uint64_t)child, ref);
        return rc;
    }
    if (strcmp(verb, "sendexit") == 0) { /* sendexit ADDR REASON [TEXT] */
        char reason[32] = "", text[128] = "";
        sscanf(w2, "%31s %127[^\n]", reason, text);
        return sky_send_exit(ctx, addr, reason_arg(reason), text[0] ? text : NULL);
    }
    if (strcmp(verb, "register") == 0) return sky_register(ctx, w1);
    if (strcmp(verb, "parent") == 0) {
        snprintf(out, size, "%" PRIu64, (uint64_t)sky_parent(ctx));
        return 0;
    }
    if (strcmp(verb, "events") == 0) {
        pthread_mutex_lock(&a->mu);
        snprintf(out, size, "%s", a->ev);
        pthread_mutex_unlock(&a->mu);
        return 0;
    }
    if (strcmp(verb, "ping") == 0) {
        snprintf(out, size, "pong");
        return 0;
    }
    return SKY_ENOTSUP;
}

static int actor_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    actor *a = st;
    if (m->kind == SKY_EXIT || m->kind == SKY_DOWN) {
        char head[64];
        if (m->kind == SKY_EXIT) snprintf(head, sizeof head, "EXIT %" PRIu64, (uint64_t)SKY_ADDR_SERIAL(m->source));
        else snprintf(head, sizeof head, "DOWN %" PRIu64 " %u", (uint64_t)SKY_ADDR_SERIAL(m->source), m->session);
        record(a, "%s %s%s%.*s;", head, sky_reason_name((int)m->type_id), m->size ? " " : "", (int)m->size,
               m->data ? (const char *)m->data : "");
        return 0;
    }
    if (m->kind != SKY_REQUEST) return 0;
    char cmd[256], out[2200];
    snprintf(cmd, sizeof cmd, "%.*s", (int)m->size, m->data ? (const char *)m->data : "");
    int rc = run(a, ctx, cmd, out, sizeof out);
    if (rc < 0) return sky_reply_error(ctx, m, rc, out[0] ? out : sky_strerror(rc));
    return sky_reply_copy(ctx, m, 0, out, strlen(out));
}

static const sky_module actor_module = {"actor", actor_create, actor_init, actor_handle, actor_release};

/* ---- driving ------------------------------------------------------------ */

static sky_node *node;

static void start(void) { node = tu_node(2, &actor_module, NULL); }
static void stop(void) { sky_node_free(node); }

/* Runs `cmd` in actor `a`; returns its code, the answer in out. */
static int cmdf(sky_addr_t a, char *out, size_t size, const char *fmt, ...) SKY_PRINTF(4, 5);
static int cmdf(sky_addr_t a, char *out, size_t size, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return tu_call_text(node, a, 0, text, out, size);
}

/* cmdf that must succeed. */
#define DO(a, ...)                                                                  \
    do {                                                                            \
        char do_out_[256];                                                          \
        int do_rc_ = cmdf((a), do_out_, sizeof do_out_, __VA_ARGS__);               \
        ck_assert_msg(do_rc_ == 0, "%s: %s (%s)", #__VA_ARGS__, sky_strerror(do_rc_), do_out_); \
    } while (0)

static sky_addr_t actor_spawn(const char *init) { return tu_spawn(node, "actor", init); }

static unsigned long long serial(sky_addr_t a) { return (unsigned long long)SKY_ADDR_SERIAL(a); }

/* 1 when the events of `a` hold `want`. */
static int has_event(sky_addr_t a, const char *want)
{
    char out[2200];
    return cmdf(a, out, sizeof out, "events") == 0 && strstr(out, want) != NULL;
}

static char *events_of(sky_addr_t a)
{
    static char out[2200];
    if (cmdf(a, out, sizeof out, "events") != 0) snprintf(out, sizeof out, "(no answer)");
    return out;
}

#define EXPECT_EVENT(a, ...)                                                          \
    do {                                                                              \
        char want_[160];                                                              \
        snprintf(want_, sizeof want_, __VA_ARGS__);                                   \
        ck_assert_msg(TU_WAIT(has_event((a), want_), 3000), "want \"%s\" in \"%s\"", want_, events_of(a)); \
    } while (0)

#define EXPECT_GONE(a) ck_assert_msg(TU_WAIT(!tu_alive(node, (a)), 3000), "%llu is still alive", serial(a))

/* A watcher that traps exits and monitors `a`: returns its address and
 * the monitor's ref in *ref. */
static sky_addr_t watch(sky_addr_t a, uint32_t *ref)
{
    sky_addr_t w = actor_spawn("");
    char out[64];
    ck_assert_int_eq(cmdf(w, out, sizeof out, "monitor %llu", (unsigned long long)a), 0);
    *ref = (uint32_t)strtoul(out, NULL, 10);
    ck_assert_uint_gt(*ref, 0);
    return w;
}

/* ---- links ---------------------------------------------------------------- */

/* An abnormal exit takes a linked service down with the same reason. */
START_TEST(link_abnormal_exit_propagates)
{
    start();
    sky_addr_t a = actor_spawn(""), b = actor_spawn("");
    uint32_t ref;
    sky_addr_t w = watch(b, &ref);
    DO(a, "link %llu", (unsigned long long)b);
    DO(a, "exit error boom");
    EXPECT_GONE(a);
    EXPECT_GONE(b);
    EXPECT_EVENT(w, "DOWN %llu %u error boom;", serial(b), ref);
    stop();
}
END_TEST

/* A normal exit does not: the peer lives on. */
START_TEST(link_normal_exit_ignored)
{
    start();
    sky_addr_t a = actor_spawn(""), b = actor_spawn("");
    DO(b, "link %llu", (unsigned long long)a);
    DO(a, "exit normal");
    EXPECT_GONE(a);
    tu_sleep_ms(tu_ms(50));
    ck_assert(tu_alive(node, b));
    DO(b, "ping");
    stop();
}
END_TEST

/* trap_exit: exits (normal ones too) arrive as messages; the trapping
 * service lives on; the link is gone afterwards. */
START_TEST(trap_exit_turns_signals_into_messages)
{
    start();
    sky_addr_t t = actor_spawn("trap 1"), a = actor_spawn(""), b = actor_spawn("");
    DO(t, "link %llu", (unsigned long long)a);
    DO(t, "link %llu", (unsigned long long)b);
    DO(a, "exit error it broke");
    DO(b, "exit normal");
    EXPECT_EVENT(t, "EXIT %llu error it broke;", serial(a));
    EXPECT_EVENT(t, "EXIT %llu normal;", serial(b));
    ck_assert(tu_alive(node, t));
    char out[16];
    ck_assert_int_eq(cmdf(t, out, sizeof out, "trap 0"), 0);
    ck_assert_str_eq(out, "1"); /* the previous setting */
    stop();
}
END_TEST

/* Linking is both ways: the peer's exit reaches the linker, and the
 * linker's reaches the peer. */
START_TEST(link_is_bidirectional)
{
    start();
    sky_addr_t a = actor_spawn("trap 1"), b = actor_spawn("trap 1");
    DO(a, "link %llu", (unsigned long long)b);
    sky_addr_t c = actor_spawn("");
    DO(b, "link %llu", (unsigned long long)c); /* b traps: c's exit is a message */
    DO(c, "exit shutdown");
    EXPECT_EVENT(b, "EXIT %llu shutdown;", serial(c));
    DO(b, "exit error from b");
    EXPECT_EVENT(a, "EXIT %llu error from b;", serial(b));
    stop();
}
END_TEST

/* unlink: no exit signal of that link afterwards, on either side. */
START_TEST(unlink_stops_signals)
{
    start();
    sky_addr_t a = actor_spawn(""), b = actor_spawn("");
    DO(a, "link %llu", (unsigned long long)b);
    DO(a, "unlink %llu", (unsigned long long)b);
    DO(b, "exit error gone");
    EXPECT_GONE(b);
    tu_sleep_ms(tu_ms(50));
    ck_assert(tu_alive(node, a));
    sky_addr_t c = actor_spawn("");
    DO(c, "link %llu", (unsigned long long)a);
    DO(a, "unlink %llu", (unsigned long long)c); /* from the other side */
    DO(a, "exit error a goes");
    EXPECT_GONE(a);
    tu_sleep_ms(tu_ms(50));
    ck_assert(tu_alive(node, c));
    stop();
}
END_TEST

/* Linking a dead address: noproc at once, which ends a service that does
 * not trap exits and reaches one that does as a message. */
START_TEST(link_dead_address_noproc)
{
    start();
    sky_addr_t dead = actor_spawn("");
    DO(dead, "exit normal");
    EXPECT_GONE(dead);
    sky_addr_t t = actor_spawn("trap 1");
    DO(t, "link %llu", (unsigned long long)dead);
    EXPECT_EVENT(t, "EXIT %llu noproc;", serial(dead));
    sky_addr_t a = actor_spawn("");
    uint32_t ref;
    sky_addr_t w = watch(a, &ref);
    DO(a, "link %llu", (unsigned long long)dead);
    EXPECT_GONE(a);
    EXPECT_EVENT(w, "DOWN %llu %u noproc;", serial(a), ref);
    stop();
}
END_TEST

/* A kill cannot be trapped; the victim's links see `killed`. */
START_TEST(kill_through_trap_exit)
{
    start();
    sky_addr_t v = actor_spawn("trap 1"), t = actor_spawn("trap 1"), k = actor_spawn("");
    DO(t, "link %llu", (unsigned long long)v);
    DO(k, "kill %llu", (unsigned long long)v);
    EXPECT_GONE(v);
    EXPECT_EVENT(t, "EXIT %llu killed;", serial(v));
    /* with a reason of the killer's choosing */
    sky_addr_t v2 = actor_spawn("trap 1");
    uint32_t ref;
    sky_addr_t w = watch(v2, &ref);
    DO(k, "kill %llu shutdown time to go", (unsigned long long)v2);
    EXPECT_EVENT(w, "DOWN %llu %u shutdown time to go;", serial(v2), ref);
    stop();
}
END_TEST

/* send_exit (Erlang's exit/2): trappable, needs no link, leaves the
 * sender alive; a normal reason is ignored by a service that does not trap. */
START_TEST(send_exit_is_trappable)
{
    start();
    sky_addr_t s1 = actor_spawn(""), t = actor_spawn("trap 1"), v = actor_spawn("");
    DO(s1, "sendexit %llu shutdown please stop", (unsigned long long)t);
    EXPECT_EVENT(t, "EXIT %llu shutdown please stop;", serial(s1));
    uint32_t ref;
    sky_addr_t w = watch(v, &ref);
    DO(s1, "sendexit %llu normal", (unsigned long long)v);
    tu_sleep_ms(tu_ms(50));
    ck_assert(tu_alive(node, v));
    DO(s1, "sendexit %llu shutdown", (unsigned long long)v);
    EXPECT_EVENT(w, "DOWN %llu %u shutdown;", serial(v), ref);
    ck_assert(tu_alive(node, s1));
    ck_assert(tu_alive(node, t));
    stop();
}
END_TEST

/* `killed` propagates down a chain of linked services that do not trap. */
START_TEST(kill_propagates_along_a_chain)
{
    start();
    enum { N = 50 };
    sky_addr_t s[N];
    for (int i = 0; i < N; i++) {
        s[i] = actor_spawn("");
        if (i > 0) DO(s[i], "link %llu", (unsigned long long)s[i - 1]);
    }
    uint32_t ref;
    sky_addr_t w = watch(s[N - 1], &ref);
    ck_assert_int_eq(sky_node_kill(node, s[0]), 0);
    for (int i = 0; i < N; i++) EXPECT_GONE(s[i]);
    EXPECT_EVENT(w, "DOWN %llu %u killed;", serial(s[N - 1]), ref);
    stop();
}
END_TEST

/* ---- monitors ----------------------------------------------------------- */

/* A monitor gets one DOWN with its ref and the reason; normal exits too;
 * the monitored service is not affected by the watcher's death. */
START_TEST(monitor_down_with_ref_and_reason)
{
    start();
    sky_addr_t a = actor_spawn("");
    uint32_t r1, r2;
    sky_addr_t w = watch(a, &r1);
    char out[32];
    ck_assert_int_eq(cmdf(w, out, sizeof out, "monitor %llu", (unsigned long long)a), 0);
    r2 = (uint32_t)strtoul(out, NULL, 10);
    ck_assert_uint_ne(r1, r2);
    DO(a, "exit normal");
    EXPECT_EVENT(w, "DOWN %llu %u normal;", serial(a), r1);
    EXPECT_EVENT(w, "DOWN %llu %u normal;", serial(a), r2);
    /* one way: the watcher's death means nothing to the watched */
    sky_addr_t b = actor_spawn("");
    uint32_t r3;
    sky_addr_t w2 = watch(b, &r3);
    DO(w2, "exit error watcher dies");
    EXPECT_GONE(w2);
    tu_sleep_ms(tu_ms(50));
    ck_assert(tu_alive(node, b));
    stop();
}
END_TEST

/* demonitor: no DOWN afterwards; a second demonitor is ENOENT. */
START_TEST(demonitor_stops_down)
{
    start();
    sky_addr_t a = actor_spawn("");
    uint32_t ref;
    sky_addr_t w = watch(a, &ref);
    DO(w, "demonitor %u", ref);
    char out[64];
    ck_assert_int_eq(cmdf(w, out, sizeof out, "demonitor %u", ref), SKY_ENOENT);
    DO(a, "exit error x");
    EXPECT_GONE(a);
    tu_sleep_ms(tu_ms(50));
    ck_assert_str_eq(events_of(w), "");
    stop();
}
END_TEST

/* Monitoring a dead address: a DOWN with noproc at once. */
START_TEST(monitor_dead_address_noproc)
{
    start();
    sky_addr_t dead = actor_spawn("");
    DO(dead, "exit normal");
    EXPECT_GONE(dead);
    uint32_t ref;
    sky_addr_t w = watch(dead, &ref);
    EXPECT_EVENT(w, "DOWN %llu %u noproc;", serial(dead), ref);
    /* an address that never existed too */
    sky_addr_t never = SKY_ADDR(1, 999999);
    char out[32];
    ck_assert_int_eq(cmdf(w, out, sizeof out, "monitor %llu", (unsigned long long)never), 0);
    EXPECT_EVENT(w, "DOWN %llu %s noproc;", serial(never), out);
    stop();
}
END_TEST

/* ---- spawn_link, spawn_monitor ------------------------------------------ */

/* A child that exits in its very init is still seen: the link or monitor
 * was in place before init ran. */
START_TEST(spawn_link_and_monitor_are_atomic)
{
    start();
    sky_addr_t p = actor_spawn("trap 1");
    char out[64];
    ck_assert_int_eq(cmdf(p, out, sizeof out, "spawnlink exit error died in init"), 0);
    unsigned long long child = strtoull(out, NULL, 10);
    EXPECT_EVENT(p, "EXIT %llu error died in init;", serial(child));
    ck_assert_int_eq(cmdf(p, out, sizeof out, "spawnmon exit normal"), 0);
    unsigned long long child2;
    unsigned ref;
    ck_assert_int_eq(sscanf(out, "%llu %u", &child2, &ref), 2);
    EXPECT_EVENT(p, "DOWN %llu %u normal;", serial(child2), ref);
    /* a live linked child dies with its parent */
    ck_assert_int_eq(cmdf(p, out, sizeof out, "spawnlink"), 0);
    sky_addr_t c3 = strtoull(out, NULL, 10);
    DO(p, "exit error parent fails");
    EXPECT_GONE(c3);
    stop();
}
END_TEST

/* The address in actor `a`'s answer to `cmd` (its first word). */
static sky_addr_t addr_of(sky_addr_t a, const char *cmd)
{
    char out[64];
    int rc = cmdf(a, out, sizeof out, "%s", cmd);
    ck_assert_msg(rc == 0, "%s: %s (%s)", cmd, sky_strerror(rc), out);
    return strtoull(out, NULL, 10);
}

/* sky_parent: the spawner, whichever of sky_spawn, sky_spawn_link and
 * sky_spawn_monitor it used, kept after the spawner exits; SKY_ADDR_NONE
 * for a service spawned from outside (sky_node_spawn). */
START_TEST(parent_is_the_spawner)
{
    start();
    sky_addr_t p = actor_spawn("trap 1");
    ck_assert_uint_eq(addr_of(p, "parent"), SKY_ADDR_NONE);
    static const char *const verbs[] = {"spawn", "spawnlink", "spawnmon"};
    sky_addr_t kids[3];
    for (int i = 0; i < 3; i++) {
        kids[i] = addr_of(p, verbs[i]);
        ck_assert_uint_ne(kids[i], 0);
        ck_assert_msg(addr_of(kids[i], "parent") == p, "%s", verbs[i]);
    }
    /* a grandchild's parent is its own spawner */
    sky_addr_t g = addr_of(kids[0], "spawn");
    ck_assert_uint_eq(addr_of(g, "parent"), kids[0]);
    /* a service recycled from the pool has no stale parent */
    DO(g, "exit normal");
    EXPECT_GONE(g);
    ck_assert_uint_eq(addr_of(actor_spawn(""), "parent"), SKY_ADDR_NONE);
    /* the spawner gone, the record stays */
    DO(p, "exit normal");
    EXPECT_GONE(p);
    ck_assert_uint_eq(addr_of(kids[0], "parent"), p);
    stop();
}
END_TEST

/* ---- watched from outside: sky_node_spawn_monitor ----------------------- */

/* What on_down was told: "<serial> <reason> <text>;" per call. */
typedef struct downs_seen {
    pthread_mutex_t mu;
    char text[1024];
    atomic_int calls;
} downs_seen;

static void on_down(void *ud, sky_addr_t who, int reason, const char *text)
{
    downs_seen *d = ud;
    pthread_mutex_lock(&d->mu);
    size_t n = strlen(d->text);
    snprintf(d->text + n, sizeof d->text - n, "%llu %s %s;", serial(who), sky_reason_name(reason),
             text ? text : "(null)");
    pthread_mutex_unlock(&d->mu);
    atomic_fetch_add(&d->calls, 1);
}

static int seen(downs_seen *d, const char *want)
{
    pthread_mutex_lock(&d->mu);
    int yes = strstr(d->text, want) != NULL;
    pthread_mutex_unlock(&d->mu);
    return yes;
}

#define EXPECT_DOWN(d, ...)                                                                   \
    do {                                                                                      \
        char want_[256];                                                                      \
        snprintf(want_, sizeof want_, __VA_ARGS__);                                           \
        ck_assert_msg(TU_WAIT(seen((d), want_), 3000), "want \"%s\" in \"%s\"", want_, (d)->text); \
    } while (0)

/* The watch is in place before the service's init runs: an exit in that
 * very init is seen, and so are later ones, once each; the service has no
 * parent and the watch is no service; a spawn that fails calls nothing,
 * nor does the node's takedown. */
START_TEST(node_spawn_monitor_sees_every_exit)
{
    static downs_seen d = {PTHREAD_MUTEX_INITIALIZER, "", 0};
    start();
    char err[256] = "";
    sky_addr_t a = 0, b = 0, c = 0;
    ck_assert_int_eq(sky_node_spawn_monitor(node, "actor", "exit error died in init", &a, err, sizeof err,
                                            on_down, &d), 0);
    EXPECT_DOWN(&d, "%llu error died in init;", serial(a));
    ck_assert_int_eq(sky_node_spawn_monitor(node, "actor", "", &b, err, sizeof err, on_down, &d), 0);
    ck_assert_uint_eq(addr_of(b, "parent"), SKY_ADDR_NONE);
    DO(b, "exit normal");
    EXPECT_DOWN(&d, "%llu normal (null);", serial(b));
    ck_assert_int_eq(sky_node_spawn_monitor(node, "actor", "bogus-command", &c, err, sizeof err, on_down, &d),
                     SKY_ENOTSUP);
    ck_assert_int_eq(sky_node_spawn_monitor(node, "nosuchmodule", "", &c, err, sizeof err, on_down, &d),
                     SKY_ENOENT);
    ck_assert_int_eq(sky_node_spawn_monitor(node, "actor", "", &c, err, sizeof err, NULL, NULL), SKY_EINVAL);
    tu_sleep_ms(tu_ms(50));
    ck_assert_int_eq(atomic_load(&d.calls), 2);
    sky_node_stat st; /* what is left is the logger (the calls' ports exit too) */
    ck_assert(TU_WAIT((sky_node_stat_get(node, &st), st.services == 1), 3000));
    ck_assert_int_eq(sky_node_spawn_monitor(node, "actor", "", &c, err, sizeof err, on_down, &d), 0);
    stop();
    ck_assert_int_eq(atomic_load(&d.calls), 2);
}
END_TEST

/* sky_node_spawn's err says why an init failed: the reason the init gave,
 * the name a refused sky_register asked for, a Lua service's load error;
 * a reason left by a spawn inside that init is not taken for its own. */
START_TEST(node_spawn_says_why_init_failed)
{
    start();
    char err[512];
    ck_assert_int_eq(sky_node_spawn(node, "actor", "fail no config file", NULL, err, sizeof err), SKY_EINVAL);
    ck_assert_str_eq(err, "spawn actor: no config file");
    ck_assert_int_eq(sky_node_spawn(node, "actor", "register logger", NULL, err, sizeof err), SKY_EEXIST);
    ck_assert_str_eq(err, "spawn actor: the name 'logger' is taken");
    ck_assert_int_eq(sky_node_spawn(node, "actor", "spawn fail inner reason", NULL, err, sizeof err),
                     SKY_EINVAL);
    ck_assert_str_eq(err, "spawn actor: invalid argument");
    ck_assert_int_eq(sky_node_spawn(node, "lua", "no_such_service", NULL, err, sizeof err), SKY_ENOENT);
    ck_assert_msg(strstr(err, "spawn lua: Lua service no_such_service not found (tried ") == err, "%s", err);
    /* the watched form says the same */
    ck_assert_int_eq(sky_node_spawn_monitor(node, "actor", "register logger", NULL, err, sizeof err, on_down,
                                            NULL), SKY_EEXIST);
    ck_assert_str_eq(err, "spawn actor: the name 'logger' is taken");
    stop();
}
END_TEST

/* A Lua service whose sky.start function raises exits with reason error
 * and the message; one whose function returns stays, as does one that
 * chose its exit before raising. */
START_TEST(lua_start_failure_is_an_exit)
{
    static downs_seen d = {PTHREAD_MUTEX_INITIALIZER, "", 0};
    char dir[] = "/tmp/sky-start.XXXXXX", path[64], file[128];
    ck_assert(mkdtemp(dir) != NULL);
    static const char *const files[][2] = {
        {"boom", "sky.start(function() sky.sleep(1) error('boom') end)"},
        {"fine", "sky.start(function() sky.sleep(1) end)"},
        {"leaves", "sky.start(function() sky.exit('normal', 'done') error('after') end)"},
    };
    for (int i = 0; i < 3; i++) {
        snprintf(file, sizeof file, "%s/%s.lua", dir, files[i][0]);
        FILE *f = fopen(file, "w");
        ck_assert(f != NULL);
        fputs(files[i][1], f);
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/?.lua", dir);
    sky_config cfg;
    tu_config(&cfg, 2);
    cfg.service_path = path;
    node = tu_start(&cfg, NULL);
    char err[256];
    sky_addr_t boom, fine, leaves;
    ck_assert_int_eq(sky_node_spawn_monitor(node, "lua", "boom", &boom, err, sizeof err, on_down, &d), 0);
    ck_assert_int_eq(sky_node_spawn_monitor(node, "lua", "fine", &fine, err, sizeof err, on_down, &d), 0);
    ck_assert_int_eq(sky_node_spawn_monitor(node, "lua", "leaves", &leaves, err, sizeof err, on_down, &d), 0);
    EXPECT_DOWN(&d, "%llu error Lua service boom: sky.start failed: %s/boom.lua:1: boom;", serial(boom), dir);
    EXPECT_DOWN(&d, "%llu normal done;", serial(leaves));
    tu_sleep_ms(tu_ms(50));
    ck_assert(tu_alive(node, fine));
    ck_assert_int_eq(atomic_load(&d.calls), 2);
    sky_node_free(node);
    for (int i = 0; i < 3; i++) {
        snprintf(file, sizeof file, "%s/%s.lua", dir, files[i][0]);
        unlink(file);
    }
    rmdir(dir);
}
END_TEST

/* ---- names, ordering, reasons of the runtime ---------------------------- */

/* A name goes with its service, before its monitors hear of the death:
 * a watcher can register it again at once. Calls to it fail ENOSVC. */
START_TEST(name_removed_on_death)
{
    start();
    sky_addr_t a = actor_spawn("register worker");
    ck_assert_uint_eq(sky_node_whereis(node, "worker"), a);
    uint32_t ref;
    sky_addr_t w = watch(a, &ref);
    DO(a, "exit error bye");
    EXPECT_EVENT(w, "DOWN %llu %u error bye;", serial(a), ref);
    ck_assert_uint_eq(sky_node_whereis(node, "worker"), SKY_ADDR_NONE);
    DO(w, "register worker");
    ck_assert_uint_eq(sky_node_whereis(node, "worker"), w);
    stop();
}
END_TEST

/* Signals overtake mail: a kill queued behind requests is handled first,
 * and the requests are answered EEXIT. "gated" blocks on the gate while it
 * handles a oneway; "caller" queues three calls to it, then a kill. */
static tu_gate gate;
static tu_rec answers;
static atomic_int caller_done;

static int gate_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st;
    if (m->kind == SKY_ONEWAY) tu_gate_wait(&gate, 5000);
    if (m->kind == SKY_REQUEST) return sky_reply_copy(ctx, m, 0, "done", 4);
    return 0;
}
static const sky_module gate_module = {"gated", NULL, NULL, gate_handle, NULL};

static void on_gated(sky_ctx *ctx, int status, const sky_msg *reply, void *ud)
{
    (void)ctx, (void)reply;
    tu_rec_add(ud, status);
}

static int caller_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st;
    if (m->kind != SKY_ONEWAY || m->size != sizeof(sky_addr_t)) return 0;
    sky_addr_t to;
    memcpy(&to, m->data, sizeof to);
    for (int i = 0; i < 3; i++) {
        sky_msg req = {.size = 1, .data = strdup("x")};
        TU_IGNORE(sky_call(ctx, to, &req, 0, on_gated, &answers));
    }
    TU_IGNORE(sky_kill(ctx, to));
    atomic_store(&caller_done, 1);
    return 0;
}
static const sky_module caller_module = {"caller", NULL, NULL, caller_handle, NULL};

START_TEST(signals_overtake_mail)
{
    tu_gate_init(&gate);
    tu_rec_init(&answers);
    atomic_store(&caller_done, 0);
    node = tu_node(2, &actor_module, &gate_module, &caller_module, NULL);
    sky_addr_t g = tu_spawn(node, "gated", "");
    sky_addr_t c = tu_spawn(node, "caller", "");
    uint32_t ref;
    sky_addr_t w = watch(g, &ref);
    ck_assert_int_eq(tu_send(node, g, 0, "", 0), 0);
    ck_assert(TU_WAIT(atomic_load(&gate.waiting) == 1, 3000)); /* g is busy */
    ck_assert_int_eq(tu_send(node, c, 0, &g, sizeof g), 0);
    ck_assert(TU_WAIT(atomic_load(&caller_done), 3000)); /* 3 requests, then the kill, queued */
    tu_gate_open(&gate);
    ck_assert(TU_WAIT(tu_rec_count(&answers) == 3, 3000));
    for (size_t i = 0; i < 3; i++) ck_assert_int_eq(tu_rec_get(&answers, i), SKY_EEXIT);
    EXPECT_GONE(g);
    EXPECT_EVENT(w, "DOWN %llu %u killed;", serial(g), ref);
    sky_node_free(node);
    tu_gate_deinit(&gate);
    tu_rec_deinit(&answers);
}
END_TEST

/* A service whose init fails exits with reason error; node shutdown ends
 * every service with reason shutdown (seen by a monitor that outlives
 * nothing: recorded through a tu_rec). */
static tu_rec downs;
static int recorder_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st, (void)ctx;
    if (m->kind == SKY_DOWN) tu_rec_add(&downs, m->type_id);
    return 0;
}
static int recorder_init(void *st, sky_ctx *ctx, const char *args)
{
    (void)st;
    uint32_t ref;
    return sky_monitor(ctx, strtoull(args, NULL, 10), &ref);
}
static const sky_module recorder_module = {"recorder", NULL, recorder_init, recorder_handle, NULL};

START_TEST(reasons_from_the_runtime)
{
    tu_rec_init(&downs);
    node = tu_node(2, &actor_module, &recorder_module, NULL);
    sky_addr_t p = actor_spawn("trap 1");
    char out[128];
    /* init fails: spawn fails, and nothing is left to watch */
    ck_assert_int_eq(cmdf(p, out, sizeof out, "spawnlink bogus-command"), SKY_ENOTSUP);
    tu_sleep_ms(tu_ms(50));
    ck_assert_str_eq(events_of(p), "");
    /* shutdown: the recorder hears of its target's end before its own */
    sky_addr_t a = actor_spawn("");
    char arg[32];
    snprintf(arg, sizeof arg, "%llu", (unsigned long long)a);
    tu_spawn(node, "recorder", arg);
    DO(a, "exit shutdown");
    ck_assert(TU_WAIT(tu_rec_count(&downs) == 1, 3000));
    ck_assert_int_eq(tu_rec_get(&downs, 0), SKY_REASON_SHUTDOWN);
    ck_assert_str_eq(sky_reason_name(SKY_REASON_NOCONNECTION), "noconnection");
    ck_assert_str_eq(sky_reason_name(99), "unknown");
    ck_assert_int_eq(sky_reason_of("timeout"), SKY_REASON_TIMEOUT);
    ck_assert_int_eq(sky_reason_of("nope"), -1);
    sky_node_free(node);
    tu_rec_deinit(&downs);
}
END_TEST

Suite *process_suite(void)
{
    Suite *s = suite_create("process");
    TCase *tc = tu_tcase("links");
    tcase_add_test(tc, link_abnormal_exit_propagates);
    tcase_add_test(tc, link_normal_exit_ignored);
    tcase_add_test(tc, trap_exit_turns_signals_into_messages);
    tcase_add_test(tc, link_is_bidirectional);
    tcase_add_test(tc, unlink_stops_signals);
    tcase_add_test(tc, link_dead_address_noproc);
    tcase_add_test(tc, kill_through_trap_exit);
    tcase_add_test(tc, send_exit_is_trappable);
    tcase_add_test(tc, kill_propagates_along_a_chain);
    suite_add_tcase(s, tc);
    tc = tu_tcase("monitors");
    tcase_add_test(tc, monitor_down_with_ref_and_reason);
    tcase_add_test(tc, demonitor_stops_down);
    tcase_add_test(tc, monitor_dead_address_noproc);
    tcase_add_test(tc, spawn_link_and_monitor_are_atomic);
    tcase_add_test(tc, parent_is_the_spawner);
    tcase_add_test(tc, node_spawn_monitor_sees_every_exit);
    tcase_add_test(tc, node_spawn_says_why_init_failed);
    tcase_add_test(tc, lua_start_failure_is_an_exit);
    suite_add_tcase(s, tc);
    tc = tu_tcase("lifecycle");
    tcase_add_test(tc, name_removed_on_death);
    tcase_add_test(tc, signals_overtake_mail);
    tcase_add_test(tc, reasons_from_the_runtime);
    suite_add_tcase(s, tc);
    return s;
}
