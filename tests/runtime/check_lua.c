/* The Lua service host and the `sky` Lua module: Lua services from
 * tests/lua/ (the node's service_path) spawned on a real node and driven
 * with raw requests whose text names what to do, and typed calls between
 * Lua services and from C (skytest.Echo of typed_test.proto). */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <lauxlib.h>
#include <lua.h>
#include "lua/arena.h"
#include "sky/typed.h"
#include "testutil.h"
#include "typed_test.sky.h"

static char service_path[2048];
static char log_file[256];

/* skytest.Echo in C, through the generated C stubs (check_typed.c). */
extern const sky_module typed_server_module;

/* The config of a node whose service_path is tests/lua/ (and extra, if
 * given), logging errors to a file of its own. */
static void lua_config(sky_config *cfg, const char *extra)
{
    const char *src = getenv("SKY_SRCDIR");
    ck_assert_msg(src != NULL, "SKY_SRCDIR is not set");
    snprintf(service_path, sizeof service_path, "%s/tests/lua/?.lua%s%s", src, extra ? ";" : "",
             extra ? extra : "");
    snprintf(log_file, sizeof log_file, "/tmp/sky_check_lua_%ld.log", (long)getpid());
    unlink(log_file);
    tu_config(cfg, 2);
    cfg->service_path = service_path;
    cfg->log_path = log_file;
}

/* A node of lua_config, with module `mod` (NULL: none) besides the Lua
 * host and the Lua limits given (0: default). */
static sky_node *lua_node_with(const char *extra, const sky_module *mod, size_t mem_limit, int64_t budget)
{
    sky_config cfg;
    lua_config(&cfg, extra);
    if (mem_limit) cfg.lua_mem_limit = mem_limit;
    if (budget) cfg.lua_budget = budget;
    return tu_start(&cfg, &tu_hole_module, mod, NULL);
}

static sky_node *lua_node(const char *extra) { return lua_node_with(extra, NULL, 0, 0); }

static void lua_node_free(sky_node *n)
{
    sky_node_free(n);
    unlink(log_file);
}

/* 1 if the node's log holds `text`. */
static int log_has(const char *text) { return tu_file_count(log_file, text) > 0; }

/* Calls `to` with `text`, waiting up to `ms`; the answer's text (or the
 * error's) in out. */
static int lcall_for(sky_node *n, sky_addr_t to, const char *text, char *out, size_t size, int ms)
{
    return tu_call_text_for(n, to, 1, text, out, size, ms);
}

static int lcall(sky_node *n, sky_addr_t to, const char *text, char *out, size_t size)
{
    return lcall_for(n, to, text, out, size, 5000);
}

/* lcall that must succeed and answer `want`. */
static void expect(sky_node *n, sky_addr_t to, const char *text, const char *want)
{
    char out[512];
    int rc = lcall(n, to, text, out, sizeof out);
    ck_assert_msg(rc == 0, "%s: %s (%s)", text, sky_strerror(rc), out);
    ck_assert_msg(strcmp(out, want) == 0, "%s: got \"%s\", want \"%s\"", text, out, want);
}

/* lcall whose answer starts with `prefix`. */
static void expect_prefix(sky_node *n, sky_addr_t to, const char *text, const char *prefix)
{
    char out[512];
    int rc = lcall(n, to, text, out, sizeof out);
    ck_assert_msg(rc == 0, "%s: %s (%s)", text, sky_strerror(rc), out);
    ck_assert_msg(strncmp(out, prefix, strlen(prefix)) == 0, "%s: got \"%s\", want \"%s...\"", text, out, prefix);
}

START_TEST(test_spawn_echo)
{
    sky_node *n = lua_node(NULL);
    sky_addr_t a = tu_spawn(n, "lua", "echo");
    expect(n, a, "hi there", "hi there");
    expect(n, a, "", "");
    /* oneways reach the dispatch function too, and need no answer */
    ck_assert_int_eq(tu_send(n, a, 3, "x", 1), 0);
    expect(n, a, "still", "still");
    lua_node_free(n);
}
END_TEST

START_TEST(test_self_register_whereis)
{
    sky_node *n = lua_node(NULL);
    sky_addr_t a = tu_spawn(n, "lua", "hello hello1");
    ck_assert_uint_eq(sky_node_whereis(n, "hello1"), a);
    char num[32];
    snprintf(num, sizeof num, "%llu", (unsigned long long)a);
    expect(n, a, "self", num);
    expect(n, a, "whereis", num);
    expect(n, a, "nobody", "nil");
    expect_prefix(n, a, "regtwice", "EEXIST ");
    expect_prefix(n, a, "errstr", "EINVAL: ");
    expect(n, a, "callname", num); /* a name as an address, calling itself */
    expect(n, a, "libs", "nil true nil nil function H 1,2 true nil");
    lua_node_free(n);
}
END_TEST

START_TEST(test_spawn_from_lua)
{
    sky_node *n = lua_node(NULL);
    sky_addr_t a = tu_spawn(n, "lua", "hello h");
    expect(n, a, "callecho", "ping integer");
    expect_prefix(n, a, "spawndots", "EINVAL sky.spawn ../x: bad Lua service name \"../x\": contains '..'");
    expect_prefix(n, a, "spawnslash", "EINVAL sky.spawn a/b: bad Lua service name \"a/b\": contains '/'");
    expect_prefix(n, a, "spawnmissing", "ENOENT sky.spawn nosuch: Lua service nosuch not found (tried ");
    char out[512];
    ck_assert_int_eq(lcall(n, a, "spawnmissing", out, sizeof out), 0);
    ck_assert_msg(strstr(out, "tests/lua/nosuch.lua") != NULL, "%s", out);
    lua_node_free(n);
}
END_TEST

