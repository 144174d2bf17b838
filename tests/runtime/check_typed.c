/* Typed messages: the schema registry, and calls through the C stubs skyc
 * generates from typed_test.proto (typed_test.sky.{h,c}, in the build
 * tree) on a real node: round trips,
 * deferred replies, deadlines, oneways, bad payloads both ways, wrong
 * message types, and serving without a handle. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "testutil.h"
#include "sky/typed.h"
#include "typed_test.sky.h"

#define BODY                                                                \
    "a body of sixty-four bytes, the size of the peers' payload bench.."

enum { CMD = 0x636d6400, RAW = 999 };

/* ---- the server: serves skytest.Echo, and has a handle for the rest ---- */

#define HELD_MAX 8

typedef struct server {
    sky_token later[HELD_MAX]; /* Later: answered from a timer */
    int32_t later_id[HELD_MAX];
    int nlater;
    sky_token held[HELD_MAX]; /* Hold: never answered */
    int nheld;
} server;

static atomic_int notes, bumps, raw_seen, serve_again_rc, serve_stray_rc;

static int on_bump(sky_ctx *ctx, const Skytest__Payload *req, const sky_request *r, void *ud)
{
    (void)ud;
    atomic_fetch_add(&bumps, 1);
    if (req->id == -1000) { /* answers with the wrong type on purpose */
        Skytest__Ack ack = SKYTEST__ACK__INIT;
        return sky_typed_reply(ctx, r, &ack.base);
    }
    Skytest__Payload resp = *req; /* strings borrowed: packed before we return */
    resp.id = req->id + 1;
    return skytest_Echo_Bump_reply(ctx, r, &resp);
}

static int on_later(sky_ctx *ctx, const Skytest__Payload *req, const sky_request *r, void *ud)
{
    server *s = ud;
    if (s->nlater == HELD_MAX) return SKY_ELIMIT;
    s->later_id[s->nlater] = req->id;
    s->later[s->nlater] = sky_defer(ctx, r->msg);
    return sky_timeout(ctx, 10, (uint32_t)s->nlater++);
}

static int on_hold(sky_ctx *ctx, const Skytest__Payload *req, const sky_request *r, void *ud)
{
    server *s = ud;
    (void)req;
    if (s->nheld == HELD_MAX) return SKY_ELIMIT;
    s->held[s->nheld++] = sky_defer(ctx, r->msg);
    return 0;
}

static int on_note(sky_ctx *ctx, const Skytest__Payload *req, const sky_request *r, void *ud)
{
    (void)ctx, (void)req, (void)r, (void)ud;
    atomic_fetch_add(&notes, 1);
    return 0;
}

/* Fails with the code in id; id > 0 and a kind: with the application error
 * {kind, "fail " body, details "\0\1det"} (as tests/lua/stub_echo.lua). */
static int on_fail(sky_ctx *ctx, const Skytest__Payload *req, const sky_request *r, void *ud)
{
    (void)ud;
    if (req->id > 0 && req->kind[0]) {
        char text[128];
        snprintf(text, sizeof text, "fail %s", req->body);
        return sky_reply_app_error(ctx, r->msg, req->kind, text, "\0\1det", 5);
    }
    return req->id;
}

static const skytest_Echo_handlers handlers = {
    .Bump = on_bump, .Later = on_later, .Hold = on_hold, .Note = on_note, .Fail = on_fail};

/* A file that does not list skytest.Echo. */
static const sky_file_desc stray_file = {.name = "stray.proto"};

static void *server_create(void) { return calloc(1, sizeof(server)); }
static void server_release(void *st) { free(st); }

static int server_init(void *st, sky_ctx *ctx, const char *args)
{
    (void)args;
    int rc = skytest_Echo_serve(ctx, &handlers, st);
    if (rc != 0) return rc;
    atomic_store(&serve_again_rc, skytest_Echo_serve(ctx, &handlers, st));
    atomic_store(&serve_stray_rc, sky_serve(ctx, &stray_file, &skytest_Echo_desc, &handlers, st));
    return 0;
}

/* Everything that is not an Echo method: timers (Later) and raw mail. */
static int server_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    server *s = st;
    if (m->kind == SKY_TIMER && m->session < (uint32_t)s->nlater) {
        Skytest__Payload resp = SKYTEST__PAYLOAD__INIT;
        resp.id = s->later_id[m->session] + 100;
        return skytest_Echo_Later_respond(ctx, s->later[m->session], &resp);
    }
    if (m->kind == SKY_ONEWAY && m->type_id == RAW) atomic_fetch_add(&raw_seen, 1);
    return 0;
}

