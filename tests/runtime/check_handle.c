/* Addresses and names: node id in the high bits, serials never reused,
 * stale addresses never reach a newer service, the name registry. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"

/* ---- the test module ---------------------------------------------------
 *
 * init args:
 *   "exit"           exits at once (sky_exit in init);
 *   "names:a;b;!"    registers each name, stopping at the first error and
 *                    returning it; "!" fails the init with SKY_EFAIL;
 *   "idx:N"          remembers N;
 *   anything else    stays.
 * handle: a oneway of type T_IDX carries an int that must equal N (a
 * mismatch is counted); T_WHEREIS carries a name and records
 * sky_whereis(name); T_EXIT exits. Every oneway is counted. */

enum { T_IDX = 1, T_WHEREIS = 2, T_EXIT = 3, T_SELF = 4 };

typedef struct svc {
    int idx;
} svc;

static atomic_long got;        /* oneways handled by any svc */
static atomic_long mismatched; /* T_IDX with someone else's index */
static atomic_long released;
static tu_rec found; /* sky_whereis results, and sky_self/dest pairs */

static void reset(void)
{
    atomic_store(&got, 0);
    atomic_store(&mismatched, 0);
    atomic_store(&released, 0);
    tu_rec_init(&found);
}

static void *svc_create(void) { return calloc(1, sizeof(svc)); }

static void svc_release(void *st)
{
    atomic_fetch_add(&released, 1);
    free(st);
}

static int svc_init(void *st, sky_ctx *ctx, const char *args)
{
    svc *s = st;
    s->idx = -1;
    if (strcmp(args, "exit") == 0) {
        sky_exit(ctx);
        return 0;
    }
    if (strncmp(args, "idx:", 4) == 0) {
        s->idx = atoi(args + 4);
        return 0;
    }
    if (strncmp(args, "names:", 6) == 0) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", args + 6);
        char *save = NULL;
        /* split by hand: strtok would skip an empty name */
        for (char *p = buf;; p = save) {
            char *semi = strchr(p, ';');
            if (semi) *semi = 0;
            save = semi ? semi + 1 : NULL;
            if (strcmp(p, "!") == 0) return SKY_EFAIL;
            int rc = sky_register(ctx, p);
            if (rc != 0) return rc;
            if (!save) break;
        }
    }
    return 0;
}

static int svc_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    svc *s = st;
    if (m->kind != SKY_ONEWAY) return 0;
    atomic_fetch_add(&got, 1);
    switch (m->type_id) {
    case T_IDX: {
        int idx = -2;
        if (m->size == sizeof idx) memcpy(&idx, m->data, sizeof idx);
        if (idx != s->idx) atomic_fetch_add(&mismatched, 1);
        break;
    }
    case T_WHEREIS: {
        char name[128];
        size_t n = m->size < sizeof name - 1 ? m->size : sizeof name - 1;
        memcpy(name, m->data, n);
        name[n] = 0;
        tu_rec_add(&found, (int64_t)sky_whereis(ctx, name));
        break;
    }
    case T_EXIT:
        sky_exit(ctx);
        break;
    case T_SELF:
        tu_rec_add(&found, (int64_t)sky_self(ctx));
        tu_rec_add(&found, (int64_t)m->dest);
        break;
    }
    return 0;
}

static const sky_module svc_module = {"svc", svc_create, svc_init, svc_handle, svc_release};

/* Kills `a` from outside and waits until it is gone. */
static void kill_and_wait(sky_node *node, sky_addr_t a)
{
    ck_assert_int_eq(sky_node_kill(node, a), 0);
    ck_assert_msg(TU_WAIT(!tu_alive(node, a), 5000), "killed service still alive");
}

/* ---- addresses --------------------------------------------------------- */

static const uint16_t node_ids[] = {1, 0x1234, 0xffff, 0};