START_TEST(test_bad_names)
{
    sky_node *n = lua_node(NULL);
    static const char *const bad[] = {"../x", "a/b", "", "x..y", "a-b", "./echo"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sky_addr_t a = SKY_ADDR_NONE;
        int rc = sky_node_spawn(n, "lua", bad[i], &a, NULL, 0);
        ck_assert_msg(rc == SKY_EINVAL, "\"%s\": %s", bad[i], sky_strerror(rc));
    }
    ck_assert_int_eq(sky_node_spawn(n, "lua", "nosuch", NULL, NULL, 0), SKY_ENOENT);
    ck_assert_int_eq(sky_node_spawn(n, "lua", "broken", NULL, NULL, 0), SKY_EFAIL);
    ck_assert_int_eq(sky_node_spawn(n, "lua", "loadspin", NULL, NULL, 0), SKY_ELIMIT);
    ck_assert(TU_WAIT(log_has("bad Lua service name \"../x\": contains '..'"), 2000));
    ck_assert(TU_WAIT(log_has("bad Lua service name \"a/b\": contains '/'"), 2000));
    ck_assert(TU_WAIT(log_has("Lua service nosuch not found (tried "), 2000));
    ck_assert(TU_WAIT(log_has("broken on purpose"), 2000));
    lua_node_free(n);
}
END_TEST

static int write_dump(lua_State *L, const void *p, size_t sz, void *ud)
{
    (void)L;
    return fwrite(p, 1, sz, ud) == sz ? 0 : 1;
}

START_TEST(test_bytecode_refused)
{
    char dir[] = "/tmp/sky_check_lua_XXXXXX";
    ck_assert(mkdtemp(dir) != NULL);
    char file[128], pattern[160];
    snprintf(file, sizeof file, "%s/compiled.lua", dir);
    snprintf(pattern, sizeof pattern, "%s/?.lua", dir);
    lua_State *L = luaL_newstate();
    ck_assert_int_eq(luaL_loadstring(L, "sky.dispatch(function(m) return 'compiled' end)"), LUA_OK);
    FILE *f = fopen(file, "wb");
    ck_assert(f != NULL);
    ck_assert_int_eq(lua_dump(L, write_dump, f, 0), 0);
    fclose(f);
    lua_close(L);

    sky_node *n = lua_node(pattern);
    ck_assert_int_eq(sky_node_spawn(n, "lua", "compiled", NULL, NULL, 0), SKY_EINVAL);
    ck_assert(TU_WAIT(log_has("is a bytecode chunk"), 2000));
    /* nor through load() */
    sky_addr_t a = tu_spawn(n, "lua", "hello h");
    expect(n, a, "loadbc", "nil attempt to load a binary chunk (mode is 't')");
    lua_node_free(n);
    unlink(file);
    rmdir(dir);
}
END_TEST

START_TEST(test_sleep_order)
{
    sky_node *n = lua_node(NULL);
    sky_addr_t a = tu_spawn(n, "lua", "sleeper");
    ck_assert(TU_WAIT(({
                          char out[128];
                          lcall(n, a, "log", out, sizeof out) == 0 && strcmp(out, "start") == 0;
                      }),
                      2000));
    expect(n, a, "run", "ok");
    char out[128] = "";
    int done = TU_WAIT(lcall(n, a, "log", out, sizeof out) == 0 && strcmp(out, "start,t5,20,40,60") == 0, 3000);
    ck_assert_msg(done, "log: %s", out);
    ck_assert_int_eq(lcall(n, a, "nap", out, sizeof out), 0);
    ck_assert_msg(atoi(out) >= 50, "slept %s ms", out);
    ck_assert_int_eq(lcall(n, a, "fan", out, sizeof out), 0);
    int count = 0, ms = 0;
    ck_assert_int_eq(sscanf(out, "%d %d", &count, &ms), 2);
    ck_assert_int_eq(count, 20);
    ck_assert_msg(ms < 20 * 50 / 2, "20 naps of 50 ms took %d ms: not concurrent", ms);
    expect(n, a, "loadsleep", "false EINVAL: sky.sleep: bad argument #1 (ms): an integer from 0 to 2147483647 expected, got -1");
    lua_node_free(n);
}
END_TEST

START_TEST(test_call_timeout)
{
    sky_node *n = lua_node(NULL);
    sky_addr_t hole = tu_spawn(n, "hole", NULL);
    sky_addr_t a = tu_spawn(n, "lua", "hello h");
    char cmd[64];
    snprintf(cmd, sizeof cmd, "timeout %llu", (unsigned long long)hole);
    uint64_t t0 = tu_now_ms();
    expect_prefix(n, a, cmd, "ETIMEDOUT ");
    ck_assert_uint_ge(tu_now_ms() - t0, 45);
    /* a dead address */
    ck_assert_int_eq(sky_node_kill(n, hole), 0);
    ck_assert(TU_WAIT(!tu_alive(n, hole), 2000));
    expect_prefix(n, a, cmd, "ENOSVC ");
    lua_node_free(n);
}
END_TEST

START_TEST(test_memory_limit)
{
    sky_node *n = lua_node(NULL);
    sky_addr_t hog = tu_spawn(n, "lua", "hog");
    sky_addr_t echo = tu_spawn(n, "lua", "echo");
    char out[512];
    for (int i = 0; i < 2; i++) {
        int rc = lcall(n, hog, "hog", out, sizeof out);
        ck_assert_msg(rc == SKY_ENOMEM, "hog: %s (%s)", sky_strerror(rc), out);
        expect(n, hog, "ping", "alive");
    }
    expect(n, echo, "fine", "fine");
    lua_node_free(n);
}
END_TEST

START_TEST(test_budget)
{
    sky_node *n = lua_node(NULL);
    sky_addr_t a = tu_spawn(n, "lua", "spinner");
    char out[512];
    int rc = lcall(n, a, "spin", out, sizeof out);
    ck_assert_msg(rc == SKY_ELIMIT, "spin: %s (%s)", sky_strerror(rc), out);
    ck_assert_msg(strstr(out, "instruction budget exceeded") != NULL, "%s", out);
    expect(n, a, "ping", "pong");
    rc = lcall(n, a, "pcallspin", out, sizeof out);
    ck_assert_msg(rc == SKY_ELIMIT, "pcallspin: %s (%s)", sky_strerror(rc), out);
    expect(n, a, "ping", "pong");
    lua_node_free(n);
}
END_TEST