/* Also serves check_lua's stub tests (skytest.Echo in C). */
const sky_module typed_server_module = {"tserver", server_create, server_init, server_handle, server_release};

/* The same service with no handle at all. */
static int typed_only_init(void *st, sky_ctx *ctx, const char *args)
{
    (void)args;
    return skytest_Echo_serve(ctx, &handlers, st);
}

static const sky_module typed_only_module = {"tonly", server_create, typed_only_init, NULL, server_release};

/* Answers every request with bytes that are no protobuf message. */
static const unsigned char garbage[] = {0x0f, 0x01, 0xff};

static int liar_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st;
    if (m->kind != SKY_REQUEST) return 0;
    return sky_reply_copy(ctx, m, m->type_id, garbage, sizeof garbage);
}

static const sky_module liar_module = {"liar", NULL, NULL, liar_handle, NULL};

/* Answers every request with a Payload whose kind holds a NUL byte. */
static int nuller_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    static const unsigned char nul_kind[] = {0x08, 0x02, 0x1a, 0x03, 'a', 0, 'b'};
    (void)st;
    if (m->kind != SKY_REQUEST) return 0;
    return sky_reply_copy(ctx, m, m->type_id, nul_kind, sizeof nul_kind);
}

static const sky_module nuller_module = {"nuller", NULL, NULL, nuller_handle, NULL};

/* ---- the client: makes the typed calls the test thread asks for -------- */

enum op {
    OP_BUMP,       /* Bump_call */
    OP_LATER,      /* Later_call */
    OP_HOLD,       /* Hold_call */
    OP_NOTE_SEND,  /* Note_send */
    OP_NOTE_CALL,  /* Note_call: a oneway method called */
    OP_BUMP_SEND,  /* sky_typed_send on Bump: a method sent as a oneway */
    OP_FAIL,       /* Fail_call */
    OP_WRONG_TYPE, /* sky_typed_call / sky_typed_send with an Ack */
    OP_HOLD_EXIT,  /* Hold_call, then exit with the call pending */
    OP_BUMP_BIG    /* Bump_call with a 4000-byte body */
};

typedef struct cmd {
    int op, slot, timeout_ms;
    int32_t id;
    sky_addr_t to;
} cmd;

#define SLOTS 16

typedef struct result {
    atomic_int done;
    int rc;     /* what the _call returned */
    int status; /* what the callback got */
    int had_resp, had_reply;
    int32_t id, session, count;
    char kind[32], body[128];
    size_t body_len;
    uint64_t started, ms;
} result;

static result res[SLOTS];

static void finish(result *r, int status, const sky_msg *reply)
{
    r->status = status;
    r->had_reply = reply != NULL;
    r->ms = tu_now_ms() - r->started;
    atomic_store(&r->done, 1);
}

static void on_payload(sky_ctx *ctx, int status, const Skytest__Payload *resp, const sky_msg *reply, void *ud)
{
    (void)ctx;
    result *r = ud;
    r->had_resp = resp != NULL;
    if (resp) {
        r->id = resp->id;
        r->session = resp->session;
        snprintf(r->kind, sizeof r->kind, "%s", resp->kind);
        snprintf(r->body, sizeof r->body, "%s", resp->body);
        r->body_len = strlen(resp->body);
    }
    finish(r, status, reply);
}

static void on_ack(sky_ctx *ctx, int status, const Skytest__Ack *resp, const sky_msg *reply, void *ud)
{
    (void)ctx;
    result *r = ud;
    r->had_resp = resp != NULL;
    if (resp) r->count = resp->count;
    finish(r, status, reply);
}

/* An untyped callback, for sky_typed_call itself. */
static void on_any(sky_ctx *ctx, int status, const ProtobufCMessage *resp, const sky_msg *reply, void *ud)
{
    (void)ctx, (void)resp;
    finish(ud, status, reply);
}

