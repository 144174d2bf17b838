/* The scheduler: fairness, wake-ups without polling, many services on
 * several workers, and per sender->receiver order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"

enum { T_START = 1, T_PROBE = 2, T_DIRECT = 3, T_FWD = 4, T_SEQ = 5, T_GO = 6 };

static atomic_int stop;        /* busy services stop re-sending */
static atomic_long spins;      /* messages the busy services handled */
static atomic_long probes;     /* T_PROBE handled */
static atomic_long spins_at_probe;

static void reset(void)
{
    atomic_store(&stop, 0);
    atomic_store(&spins, 0);
    atomic_store(&probes, 0);
    atomic_store(&spins_at_probe, -1);
}

/* ---- fairness ---------------------------------------------------------- */

/* spin: every message it handles makes it send one more to itself. */
static int spin_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st, (void)m;
    atomic_fetch_add(&spins, 1);
    if (atomic_load(&stop)) return 0;
    return sky_send_copy(ctx, sky_self(ctx), T_START, NULL, 0);
}

static const sky_module spin_module = {"spin", NULL, NULL, spin_handle, NULL};

/* pingpong: args "<peer>" (hex address) or "": answers every message with
 * one to its peer, or to the sender when it has none; the pair keeps one
 * message going back and forth, hot on one worker. */
static int pp_init(void *st, sky_ctx *ctx, const char *args)
{
    (void)ctx;
    *(sky_addr_t *)st = *args ? (sky_addr_t)strtoull(args, NULL, 16) : SKY_ADDR_NONE;
    return 0;
}

static void *pp_create(void) { return calloc(1, sizeof(sky_addr_t)); }

static int pp_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    sky_addr_t peer = *(sky_addr_t *)st;
    atomic_fetch_add(&spins, 1);
    if (atomic_load(&stop)) return 0;
    return sky_send_copy(ctx, peer ? peer : m->source, T_START, NULL, 0);
}

static const sky_module pp_module = {"pingpong", pp_create, pp_init, pp_handle, free};

/* probe: counts T_PROBE and notes how far the busy services had got. */
static int probe_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st, (void)ctx;
    if (m->type_id == T_PROBE) {
        long expected = -1;
        atomic_compare_exchange_strong(&spins_at_probe, &expected, atomic_load(&spins));
        atomic_fetch_add(&probes, 1);
    }
    return 0;
}

static const sky_module probe_module = {"probe", NULL, NULL, probe_handle, NULL};

/* With one worker, a service that always has mail must still let another
 * service's message through while it keeps going. */
START_TEST(test_fair_self_sender)
{
    reset();
    sky_node *node = tu_node(1, &spin_module, &probe_module, NULL);
    sky_addr_t sp = tu_spawn(node, "spin", "");
    sky_addr_t pr = tu_spawn(node, "probe", "");
    ck_assert_int_eq(tu_send(node, sp, T_START, NULL, 0), 0);
    ck_assert(TU_WAIT(atomic_load(&spins) > 1000, 5000));
    for (int i = 0; i < 3; i++) ck_assert_int_eq(tu_send(node, pr, T_PROBE, NULL, 0), 0);
    ck_assert_msg(TU_WAIT(atomic_load(&probes) == 3, 5000), "the busy service starves the probe");
    /* the busy one was not finished first: it is still going */
    long seen = atomic_load(&spins);
    ck_assert(TU_WAIT(atomic_load(&spins) > seen + 100, 5000));
    atomic_store(&stop, 1);
    sky_node_free(node);
}
END_TEST

