/* Timers (sky_timeout) and call deadlines. */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"

enum { T_ARM = 1, T_CALL = 2, T_EXIT = 3 };

/* ---- sky_timeout ------------------------------------------------------- */

/* What a timer service saw: the session of each SKY_TIMER, or -1 for a
 * timer message that was malformed (wrong kind, source or payload). */
static tu_rec fired;

typedef struct arm {
    int n;
    int ms[64];
    uint32_t session[64];
} arm;

static int arm_all(sky_ctx *ctx, const arm *a)
{
    for (int i = 0; i < a->n; i++) {
        int rc = sky_timeout(ctx, a->ms[i], a->session[i]);
        if (rc != 0) return rc;
    }
    return 0;
}

/* timers: args carry an `arm` to set in init; a T_ARM oneway carries a
 * pointer to another to set from the handler; T_EXIT exits. */
static int timers_init(void *st, sky_ctx *ctx, const char *args)
{
    (void)st;
    const arm *a = tu_arg_ptr(args);
    return a ? arm_all(ctx, a) : 0;
}

static int timers_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st;
    if (m->kind == SKY_TIMER) {
        int ok = m->source == SKY_ADDR_NONE && m->size == 0 && m->dest == sky_self(ctx);
        tu_rec_add(&fired, ok ? (int64_t)m->session : -1);
        return 0;
    }
    if (m->kind == SKY_ONEWAY && m->type_id == T_ARM) {
        const arm *a;
        memcpy(&a, m->data, sizeof a);
        return arm_all(ctx, a);
    }
    if (m->kind == SKY_ONEWAY && m->type_id == T_EXIT) sky_exit(ctx);
    return 0;
}

static const sky_module timers_module = {"timers", NULL, timers_init, timers_handle, NULL};

static void expect_fired(const uint32_t *want, size_t n)
{
    ck_assert_msg(TU_WAIT(tu_rec_count(&fired) >= n, 5000), "%zu of %zu timers fired", tu_rec_count(&fired), n);
    tu_sleep_ms(10);
    ck_assert_uint_eq(tu_rec_count(&fired), n);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(tu_rec_get(&fired, i) == (int64_t)want[i], "timer %zu: session %lld, expected %u", i,
                      (long long)tu_rec_get(&fired, i), want[i]);
}

START_TEST(test_timer_deadline_order)
{
    tu_rec_init(&fired);
    sky_node *node = tu_node(2, &timers_module, NULL);
    /* set out of order, in init */
    static arm a = {5, {160, 40, 0, 120, 80}, {1160, 1040, 1000, 1120, 1080}};
    sky_addr_t t = tu_spawn(node, "timers", tu_ptr_arg(&a).s);
    static const uint32_t want[] = {1000, 1040, 1080, 1120, 1160};
    expect_fired(want, 5);

    /* again from a handler */
    tu_rec_init(&fired);
    static arm b = {4, {90, 30, 60, 0}, {2090, 2030, 2060, 2000}};
    const arm *pb = &b;
    ck_assert_int_eq(tu_send(node, t, T_ARM, &pb, sizeof pb), 0);
    static const uint32_t want2[] = {2000, 2030, 2060, 2090};
    expect_fired(want2, 4);
    sky_node_free(node);
}
END_TEST

/* Timers with the same delay fire in the order they were set. */
START_TEST(test_timer_equal_delays)
{
    tu_rec_init(&fired);
    sky_node *node = tu_node(2, &timers_module, NULL);
    static arm a;
    static uint32_t want[40];
    a.n = 40;
    for (int i = 0; i < 40; i++) {
        a.ms[i] = 30;
        a.session[i] = want[i] = (uint32_t)i + 1;
    }
    tu_spawn(node, "timers", tu_ptr_arg(&a).s);
    expect_fired(want, 40);
    sky_node_free(node);
}
END_TEST

/* ms = 0 (and below) fires as soon as possible; any session comes back
 * intact, 0 and all ones included. */
START_TEST(test_timer_zero_and_sessions)
{
    tu_rec_init(&fired);
    sky_node *node = tu_node(1, &timers_module, NULL);
    static arm a = {4, {0, 0, -5, 0}, {0, 0xffffffffu, 0x80000000u, 42}};
    tu_spawn(node, "timers", tu_ptr_arg(&a).s);
    static const uint32_t want[] = {0, 0xffffffffu, 0x80000000u, 42};
    expect_fired(want, 4);
    sky_node_free(node);
}
END_TEST

/* A timer never fires before its time (node clock, sky_now). */
static atomic_llong set_at, fired_at;

static int clock_init(void *st, sky_ctx *ctx, const char *args)
{
    (void)st, (void)args;
    atomic_store(&set_at, (long long)sky_now(ctx));
    return sky_timeout(ctx, 100, 5);
}

static int clock_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st;
    if (m->kind == SKY_TIMER && m->session == 5) atomic_store(&fired_at, (long long)sky_now(ctx));
    return 0;
}

static const sky_module clock_module = {"clock", NULL, clock_init, clock_handle, NULL};