static void run(sky_ctx *ctx, const cmd *c)
{
    result *r = &res[c->slot];
    Skytest__Payload req = SKYTEST__PAYLOAD__INIT;
    req.id = c->id;
    req.session = 7;
    req.kind = (char *)"request";
    req.body = (char *)BODY;
    Skytest__Ack ack = SKYTEST__ACK__INIT;
    char big[4001];
    memset(big, 'b', sizeof big - 1);
    big[sizeof big - 1] = 0;
    r->started = tu_now_ms();
    int rc = 0;
    switch (c->op) {
    case OP_BUMP:
        rc = skytest_Echo_Bump_call(ctx, c->to, &req, c->timeout_ms, on_payload, r);
        break;
    case OP_BUMP_BIG:
        req.body = big;
        rc = skytest_Echo_Bump_call(ctx, c->to, &req, c->timeout_ms, on_payload, r);
        break;
    case OP_LATER:
        rc = skytest_Echo_Later_call(ctx, c->to, &req, c->timeout_ms, on_payload, r);
        break;
    case OP_HOLD:
    case OP_HOLD_EXIT:
        rc = skytest_Echo_Hold_call(ctx, c->to, &req, c->timeout_ms, on_payload, r);
        if (c->op == OP_HOLD_EXIT) sky_exit(ctx);
        break;
    case OP_NOTE_SEND:
        rc = skytest_Echo_Note_send(ctx, c->to, &req);
        break;
    case OP_NOTE_CALL:
        rc = skytest_Echo_Note_call(ctx, c->to, &req, c->timeout_ms, on_ack, r);
        break;
    case OP_BUMP_SEND:
        rc = sky_typed_send(ctx, c->to, &skytest_Echo_desc.methods[0], &req.base);
        break;
    case OP_FAIL:
        rc = skytest_Echo_Fail_call(ctx, c->to, &req, c->timeout_ms, on_ack, r);
        break;
    case OP_WRONG_TYPE:
        rc = sky_typed_call(ctx, c->to, &skytest_Echo_desc.methods[0], &ack.base, 0, on_any, r);
        r->status = sky_typed_send(ctx, c->to, &skytest_Echo_desc.methods[3], &ack.base);
        r->count = sky_typed_call(ctx, c->to, &skytest_Echo_desc.methods[0], NULL, 0, on_any, r);
        break;
    }
    r->rc = rc;
    if (rc != 0 || c->op == OP_NOTE_SEND || c->op == OP_BUMP_SEND || c->op == OP_WRONG_TYPE)
        atomic_store(&r->done, 1); /* no callback will come */
}

static int client_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st;
    if (m->kind == SKY_ONEWAY && m->type_id == CMD && m->size == sizeof(cmd)) {
        cmd c;
        memcpy(&c, m->data, sizeof c);
        run(ctx, &c);
    }
    return 0;
}

static const sky_module client_module = {"tclient", NULL, NULL, client_handle, NULL};

/* ---- helpers ----------------------------------------------------------- */

typedef struct world {
    sky_node *node;
    sky_addr_t server, client;
} world;

static world start(const sky_module *server_mod)
{
    memset(res, 0, sizeof res);
    atomic_store(&notes, 0);
    atomic_store(&bumps, 0);
    atomic_store(&raw_seen, 0);
    world w;
    w.node = tu_node(2, server_mod, &client_module, &liar_module, NULL);
    w.server = tu_spawn(w.node, server_mod->name, "");
    w.client = tu_spawn(w.node, "tclient", "");
    return w;
}

/* Asks the client to run op; returns its result once done. */
static result *ask(world *w, int op, int slot, sky_addr_t to, int32_t id, int timeout_ms)
{
    cmd c = {op, slot, timeout_ms, id, to};
    ck_assert_int_eq(tu_send(w->node, w->client, CMD, &c, sizeof c), 0);
    ck_assert_msg(TU_WAIT(atomic_load(&res[slot].done), 3000), "op %d did not finish", op);
    return &res[slot];
}

/* ---- the schema registry ----------------------------------------------- */

START_TEST(method_ids)
{
    ck_assert_uint_eq(sky_method_id(""), 0x811c9dc5u); /* FNV-1a test vectors */
    ck_assert_uint_eq(sky_method_id("a"), 0xe40c292cu);
    ck_assert_uint_eq(sky_method_id("skytest.Echo.Bump"), 0x1b66e1cdu);
    ck_assert_uint_eq(skytest_Echo_Bump_ID, 0x1b66e1cdu);
    for (size_t i = 0; i < skytest_Echo_desc.n_methods; i++) {
        const sky_method_desc *m = &skytest_Echo_desc.methods[i];
        ck_assert_uint_eq(m->id, sky_method_id(m->full_name));
    }
}
END_TEST