/* The same for a conversation that stays in a worker's "next" slot. */
START_TEST(test_fair_pingpong)
{
    reset();
    sky_node *node = tu_node(1, &pp_module, &probe_module, NULL);
    sky_addr_t q = tu_spawn(node, "pingpong", "");
    char args[32];
    snprintf(args, sizeof args, "%llx", (unsigned long long)q);
    sky_addr_t p = tu_spawn(node, "pingpong", args);
    sky_addr_t pr = tu_spawn(node, "probe", "");
    ck_assert_int_eq(tu_send(node, p, T_START, NULL, 0), 0);
    ck_assert(TU_WAIT(atomic_load(&spins) > 1000, 5000));
    for (int i = 0; i < 3; i++) ck_assert_int_eq(tu_send(node, pr, T_PROBE, NULL, 0), 0);
    ck_assert_msg(TU_WAIT(atomic_load(&probes) == 3, 5000), "the ping-pong pair starves the probe");
    long seen = atomic_load(&spins);
    ck_assert(TU_WAIT(atomic_load(&spins) > seen + 100, 5000));
    atomic_store(&stop, 1);
    sky_node_free(node);
}
END_TEST

/* ---- wake-ups ---------------------------------------------------------- */

/* idler: in init arms a long timer and starts a long call, so the node has
 * work pending but nothing to do. */
static void idler_reply(sky_ctx *ctx, int status, const sky_msg *reply, void *ud)
{
    (void)ctx, (void)status, (void)reply, (void)ud;
}

static int idler_init(void *st, sky_ctx *ctx, const char *args)
{
    (void)st;
    sky_addr_t hole = (sky_addr_t)strtoull(args, NULL, 16);
    int rc = sky_timeout(ctx, 60000, 1);
    if (rc != 0) return rc;
    sky_msg req = {.size = 0};
    return sky_call(ctx, hole, &req, 60000, idler_reply, NULL);
}

static const sky_module idler_module = {"idler", NULL, idler_init, probe_handle, NULL};

START_TEST(test_idle_no_polling)
{
    reset();
    sky_node *node = tu_node(2, &probe_module, &idler_module, &tu_hole_module, NULL);
    sky_addr_t pr = tu_spawn(node, "probe", "");
    char args[32];
    snprintf(args, sizeof args, "%llx", (unsigned long long)tu_spawn(node, "hole", ""));
    tu_spawn(node, "idler", args);

    /* let start-up settle, then watch an idle node */
    sky_node_stat s0, s1, s2;
    sky_node_stat_get(node, &s0);
    ck_assert(TU_WAIT(({
                          tu_sleep_ms(20);
                          sky_node_stat_get(node, &s1);
                          int same = s1.messages == s0.messages;
                          s0 = s1;
                          same;
                      }),
                      2000));
    sky_node_stat_get(node, &s0);
    tu_sleep_ms(250);
    sky_node_stat_get(node, &s1);
    ck_assert_msg(s1.wakeups - s0.wakeups <= 1, "idle workers woke %llu times in 250 ms: polling?",
                  (unsigned long long)(s1.wakeups - s0.wakeups));
    ck_assert_uint_eq(s1.messages, s0.messages);

    /* a send from outside wakes a worker and is handled */
    ck_assert_int_eq(tu_send(node, pr, T_PROBE, NULL, 0), 0);
    ck_assert_msg(TU_WAIT(atomic_load(&probes) == 1, 2000), "a send to an idle node was not handled");
    sky_node_stat_get(node, &s2);
    ck_assert_uint_gt(s2.wakeups, s1.wakeups);
    ck_assert_uint_gt(s2.messages, s1.messages);
    sky_node_free(node);
}
END_TEST

/* ---- many services ----------------------------------------------------- */

enum { MANY = 200, ROUNDS = 20 };
static atomic_int counts[MANY];
static sky_addr_t many_addr[MANY];

/* counter: args "<index>". A T_DIRECT is counted and forwarded as a T_FWD
 * to the next service; a T_FWD is counted. */
static void *counter_create(void) { return calloc(1, sizeof(int)); }

static int counter_init(void *st, sky_ctx *ctx, const char *args)
{
    (void)ctx;
    *(int *)st = atoi(args);
    return 0;
}

static int counter_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    int idx = *(int *)st;
    if (m->kind != SKY_ONEWAY) return 0;
    atomic_fetch_add(&counts[idx], 1);
    if (m->type_id == T_DIRECT) return sky_send_copy(ctx, many_addr[(idx + 1) % MANY], T_FWD, &idx, sizeof idx);
    return 0;
}