START_TEST(test_timer_not_early)
{
    atomic_store(&fired_at, -1);
    sky_node *node = tu_node(2, &clock_module, NULL);
    tu_spawn(node, "clock", "");
    ck_assert(TU_WAIT(atomic_load(&fired_at) >= 0, 5000));
    ck_assert_msg(atomic_load(&fired_at) - atomic_load(&set_at) >= 99, "a 100 ms timer fired after %lld ms",
                  atomic_load(&fired_at) - atomic_load(&set_at));
    sky_node_free(node);
}
END_TEST

/* A timer whose service has exited is dropped quietly. */
START_TEST(test_timer_after_exit)
{
    tu_rec_init(&fired);
    sky_node *node = tu_node(2, &timers_module, NULL);
    static arm a = {2, {30, 60}, {1, 2}};
    sky_addr_t t = tu_spawn(node, "timers", tu_ptr_arg(&a).s);
    ck_assert_int_eq(tu_send(node, t, T_EXIT, NULL, 0), 0);
    ck_assert(TU_WAIT(!tu_alive(node, t), 5000));
    /* the recycled memory goes to a new service that must not see them */
    static arm none = {0, {0}, {0}};
    tu_spawn(node, "timers", tu_ptr_arg(&none).s);
    tu_sleep_ms(150);
    ck_assert_uint_eq(tu_rec_count(&fired), 0);
    sky_node_free(node);
}
END_TEST

/* ---- call deadlines ---------------------------------------------------- */

/* caller: a T_CALL oneway {to, timeout_ms, slot} makes a call; the answer
 * is recorded in calls[slot]. */
typedef struct callrec {
    atomic_int count;  /* callbacks run */
    atomic_int status;
    atomic_int had_reply;
    atomic_llong elapsed; /* node ms from the call to its callback */
    atomic_int call_rc;
    long long start;
} callrec;

static callrec calls[8];
static atomic_int order_seen[8], norder;

typedef struct callreq {
    sky_addr_t to;
    int timeout_ms;
    int slot;
} callreq;

static void caller_reply(sky_ctx *ctx, int status, const sky_msg *reply, void *ud)
{
    callrec *c = &calls[(intptr_t)ud];
    atomic_store(&c->status, status);
    atomic_store(&c->had_reply, reply != NULL);
    atomic_store(&c->elapsed, (long long)sky_now(ctx) - c->start);
    int k = atomic_fetch_add(&norder, 1);
    if (k < 8) atomic_store(&order_seen[k], (int)(intptr_t)ud);
    atomic_fetch_add(&c->count, 1);
}

static int caller_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st;
    if (m->kind != SKY_ONEWAY || m->type_id != T_CALL) return 0;
    callreq r;
    memcpy(&r, m->data, sizeof r);
    calls[r.slot].start = (long long)sky_now(ctx);
    sky_msg req = {.type_id = 9, .size = 3, .data = memcpy(malloc(3), "abc", 3)};
    atomic_store(&calls[r.slot].call_rc, sky_call(ctx, r.to, &req, r.timeout_ms, caller_reply, (void *)(intptr_t)r.slot));
    return 0;
}

static const sky_module caller_module = {"caller", NULL, NULL, caller_handle, NULL};

static void calls_reset(void)
{
    memset(calls, 0, sizeof calls);
    for (int i = 0; i < 8; i++) atomic_store(&order_seen[i], -1);
    atomic_store(&norder, 0);
}

static void call(sky_node *node, sky_addr_t caller, sky_addr_t to, int timeout_ms, int slot)
{
    callreq r = {to, timeout_ms, slot};
    ck_assert_int_eq(tu_send(node, caller, T_CALL, &r, sizeof r), 0);
}

/* A call to a service that never answers ends with SKY_ETIMEDOUT (and no
 * reply) at its own deadline, not the node's default of 10 s. */
START_TEST(test_call_deadline)
{
    calls_reset();
    sky_node *node = tu_node(2, &caller_module, &tu_hole_module, NULL);
    sky_addr_t c = tu_spawn(node, "caller", "");
    sky_addr_t hole = tu_spawn(node, "hole", "");
    call(node, c, hole, 200, 0);
    ck_assert_msg(TU_WAIT(atomic_load(&calls[0].count) == 1, 5000), "no timeout within 5 s");
    ck_assert_int_eq(atomic_load(&calls[0].call_rc), 0);
    ck_assert_int_eq(atomic_load(&calls[0].status), SKY_ETIMEDOUT);
    ck_assert_int_eq(atomic_load(&calls[0].had_reply), 0);
    ck_assert_int_ge(atomic_load(&calls[0].elapsed), 199);
    tu_sleep_ms(50);
    ck_assert_int_eq(atomic_load(&calls[0].count), 1);
    sky_node_free(node);
}
END_TEST

/* Calls with different deadlines expire in deadline order, each at its
 * own time, even when a later call has the earlier deadline. */