START_TEST(test_exit)
{
    sky_node *n = lua_node(NULL);
    sky_addr_t a = tu_spawn(n, "lua", "hello bye1");
    expect(n, a, "exit", "bye");
    ck_assert(TU_WAIT(!tu_alive(n, a), 2000));
    ck_assert_uint_eq(sky_node_whereis(n, "bye1"), SKY_ADDR_NONE);
    char out[128];
    ck_assert_int_eq(lcall(n, a, "self", out, sizeof out), SKY_ENOSVC);
    lua_node_free(n);
}
END_TEST

START_TEST(test_handler_error)
{
    sky_node *n = lua_node(NULL);
    sky_addr_t a = tu_spawn(n, "lua", "hello h");
    char out[256];
    int rc = lcall(n, a, "nonsense", out, sizeof out);
    ck_assert_msg(rc == SKY_ENOTSUP, "%s (%s)", sky_strerror(rc), out);
    ck_assert_msg(strstr(out, "no action nonsense") != NULL, "%s", out);
    expect(n, a, "nobody", "nil");
    /* a bug (a runtime error) answers EFAIL and is logged with its
     * traceback; the error object above was an answer: not an error line */
    rc = lcall(n, a, "bug", out, sizeof out);
    ck_assert_msg(rc == SKY_EFAIL && strstr(out, "attempt to index a nil value") != NULL, "%s (%s)",
                  sky_strerror(rc), out);
    ck_assert(TU_WAIT(log_has("ERROR lua hello: ") && log_has("stack traceback"), 2000));
    ck_assert_msg(!log_has("no action nonsense"), "an answer was logged as an error");
    lua_node_free(n);
}
END_TEST

/* What a caller saw of an error answer. */
typedef struct seen_error {
    int status;
    char app[SKY_APP_CODE_MAX + 1], text[128];
    unsigned char details[16];
    size_t ndetails;
} seen_error;

static void see_error(seen_error *e, int status, const sky_msg *reply)
{
    const void *d;
    e->status = status;
    sky_error_app_code(reply, e->app, sizeof e->app);
    sky_error_text(reply, status, e->text, sizeof e->text);
    d = sky_error_details(reply, &e->ndetails);
    ck_assert(e->ndetails <= sizeof e->details);
    if (d) memcpy(e->details, d, e->ndetails);
}

/* Calls `to` with the raw request `text` from outside, keeping the error
 * reply (sky_node_call_reply). */
static seen_error call_error(sky_node *n, sky_addr_t to, uint32_t type_id, const void *data, size_t size)
{
    seen_error e;
    memset(&e, 0, sizeof e);
    sky_msg req = {.type_id = type_id, .size = size, .data = malloc(size ? size : 1)};
    memcpy(req.data, data, size);
    sky_msg reply;
    int rc = sky_node_call_reply(n, to, &req, tu_ms(5000), &reply);
    ck_assert_msg(rc == 0 || reply.kind == SKY_ERROR, "%s: no error reply", sky_errname(rc));
    see_error(&e, rc, &reply);
    free(reply.data);
    return e;
}

static void expect_error(const seen_error *e, int status, const char *app, const char *text, const char *details,
                         size_t ndetails)
{
    ck_assert_msg(e->status == status, "%s, want %s (%s)", sky_errname(e->status), sky_errname(status), e->text);
    ck_assert_str_eq(e->app, app);
    ck_assert_str_eq(e->text, text);
    ck_assert_uint_eq(e->ndetails, ndetails);
    ck_assert(memcmp(e->details, details, ndetails) == 0);
}

/* How a Lua handler's error value becomes an error reply (hello.lua's
 * "raise NAME"): a sky code by name or number, an application code
 * with details, and what is neither (EFAIL, saying why). */
START_TEST(test_raised_errors)
{
    sky_node *n = lua_node(NULL);
    sky_addr_t a = tu_spawn(n, "lua", "hello h");
#define RAISE(what) call_error(n, a, 1, "raise " what, strlen("raise " what))
    seen_error e = RAISE("app");
    expect_error(&e, SKY_EAPP, "EOUTOFSTOCK", "only 3 left", "\0d", 2);
    e = RAISE("appbare");
    expect_error(&e, SKY_EAPP, "out_of_stock.v2", sky_strerror(SKY_EAPP), "", 0);
    e = RAISE("number");
    expect_error(&e, SKY_ENOENT, "", "by number", "", 0);
    e = RAISE("badnumber");
    expect_error(&e, SKY_EFAIL, "",
                 "error code -100 is not a sky code (an application's own codes are strings): an application number",
                 "", 0);
    e = RAISE("badcode");
    expect_error(&e, SKY_EFAIL, "",
                 "error code 'out of stock' is neither a sky code nor an application code (1 to 63 letters, "
                 "digits, _ . -): a blank",
                 "", 0);
    e = RAISE("badtype");
    expect_error(&e, SKY_EFAIL, "", "a boolean", "", 0);
    e = RAISE("baddetails");
    expect_error(&e, SKY_EFAIL, "", "error code 'EOUTOFSTOCK' comes with details that are not a string: a table",
                 "", 0);
    e = RAISE("skydetails");
    expect_error(&e, SKY_ENOENT, "", "details only go with EAPP", "", 0);
#undef RAISE
    /* a deferred answer: reply(nil, err) */
    e = call_error(n, a, 1, "defer app", 9);
    expect_error(&e, SKY_EAPP, "EOUTOFSTOCK", "only 3 left", "\0d", 2);
    e = call_error(n, a, 1, "defer badcode", 13);
    ck_assert_int_eq(e.status, SKY_EFAIL);
    lua_node_free(n);
}
END_TEST

/* A C service calling skytest.Echo.Fail through the stubs: the command is
 * the address to call; what it saw is in app_seen. */
static seen_error app_seen;
static atomic_int app_done;

static void app_answer(sky_ctx *ctx, int status, const Skytest__Ack *resp, const sky_msg *reply, void *ud)
{
    (void)ctx, (void)resp, (void)ud;
    see_error(&app_seen, status, reply);
    atomic_store(&app_done, 1);
}

static int appcall_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st;
    sky_addr_t to;
    if (m->kind != SKY_ONEWAY || m->size != sizeof to) return 0;
    memcpy(&to, m->data, sizeof to);
    Skytest__Payload req = SKYTEST__PAYLOAD__INIT;
    req.id = 1;
    req.kind = (char *)"EOUTOFSTOCK";
    req.body = (char *)"x";
    int rc = skytest_Echo_Fail_call(ctx, to, &req, 5000, app_answer, NULL);
    if (rc < 0) {
        app_seen.status = rc;
        atomic_store(&app_done, 1);
    }
    return 0;
}

