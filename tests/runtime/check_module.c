/* Modules: static registration, dlopen from the module path (testmod.so in
 * $SKY_TEST_MODDIR), errors naming the paths searched, bad names, and
 * init failures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"

static atomic_int inits, releases;

static void *counted_create(void) { return malloc(16); }

static void counted_release(void *st)
{
    atomic_fetch_add(&releases, 1);
    free(st);
}

/* init args: "" succeeds, else a number to return. */
static int counted_init(void *st, sky_ctx *ctx, const char *args)
{
    (void)st, (void)ctx;
    atomic_fetch_add(&inits, 1);
    return *args ? atoi(args) : 0;
}

static int counted_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st;
    if (m->kind == SKY_REQUEST) return sky_reply_copy(ctx, m, m->type_id, m->data, m->size);
    return 0;
}

static const sky_module counted_module = {"counted", counted_create, counted_init, counted_handle, counted_release};
static const sky_module counted_again = {"counted", NULL, NULL, counted_handle, NULL};
static const sky_module no_handle = {"nohandle", NULL, NULL, NULL, NULL};
static const sky_module empty_name = {"", NULL, NULL, counted_handle, NULL};
static const sky_module null_name = {NULL, NULL, NULL, counted_handle, NULL};
static const sky_module dots_name = {"../x", NULL, NULL, counted_handle, NULL};
static const sky_module slash_name = {"a/b", NULL, NULL, counted_handle, NULL};
static const sky_module logger_name = {"logger", NULL, NULL, counted_handle, NULL};

/* The module path "<SKY_TEST_MODDIR>/?.so", or fails the test. */
static const char *moddir(void)
{
    const char *d = getenv("SKY_TEST_MODDIR");
    ck_assert_msg(d && *d, "set SKY_TEST_MODDIR to the directory holding testmod.so (make check does)");
    return d;
}

static sky_node *node_with_path(const char *path)
{
    sky_config cfg;
    tu_config(&cfg, 2);
    cfg.module_path = path;
    return tu_start(&cfg, NULL);
}

static int echo_call(sky_node *node, sky_addr_t to)
{
    const char text[] = "a payload longer than sixteen bytes";
    sky_msg req = {.type_id = 5, .size = sizeof text, .data = memcpy(malloc(sizeof text), text, sizeof text)};
    sky_msg reply;
    int rc = sky_node_call(node, to, &req, 0, &reply, NULL, 0);
    if (rc != 0) return rc;
    int same = reply.size == sizeof text && memcmp(reply.data, text, sizeof text) == 0 && reply.type_id == 5;
    free(reply.data);
    return same ? 0 : SKY_EBADMSG;
}

/* ---- static registration ----------------------------------------------- */

START_TEST(test_register)
{
    atomic_store(&inits, 0);
    atomic_store(&releases, 0);
    sky_node *node = tu_node(2, NULL);
    ck_assert_int_eq(sky_node_register_module(node, &counted_module), 0);
    ck_assert_int_eq(sky_node_register_module(node, &counted_module), SKY_EEXIST);
    ck_assert_int_eq(sky_node_register_module(node, &counted_again), SKY_EEXIST);
    ck_assert_int_eq(sky_node_register_module(node, &logger_name), SKY_EEXIST);
    ck_assert_int_eq(sky_node_register_module(node, NULL), SKY_EINVAL);
    ck_assert_int_eq(sky_node_register_module(node, &no_handle), SKY_EINVAL);
    ck_assert_int_eq(sky_node_register_module(node, &empty_name), SKY_EINVAL);
    ck_assert_int_eq(sky_node_register_module(node, &null_name), SKY_EINVAL);
    sky_addr_t a = tu_spawn(node, "counted", "");
    ck_assert_int_eq(atomic_load(&inits), 1);
    ck_assert_int_eq(echo_call(node, a), 0);
    ck_assert_int_eq(sky_node_kill(node, a), 0);
    ck_assert(TU_WAIT(atomic_load(&releases) == 1, 5000));
    sky_node_free(node);
}
END_TEST

/* A module registered under a name that can never be spawned is refused
 * up front. */
START_TEST(test_register_bad_names)
{
    sky_node *node = tu_node(1, NULL);
    ck_assert_int_eq(sky_node_register_module(node, &dots_name), SKY_EINVAL);
    ck_assert_int_eq(sky_node_register_module(node, &slash_name), SKY_EINVAL);
    sky_node_free(node);
}
END_TEST

/* init's error fails the spawn with that code and releases the state; a
 * positive return is SKY_EFAIL. */
