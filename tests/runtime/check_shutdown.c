/* Node life: configuration, start, wait, shutdown and sky_node_free in
 * every state, mail in flight included (run under valgrind/ASan to see
 * leaks and use-after-free). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "testutil.h"

enum { T_KICK = 1, T_STOP = 2 };

/* ---- flood: services that keep each other busy ------------------------- */

#define FLOOD_N 40
#define FLOOD_TOKENS 16

static sky_addr_t flood_peers[FLOOD_N];
static atomic_long flood_created, flood_released, flood_spawned, flood_cb;

typedef struct flood {
    unsigned seed;
    unsigned handled;
    sky_token tok[FLOOD_TOKENS];
    int ntok;
    int child;
} flood;

static void *flood_create(void)
{
    atomic_fetch_add(&flood_created, 1);
    return calloc(1, sizeof(flood));
}

static void flood_release(void *st)
{
    atomic_fetch_add(&flood_released, 1);
    free(st);
}

static int flood_init(void *st, sky_ctx *ctx, const char *args)
{
    flood *f = st;
    f->seed = tu_seed(sky_self(ctx));
    f->child = strcmp(args, "child") == 0;
    /* a timer that never fires before the node goes */
    return sky_timeout(ctx, 600000, 1);
}

static void flood_reply(sky_ctx *ctx, int status, const sky_msg *reply, void *ud)
{
    (void)ctx, (void)status, (void)reply, (void)ud;
    atomic_fetch_add(&flood_cb, 1);
}

static sky_addr_t peer(flood *f) { return flood_peers[rand_r(&f->seed) % FLOOD_N]; }

static int flood_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    flood *f = st;
    char big[100];
    memset(big, 'b', sizeof big);
    f->handled++;
    if (m->kind == SKY_REQUEST) {
        if (rand_r(&f->seed) % 2) return sky_reply_copy(ctx, m, 0, big, sizeof big);
        if (f->ntok == FLOOD_TOKENS) { /* answer the oldest to make room */
            sky_msg resp = {.size = 0};
            (void)sky_respond(ctx, f->tok[0], &resp);
            memmove(f->tok, f->tok + 1, sizeof f->tok[0] * (FLOOD_TOKENS - 1));
            f->ntok--;
        }
        f->tok[f->ntok++] = sky_defer(ctx, m);
        return 0;
    }
    if (f->child && f->handled >= 5) {
        sky_exit(ctx);
        return 0;
    }
    /* two oneways (one small, one on the heap) ... */
    TU_IGNORE(sky_send_copy(ctx, peer(f), T_KICK, "kick", 4));
    TU_IGNORE(sky_send_copy(ctx, peer(f), T_KICK, big, sizeof big));
    /* ... now and then a call, a short timer, a child */
    if (f->handled % 8 == 0) {
        sky_msg req = {.size = sizeof big, .data = memcpy(malloc(sizeof big), big, sizeof big)};
        TU_IGNORE(sky_call(ctx, peer(f), &req, rand_r(&f->seed) % 2 ? 60000 : 5, flood_reply, NULL));
    }
    if (f->handled % 16 == 0) TU_IGNORE(sky_timeout(ctx, (int)(rand_r(&f->seed) % 20), 2));
    if (f->handled % 64 == 0 && atomic_fetch_add(&flood_spawned, 1) < 50) {
        sky_addr_t c;
        if (sky_spawn(ctx, "flood", "child", &c) == 0) TU_IGNORE(sky_send_copy(ctx, c, T_KICK, NULL, 0));
    }
    return 0;
}

static const sky_module flood_module = {"flood", flood_create, flood_init, flood_handle, flood_release};

static const int flood_threads[] = {1, 2, 4};