static const sky_module counter_module = {"counter", counter_create, counter_init, counter_handle, free};

static const int thread_counts[] = {2, 4};

START_TEST(test_many_services)
{
    reset();
    for (int i = 0; i < MANY; i++) atomic_store(&counts[i], 0);
    sky_node *node = tu_node(thread_counts[_i], &counter_module, NULL);
    for (int i = 0; i < MANY; i++) {
        char args[16];
        snprintf(args, sizeof args, "%d", i);
        many_addr[i] = tu_spawn(node, "counter", args);
    }
    sky_node_stat s0;
    sky_node_stat_get(node, &s0);
    for (int r = 0; r < ROUNDS; r++)
        for (int i = 0; i < MANY; i++) ck_assert_int_eq(tu_send(node, many_addr[i], T_DIRECT, &r, sizeof r), 0);
    int all = TU_WAIT(({
                          int done = 1;
                          for (int i = 0; i < MANY && done; i++) done = atomic_load(&counts[i]) == 2 * ROUNDS;
                          done;
                      }),
                      10000);
    for (int i = 0; i < MANY; i++)
        ck_assert_msg(atomic_load(&counts[i]) == 2 * ROUNDS, "service %d got %d of %d", i, atomic_load(&counts[i]),
                      2 * ROUNDS);
    ck_assert(all);
    sky_node_stat s1;
    sky_node_stat_get(node, &s1);
    ck_assert_uint_ge(s1.messages - s0.messages, 2 * ROUNDS * MANY);
    sky_node_free(node);
}
END_TEST

/* ---- order ------------------------------------------------------------- */

enum { SENDERS = 4, SEQS = 5000 };

/* order: remembers the last sequence number seen per source and counts
 * any that is not the previous one plus one. */
typedef struct order {
    sky_addr_t src[SENDERS + 1];
    uint32_t last[SENDERS + 1];
    int n;
} order;

static atomic_long in_order, out_of_order;

static void *order_create(void) { return calloc(1, sizeof(order)); }

static int order_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    order *o = st;
    (void)ctx;
    if (m->type_id != T_SEQ || m->size != sizeof(uint32_t)) return 0;
    uint32_t seq;
    memcpy(&seq, m->data, sizeof seq);
    int k = 0;
    while (k < o->n && o->src[k] != m->source) k++;
    if (k == o->n) {
        if (o->n == SENDERS + 1) {
            atomic_fetch_add(&out_of_order, 1);
            return 0;
        }
        o->src[o->n++] = m->source;
        o->last[k] = 0;
    }
    atomic_fetch_add(seq == o->last[k] + 1 ? &in_order : &out_of_order, 1);
    o->last[k] = seq;
    return 0;
}

static const sky_module order_module = {"order", order_create, NULL, order_handle, free};

/* seqsend: on T_GO {to} sends SEQS numbered oneways to `to`, a few at a
 * time, re-sending T_GO to itself in between so its turns interleave with
 * the others'. */
typedef struct seqsend {
    uint32_t next;
} seqsend;

static void *seqsend_create(void) { return calloc(1, sizeof(seqsend)); }

static int seqsend_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    seqsend *s = st;
    if (m->type_id != T_GO) return 0;
    sky_addr_t to;
    memcpy(&to, m->data, sizeof to);
    for (int i = 0; i < 50 && s->next < SEQS; i++) {
        s->next++;
        int rc = sky_send_copy(ctx, to, T_SEQ, &s->next, sizeof s->next);
        if (rc != 0) return rc;
    }
    if (s->next < SEQS) return sky_send_copy(ctx, sky_self(ctx), T_GO, &to, sizeof to);
    return 0;
}

static const sky_module seqsend_module = {"seqsend", seqsend_create, NULL, seqsend_handle, free};