START_TEST(test_init_error)
{
    atomic_store(&inits, 0);
    atomic_store(&releases, 0);
    sky_node *node = tu_node(2, &counted_module, NULL);
    sky_node_stat s0, s1;
    sky_node_stat_get(node, &s0);
    char args[16], err[256];
    sky_addr_t a = SKY_ADDR_NONE;
    snprintf(args, sizeof args, "%d", SKY_ENOTSUP);
    ck_assert_int_eq(sky_node_spawn(node, "counted", args, &a, err, sizeof err), SKY_ENOTSUP);
    ck_assert_uint_eq(a, SKY_ADDR_NONE);
    ck_assert_ptr_nonnull(strstr(err, "counted"));
    snprintf(args, sizeof args, "%d", SKY_ENOMEM);
    ck_assert_int_eq(sky_node_spawn(node, "counted", args, &a, NULL, 0), SKY_ENOMEM);
    ck_assert_int_eq(sky_node_spawn(node, "counted", "3", &a, NULL, 0), SKY_EFAIL);
    ck_assert_int_eq(atomic_load(&inits), 3);
    ck_assert_int_eq(atomic_load(&releases), 3);
    sky_node_stat_get(node, &s1);
    ck_assert_uint_eq(s1.services, s0.services);
    sky_node_free(node);
}
END_TEST

/* ---- dlopen ------------------------------------------------------------ */

START_TEST(test_dlopen_testmod)
{
    char path[4096];
    snprintf(path, sizeof path, "/nonexistent/dir/?.so;%s/?.so", moddir());
    sky_node *node = node_with_path(path);
    memset(path, 0, sizeof path); /* the node keeps its own copy */
    sky_addr_t a = tu_spawn(node, "testmod", "");
    ck_assert_int_eq(echo_call(node, a), 0);
    /* loaded once, spawned again */
    sky_addr_t b = tu_spawn(node, "testmod", "stay");
    ck_assert_uint_ne(a, b);
    ck_assert_int_eq(echo_call(node, b), 0);
    /* a oneway is ignored */
    ck_assert_int_eq(tu_send(node, a, 1, "x", 1), 0);
    ck_assert(TU_WAIT(tu_stat(node, a).received >= 2, 5000));
    ck_assert(tu_alive(node, a));
    sky_node_free(node);
}
END_TEST

START_TEST(test_testmod_fail)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/?.so", moddir());
    sky_node *node = node_with_path(path);
    sky_addr_t a = SKY_ADDR_NONE;
    ck_assert_int_eq(sky_node_spawn(node, "testmod", "fail", &a, NULL, 0), SKY_EINVAL);
    ck_assert_uint_eq(a, SKY_ADDR_NONE);
    sky_node_free(node);
}
END_TEST

START_TEST(test_testmod_exit)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/?.so", moddir());
    sky_node *node = node_with_path(path);
    ck_assert_int_eq(sky_node_wait(node, 0), SKY_ETIMEDOUT);
    tu_spawn(node, "testmod", "exit");
    ck_assert_int_eq(sky_node_wait(node, tu_ms(5000)), 0);
    sky_node_free(node);
}
END_TEST

/* A module that cannot be found: the error names every path tried. */
START_TEST(test_missing_module)
{
    char path[4096];
    snprintf(path, sizeof path, "/nonexistent/a/?.so;/nonexistent/b/lib?.so;%s/?.so", moddir());
    sky_node *node = node_with_path(path);
    char err[2048] = "";
    sky_addr_t a = SKY_ADDR_NONE;
    ck_assert_int_eq(sky_node_spawn(node, "nomod", "", &a, err, sizeof err), SKY_ENOENT);
    ck_assert_uint_eq(a, SKY_ADDR_NONE);
    ck_assert_msg(strstr(err, "nomod") != NULL, "error: %s", err);
    ck_assert_msg(strstr(err, "/nonexistent/a/nomod.so") != NULL, "error: %s", err);
    ck_assert_msg(strstr(err, "/nonexistent/b/libnomod.so") != NULL, "error: %s", err);
    char mine[4200];
    snprintf(mine, sizeof mine, "%s/nomod.so", moddir());
    ck_assert_msg(strstr(err, mine) != NULL, "error: %s", err);
    sky_node_free(node);
}
END_TEST