static const sky_module appcall_module = {"appcall", NULL, NULL, appcall_handle, NULL};

/* An application error answered by a Lua service (stub_echo.lua) and by a
 * C one (check_typed's), seen unchanged by a C service, by a program
 * (sky_node_call_reply) and through a Lua service that lets it go up
 * (app_proxy.lua). Lua callers: stubs_test.lua; the gate's clients:
 * tests/client/test_gate.sh. */
START_TEST(test_app_error_callers)
{
    const char *build = getenv("SKY_BUILDDIR");
    ck_assert_msg(build != NULL, "SKY_BUILDDIR is not set");
    char gen[1024];
    snprintf(gen, sizeof gen, "%s/tests/runtime/?.lua", build);
    const char *src = getenv("SKY_SRCDIR");
    snprintf(service_path, sizeof service_path, "%s/tests/lua/?.lua;%s", src, gen);
    snprintf(log_file, sizeof log_file, "/tmp/sky_check_lua_%ld.log", (long)getpid());
    for (int lua = 0; lua <= 1; lua++) {
        sky_config cfg;
        tu_config(&cfg, 2);
        cfg.service_path = service_path;
        cfg.log_path = log_file;
        sky_node *n = tu_start(&cfg, &tu_hole_module, &typed_server_module, &appcall_module, NULL);
        sky_addr_t srv = lua ? tu_spawn(n, "lua", "stub_echo") : tu_spawn(n, "tserver", "");
        const char *want_text = "fail x";
        /* a C service calling */
        memset(&app_seen, 0, sizeof app_seen);
        atomic_store(&app_done, 0);
        sky_addr_t c = tu_spawn(n, "appcall", "");
        ck_assert_int_eq(tu_send(n, c, 1, &srv, sizeof srv), 0);
        ck_assert(TU_WAIT(atomic_load(&app_done), 5000));
        expect_error(&app_seen, SKY_EAPP, "EOUTOFSTOCK", want_text, "\0\1det", 5);
        /* a program calling */
        Skytest__Payload p = SKYTEST__PAYLOAD__INIT;
        p.id = 1;
        p.kind = (char *)"EOUTOFSTOCK";
        p.body = (char *)"x";
        unsigned char buf[64];
        size_t len = skytest__payload__pack(&p, buf);
        seen_error e = call_error(n, srv, skytest_Echo_Fail_ID, buf, len);
        expect_error(&e, SKY_EAPP, "EOUTOFSTOCK", want_text, "\0\1det", 5);
        /* through a Lua service in the middle */
        sky_addr_t proxy = tu_spawn(n, "lua", "app_proxy");
        e = call_error(n, proxy, 1, "not_found", 9);
        expect_error(&e, SKY_EAPP, "not_found", want_text, "\0\1det", 5);
        sky_node_free(n);
    }
    unlink(log_file);
}
END_TEST

/* A string field holding a NUL byte, sent to skytest.Echo served in Lua
 * (stub_echo.lua) and in C (check_typed's): both refuse it with
 * SKY_EBADMSG before the handler runs, and a bytes field may hold one. */
START_TEST(test_nul_in_string)
{
    const char *build = getenv("SKY_BUILDDIR");
    ck_assert_msg(build != NULL, "SKY_BUILDDIR is not set");
    char gen[1024];
    snprintf(gen, sizeof gen, "%s/tests/runtime/?.lua", build);
    /* Payload {id: 5, kind: "a\0b"}, and {id: 5, body: "\0"} */
    static const unsigned char kind_nul[] = {0x08, 0x05, 0x1a, 0x03, 'a', 0, 'b'};
    static const unsigned char body_nul[] = {0x08, 0x05, 0x22, 0x01, 0};
    for (int lua = 0; lua <= 1; lua++) {
        sky_node *n = lua_node_with(gen, &typed_server_module, 0, 0);
        sky_addr_t srv = lua ? tu_spawn(n, "lua", "stub_echo") : tu_spawn(n, "tserver", "");
        for (int i = 0; i < 2; i++) {
            seen_error e = i ? call_error(n, srv, skytest_Echo_Bump_ID, body_nul, sizeof body_nul)
                             : call_error(n, srv, skytest_Echo_Bump_ID, kind_nul, sizeof kind_nul);
            ck_assert_msg(e.status == SKY_EBADMSG, "%s: %s (%s)", lua ? "lua" : "c", sky_errname(e.status), e.text);
            ck_assert_msg(strstr(e.text, i ? "Payload.body" : "Payload.kind") && strstr(e.text, "NUL byte"), "%s: %s",
                          lua ? "lua" : "c", e.text);
        }
        if (!lua) ck_assert_uint_eq(tu_stat(n, srv).bad, 2); /* counted, as any bad payload */
        /* the service goes on */
        Skytest__Payload p = SKYTEST__PAYLOAD__INIT, *r;
        p.id = 5;
        ck_assert_int_eq(skytest_Echo_Bump_node_call(n, srv, &p, &r, 0, NULL), 0);
        ck_assert_int_eq(r->id, 6);
        skytest__payload__free_unpacked(r, NULL);
        lua_node_free(n);
    }
}
END_TEST

/* string, coroutine and package open on first use, whatever the script
 * meets first (tests/lua/lazylibs.lua checks each order). */
START_TEST(test_lazy_libraries)
{
    sky_node *n = lua_node(NULL);
    static const char *const modes[] = {"methods", "arith", "require", "global"};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        char args[64];
        snprintf(args, sizeof args, "lazylibs %s", modes[i]);
        sky_addr_t a = tu_spawn(n, "lua", args);
        expect(n, a, "x", "ok");
    }
    lua_node_free(n);
}
END_TEST