START_TEST(test_fifo_per_pair)
{
    atomic_store(&in_order, 0);
    atomic_store(&out_of_order, 0);
    sky_node *node = tu_node(4, &order_module, &seqsend_module, NULL);
    sky_addr_t rcv = tu_spawn(node, "order", "");
    for (int i = 0; i < SENDERS; i++) {
        sky_addr_t s = tu_spawn(node, "seqsend", "");
        ck_assert_int_eq(tu_send(node, s, T_GO, &rcv, sizeof rcv), 0);
    }
    /* this thread is one more sender (source SKY_ADDR_NONE) */
    for (uint32_t seq = 1; seq <= SEQS; seq++) ck_assert_int_eq(tu_send(node, rcv, T_SEQ, &seq, sizeof seq), 0);
    ck_assert(TU_WAIT(atomic_load(&in_order) + atomic_load(&out_of_order) == (SENDERS + 1) * SEQS, 10000));
    ck_assert_int_eq(atomic_load(&out_of_order), 0);
    sky_node_free(node);
}
END_TEST

/* ---- two nodes in one process ------------------------------------------ */

/* relay: forwards every oneway, from its own worker, into another node
 * (args: the node pointer and the address there). */
typedef struct relay {
    sky_node *to_node;
    sky_addr_t to;
} relay;

static void *relay_create(void) { return calloc(1, sizeof(relay)); }

static int relay_init(void *st, sky_ctx *ctx, const char *args)
{
    relay *r = st;
    (void)ctx;
    void *p = NULL;
    unsigned long long to = 0;
    if (sscanf(args, "%p %llx", &p, &to) != 2) return SKY_EINVAL;
    r->to_node = p;
    r->to = (sky_addr_t)to;
    return 0;
}

static int relay_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    relay *r = st;
    (void)ctx;
    if (m->kind != SKY_ONEWAY) return 0;
    sky_msg fwd = {.type_id = T_PROBE, .size = m->size, .data = m->size ? memcpy(malloc(m->size), m->data, m->size) : NULL};
    return sky_node_send(r->to_node, r->to, &fwd);
}

static const sky_module relay_module = {"relay", relay_create, relay_init, relay_handle, free};

/* A worker of one node making a service of another node runnable must hand
 * it to that node's workers, not keep it for itself. */
START_TEST(test_two_nodes)
{
    reset();
    sky_config ca, cb;
    tu_config(&ca, 2);
    tu_config(&cb, 2);
    ca.node_id = 10;
    cb.node_id = 11;
    sky_node *a = tu_start(&ca, &relay_module, NULL);
    sky_node *b = tu_start(&cb, &probe_module, NULL);
    sky_addr_t pr = tu_spawn(b, "probe", "");
    char args[64];
    snprintf(args, sizeof args, "%p %llx", (void *)b, (unsigned long long)pr);
    sky_addr_t rl = tu_spawn(a, "relay", args);
    for (int i = 0; i < 100; i++) ck_assert_int_eq(tu_send(a, rl, 1, &i, sizeof i), 0);
    ck_assert(TU_WAIT(atomic_load(&probes) == 100, 5000));
    /* node a's address means nothing to node b */
    ck_assert_int_eq(tu_send(b, rl, 1, NULL, 0), SKY_ENOSVC);
    sky_node_free(a);
    sky_node_free(b);
}
END_TEST

Suite *sched_suite(void)
{
    Suite *s = suite_create("sched");
    TCase *tc = tu_tcase("fairness");
    tcase_add_test(tc, test_fair_self_sender);
    tcase_add_test(tc, test_fair_pingpong);
    suite_add_tcase(s, tc);
    tc = tu_tcase("wakeup");
    tcase_add_test(tc, test_idle_no_polling);
    suite_add_tcase(s, tc);
    tc = tu_tcase("many");
    tcase_add_loop_test(tc, test_many_services, 0, (int)(sizeof thread_counts / sizeof thread_counts[0]));
    tcase_add_test(tc, test_fifo_per_pair);
    tcase_add_test(tc, test_two_nodes);
    suite_add_tcase(s, tc);
    return s;
}