START_TEST(test_addr_node_bits)
{
    reset();
    sky_config cfg;
    tu_config(&cfg, 2);
    cfg.node_id = node_ids[_i];
    sky_node *node = tu_start(&cfg, &svc_module, NULL);
    ck_assert_uint_eq(sky_node_id(node), node_ids[_i]);

    sky_addr_t logger = sky_node_whereis(node, "logger");
    ck_assert_msg(logger != SKY_ADDR_NONE, "the logger registers as \"logger\"");
    ck_assert_uint_eq(SKY_ADDR_NODE(logger), node_ids[_i]);

    sky_addr_t a = tu_spawn(node, "svc", "");
    ck_assert_uint_eq(SKY_ADDR_NODE(a), node_ids[_i]);
    ck_assert_uint_ne(SKY_ADDR_SERIAL(a), 0);
    ck_assert_uint_ne(SKY_ADDR_SERIAL(a), SKY_ADDR_SERIAL(logger));

    /* the service sees the same address as sky_self and as msg->dest */
    ck_assert_int_eq(tu_send(node, a, T_SELF, NULL, 0), 0);
    ck_assert(TU_WAIT(tu_rec_count(&found) == 2, 5000));
    ck_assert_uint_eq((sky_addr_t)tu_rec_get(&found, 0), a);
    ck_assert_uint_eq((sky_addr_t)tu_rec_get(&found, 1), a);

    /* the same serial under another node id is not ours */
    sky_addr_t other = SKY_ADDR((uint16_t)(node_ids[_i] + 1), SKY_ADDR_SERIAL(a));
    ck_assert_int_eq(tu_send(node, other, T_SELF, NULL, 0), SKY_ENOSVC);
    ck_assert_int_eq(tu_send(node, SKY_ADDR_NONE, T_SELF, NULL, 0), SKY_ENOSVC);
    sky_node_free(node);
}
END_TEST

START_TEST(test_serials_never_reused)
{
    enum { CYCLES = 3000 };
    reset();
    sky_node *node = tu_node(2, &svc_module, NULL);
    sky_node_stat st0;
    sky_node_stat_get(node, &st0);
    sky_addr_t *seen = calloc(CYCLES, sizeof *seen);
    sky_addr_t prev = sky_node_whereis(node, "logger");
    for (int i = 0; i < CYCLES; i++) {
        /* mostly services that end in init (fast), every 50th a live one
         * killed from outside, so both ways of dying recycle memory */
        int live = i % 50 == 0;
        sky_addr_t a = tu_spawn(node, "svc", live ? "" : "exit");
        if (live) kill_and_wait(node, a);
        ck_assert_msg(SKY_ADDR_NODE(a) == SKY_ADDR_NODE(prev), "node id changed");
        ck_assert_msg(SKY_ADDR_SERIAL(a) > SKY_ADDR_SERIAL(prev), "serial %llu after %llu: reused or reordered",
                      (unsigned long long)SKY_ADDR_SERIAL(a), (unsigned long long)SKY_ADDR_SERIAL(prev));
        seen[i] = prev = a;
    }
    for (int i = 0; i < CYCLES; i++) {
        ck_assert_int_eq(tu_send(node, seen[i], T_IDX, &i, sizeof i), SKY_ENOSVC);
        ck_assert_int_eq(sky_node_kill(node, seen[i]), SKY_ENOSVC);
    }
    ck_assert(TU_WAIT(atomic_load(&released) == CYCLES, 5000));
    sky_node_stat st;
    sky_node_stat_get(node, &st);
    ck_assert_uint_eq(st.spawned - st0.spawned, CYCLES);
    ck_assert_uint_eq(st.services, st0.services);
    ck_assert_int_eq(atomic_load(&got), 0);
    free(seen);
    sky_node_free(node);
}
END_TEST

/* A dead service's slot in the address table and its memory are reused by
 * a newer service: the old address must still fail, and the newer service
 * must not get the mail. */
START_TEST(test_stale_after_recycle)
{
    reset();
    sky_node *node = tu_node(2, &svc_module, NULL);
    sky_addr_t a = tu_spawn(node, "svc", "idx:1");
    kill_and_wait(node, a);

    /* a live service whose serial lands in a's slot of the (64-entry)
     * table; the rest die again so the table stays small */
    sky_addr_t b = SKY_ADDR_NONE;
    for (int i = 0; i < 200 && b == SKY_ADDR_NONE; i++) {
        sky_addr_t c = tu_spawn(node, "svc", "idx:2");
        if (SKY_ADDR_SERIAL(c) % 64 == SKY_ADDR_SERIAL(a) % 64)
            b = c;
        else
            kill_and_wait(node, c);
    }
    ck_assert_msg(b != SKY_ADDR_NONE, "no serial landed in the old slot");
    ck_assert_uint_ne(b, a);

    int one = 1;
    ck_assert_int_eq(tu_send(node, a, T_IDX, &one, sizeof one), SKY_ENOSVC);
    ck_assert_int_eq(sky_node_kill(node, a), SKY_ENOSVC);
    sky_service_stat st;
    ck_assert_int_eq(sky_service_stat_get(node, a, &st), SKY_ENOSVC);
    sky_msg req = {.size = 0};
    sky_msg reply;
    ck_assert_int_eq(sky_node_call(node, a, &req, 1000, &reply, NULL, 0), SKY_ENOSVC);

    /* b is untouched and still works */
    tu_sleep_ms(20);
    ck_assert_int_eq(atomic_load(&got), 0);
    ck_assert(tu_alive(node, b));
    int two = 2;
    ck_assert_int_eq(tu_send(node, b, T_IDX, &two, sizeof two), 0);
    ck_assert(TU_WAIT(atomic_load(&got) == 1, 5000));
    ck_assert_int_eq(atomic_load(&mismatched), 0);
    sky_node_free(node);
}
END_TEST