START_TEST(test_call_deadlines_order)
{
    calls_reset();
    sky_node *node = tu_node(2, &caller_module, &tu_hole_module, NULL);
    sky_addr_t c = tu_spawn(node, "caller", "");
    sky_addr_t hole = tu_spawn(node, "hole", "");
    call(node, c, hole, 0, 3);   /* node default: 10 s, must not fire here */
    call(node, c, hole, 400, 0);
    call(node, c, hole, 100, 1);
    call(node, c, hole, 250, 2);
    ck_assert(TU_WAIT(atomic_load(&norder) >= 3, 5000));
    ck_assert_int_eq(atomic_load(&order_seen[0]), 1);
    ck_assert_int_eq(atomic_load(&order_seen[1]), 2);
    ck_assert_int_eq(atomic_load(&order_seen[2]), 0);
    ck_assert_int_ge(atomic_load(&calls[1].elapsed), 99);
    ck_assert_int_ge(atomic_load(&calls[2].elapsed), 249);
    ck_assert_int_ge(atomic_load(&calls[0].elapsed), 399);
    for (int i = 0; i < 3; i++) ck_assert_int_eq(atomic_load(&calls[i].status), SKY_ETIMEDOUT);
    ck_assert_int_eq(atomic_load(&calls[3].count), 0);
    sky_node_free(node);
}
END_TEST

/* later: defers each request and answers it 300 ms later. */
static atomic_int late_rc = 1;

static int later_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    sky_token *tok = st;
    if (m->kind == SKY_REQUEST) {
        *tok = sky_defer(ctx, m);
        return sky_timeout(ctx, 300, 1);
    }
    if (m->kind == SKY_TIMER) {
        sky_msg resp = {.size = 4, .data = memcpy(malloc(4), "late", 4)};
        atomic_store(&late_rc, sky_respond(ctx, *tok, &resp));
    }
    return 0;
}

static void *later_create(void) { return calloc(1, sizeof(sky_token)); }

static const sky_module later_module = {"later", later_create, NULL, later_handle, free};

START_TEST(test_late_reply_dropped)
{
    calls_reset();
    atomic_store(&late_rc, 1);
    sky_node *node = tu_node(2, &caller_module, &later_module, NULL);
    sky_addr_t c = tu_spawn(node, "caller", "");
    sky_addr_t later = tu_spawn(node, "later", "");
    sky_node_stat s0;
    sky_node_stat_get(node, &s0);
    call(node, c, later, 100, 0);
    ck_assert(TU_WAIT(atomic_load(&calls[0].count) == 1, 5000));
    ck_assert_int_eq(atomic_load(&calls[0].status), SKY_ETIMEDOUT);
    /* the answer comes after the deadline: delivered, then dropped */
    ck_assert(TU_WAIT(atomic_load(&late_rc) != 1, 5000));
    ck_assert_int_eq(atomic_load(&late_rc), 0);
    sky_node_stat s1;
    ck_assert_msg(TU_WAIT(({
                              sky_node_stat_get(node, &s1);
                              s1.late_replies == s0.late_replies + 1;
                          }),
                          5000),
                  "late replies: %llu", (unsigned long long)(s1.late_replies - s0.late_replies));
    tu_sleep_ms(20);
    ck_assert_int_eq(atomic_load(&calls[0].count), 1);
    sky_node_free(node);
}
END_TEST

/* An answered call does not time out afterwards. */
START_TEST(test_answered_call_no_timeout)
{
    calls_reset();
    sky_node *node = tu_node(2, &caller_module, &tu_echo_module, NULL);
    sky_addr_t c = tu_spawn(node, "caller", "");
    sky_addr_t echo = tu_spawn(node, "echo", "");
    call(node, c, echo, 100, 0);
    ck_assert(TU_WAIT(atomic_load(&calls[0].count) == 1, 5000));
    ck_assert_int_eq(atomic_load(&calls[0].status), 0);
    ck_assert_int_eq(atomic_load(&calls[0].had_reply), 1);
    tu_sleep_ms(250);
    ck_assert_int_eq(atomic_load(&calls[0].count), 1);
    sky_node_stat st;
    sky_node_stat_get(node, &st);
    ck_assert_uint_eq(st.late_replies, 0);
    sky_node_free(node);
}
END_TEST

Suite *timer_suite(void)
{
    Suite *s = suite_create("timer");
    TCase *tc = tu_tcase("timeout");
    tcase_add_test(tc, test_timer_deadline_order);
    tcase_add_test(tc, test_timer_equal_delays);
    tcase_add_test(tc, test_timer_zero_and_sessions);
    tcase_add_test(tc, test_timer_not_early);
    tcase_add_test(tc, test_timer_after_exit);
    suite_add_tcase(s, tc);
    tc = tu_tcase("deadline");
    tcase_add_test(tc, test_call_deadline);
    tcase_add_test(tc, test_call_deadlines_order);
    tcase_add_test(tc, test_late_reply_dropped);
    tcase_add_test(tc, test_answered_call_no_timeout);
    suite_add_tcase(s, tc);
    return s;
}