START_TEST(test_typed_lua_to_lua)
{
    ck_assert_int_eq(sky_schema_register(&skytest_typed_test_file), 0);
    sky_node *n = lua_node(NULL);
    sky_addr_t srv = tu_spawn(n, "lua", "typed_echo");
    ck_assert_uint_eq(sky_node_whereis(n, "typed_echo"), srv); /* (sky.default_name) */
    sky_addr_t cli = tu_spawn(n, "lua", "typed_client");
    expect(n, cli, "go",
           "42 k skytest.Echo.Bump|notes 2|EEXIST fail x|ENOTSUP skytest.Echo.Hold has no handler in the served table"
           "|EINVAL sky.call: bad argument #3 (msg): skytest.Echo.Bump: Payload.id: expected integer, got string"
           "|ENOENT sky.call: unknown method 'skytest.Echo.Nope' (is its schema registered?)"
           "|ENOSVC sky.call: no service named 'nobody'|later skytest.Echo.Later|co 10");
    lua_node_free(n);
}
END_TEST

START_TEST(test_typed_c_to_lua)
{
    ck_assert_int_eq(sky_schema_register(&skytest_typed_test_file), 0);
    sky_node *n = lua_node(NULL);
    sky_addr_t srv = tu_spawn(n, "lua", "typed_echo");
    Skytest__Payload p = SKYTEST__PAYLOAD__INIT;
    p.id = 7;
    p.kind = (char *)"from C";
    sky_msg req = {0};
    req.type_id = sky_method_id("skytest.Echo.Bump");
    req.size = skytest__payload__get_packed_size(&p);
    req.data = malloc(req.size);
    skytest__payload__pack(&p, req.data);
    sky_msg reply = {0};
    char err[256] = "";
    int rc = sky_node_call(n, srv, &req, tu_ms(5000), &reply, err, sizeof err);
    ck_assert_msg(rc == 0, "%s (%s)", sky_strerror(rc), err);
    Skytest__Payload *r = skytest__payload__unpack(NULL, reply.size, reply.data);
    ck_assert(r != NULL);
    ck_assert_int_eq(r->id, 8);
    ck_assert_str_eq(r->kind, "from C");
    skytest__payload__free_unpacked(r, NULL);
    free(reply.data);
    /* bytes that do not decode */
    req = (sky_msg){0};
    req.type_id = sky_method_id("skytest.Echo.Bump");
    req.size = 3;
    req.data = malloc(3);
    memcpy(req.data, "\xff\xff\xff", 3);
    rc = sky_node_call(n, srv, &req, tu_ms(5000), &reply, err, sizeof err);
    ck_assert_msg(rc == SKY_EBADMSG, "%s (%s)", sky_strerror(rc), err);
    lua_node_free(n);
}
END_TEST

/* The generated Lua stubs (build tree's tests/runtime/typed_test_sky.lua)
 * against skytest.Echo served by `server` (a Lua service name) or, if
 * NULL, in C: stubs_test.lua runs its cases and answers "ok N". */
static void stubs_run(const char *server, const char *target)
{
    const char *build = getenv("SKY_BUILDDIR");
    ck_assert_msg(build != NULL, "SKY_BUILDDIR is not set");
    char gen[1024];
    snprintf(gen, sizeof gen, "%s/tests/runtime/?.lua", build);
    sky_node *n = lua_node_with(gen, &typed_server_module, 0, 0);
    sky_addr_t srv = server ? tu_spawn(n, "lua", server) : tu_spawn(n, "tserver", "");
    ck_assert_uint_eq(sky_node_whereis(n, "typed_echo"), srv);
    char args[64];
    snprintf(args, sizeof args, "stubs_test %s", target);
    sky_addr_t t = tu_spawn(n, "lua", args);
    char out[4096];
    int rc = lcall(n, t, "run", out, sizeof out);
    ck_assert_msg(rc == 0, "%s (%s)", sky_strerror(rc), out);
    ck_assert_msg(strncmp(out, "ok ", 3) == 0 && atoi(out + 3) >= 10, "%s", out);
    lua_node_free(n);
}

/* A Lua test of tests/lua/ that runs its cases (t.lua) on `n`: "ok N",
 * N at least `min`. */
static void lua_cases(sky_node *n, const char *args, int min, int ms)
{
    sky_addr_t t = tu_spawn(n, "lua", args);
    char out[8192];
    int rc = lcall_for(n, t, "run", out, sizeof out, ms);
    if (rc != 0 || strncmp(out, "ok ", 3) != 0) fprintf(stderr, "%s: %s\n", args, out);
    ck_assert_msg(rc == 0, "%s: %s (%.2000s)", args, sky_strerror(rc), out);
    ck_assert_msg(strncmp(out, "ok ", 3) == 0 && atoi(out + 3) >= min, "%s: %.2000s", args, out);
}

/* Bad arguments to every function of the sky module and the socket
 * methods raise error objects (badargs_test.lua; typed_test.proto's stubs
 * from the build tree, and a module path where nothing is found). */
START_TEST(test_bad_arguments)
{
    const char *build = getenv("SKY_BUILDDIR");
    ck_assert_msg(build != NULL, "SKY_BUILDDIR is not set");
    char gen[1024];
    snprintf(gen, sizeof gen, "%s/tests/runtime/?.lua", build);
    sky_config cfg;
    lua_config(&cfg, gen);
    cfg.module_path = "/nonexistent/one/?.so;/nonexistent/two/lib?.so";
    sky_node *n = tu_start(&cfg, &tu_hole_module, NULL);
    lua_cases(n, "badargs_test", 3, 10000);
    lua_node_free(n);
}
END_TEST

/* The process model from Lua: process_test.lua runs its cases. */
START_TEST(test_process_from_lua)
{
    sky_node *n = lua_node(NULL);
    sky_addr_t t = tu_spawn(n, "lua", "process_test");
    char out[4096];
    int rc = lcall(n, t, "run", out, sizeof out);
    ck_assert_msg(rc == 0, "%s (%s)", sky_strerror(rc), out);
    ck_assert_msg(strncmp(out, "ok ", 3) == 0 && atoi(out + 3) >= 10, "%s", out);
    lua_node_free(n);
}
END_TEST

/* sky.supervisor from Lua: supervisor_test.lua runs its cases (the node
 * has the C module "echo" for the C children). */