START_TEST(schema_lookup)
{
    /* registered when the program was loaded, before any serve */
    ck_assert_ptr_eq(sky_schema_service("skytest.Echo"), &skytest_Echo_desc);
    ck_assert_int_eq(sky_schema_register(&skytest_typed_test_file), 0); /* again: a no-op */
    ck_assert_ptr_eq(sky_schema_message("skytest.Payload"), &skytest__payload__descriptor);
    ck_assert_ptr_eq(sky_schema_message("skytest.Ack"), &skytest__ack__descriptor);
    ck_assert_ptr_eq(sky_schema_enum("skytest.Color"), &skytest__color__descriptor);
    const sky_method_desc *m = sky_schema_method(skytest_Echo_Later_ID);
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(m->full_name, "skytest.Echo.Later");
    ck_assert_ptr_eq(m->input, &skytest__payload__descriptor);
    ck_assert_ptr_eq(sky_schema_method(skytest_Echo_Note_ID)->output, &skytest__ack__descriptor);
    ck_assert_ptr_null(sky_schema_message("skytest.Nope"));
    ck_assert_ptr_null(sky_schema_message("Payload")); /* full names only */
    ck_assert_ptr_null(sky_schema_message("skytest.Color")); /* an enum, not a message */
    ck_assert_ptr_null(sky_schema_enum("skytest.Payload"));
    ck_assert_ptr_null(sky_schema_service("skytest.Echo.Bump"));
    ck_assert_ptr_null(sky_schema_method(0x12345678u));
    ck_assert_ptr_null(sky_schema_message(NULL));
    ck_assert_int_eq(sky_schema_register(NULL), SKY_EINVAL);
}
END_TEST

/* Two names with the same FNV-1a hash (found by search: 0x5fe4b669). */
#define CLASH_A "skytest.Clash.M137709"
#define CLASH_B "skytest.Clash.M1051026"

#define METHOD(nm, full) {.name = nm, .full_name = full, .id = 0x5fe4b669u, .input = &skytest__payload__descriptor, \
                          .output = &skytest__payload__descriptor}

static const sky_method_desc clash_a_methods[] = {METHOD("M137709", CLASH_A)};
static const sky_method_desc clash_b_methods[] = {METHOD("M1051026", CLASH_B)};
static const sky_method_desc clash_both_methods[] = {METHOD("M137709", CLASH_A), METHOD("M1051026", CLASH_B)};
static const sky_method_desc bad_id_methods[] = {
    {.name = "X", .full_name = "skytest.BadId.X", .id = 1, .input = &skytest__payload__descriptor,
     .output = &skytest__payload__descriptor}};

#define SERVICE(nm, ms) {.name = nm, .full_name = "skytest." nm, .n_methods = sizeof ms / sizeof ms[0], .methods = ms}

static const sky_service_desc clash_a = SERVICE("ClashA", clash_a_methods);
static const sky_service_desc clash_b = SERVICE("ClashB", clash_b_methods);
static const sky_service_desc clash_both = SERVICE("ClashBoth", clash_both_methods);
static const sky_service_desc bad_id = SERVICE("BadId", bad_id_methods);
static const sky_service_desc *const clash_a_list[] = {&clash_a};
static const sky_service_desc *const clash_b_list[] = {&clash_b};
static const sky_service_desc *const clash_both_list[] = {&clash_both};
static const sky_service_desc *const bad_id_list[] = {&bad_id};
static const sky_file_desc clash_a_file = {.name = "a.proto", .n_services = 1, .services = clash_a_list};
static const sky_file_desc clash_b_file = {.name = "b.proto", .n_services = 1, .services = clash_b_list};
static const sky_file_desc clash_both_file = {.name = "both.proto", .n_services = 1, .services = clash_both_list};
static const sky_file_desc bad_id_file = {.name = "badid.proto", .n_services = 1, .services = bad_id_list};

START_TEST(schema_clash)
{
    ck_assert_uint_eq(sky_method_id(CLASH_A), sky_method_id(CLASH_B));
    ck_assert_int_eq(sky_schema_register(&clash_a_file), 0);
    ck_assert_int_eq(sky_schema_register(&clash_b_file), SKY_EEXIST);
    ck_assert_str_eq(sky_schema_method(0x5fe4b669u)->full_name, CLASH_A);
    ck_assert_ptr_null(sky_schema_service("skytest.ClashB")); /* not registered at all */
    ck_assert_int_eq(sky_schema_register(&clash_b_file), SKY_EEXIST); /* still */
    ck_assert_int_eq(sky_schema_register(&clash_a_file), 0);
    /* a clash inside one file, and an id that is not the name's */
    ck_assert_int_eq(sky_schema_register(&clash_both_file), SKY_EEXIST);
    ck_assert_ptr_null(sky_schema_service("skytest.ClashBoth"));
    ck_assert_int_eq(sky_schema_register(&bad_id_file), SKY_EINVAL);
    ck_assert_ptr_null(sky_schema_method(1));
}
END_TEST

/* Descriptors without names, as protoc-c makes them for a file with
 * `option optimize_for = CODE_SIZE`: registering such a file used to
 * crash in sky_method_id(NULL). */