/* Many live services (the table grows several times): every address still
 * reaches its own service. */
START_TEST(test_table_growth)
{
    enum { N = 600 };
    reset();
    sky_node *node = tu_node(2, &svc_module, NULL);
    sky_addr_t *addr = calloc(N, sizeof *addr);
    for (int i = 0; i < N; i++) {
        char args[32];
        snprintf(args, sizeof args, "idx:%d", i);
        addr[i] = tu_spawn(node, "svc", args);
    }
    for (int i = 0; i < N; i++) ck_assert_int_eq(tu_send(node, addr[i], T_IDX, &i, sizeof i), 0);
    ck_assert(TU_WAIT(atomic_load(&got) == N, 10000));
    ck_assert_int_eq(atomic_load(&mismatched), 0);
    /* kill every other one: the rest keep working */
    for (int i = 0; i < N; i += 2) ck_assert_int_eq(sky_node_kill(node, addr[i]), 0);
    ck_assert(TU_WAIT(atomic_load(&released) == N / 2, 10000));
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(tu_send(node, addr[i], T_IDX, &i, sizeof i), i % 2 ? 0 : SKY_ENOSVC);
    ck_assert(TU_WAIT(atomic_load(&got) == N + N / 2, 10000));
    ck_assert_int_eq(atomic_load(&mismatched), 0);
    free(addr);
    sky_node_free(node);
}
END_TEST

START_TEST(test_max_services)
{
    reset();
    sky_config cfg;
    tu_config(&cfg, 1);
    cfg.max_services = 3; /* the logger and two more */
    sky_node *node = tu_start(&cfg, &svc_module, NULL);
    sky_addr_t a = tu_spawn(node, "svc", "");
    tu_spawn(node, "svc", "");
    sky_addr_t c = SKY_ADDR_NONE;
    ck_assert_int_eq(sky_node_spawn(node, "svc", "", &c, NULL, 0), SKY_ELIMIT);
    ck_assert_uint_eq(c, SKY_ADDR_NONE);
    kill_and_wait(node, a);
    tu_spawn(node, "svc", "");
    sky_node_free(node);
}
END_TEST

/* ---- names ------------------------------------------------------------- */

START_TEST(test_names_register_whereis)
{
    reset();
    sky_node *node = tu_node(2, &svc_module, NULL);
    ck_assert_uint_eq(sky_node_whereis(node, "alpha"), SKY_ADDR_NONE);
    ck_assert_uint_eq(sky_node_whereis(node, NULL), SKY_ADDR_NONE);
    sky_addr_t a = tu_spawn(node, "svc", "names:alpha");
    ck_assert_uint_eq(sky_node_whereis(node, "alpha"), a);
    ck_assert_uint_eq(sky_node_whereis(node, "alph"), SKY_ADDR_NONE);
    ck_assert_uint_eq(sky_node_whereis(node, "alphabet"), SKY_ADDR_NONE);

    /* a service sees the same through sky_whereis */
    sky_addr_t b = tu_spawn(node, "svc", "names:beta;gamma");
    ck_assert_uint_eq(sky_node_whereis(node, "beta"), b);
    ck_assert_uint_eq(sky_node_whereis(node, "gamma"), b);
    ck_assert_int_eq(tu_send(node, b, T_WHEREIS, "alpha", 5), 0);
    ck_assert_int_eq(tu_send(node, b, T_WHEREIS, "nobody", 6), 0);
    ck_assert(TU_WAIT(tu_rec_count(&found) == 2, 5000));
    ck_assert_uint_eq((sky_addr_t)tu_rec_get(&found, 0), a);
    ck_assert_uint_eq((sky_addr_t)tu_rec_get(&found, 1), SKY_ADDR_NONE);

    /* the name is taken: the second spawn fails with init's EEXIST */
    sky_addr_t c = SKY_ADDR_NONE;
    ck_assert_int_eq(sky_node_spawn(node, "svc", "names:alpha", &c, NULL, 0), SKY_EEXIST);
    ck_assert_int_eq(sky_node_spawn(node, "svc", "names:delta;beta", &c, NULL, 0), SKY_EEXIST);
    ck_assert_uint_eq(sky_node_whereis(node, "alpha"), a);
    ck_assert_uint_eq(sky_node_whereis(node, "beta"), b);
    /* ... and the failed one's own first name went with it */
    ck_assert_uint_eq(sky_node_whereis(node, "delta"), SKY_ADDR_NONE);
    /* so did the name of a service whose init failed after registering */
    ck_assert_int_eq(sky_node_spawn(node, "svc", "names:epsilon;!", &c, NULL, 0), SKY_EFAIL);
    ck_assert_uint_eq(sky_node_whereis(node, "epsilon"), SKY_ADDR_NONE);
    sky_node_free(node);
}
END_TEST