START_TEST(test_supervisor_from_lua)
{
    sky_node *n = lua_node_with(NULL, &tu_echo_module, 0, 0);
    sky_addr_t t = tu_spawn(n, "lua", "supervisor_test");
    char out[4096];
    int rc = lcall_for(n, t, "run", out, sizeof out, 15000);
    ck_assert_msg(rc == 0, "%s (%s)", sky_strerror(rc), out);
    ck_assert_msg(strncmp(out, "ok ", 3) == 0 && atoi(out + 3) >= 20, "%s", out);
    lua_node_free(n);
}
END_TEST

/* A Lua supervisor used from C: the C module "csup" spawns sup_c.lua with
 * sky_spawn_monitor and, asked "stop", stops it with sky_send_exit. */
#define SUP_REQUEST 0x73757076u /* sky.supervisor's raw requests */
static atomic_int csup_down = -1; /* the supervisor's exit reason */

typedef struct csup {
    sky_addr_t sup;
} csup;

static void *csup_create(void) { return calloc(1, sizeof(csup)); }

static int csup_init(void *st, sky_ctx *ctx, const char *args)
{
    (void)args;
    uint32_t ref;
    return sky_spawn_monitor(ctx, "lua", "sup_c", &((csup *)st)->sup, &ref);
}

static int csup_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    csup *c = st;
    if (m->kind == SKY_DOWN && m->source == c->sup) atomic_store(&csup_down, (int)m->type_id);
    if (m->kind != SKY_REQUEST) return 0;
    int rc = sky_send_exit(ctx, c->sup, SKY_REASON_SHUTDOWN, "stop");
    return rc < 0 ? rc : sky_reply_copy(ctx, m, m->type_id, "ok", 2);
}

static const sky_module csup_module = {"csup", csup_create, csup_init, csup_handle, free};

/* which_children from C: the address of child `id` (0: not running). */
static sky_addr_t child_addr(sky_node *n, sky_addr_t sup, const char *id)
{
    sky_msg req = {0};
    req.type_id = SUP_REQUEST;
    req.data = strdup("which_children");
    req.size = strlen(req.data);
    sky_msg reply = {0};
    char err[256];
    int rc = sky_node_call(n, sup, &req, tu_ms(5000), &reply, err, sizeof err);
    ck_assert_msg(rc == 0, "which_children: %s (%s)", sky_strerror(rc), err);
    char text[1024];
    snprintf(text, sizeof text, "%.*s", (int)reply.size, reply.data ? (char *)reply.data : "");
    free(reply.data);
    sky_addr_t a = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        size_t l = strlen(id);
        if (strncmp(line, id, l) == 0 && line[l] == '\t') a = strtoull(line + l + 1, NULL, 10);
    }
    return a;
}

START_TEST(test_supervisor_from_c)
{
    sky_node *n = lua_node_with(NULL, &tu_echo_module, 0, 0);
    ck_assert_int_eq(sky_node_register_module(n, &csup_module), 0);
    sky_addr_t driver = tu_spawn(n, "csup", NULL);
    /* the children are up when sky_spawn returns */
    sky_addr_t sup = sky_node_whereis(n, "c_sup");
    ck_assert_uint_ne(sup, 0);
    sky_addr_t e = child_addr(n, sup, "cecho"), w = sky_node_whereis(n, "w");
    ck_assert_uint_ne(e, 0);
    ck_assert_uint_eq(child_addr(n, sup, "w"), w);
    expect(n, e, "hello", "hello");
    /* the C child dies; the supervisor starts another */
    ck_assert_int_eq(sky_node_kill(n, e), 0);
    sky_addr_t e2 = 0;
    ck_assert(TU_WAIT((e2 = child_addr(n, sup, "cecho")) != 0 && e2 != e, 3000));
    expect(n, e2, "again", "again");
    ck_assert(!tu_alive(n, e));
    /* stopped from C: its children go first, then it exits with shutdown */
    expect(n, driver, "stop", "ok");
    ck_assert(TU_WAIT(atomic_load(&csup_down) == SKY_REASON_SHUTDOWN, 3000));
    ck_assert(!tu_alive(n, e2));
    ck_assert(!tu_alive(n, w));
    ck_assert(!tu_alive(n, sup));
    lua_node_free(n);
}
END_TEST

/* A supervisor spawned from outside the node has no parent: a non-normal
 * exit signal from any service stops it, its children first. */
START_TEST(test_supervisor_without_parent)
{
    sky_node *n = lua_node(NULL);
    sky_addr_t sup = tu_spawn(n, "lua", "sup_under_test orphan one_for_one 1 5000 oa/permanent/2000/-/lua");
    sky_addr_t a = sky_node_whereis(n, "oa");
    ck_assert_uint_ne(a, 0);
    sky_addr_t other = tu_spawn(n, "lua", "proc_child");
    char cmd[64];
    snprintf(cmd, sizeof cmd, "send_exit %llu shutdown", (unsigned long long)sup);
    expect(n, other, cmd, "ok");
    ck_assert(TU_WAIT(!tu_alive(n, sup), 3000));
    ck_assert(!tu_alive(n, a));
    lua_node_free(n);
}
END_TEST

/* Lua stubs of a .proto with 100 services (Lua allows a function 200
 * locals: stubs that took two per service failed to load from the 97th
 * on). The .proto is written here and compiled with the build tree's
 * skyc; many_services.lua requires its stubs and calls the last service. */
START_TEST(test_stubs_many_services)
{
    const char *build = getenv("SKY_BUILDDIR");
    ck_assert_msg(build != NULL, "SKY_BUILDDIR is not set");
    char dir[] = "/tmp/sky_check_lua_XXXXXX";
    ck_assert(mkdtemp(dir) != NULL);
    char proto[128], stubs[128], cmd[1024], pattern[160];
    snprintf(proto, sizeof proto, "%s/many.proto", dir);
    snprintf(stubs, sizeof stubs, "%s/many_sky.lua", dir);
    FILE *f = fopen(proto, "w");
    ck_assert(f != NULL);
    fprintf(f, "syntax = \"proto3\";\npackage many;\nmessage N { int32 n = 1; }\n");
    for (int i = 1; i <= 100; i++) fprintf(f, "service S%d { rpc Add(N) returns (N); }\n", i);
    fclose(f);
    snprintf(cmd, sizeof cmd, "timeout 60 '%s/skyc/skyc' -I '%s' --lua_out='%s' '%s' >&2", build, dir, dir, proto);
    ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
    snprintf(pattern, sizeof pattern, "%s/?.lua", dir);
    sky_node *n = lua_node(pattern);
    lua_cases(n, "many_services", 2, 10000);
    lua_node_free(n);
    unlink(stubs);
    unlink(proto);
    rmdir(dir);
}
END_TEST