START_TEST(schema_nameless)
{
    ProtobufCMessageDescriptor msg = skytest__payload__descriptor;
    ProtobufCEnumDescriptor en = skytest__color__descriptor;
    const ProtobufCMessageDescriptor *msgs[] = {&msg};
    const ProtobufCMessageDescriptor *no_msgs[] = {NULL};
    const ProtobufCEnumDescriptor *enums[] = {&en};
    msg.name = msg.short_name = msg.c_name = msg.package_name = NULL;
    en.name = en.short_name = en.c_name = en.package_name = NULL;
    const sky_file_desc nameless_msg = {.name = "codesize.proto", .n_messages = 1, .messages = msgs};
    const sky_file_desc nameless_enum = {.name = "codesize.proto", .n_enums = 1, .enums = enums};
    const sky_file_desc null_msg = {.name = "codesize.proto", .n_messages = 1, .messages = no_msgs};
    const sky_file_desc nameless_file = {.name = NULL};
    ck_assert_int_eq(sky_schema_register(&nameless_msg), SKY_EINVAL);
    ck_assert_int_eq(sky_schema_register(&nameless_enum), SKY_EINVAL);
    ck_assert_int_eq(sky_schema_register(&null_msg), SKY_EINVAL);
    ck_assert_int_eq(sky_schema_register(&nameless_file), SKY_EINVAL);
    ck_assert_ptr_null(sky_schema_file("codesize.proto")); /* none of them registered */
    ck_assert_ptr_eq(sky_schema_message("skytest.Payload"), &skytest__payload__descriptor);
}
END_TEST

/* Registration from many threads at once: every file once, no clash. */
static void *register_all(void *arg)
{
    (void)arg;
    for (int i = 0; i < 200; i++) {
        if (sky_schema_register(&skytest_typed_test_file) != 0) return (void *)1;
        if (sky_schema_register(&clash_a_file) != 0) return (void *)1;
        if (!sky_schema_method(skytest_Echo_Bump_ID)) return (void *)1;
    }
    return NULL;
}

START_TEST(schema_threads)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, register_all, NULL);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        ck_assert_ptr_null(r);
    }
}
END_TEST

/* ---- typed calls -------------------------------------------------------- */

START_TEST(round_trip)
{
    world w = start(&typed_server_module);
    ck_assert_uint_eq(sky_node_whereis(w.node, "typed_echo"), w.server); /* the default_name */
    result *r = ask(&w, OP_BUMP, 0, w.server, 41, 0);
    ck_assert_int_eq(r->rc, 0);
    ck_assert_int_eq(r->status, 0);
    ck_assert(r->had_resp && r->had_reply);
    ck_assert_int_eq(r->id, 42);
    ck_assert_int_eq(r->session, 7);
    ck_assert_str_eq(r->kind, "request");
    ck_assert_str_eq(r->body, BODY);
    /* a message too big to decode on the stack */
    r = ask(&w, OP_BUMP_BIG, 1, w.server, 1, 0);
    ck_assert_int_eq(r->status, 0);
    ck_assert_int_eq(r->id, 2);
    ck_assert_uint_eq(r->body_len, 4000);
    /* serving twice, or a service the file does not list */
    ck_assert_int_eq(atomic_load(&serve_again_rc), SKY_EEXIST);
    ck_assert_int_eq(atomic_load(&serve_stray_rc), SKY_EINVAL);
    /* other mail still reaches the module's handle */
    ck_assert_int_eq(tu_send(w.node, w.server, RAW, "x", 1), 0);
    ck_assert(TU_WAIT(atomic_load(&raw_seen) == 1, 2000));
    sky_node_free(w.node);
}
END_TEST

START_TEST(deferred_reply)
{
    world w = start(&typed_server_module);
    result *r = ask(&w, OP_LATER, 0, w.server, 5, 0);
    ck_assert_int_eq(r->status, 0);
    ck_assert(r->had_resp);
    ck_assert_int_eq(r->id, 105);
    ck_assert_uint_ge(r->ms, 9);
    sky_node_free(w.node);
}
END_TEST

START_TEST(deadline)
{
    world w = start(&typed_server_module); /* the node default deadline is 10 s */
    result *r = ask(&w, OP_HOLD, 0, w.server, 1, 0);
    ck_assert_int_eq(r->status, SKY_ETIMEDOUT); /* Hold's own 100 ms */
    ck_assert(!r->had_resp && !r->had_reply);
    ck_assert_uint_ge(r->ms, 90);
    ck_assert_uint_lt(r->ms, (uint64_t)tu_ms(3000));
    r = ask(&w, OP_HOLD, 1, w.server, 1, 30); /* the caller's own deadline wins */
    ck_assert_int_eq(r->status, SKY_ETIMEDOUT);
    ck_assert_uint_lt(r->ms, 90 + (uint64_t)tu_ms(60));
    r = ask(&w, OP_BUMP, 2, w.server, 1, 0); /* and the service goes on */
    ck_assert_int_eq(r->status, 0);
    sky_node_free(w.node);
}
END_TEST