START_TEST(test_names_bad)
{
    reset();
    sky_node *node = tu_node(1, &svc_module, NULL);
    char n63[64], n64[65], args[128];
    memset(n63, 'x', 63);
    n63[63] = 0;
    memset(n64, 'y', 64);
    n64[64] = 0;
    sky_addr_t c = SKY_ADDR_NONE;
    ck_assert_int_eq(sky_node_spawn(node, "svc", "names:", &c, NULL, 0), SKY_EINVAL);
    snprintf(args, sizeof args, "names:%s", n64);
    ck_assert_int_eq(sky_node_spawn(node, "svc", args, &c, NULL, 0), SKY_EINVAL);
    ck_assert_uint_eq(sky_node_whereis(node, n64), SKY_ADDR_NONE);
    snprintf(args, sizeof args, "names:%s", n63);
    sky_addr_t a = tu_spawn(node, "svc", args);
    ck_assert_uint_eq(sky_node_whereis(node, n63), a);
    /* "logger" belongs to the node's logger */
    ck_assert_int_eq(sky_node_spawn(node, "svc", "names:logger", &c, NULL, 0), SKY_EEXIST);
    sky_node_free(node);
}
END_TEST

START_TEST(test_names_removed_on_exit)
{
    reset();
    sky_node *node = tu_node(2, &svc_module, NULL);
    sky_addr_t a = tu_spawn(node, "svc", "names:alpha;alias");
    sky_addr_t b = tu_spawn(node, "svc", "names:beta");

    /* killed from outside */
    kill_and_wait(node, a);
    ck_assert_uint_eq(sky_node_whereis(node, "alpha"), SKY_ADDR_NONE);
    ck_assert_uint_eq(sky_node_whereis(node, "alias"), SKY_ADDR_NONE);
    /* exits by itself */
    ck_assert_int_eq(tu_send(node, b, T_EXIT, NULL, 0), 0);
    ck_assert(TU_WAIT(!tu_alive(node, b), 5000));
    ck_assert_uint_eq(sky_node_whereis(node, "beta"), SKY_ADDR_NONE);

    /* the names are free again, for a new address */
    sky_addr_t a2 = tu_spawn(node, "svc", "names:alpha");
    ck_assert_uint_ne(a2, a);
    ck_assert_uint_eq(sky_node_whereis(node, "alpha"), a2);
    tu_spawn(node, "svc", "names:beta");
    sky_node_free(node);
}
END_TEST

Suite *handle_suite(void)
{
    Suite *s = suite_create("handle");
    TCase *tc = tu_tcase("addresses");
    tcase_add_loop_test(tc, test_addr_node_bits, 0, (int)(sizeof node_ids / sizeof node_ids[0]));
    tcase_add_test(tc, test_serials_never_reused);
    tcase_add_test(tc, test_stale_after_recycle);
    tcase_add_test(tc, test_table_growth);
    tcase_add_test(tc, test_max_services);
    suite_add_tcase(s, tc);
    tc = tu_tcase("names");
    tcase_add_test(tc, test_names_register_whereis);
    tcase_add_test(tc, test_names_bad);
    tcase_add_test(tc, test_names_removed_on_exit);
    suite_add_tcase(s, tc);
    return s;
}