/* A file that exists but does not export sky_module_<name>. */
START_TEST(test_wrong_symbol)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/testmod.so", moddir());
    sky_node *node = node_with_path(path);
    char err[2048] = "";
    ck_assert_int_eq(sky_node_spawn(node, "other", "", NULL, err, sizeof err), SKY_ENOENT);
    ck_assert_msg(strstr(err, "sky_module_other") != NULL, "error: %s", err);
    /* and the module loads fine under its own name */
    tu_spawn(node, "testmod", "");
    sky_node_free(node);
}
END_TEST

/* An empty module path finds nothing and says so. */
START_TEST(test_empty_path)
{
    sky_node *node = node_with_path("");
    char err[512] = "";
    ck_assert_int_eq(sky_node_spawn(node, "testmod", "", NULL, err, sizeof err), SKY_ENOENT);
    ck_assert_msg(strstr(err, "testmod") != NULL, "error: %s", err);
    sky_node_free(node);
}
END_TEST

static const char *const bad_names[] = {"../x", "a/b", "", "a.b", "/abs", "..", "a b", "x;y", "?"};

/* Names that could escape the module path are refused before any file is
 * tried, even when the file they would name exists. */
START_TEST(test_bad_module_names)
{
    char path[4096];
    /* "<moddir>/sub/?.so" with "../testmod" would be <moddir>/testmod.so */
    snprintf(path, sizeof path, "%s/sub/?.so;%s/?.so", moddir(), moddir());
    sky_node *node = node_with_path(path);
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        char err[1024] = "";
        sky_addr_t a = SKY_ADDR_NONE;
        int rc = sky_node_spawn(node, bad_names[i], "", &a, err, sizeof err);
        ck_assert_msg(rc == SKY_ENOENT || rc == SKY_EINVAL, "name \"%s\": %s", bad_names[i], sky_errname(rc));
        ck_assert_uint_eq(a, SKY_ADDR_NONE);
        ck_assert_msg(strstr(err, "name") != NULL, "name \"%s\": error \"%s\"", bad_names[i], err);
    }
    char err[1024] = "";
    ck_assert_int_ne(sky_node_spawn(node, "../testmod", "", NULL, err, sizeof err), 0);
    ck_assert_int_ne(sky_node_spawn(node, NULL, "", NULL, err, sizeof err), 0);
    char longname[80];
    memset(longname, 'm', 64);
    longname[64] = 0;
    ck_assert_int_ne(sky_node_spawn(node, longname, "", NULL, err, sizeof err), 0);
    sky_node_free(node);
}
END_TEST

/* sky_spawn from a service: a missing module is SKY_ENOENT. */
static atomic_int inner_rc;

static int spawner_init(void *st, sky_ctx *ctx, const char *args)
{
    (void)st;
    sky_addr_t a = SKY_ADDR_NONE;
    atomic_store(&inner_rc, sky_spawn(ctx, args, "", &a));
    return 0;
}

static const sky_module spawner_module = {"spawner", NULL, spawner_init, counted_handle, NULL};

START_TEST(test_spawn_from_service)
{
    atomic_store(&releases, 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/?.so", moddir());
    sky_config cfg;
    tu_config(&cfg, 2);
    cfg.module_path = path;
    sky_node *node = tu_start(&cfg, &spawner_module, &counted_module, NULL);
    tu_spawn(node, "spawner", "nomod");
    ck_assert_int_eq(atomic_load(&inner_rc), SKY_ENOENT);
    tu_spawn(node, "spawner", "../x");
    ck_assert_int_eq(atomic_load(&inner_rc), SKY_ENOENT);
    tu_spawn(node, "spawner", "testmod");
    ck_assert_int_eq(atomic_load(&inner_rc), 0);
    tu_spawn(node, "spawner", "counted");
    ck_assert_int_eq(atomic_load(&inner_rc), 0);
    sky_node_free(node);
    ck_assert_int_eq(atomic_load(&releases), 1);
}
END_TEST

Suite *module_suite(void)
{
    Suite *s = suite_create("module");
    TCase *tc = tu_tcase("static");
    tcase_add_test(tc, test_register);
    tcase_add_test(tc, test_register_bad_names);
    tcase_add_test(tc, test_init_error);
    suite_add_tcase(s, tc);
    tc = tu_tcase("dlopen");
    tcase_add_test(tc, test_dlopen_testmod);
    tcase_add_test(tc, test_testmod_fail);
    tcase_add_test(tc, test_testmod_exit);
    tcase_add_test(tc, test_missing_module);
    tcase_add_test(tc, test_wrong_symbol);
    tcase_add_test(tc, test_empty_path);
    tcase_add_test(tc, test_bad_module_names);
    tcase_add_test(tc, test_spawn_from_service);
    suite_add_tcase(s, tc);
    return s;
}