START_TEST(oneway)
{
    world w = start(&typed_server_module);
    for (int i = 0; i < 3; i++) ck_assert_int_eq(ask(&w, OP_NOTE_SEND, i, w.server, i, 0)->rc, 0);
    ck_assert(TU_WAIT(atomic_load(&notes) == 3, 2000));
    /* a oneway method called: an empty answer once handled */
    result *r = ask(&w, OP_NOTE_CALL, 3, w.server, 0, 0);
    ck_assert_int_eq(r->status, 0);
    ck_assert(r->had_resp);
    ck_assert_int_eq(r->count, 0);
    ck_assert_int_eq(atomic_load(&notes), 4);
    /* a method sent as a oneway: handled, the answer goes nowhere */
    ck_assert_int_eq(ask(&w, OP_BUMP_SEND, 4, w.server, 1, 0)->rc, 0);
    ck_assert(TU_WAIT(atomic_load(&bumps) == 1, 2000));
    sky_service_stat st = tu_stat(w.node, w.server);
    ck_assert_uint_eq(st.errors, 0);
    ck_assert_uint_eq(st.bad, 0);
    sky_node_free(w.node);
}
END_TEST

START_TEST(handler_error)
{
    world w = start(&typed_server_module);
    result *r = ask(&w, OP_FAIL, 0, w.server, SKY_ENOENT, 0);
    ck_assert_int_eq(r->status, SKY_ENOENT);
    ck_assert(!r->had_resp && r->had_reply);
    r = ask(&w, OP_FAIL, 1, w.server, 0, 0); /* returned 0 without answering */
    ck_assert_int_eq(r->status, SKY_ENOREPLY);
    r = ask(&w, OP_BUMP, 2, w.server, -1000, 0); /* replied with the wrong type */
    ck_assert_int_eq(r->status, SKY_EINVAL);
    sky_node_free(w.node);
}
END_TEST

START_TEST(bad_payload)
{
    world w = start(&typed_server_module);
    unsigned char *bytes = malloc(sizeof garbage);
    memcpy(bytes, garbage, sizeof garbage);
    sky_msg req = {.type_id = skytest_Echo_Bump_ID, .data = bytes, .size = sizeof garbage}, reply;
    char err[128] = "";
    ck_assert_int_eq(sky_node_call(w.node, w.server, &req, 2000, &reply, err, sizeof err), SKY_EBADMSG);
    ck_assert_msg(strstr(err, "does not decode as skytest.Payload"), "error text: %s", err);
    sky_service_stat st = tu_stat(w.node, w.server);
    ck_assert_uint_eq(st.bad, 1);
    ck_assert_uint_eq(st.errors, 0);
    ck_assert_int_eq(atomic_load(&bumps), 0); /* the handler never saw it */
    /* a bad oneway: counted, nobody to answer */
    ck_assert_int_eq(tu_send(w.node, w.server, skytest_Echo_Note_ID, garbage, sizeof garbage), 0);
    ck_assert(TU_WAIT(tu_stat(w.node, w.server).bad == 2, 2000));
    ck_assert_int_eq(atomic_load(&notes), 0);
    /* and the service goes on */
    result *r = ask(&w, OP_BUMP, 0, w.server, 1, 0);
    ck_assert_int_eq(r->status, 0);
    ck_assert_int_eq(r->id, 2);
    sky_node_free(w.node);
}
END_TEST

START_TEST(bad_response)
{
    world w = start(&typed_server_module);
    sky_addr_t liar = tu_spawn(w.node, "liar", "");
    result *r = ask(&w, OP_BUMP, 0, liar, 1, 0);
    ck_assert_int_eq(r->rc, 0);
    ck_assert_int_eq(r->status, SKY_EBADMSG);
    ck_assert(!r->had_resp && r->had_reply);
    ck_assert_uint_eq(tu_stat(w.node, w.client).bad, 1);
    /* a string field holding a NUL byte: refused, as Lua's codec does,
     * rather than handed over cut short */
    ck_assert_int_eq(sky_node_register_module(w.node, &nuller_module), 0);
    sky_addr_t nuller = tu_spawn(w.node, "nuller", "");
    r = ask(&w, OP_BUMP, 1, nuller, 1, 0);
    ck_assert_int_eq(r->status, SKY_EBADMSG);
    ck_assert(!r->had_resp && r->had_reply);
    ck_assert_uint_eq(tu_stat(w.node, w.client).bad, 2);
    Skytest__Payload req = SKYTEST__PAYLOAD__INIT, *resp;
    ck_assert_int_eq(skytest_Echo_Bump_node_call(w.node, nuller, &req, &resp, 0, NULL), SKY_EBADMSG);
    ck_assert_ptr_null(resp);
    sky_node_free(w.node);
}
END_TEST