START_TEST(test_free_with_mail_in_flight)
{
    atomic_store(&flood_created, 0);
    atomic_store(&flood_released, 0);
    atomic_store(&flood_spawned, 0);
    atomic_store(&flood_cb, 0);
    sky_config cfg;
    tu_config(&cfg, flood_threads[_i]);
    cfg.mailbox_limit = 64;
    sky_node *node = tu_start(&cfg, &flood_module, NULL);
    for (int i = 0; i < FLOOD_N; i++) flood_peers[i] = tu_spawn(node, "flood", "");
    /* the first kicks start the flood: later ones may find a full mailbox */
    for (int i = 0; i < FLOOD_N; i++) {
        int rc = tu_send(node, flood_peers[i], T_KICK, NULL, 0);
        ck_assert(rc == 0 || rc == SKY_EBUSY);
    }
    sky_node_stat st;
    ck_assert_msg(TU_WAIT(({
                              sky_node_stat_get(node, &st);
                              st.messages > 5000 && atomic_load(&flood_cb) > 50;
                          }),
                          5000),
                  "the flood did not get going: %llu messages", (unsigned long long)st.messages);
    sky_node_stat_get(node, &st);
    ck_assert_uint_gt(st.dropped, 0); /* the mailboxes really were full */
    sky_node_free(node);
    ck_assert_int_gt(atomic_load(&flood_created), FLOOD_N);
    ck_assert_int_eq(atomic_load(&flood_released), atomic_load(&flood_created));
}
END_TEST

/* ---- free in every state ----------------------------------------------- */

START_TEST(test_free_never_started)
{
    char err[128];
    sky_node *node = sky_node_new(NULL, err, sizeof err);
    ck_assert_ptr_nonnull(node);
    sky_node_free(node);
    sky_node_free(NULL);

    /* with a service spawned and mail sent before start */
    atomic_store(&flood_created, 0);
    atomic_store(&flood_released, 0);
    sky_config cfg;
    tu_config(&cfg, 2);
    node = sky_node_new(&cfg, err, sizeof err);
    ck_assert_ptr_nonnull(node);
    ck_assert_int_eq(sky_node_register_module(node, &tu_echo_module), 0);
    ck_assert_int_eq(sky_node_register_module(node, &flood_module), 0);
    sky_addr_t a = tu_spawn(node, "echo", "");
    ck_assert_int_eq(tu_send(node, a, 1, "hello, not yet started", 22), 0);
    tu_spawn(node, "flood", "");
    sky_node_free(node);
    ck_assert_int_eq(atomic_load(&flood_released), 1);
}
END_TEST

START_TEST(test_free_right_after_start)
{
    sky_node *node = tu_node(2, NULL);
    sky_node_free(node);

    node = tu_node(4, &tu_echo_module, NULL);
    sky_addr_t a = tu_spawn(node, "echo", "");
    for (int i = 0; i < 100; i++) ck_assert_int_eq(tu_send(node, a, 1, "in flight", 9), 0);
    sky_node_free(node);
}
END_TEST

START_TEST(test_start_twice)
{
    sky_node *node = tu_node(1, NULL);
    ck_assert_int_eq(sky_node_start(node), SKY_EINVAL);
    sky_node_free(node);
}
END_TEST

/* ---- wait and shutdown ------------------------------------------------- */

/* stopper: 50 ms after init, calls sky_shutdown. */
static int stopper_init(void *st, sky_ctx *ctx, const char *args)
{
    (void)st, (void)args;
    return sky_timeout(ctx, 50, 1);
}

static int stopper_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st;
    if (m->kind == SKY_TIMER) sky_shutdown(ctx);
    return 0;
}

static const sky_module stopper_module = {"stopper", NULL, stopper_init, stopper_handle, NULL};

START_TEST(test_wait_after_service_shutdown)
{
    sky_node *node = tu_node(2, &stopper_module, &tu_echo_module, NULL);
    tu_spawn(node, "stopper", "");
    ck_assert_int_eq(sky_node_wait(node, tu_ms(10000)), 0);
    /* stopping: no new services, no calls from outside */
    sky_addr_t a = SKY_ADDR_NONE;
    ck_assert_int_eq(sky_node_spawn(node, "echo", "", &a, NULL, 0), SKY_ESTOPPED);
    sky_msg req = {.size = 0}, reply;
    ck_assert_int_eq(sky_node_call(node, sky_node_whereis(node, "logger"), &req, 0, &reply, NULL, 0), SKY_ESTOPPED);
    /* waiting again returns at once */
    ck_assert_int_eq(sky_node_wait(node, 0), 0);
    sky_node_free(node);
}
END_TEST