START_TEST(test_stubs_lua_to_lua) { stubs_run("stub_echo", "lua"); }
END_TEST

START_TEST(test_stubs_lua_to_c) { stubs_run(NULL, "c"); }
END_TEST

/* A slicer service (budget 100000 instructions per message): slices of
 * 20000 instructions with a wait between them are charged to one message. */
static void check_slices(sky_node *n, sky_addr_t a)
{
    char out[512];
    int rc = lcall(n, a, "slices 20 20000", out, sizeof out);
    ck_assert_msg(rc == SKY_ELIMIT, "400000 instructions in 20 slices: %s (%s)", sky_strerror(rc), out);
    ck_assert_msg(strstr(out, "instruction budget exceeded (100000 instructions per message)") != NULL, "%s", out);
    expect(n, a, "ping", "pong");
    expect(n, a, "slices 3 20000", "done"); /* 60000: under it */
    expect(n, a, "slices 3 20000", "done"); /* a new message starts from 0 */
    /* coroutines the handler runs are charged to it too, even when it
     * ignores their errors */
    rc = lcall(n, a, "cospin 1000 2000", out, sizeof out);
    ck_assert_msg(rc == SKY_ELIMIT, "cospin: %s (%s)", sky_strerror(rc), out);
    expect(n, a, "cospin 10 2000", "done");
    expect(n, a, "ping", "pong");
}

START_TEST(test_budget_per_message)
{
    sky_node *n = lua_node(NULL);
    check_slices(n, tu_spawn(n, "lua", "budget=100000 slicer"));
    /* the default budget (10^7) lets the same work through */
    expect(n, tu_spawn(n, "lua", "slicer"), "slices 20 20000", "done");
    lua_node_free(n);
}
END_TEST

START_TEST(test_limits_from_node_config)
{
    sky_node *n = lua_node_with(NULL, NULL, 1 << 20, 100000);
    check_slices(n, tu_spawn(n, "lua", "slicer"));
    char out[512];
    sky_addr_t hog = tu_spawn(n, "lua", "hog");
    ck_assert_int_eq(lcall(n, hog, "hog", out, sizeof out), SKY_ENOMEM);
    ck_assert_msg(strstr(out, "limit 1048576 bytes") != NULL, "%s", out);
    /* a spawn option wins over the node's setting */
    expect(n, tu_spawn(n, "lua", "budget=10000000 slicer"), "slices 20 20000", "done");
    hog = tu_spawn(n, "lua", "mem_limit=2097152 hog");
    ck_assert_int_eq(lcall(n, hog, "hog", out, sizeof out), SKY_ENOMEM);
    ck_assert_msg(strstr(out, "limit 2097152 bytes") != NULL, "%s", out);
    lua_node_free(n);

    /* the node refuses limits that make no sense */
    sky_config cfg;
    char err[256] = "";
    tu_config(&cfg, 1);
    cfg.lua_mem_limit = 1000;
    ck_assert_ptr_null(sky_node_new(&cfg, err, sizeof err));
    ck_assert_msg(strstr(err, "lua_mem_limit") != NULL, "%s", err);
    tu_config(&cfg, 1);
    cfg.lua_budget = 0;
    ck_assert_ptr_null(sky_node_new(&cfg, err, sizeof err));
    ck_assert_msg(strstr(err, "lua_budget") != NULL, "%s", err);
}
END_TEST

START_TEST(test_spawn_options)
{
    sky_node *n = lua_node(NULL);
    static const char *const bad[] = {"budget=0 echo",          "budget=x echo",     "mem_limit=1000 echo",
                                      "mem_limit= echo",        "speed=3 echo",      "budget=99999999999999999999 echo",
                                      "budget=-5 echo"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = sky_node_spawn(n, "lua", bad[i], NULL, NULL, 0);
        ck_assert_msg(rc == SKY_EINVAL, "\"%s\": %s", bad[i], sky_strerror(rc));
    }
    ck_assert(TU_WAIT(log_has("unknown spawn option \"speed\" (mem_limit=BYTES, budget=COUNT)"), 2000));
    ck_assert(TU_WAIT(log_has("spawn option mem_limit: \"1000\" is not an integer >= 65536 (bytes)"), 2000));
    /* options, then the name and its args */
    sky_addr_t a = tu_spawn(n, "lua", " budget=5000000\tmem_limit=4194304 hello optname");
    ck_assert_uint_eq(sky_node_whereis(n, "optname"), a);
    /* from Lua: sky.spawn{name =, mem_limit =, budget =} */
    expect(n, a, "spawnlimited", "ENOMEM not enough memory (limit 1048576 bytes)");
    expect(n, a, "spawnbadopt",
           "EINVAL sky.spawn echo: spawn option budget: \"0\" is not an integer >= 1"
           "|EINVAL sky.spawn: bad argument #1 (name): unknown option 'colour' (name, mem_limit, budget)"
           "|EINVAL sky.spawn: bad argument #1 (name): the options need a name (a string)"
           "|EINVAL sky.spawn: bad argument #1 (name): option budget must be an integer, not a string");
    lua_node_free(n);
}
END_TEST

START_TEST(test_coroutines)
{
    sky_node *n = lua_node(NULL);
    sky_addr_t a = tu_spawn(n, "lua", "coro");
    expect(n, a, "gen", "123 slept");
    expect(n, a, "call", "plain answer");
    expect(n, a, "nested", "2 20 dead");
    char out[512];
    int rc = lcall(n, a, "wraperror", out, sizeof out);
    ck_assert_msg(rc == SKY_EEXIST && strcmp(out, "inside") == 0, "%s (%s)", sky_strerror(rc), out);
    expect(n, a, "resumeerror", "false plain dead|cannot resume dead coroutine");
    expect(n, a, "waiting",
           "normal|cannot resume a coroutine waiting in a sky call"
           "|cannot close a coroutine waiting in a sky call|woke dead");
    expect(n, a, "main",
           "true false true running|attempt to yield from outside a coroutine"
           "|cannot resume non-suspended coroutine");
    expect_prefix(n, a, "sort", "EINVAL sky.sleep waits, so it must run in");
    ck_assert_int_eq(lcall(n, a, "sort", out, sizeof out), 0);
    ck_assert_msg(strstr(out, "|slept") != NULL, "%s", out);
    lua_node_free(n);
}
END_TEST