/* The stubs' _node_call: a program that embeds the node (this test's
 * thread) calls typed, by default name or address, and gets responses,
 * error replies (an application error's code and details), the method's
 * deadline, and SKY_EBADMSG for a response that does not decode. */
START_TEST(node_call)
{
    world w = start(&typed_server_module);
    Skytest__Payload req = SKYTEST__PAYLOAD__INIT, *resp = (Skytest__Payload *)1;
    Skytest__Ack *ack = (Skytest__Ack *)1;
    sky_msg error = {.data = (void *)1};
    req.id = 41;
    req.kind = (char *)"node";
    /* by the service's default name, and by address */
    ck_assert_int_eq(skytest_Echo_Bump_node_call(w.node, SKY_ADDR_NONE, &req, &resp, 0, &error), 0);
    ck_assert_ptr_null(error.data);
    ck_assert_int_eq(error.kind, 0);
    ck_assert_int_eq(resp->id, 42);
    ck_assert_str_eq(resp->kind, "node");
    skytest__payload__free_unpacked(resp, NULL);
    req.id = 1;
    ck_assert_int_eq(skytest_Echo_Bump_node_call(w.node, w.server, &req, &resp, 1000, NULL), 0);
    ck_assert_int_eq(resp->id, 2);
    skytest__payload__free_unpacked(resp, NULL);
    /* an error reply: its code, and with error given the reply itself */
    req.id = SKY_ENOENT;
    req.kind = (char *)"";
    ck_assert_int_eq(skytest_Echo_Fail_node_call(w.node, SKY_ADDR_NONE, &req, &ack, 0, NULL), SKY_ENOENT);
    ck_assert_ptr_null(ack);
    req.id = 1;
    req.kind = (char *)"EOUTOFSTOCK";
    req.body = (char *)"y";
    ck_assert_int_eq(skytest_Echo_Fail_node_call(w.node, w.server, &req, &ack, 0, &error), SKY_EAPP);
    ck_assert_ptr_null(ack);
    ck_assert_int_eq(error.kind, SKY_ERROR);
    char buf[64];
    size_t n;
    ck_assert_str_eq(sky_error_app_code(&error, buf, sizeof buf), "EOUTOFSTOCK");
    ck_assert_str_eq(sky_error_text(&error, SKY_EAPP, buf, sizeof buf), "fail y");
    ck_assert(memcmp(sky_error_details(&error, &n), "\0\1det", 5) == 0 && n == 5);
    free(error.data);
    /* Hold never answers: the method's deadline (100 ms) */
    uint64_t t0 = tu_now_ms();
    ck_assert_int_eq(skytest_Echo_Hold_node_call(w.node, SKY_ADDR_NONE, &req, &resp, 0, &error), SKY_ETIMEDOUT);
    ck_assert_uint_lt(tu_now_ms() - t0, 3000);
    ck_assert_ptr_null(resp);
    ck_assert_ptr_null(error.data);
    /* a oneway method called: an empty Ack once handled */
    ck_assert_int_eq(skytest_Echo_Note_node_call(w.node, SKY_ADDR_NONE, &req, &ack, 0, NULL), 0);
    ck_assert_int_eq(ack->count, 0);
    skytest__ack__free_unpacked(ack, NULL);
    ck_assert_int_eq(atomic_load(&notes), 1);
    /* a response that does not decode */
    sky_addr_t liar = tu_spawn(w.node, "liar", "");
    ck_assert_int_eq(skytest_Echo_Bump_node_call(w.node, liar, &req, &resp, 0, &error), SKY_EBADMSG);
    ck_assert_ptr_null(resp);
    ck_assert_ptr_null(error.data);
    /* no such service; a request of the wrong type */
    ck_assert_int_eq(skytest_Echo_Bump_node_call(w.node, SKY_ADDR(1, 999999), &req, &resp, 0, NULL),
                     SKY_ENOSVC);
    Skytest__Ack wrong = SKYTEST__ACK__INIT;
    ProtobufCMessage *out;
    ck_assert_int_eq(sky_typed_node_call(w.node, w.server, &skytest_Echo_desc, &skytest_Echo_desc.methods[0],
                                         &wrong.base, 0, &out, NULL),
                     SKY_EINVAL);
    ck_assert_int_eq(sky_typed_node_call(w.node, SKY_ADDR_NONE, NULL, &skytest_Echo_desc.methods[0], &req.base, 0,
                                         &out, NULL),
                     SKY_EINVAL);
    sky_node_free(w.node);
}
END_TEST