static void *shutdown_later(void *arg)
{
    tu_sleep_ms(100);
    sky_node_shutdown(arg);
    return NULL;
}

START_TEST(test_wait_timeout)
{
    sky_node *node = tu_node(1, NULL);
    uint64_t t0 = tu_now_ms();
    ck_assert_int_eq(sky_node_wait(node, 100), SKY_ETIMEDOUT);
    ck_assert_uint_ge(tu_now_ms() - t0, 99);
    ck_assert_int_eq(sky_node_wait(node, 0), SKY_ETIMEDOUT);
    ck_assert_int_eq(sky_node_wait(node, 1), SKY_ETIMEDOUT);
    /* a shutdown from another thread ends a long wait */
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, shutdown_later, node), 0);
    ck_assert_int_eq(sky_node_wait(node, tu_ms(10000)), 0);
    pthread_join(th, NULL);
    sky_node_free(node);
}
END_TEST

START_TEST(test_shutdown_from_outside)
{
    sky_node *node = tu_node(2, NULL);
    sky_node_shutdown(node);
    sky_node_shutdown(node); /* twice is fine */
    ck_assert_int_eq(sky_node_wait(node, tu_ms(10000)), 0);
    sky_node_free(node);
}
END_TEST

/* A thread blocked in sky_node_call returns SKY_ESTOPPED when the node is
 * asked to shut down, without waiting out the call's deadline. */
typedef struct blocked_call {
    sky_node *node;
    sky_addr_t to;
    atomic_int rc;
    atomic_int done;
} blocked_call;

static void *call_hole(void *arg)
{
    blocked_call *b = arg;
    sky_msg req = {.size = 0}, reply;
    atomic_store(&b->rc, sky_node_call(b->node, b->to, &req, 8000, &reply, NULL, 0));
    atomic_store(&b->done, 1);
    return NULL;
}

START_TEST(test_shutdown_ends_node_call)
{
    sky_node *node = tu_node(2, &tu_hole_module, NULL);
    sky_addr_t hole = tu_spawn(node, "hole", "");
    blocked_call b = {node, hole, 1, 0};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, call_hole, &b), 0);
    ck_assert(TU_WAIT(tu_stat(node, hole).received == 1, 5000));
    sky_node_shutdown(node);
    int returned = TU_WAIT(atomic_load(&b.done), 2000);
    pthread_join(th, NULL);
    sky_node_free(node); /* before asserting: a failure must not leak the node */
    int rc = atomic_load(&b.rc);
    ck_assert_msg(returned, "sky_node_call kept blocking after shutdown (returned %s at its deadline)",
                  sky_errname(rc));
    ck_assert_msg(rc == SKY_ESTOPPED, "sky_node_call returned %s after shutdown, expected ESTOPPED",
                  sky_errname(rc));
}
END_TEST

/* ---- the logger is drained on free ------------------------------------- */

static int chatty_init(void *st, sky_ctx *ctx, const char *args)
{
    (void)st, (void)args;
    for (int i = 0; i < 200; i++) sky_log(ctx, SKY_LOG_WARN, "chatty line %d", i);
    return 0;
}

static const sky_module chatty_module = {"chatty", NULL, chatty_init, stopper_handle, NULL};

START_TEST(test_free_writes_pending_log_lines)
{
    char path[] = "/tmp/sky-check-log-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    sky_config cfg;
    tu_config(&cfg, 1);
    cfg.log_path = path;
    cfg.log_level = SKY_LOG_WARN;
    sky_node *node = tu_start(&cfg, &chatty_module, NULL);
    tu_spawn(node, "chatty", "");
    sky_node_free(node);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        char want[32];
        snprintf(want, sizeof want, "chatty line %d\n", n);
        if (strstr(line, want)) n++;
    }
    fclose(f);
    unlink(path);
    ck_assert_int_eq(n, 200);
}
END_TEST