START_TEST(test_coroutines_abandoned)
{
    sky_node *n = lua_node(NULL);
    sky_addr_t hole = tu_spawn(n, "hole", NULL);
    sky_addr_t a = tu_spawn(n, "lua", "coro");
    char out[64];
    ck_assert_int_eq(lcall(n, a, "abandon", out, sizeof out), 0);
    int first = atoi(out);
    for (int i = 0; i < 20; i++) ck_assert_int_eq(lcall(n, a, "abandon", out, sizeof out), 0);
    int last = atoi(out);
    ck_assert_msg(first > 0 && last - first < 32, "the heap grew from %d KB to %d KB over 1000 coroutines", first,
                  last);
    /* a wait in a coroutine nobody answers ends at the call's deadline */
    char cmd[64];
    snprintf(cmd, sizeof cmd, "timeout %llu", (unsigned long long)hole);
    uint64_t t0 = tu_now_ms();
    expect_prefix(n, a, cmd, "ETIMEDOUT ");
    ck_assert_uint_ge(tu_now_ms() - t0, 45);
    expect(n, a, "plain", "plain answer");
    lua_node_free(n);
}
END_TEST

/* The arena of Lua states (runtime/lua/arena.c): blocks carved in order
 * and aligned; the last one resized in place or given back for reuse,
 * the others kept; NULL once full; the pool hands a returned block out
 * again (no pool in ASan builds: nothing to check there). */
START_TEST(test_arena)
{
    static unsigned char buf[256 + 32];
    sky__lua_arena a;
    sky__lua_arena_init(&a, buf + 1, 256); /* a start that is not aligned */
    unsigned char *p = sky__lua_arena_alloc(&a, 10), *q = sky__lua_arena_alloc(&a, 20);
    ck_assert_uint_eq((uintptr_t)p % SKY_LUA_ARENA_ALIGN, 0);
    ck_assert_ptr_eq(q, p + 16);
    ck_assert(sky__lua_arena_owns(&a, p) && sky__lua_arena_owns(&a, q + 19));
    ck_assert(!sky__lua_arena_owns(&a, buf + 280) && !sky__lua_arena_owns(&a, NULL));
    ck_assert_ptr_eq(sky__lua_arena_resize(&a, q, 20, 40), q); /* the last block grows in place */
    ck_assert_ptr_null(sky__lua_arena_resize(&a, p, 10, 40));  /* another one cannot */
    ck_assert_ptr_eq(sky__lua_arena_resize(&a, p, 10, 5), p);  /* but shrinks */
    sky__lua_arena_release(&a, q, 40);
    ck_assert_ptr_eq(sky__lua_arena_alloc(&a, 8), q); /* the last one is reused */
    sky__lua_arena_release(&a, p, 10);
    ck_assert_ptr_eq(sky__lua_arena_alloc(&a, 8), q + 16); /* another one is not */
    ck_assert_ptr_null(sky__lua_arena_alloc(&a, 256));
    int n = 0;
    while (sky__lua_arena_alloc(&a, 16)) n++;
    ck_assert_int_gt(n, 8);
    ck_assert(a.used <= a.size && a.size - a.used < SKY_LUA_ARENA_ALIGN); /* full, to the last block */
    ck_assert_ptr_null(sky__lua_arena_alloc(&a, 1));
    sky__lua_arena none;
    sky__lua_arena_init(&none, NULL, 0);
    ck_assert_ptr_null(sky__lua_arena_alloc(&none, 1));
    ck_assert(!sky__lua_arena_owns(&none, p));
    void *b = sky__lua_arena_block_get();
    if (b) {
        memset(b, 0xab, SKY_LUA_ARENA_BLOCK); /* writable, all of it */
        sky__lua_arena_block_put(b);
        void *again = sky__lua_arena_block_get();
        ck_assert_ptr_eq(again, b);
        sky__lua_arena_block_put(again);
    }
    sky__lua_arena_block_put(NULL);
}
END_TEST

Suite *lua_suite(void)
{
    Suite *s = suite_create("lua");
    TCase *tc = tu_tcase("host");
    tcase_add_test(tc, test_spawn_echo);
    tcase_add_test(tc, test_self_register_whereis);
    tcase_add_test(tc, test_lazy_libraries);
    tcase_add_test(tc, test_spawn_from_lua);
    tcase_add_test(tc, test_bad_names);
    tcase_add_test(tc, test_bytecode_refused);
    tcase_add_test(tc, test_sleep_order);
    tcase_add_test(tc, test_call_timeout);
    tcase_add_test(tc, test_memory_limit);
    tcase_add_test(tc, test_budget);
    tcase_add_test(tc, test_exit);
    tcase_add_test(tc, test_handler_error);
    tcase_add_test(tc, test_raised_errors);
    tcase_add_test(tc, test_app_error_callers);
    tcase_add_test(tc, test_nul_in_string);
    tcase_add_test(tc, test_typed_lua_to_lua);
    tcase_add_test(tc, test_typed_c_to_lua);
    tcase_add_test(tc, test_stubs_lua_to_lua);
    tcase_add_test(tc, test_stubs_lua_to_c);
    tcase_add_test(tc, test_stubs_many_services);
    tcase_add_test(tc, test_process_from_lua);
    tcase_add_test(tc, test_supervisor_from_lua);
    tcase_add_test(tc, test_supervisor_from_c);
    tcase_add_test(tc, test_supervisor_without_parent);
    tcase_add_test(tc, test_budget_per_message);
    tcase_add_test(tc, test_limits_from_node_config);
    tcase_add_test(tc, test_spawn_options);
    tcase_add_test(tc, test_coroutines);
    tcase_add_test(tc, test_coroutines_abandoned);
    tcase_add_test(tc, test_arena);
    tcase_add_test(tc, test_bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}