/* _node_call by default name when nothing is registered under it. */
START_TEST(node_call_no_name)
{
    sky_node *node = tu_node(2, NULL);
    Skytest__Payload req = SKYTEST__PAYLOAD__INIT, *resp;
    ck_assert_int_eq(skytest_Echo_Bump_node_call(node, SKY_ADDR_NONE, &req, &resp, 0, NULL), SKY_ENOSVC);
    ck_assert_ptr_null(resp);
    sky_node_free(node);
}
END_TEST

START_TEST(wrong_type)
{
    world w = start(&typed_server_module);
    result *r = ask(&w, OP_WRONG_TYPE, 0, w.server, 0, 0);
    ck_assert_int_eq(r->rc, SKY_EINVAL);     /* sky_typed_call with an Ack */
    ck_assert_int_eq(r->status, SKY_EINVAL); /* sky_typed_send with an Ack */
    ck_assert_int_eq(r->count, SKY_EINVAL);  /* no request at all */
    ck_assert_uint_eq(tu_stat(w.node, w.server).received, 0);
    sky_node_free(w.node);
}
END_TEST

START_TEST(no_service)
{
    world w = start(&typed_server_module);
    sky_addr_t gone = SKY_ADDR(sky_node_id(w.node), 999999);
    ck_assert_int_eq(ask(&w, OP_BUMP, 0, gone, 1, 0)->rc, SKY_ENOSVC);
    ck_assert_int_eq(ask(&w, OP_NOTE_SEND, 1, gone, 1, 0)->rc, SKY_ENOSVC);
    ck_assert_int_eq(ask(&w, OP_BUMP, 2, w.server, 1, 0)->status, 0); /* the context was given back */
    sky_node_free(w.node);
}
END_TEST

START_TEST(typed_only)
{
    world w = start(&typed_only_module);
    result *r = ask(&w, OP_BUMP, 0, w.server, 1, 0);
    ck_assert_int_eq(r->status, 0);
    ck_assert_int_eq(r->id, 2);
    sky_msg req = {.type_id = 12345, .data = NULL, .size = 0}, reply;
    ck_assert_int_eq(sky_node_call(w.node, w.server, &req, 2000, &reply, NULL, 0), SKY_ENOTSUP);
    ck_assert_int_eq(tu_send(w.node, w.server, RAW, "x", 1), 0); /* dropped */
    ck_assert_int_eq(ask(&w, OP_BUMP, 1, w.server, 1, 0)->status, 0);
    ck_assert(tu_alive(w.node, w.server));
    sky_node_free(w.node);
}
END_TEST

/* A caller that exits, or a node that stops, with typed calls pending:
 * the contexts go with the service (valgrind and ASan check). */
START_TEST(pending_at_exit)
{
    world w = start(&typed_server_module);
    cmd c = {OP_HOLD_EXIT, 0, 10000, 1, w.server};
    ck_assert_int_eq(tu_send(w.node, w.client, CMD, &c, sizeof c), 0);
    ck_assert(TU_WAIT(!tu_alive(w.node, w.client), 2000));
    ck_assert(!atomic_load(&res[0].done));
    sky_addr_t other = tu_spawn(w.node, "tclient", "");
    c = (cmd){OP_HOLD, 1, 10000, 1, w.server};
    ck_assert_int_eq(tu_send(w.node, other, CMD, &c, sizeof c), 0);
    ck_assert(TU_WAIT(tu_stat(w.node, w.server).received == 2, 2000));
    sky_node_free(w.node);
    ck_assert(!atomic_load(&res[1].done));
}
END_TEST

Suite *typed_suite(void)
{
    Suite *s = suite_create("typed");
    TCase *tc = tu_tcase("schema");
    tcase_add_test(tc, method_ids);
    tcase_add_test(tc, schema_lookup);
    tcase_add_test(tc, schema_clash);
    tcase_add_test(tc, schema_nameless);
    tcase_add_test(tc, schema_threads);
    suite_add_tcase(s, tc);
    tc = tu_tcase("calls");
    tcase_add_test(tc, round_trip);
    tcase_add_test(tc, deferred_reply);
    tcase_add_test(tc, deadline);
    tcase_add_test(tc, oneway);
    tcase_add_test(tc, handler_error);
    tcase_add_test(tc, bad_payload);
    tcase_add_test(tc, bad_response);
    tcase_add_test(tc, wrong_type);
    tcase_add_test(tc, node_call);
    tcase_add_test(tc, node_call_no_name);
    tcase_add_test(tc, no_service);
    tcase_add_test(tc, typed_only);
    tcase_add_test(tc, pending_at_exit);
    suite_add_tcase(s, tc);
    return s;
}