/* ---- configuration ----------------------------------------------------- */

START_TEST(test_config_defaults)
{
    sky_config cfg;
    memset(&cfg, 0x5a, sizeof cfg);
    sky_config_init(&cfg);
    ck_assert_int_eq(cfg.threads, 0);
    ck_assert_uint_eq(cfg.node_id, 1);
    ck_assert_str_eq(cfg.module_path, "./?.so");
    ck_assert_uint_eq(cfg.mailbox_limit, 65536);
    ck_assert_uint_eq(cfg.overload_warn, 1024);
    ck_assert_int_eq(cfg.call_timeout_ms, 5000);
    ck_assert_int_eq(cfg.batch, 32);
    ck_assert_uint_eq(cfg.max_services, (size_t)1 << 22);
    ck_assert_ptr_null(cfg.log_path);
}
END_TEST

/* Bad values, each with the setting its error must name. */
static const char *const bad_settings[] = {"threads", "threads", "mailbox_limit", "call_timeout_ms",
                                           "call_timeout_ms", "batch", "batch", "max_services",
                                           "log_level", "log_level"};

static void spoil(sky_config *c, int i)
{
    switch (i) {
    case 0: c->threads = -1; break;
    case 1: c->threads = 100000; break;
    case 2: c->mailbox_limit = 0; break;
    case 3: c->call_timeout_ms = 0; break;
    case 4: c->call_timeout_ms = -5; break;
    case 5: c->batch = 0; break;
    case 6: c->batch = -1; break;
    case 7: c->max_services = 0; break;
    case 8: c->log_level = 9; break;
    case 9: c->log_level = -1; break;
    }
}

START_TEST(test_bad_config)
{
    sky_config cfg;
    sky_config_init(&cfg);
    spoil(&cfg, _i);
    char err[256] = "";
    sky_node *node = sky_node_new(&cfg, err, sizeof err);
    ck_assert_msg(node == NULL, "a bad %s was accepted", bad_settings[_i]);
    ck_assert_msg(strstr(err, bad_settings[_i]) != NULL, "error \"%s\" does not name %s", err, bad_settings[_i]);
    /* no error buffer: still NULL, no crash */
    ck_assert_ptr_null(sky_node_new(&cfg, NULL, 0));
}
END_TEST

/* The config's strings are copied: the caller may reuse its buffers. */
START_TEST(test_config_strings_copied)
{
    char name[32] = "copied";
    sky_config cfg;
    tu_config(&cfg, 1);
    cfg.node_name = name;
    sky_node *node = sky_node_new(&cfg, NULL, 0);
    ck_assert_ptr_nonnull(node);
    memset(name, 'x', sizeof name - 1);
    ck_assert_int_eq(sky_node_start(node), 0);
    sky_node_free(node);
}
END_TEST

Suite *shutdown_suite(void)
{
    Suite *s = suite_create("shutdown");
    TCase *tc = tu_tcase("free");
    tcase_add_loop_test(tc, test_free_with_mail_in_flight, 0, (int)(sizeof flood_threads / sizeof flood_threads[0]));
    tcase_add_test(tc, test_free_never_started);
    tcase_add_test(tc, test_free_right_after_start);
    tcase_add_test(tc, test_start_twice);
    tcase_add_test(tc, test_free_writes_pending_log_lines);
    suite_add_tcase(s, tc);
    tc = tu_tcase("wait");
    tcase_add_test(tc, test_wait_after_service_shutdown);
    tcase_add_test(tc, test_wait_timeout);
    tcase_add_test(tc, test_shutdown_from_outside);
    tcase_add_test(tc, test_shutdown_ends_node_call);
    suite_add_tcase(s, tc);
    tc = tu_tcase("config");
    tcase_add_test(tc, test_config_defaults);
    tcase_add_loop_test(tc, test_bad_config, 0, (int)(sizeof bad_settings / sizeof bad_settings[0]));
    tcase_add_test(tc, test_config_strings_copied);
    suite_add_tcase(s, tc);
    return s;
}
