/* Calls: round trips, failures at once, error replies, deferred answers,
 * calls from outside, and callers of a service that dies or is killed. */
#include <stdlib.h>
#include <string.h>
#include "core/call.h"
#include "testutil.h"

enum {
    T_CALL = 1,    /* caller: make a call (a callreq) */
    T_BLOCK = 2,   /* gatekeeper: block on the gate, then exit */
    T_RELEASE = 3, /* deferrer: answer what it holds */
    T_EXIT = 4,    /* deferrer: exit */
    T_KILL = 5     /* killer: sky_kill the address in the payload */
};

/* Request types the errsvc service understands. */
enum {
    E_TEXT = 1,     /* sky_reply_error(SKY_ENOTSUP, "custom text") */
    E_NOTEXT = 2,   /* sky_reply_error(SKY_EFAIL, NULL) */
    E_NOREPLY = 3,  /* return 0 without replying */
    E_RETURN = 4,   /* return SKY_EBADMSG without replying */
    E_BADCODE = 5,  /* sky_reply_error with a positive code, then nothing */
    E_POSITIVE = 6, /* return 7 without replying */
    E_BOTH = 7,     /* reply, then return SKY_EFAIL */
    E_BADAPP = 8,   /* sky_reply_app_error with bad arguments, then nothing */
    E_APP = 9       /* sky_reply_app_error("EOUTOFSTOCK", "custom text", no details) */
};

/* ---- the caller -------------------------------------------------------- */

#define SLOTS 64

typedef struct callrec {
    atomic_int count; /* callbacks run */
    atomic_int status;
    atomic_int had_reply;
    atomic_int kind;
    atomic_int rc;      /* what sky_call returned; 1 = not yet */
    atomic_int pending; /* sky__calls_count after a failed call */
    sky_addr_t source;
    uint32_t type_id;
    size_t size;
    unsigned char *data; /* a copy of the reply payload */
    char text[128];      /* sky_error_text */
    char app[64];        /* sky_error_app_code */
    int chain;           /* calls still to make from the callback */
    sky_addr_t to;
} callrec;

static callrec calls[SLOTS];

typedef struct callreq {
    sky_addr_t to;
    int timeout_ms;
    int slot;
    uint32_t type_id;
    size_t size;
    int chain;
} callreq;

static unsigned char pattern(size_t i) { return (unsigned char)(i * 7 + 3); }

static int make_call(sky_ctx *ctx, int slot, uint32_t type_id, size_t size, int timeout_ms);

static void caller_reply(sky_ctx *ctx, int status, const sky_msg *reply, void *ud)
{
    int slot = (int)(intptr_t)ud;
    callrec *c = &calls[slot];
    atomic_store(&c->status, status);
    atomic_store(&c->had_reply, reply != NULL);
    if (reply) {
        atomic_store(&c->kind, reply->kind);
        c->source = reply->source;
        c->type_id = reply->type_id;
        c->size = reply->size;
        free(c->data);
        c->data = reply->size ? memcpy(malloc(reply->size), reply->data, reply->size) : NULL;
    }
    sky_error_text(reply, status, c->text, sizeof c->text);
    sky_error_app_code(reply, c->app, sizeof c->app);
    if (c->chain > 0) { /* a callback may call again */
        c->chain--;
        if (make_call(ctx, slot, 1, 10, 0) != 0) atomic_store(&c->status, 99);
    }
    atomic_fetch_add(&c->count, 1);
}

static int make_call(sky_ctx *ctx, int slot, uint32_t type_id, size_t size, int timeout_ms)
{
    unsigned char *p = size ? malloc(size) : NULL;
    for (size_t i = 0; i < size; i++) p[i] = pattern(i);
    sky_msg req = {.kind = SKY_ONEWAY /* ignored by sky_call */, .type_id = type_id, .size = size, .data = p};
    return sky_call(ctx, calls[slot].to, &req, timeout_ms, caller_reply, (void *)(intptr_t)slot);
}

static int caller_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st;
    if (m->kind != SKY_ONEWAY) return 0;
    if (m->type_id == T_EXIT) {
        sky_exit(ctx);
        return 0;
    }
    if (m->type_id != T_CALL) return 0;
    callreq r;
    memcpy(&r, m->data, sizeof r);
    calls[r.slot].to = r.to;
    calls[r.slot].chain = r.chain;
    int rc = make_call(ctx, r.slot, r.type_id, r.size, r.timeout_ms);
    atomic_store(&calls[r.slot].pending, (int)sky__calls_count(&ctx->s));
    atomic_store(&calls[r.slot].rc, rc);
    return 0;
}

static const sky_module caller_module = {"caller", NULL, NULL, caller_handle, NULL};

static void calls_reset(void)
{
    for (int i = 0; i < SLOTS; i++) free(calls[i].data);
    memset(calls, 0, sizeof calls);
    for (int i = 0; i < SLOTS; i++) atomic_store(&calls[i].rc, 1);
}

/* Asks `caller` to call `to`; waits until sky_call has returned and
 * returns its code. */
static int call_ex(sky_node *node, sky_addr_t caller, sky_addr_t to, int slot, uint32_t type_id, size_t size,
                   int timeout_ms, int chain)
{
    callreq r = {to, timeout_ms, slot, type_id, size, chain};
    ck_assert_int_eq(tu_send(node, caller, T_CALL, &r, sizeof r), 0);
    ck_assert(TU_WAIT(atomic_load(&calls[slot].rc) != 1, 5000));
    return atomic_load(&calls[slot].rc);
}

static int call(sky_node *node, sky_addr_t caller, sky_addr_t to, int slot, uint32_t type_id, size_t size)
{
    return call_ex(node, caller, to, slot, type_id, size, 0, 0);
}

static void wait_answer(int slot)
{
    ck_assert_msg(TU_WAIT(atomic_load(&calls[slot].count) >= 1, 5000), "call %d got no answer", slot);
}

/* ---- services ---------------------------------------------------------- */

/* An application code as long as one may be (SKY_APP_CODE_MAX). */
#define APP63 "a_code_of_sixty-three_bytes_is_just_right.for_SKY_APP_CODE_MAX-"

static int errsvc_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st;
    if (m->kind != SKY_REQUEST) return 0;
    switch (m->type_id) {
    case E_TEXT:
        return sky_reply_error(ctx, m, SKY_ENOTSUP, "custom text");
    case E_NOTEXT:
        return sky_reply_error(ctx, m, SKY_EFAIL, NULL);
    case E_NOREPLY:
        return 0;
    case E_RETURN:
        return SKY_EBADMSG;
    case E_BADCODE:
        return sky_reply_error(ctx, m, 5, "positive") == SKY_EINVAL ? 0 : SKY_EFAIL;
    case E_POSITIVE:
        return 7;
    case E_BOTH:
        (void)sky_reply_copy(ctx, m, 1, "ok", 2);
        return SKY_EFAIL;
    case E_BADAPP: {
        static const char *const bad[] = {"", "ENOENT", "EAPP", "EUNKNOWN", "OK", "out of stock", "é",
                                          "a_code_of_sixty_four_bytes_is_one_too_many_for_SKY_APP_CODE_MAX_"};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
            if (sky_reply_app_error(ctx, m, bad[i], "t", NULL, 0) != SKY_EINVAL) return SKY_EFAIL;
        if (sky_reply_app_error(ctx, m, NULL, "t", NULL, 0) != SKY_EINVAL) return SKY_EFAIL;
        if (sky_reply_app_error(ctx, m, "E", "t", NULL, 3) != SKY_EINVAL) return SKY_EFAIL; /* details NULL */
        return 0;
    }
    case E_APP:
        return sky_reply_app_error(ctx, m, APP63, "custom text", NULL, 0);
    }
    return 0;
}

static const sky_module errsvc_module = {"errsvc", NULL, NULL, errsvc_handle, NULL};

/* deferrer: holds every request; T_RELEASE answers them in arrival order:
 * the first with "ok", the second with an error, the rest with "ok"; it
 * also checks that a token cannot be answered twice. T_EXIT exits. */
typedef struct deferrer {
    sky_token tok[SLOTS];
    int n;
} deferrer;

static atomic_int deferred_now, twice_rc;
static atomic_int respond_rc[SLOTS], responded;
static atomic_long deferrer_released;

static void *deferrer_create(void) { return calloc(1, sizeof(deferrer)); }

static void deferrer_release(void *st)
{
    atomic_fetch_add(&deferrer_released, 1);
    free(st);
}

static int deferrer_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    deferrer *d = st;
    if (m->kind == SKY_REQUEST) {
        if (d->n < SLOTS) d->tok[d->n++] = sky_defer(ctx, m);
        atomic_fetch_add(&deferred_now, 1);
        return 0;
    }
    if (m->kind != SKY_ONEWAY) return 0;
    if (m->type_id == T_EXIT) {
        sky_exit(ctx);
    } else if (m->type_id == T_RELEASE) {
        for (int i = 0; i < d->n; i++) {
            int rc;
            if (i == 1) {
                rc = sky_respond_error(ctx, d->tok[i], SKY_ENOTSUP, "later error");
            } else {
                sky_msg resp = {.type_id = 2, .size = 2, .data = memcpy(malloc(2), "ok", 2)};
                rc = sky_respond(ctx, d->tok[i], &resp);
            }
            atomic_store(&respond_rc[i], rc);
            atomic_fetch_add(&responded, 1);
        }
        if (d->n > 0) {
            sky_msg again = {.size = 2, .data = memcpy(malloc(2), "no", 2)};
            atomic_store(&twice_rc, sky_respond(ctx, d->tok[0], &again));
        }
        d->n = 0;
    }
    return 0;
}

static const sky_module deferrer_module = {"deferrer", deferrer_create, NULL, deferrer_handle, deferrer_release};

/* gatekeeper: T_BLOCK blocks on the gate, then exits with its mailbox
 * still full of requests. */
static tu_gate gate;
static atomic_int blocked;

static int gatekeeper_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st;
    if (m->kind == SKY_ONEWAY && m->type_id == T_BLOCK) {
        atomic_store(&blocked, 1);
        tu_gate_wait(&gate, 10000);
        sky_exit(ctx);
        return 0;
    }
    if (m->kind == SKY_REQUEST) return sky_reply_copy(ctx, m, 0, NULL, 0);
    return 0;
}

static const sky_module gatekeeper_module = {"gatekeeper", NULL, NULL, gatekeeper_handle, NULL};

/* killer: T_KILL {who} kills `who` (itself included) and records the rc. */
static atomic_int kill_rc;

static int killer_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st;
    if (m->kind == SKY_ONEWAY && m->type_id == T_KILL) {
        sky_addr_t who;
        memcpy(&who, m->data, sizeof who);
        atomic_store(&kill_rc, sky_kill(ctx, who));
    }
    return 0;
}

static const sky_module killer_module = {"killer", NULL, NULL, killer_handle, NULL};

/* ---- round trips ------------------------------------------------------- */

static const size_t sizes[] = {0, 1, 16, 17, 1000, 200000};

START_TEST(test_round_trip)
{
    calls_reset();
    sky_node *node = tu_node(2, &caller_module, &tu_echo_module, NULL);
    sky_addr_t c = tu_spawn(node, "caller", "");
    sky_addr_t echo = tu_spawn(node, "echo", "");
    int n = (int)(sizeof sizes / sizeof sizes[0]);
    for (int i = 0; i < n; i++) ck_assert_int_eq(call(node, c, echo, i, 100 + (uint32_t)i, sizes[i]), 0);
    for (int i = 0; i < n; i++) {
        wait_answer(i);
        callrec *r = &calls[i];
        ck_assert_int_eq(atomic_load(&r->status), 0);
        ck_assert_int_eq(atomic_load(&r->had_reply), 1);
        ck_assert_int_eq(atomic_load(&r->kind), SKY_RESPONSE);
        ck_assert_uint_eq(r->source, echo);
        ck_assert_uint_eq(r->type_id, 100 + (uint32_t)i);
        ck_assert_uint_eq(r->size, sizes[i]);
        for (size_t k = 0; k < sizes[i]; k++)
            ck_assert_msg(r->data[k] == pattern(k), "reply %d byte %zu differs", i, k);
    }
    tu_sleep_ms(20);
    for (int i = 0; i < n; i++) ck_assert_int_eq(atomic_load(&calls[i].count), 1);
    calls_reset();
    sky_node_free(node);
}
END_TEST

/* A reply callback may itself call. */
START_TEST(test_call_from_callback)
{
    calls_reset();
    sky_node *node = tu_node(2, &caller_module, &tu_echo_module, NULL);
    sky_addr_t c = tu_spawn(node, "caller", "");
    sky_addr_t echo = tu_spawn(node, "echo", "");
    ck_assert_int_eq(call_ex(node, c, echo, 0, 1, 10, 0, 20), 0);
    ck_assert(TU_WAIT(atomic_load(&calls[0].count) == 21, 5000));
    ck_assert_int_eq(atomic_load(&calls[0].status), 0);
    calls_reset();
    sky_node_free(node);
}
END_TEST

/* ---- failing at once --------------------------------------------------- */

START_TEST(test_call_no_such_service)
{
    calls_reset();
    sky_node *node = tu_node(2, &caller_module, &tu_echo_module, NULL);
    sky_addr_t c = tu_spawn(node, "caller", "");
    sky_addr_t dead = tu_spawn(node, "echo", "");
    ck_assert_int_eq(sky_node_kill(node, dead), 0);
    ck_assert(TU_WAIT(!tu_alive(node, dead), 5000));
    uint16_t id = sky_node_id(node);
    sky_addr_t bad[] = {dead, SKY_ADDR(id, 999999), SKY_ADDR_NONE, SKY_ADDR(id + 1, SKY_ADDR_SERIAL(c))};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(call(node, c, bad[i], i, 1, 40), SKY_ENOSVC);
        ck_assert_int_eq(atomic_load(&calls[i].pending), 0); /* nothing left waiting */
    }
    tu_sleep_ms(100);
    for (int i = 0; i < 4; i++) ck_assert_int_eq(atomic_load(&calls[i].count), 0);
    sky_node_free(node);
}
END_TEST

/* ---- error replies ----------------------------------------------------- */

static const struct {
    uint32_t type;
    int status;
    const char *text;
} errcases[] = {
    {E_TEXT, SKY_ENOTSUP, "custom text"},
    {E_NOTEXT, SKY_EFAIL, NULL},
    {E_NOREPLY, SKY_ENOREPLY, NULL},
    {E_RETURN, SKY_EBADMSG, NULL},
    {E_BADCODE, SKY_ENOREPLY, NULL},
    {E_POSITIVE, SKY_ENOREPLY, NULL},
    {E_BADAPP, SKY_ENOREPLY, NULL},
    {E_APP, SKY_EAPP, "custom text"},
};

START_TEST(test_error_replies)
{
    calls_reset();
    sky_node *node = tu_node(2, &caller_module, &errsvc_module, NULL);
    sky_addr_t c = tu_spawn(node, "caller", "");
    sky_addr_t e = tu_spawn(node, "errsvc", "");
    int n = (int)(sizeof errcases / sizeof errcases[0]);
    for (int i = 0; i < n; i++) ck_assert_int_eq(call(node, c, e, i, errcases[i].type, 5), 0);
    for (int i = 0; i < n; i++) {
        wait_answer(i);
        callrec *r = &calls[i];
        ck_assert_msg(atomic_load(&r->status) == errcases[i].status, "case %d: status %s, expected %s", i,
                      sky_errname(atomic_load(&r->status)), sky_errname(errcases[i].status));
        ck_assert_int_eq(atomic_load(&r->had_reply), 1);
        ck_assert_int_eq(atomic_load(&r->kind), SKY_ERROR);
        ck_assert_uint_eq(r->source, e);
        const char *want = errcases[i].text ? errcases[i].text : sky_strerror(errcases[i].status);
        ck_assert_str_eq(r->text, want);
        ck_assert_str_eq(r->app, errcases[i].type == E_APP ? APP63 : "");
    }
    /* a handler that answered and then failed: the caller has its answer */
    ck_assert_int_eq(call(node, c, e, 10, E_BOTH, 0), 0);
    wait_answer(10);
    ck_assert_int_eq(atomic_load(&calls[10].status), 0);
    ck_assert_int_eq(atomic_load(&calls[10].kind), SKY_RESPONSE);
    tu_sleep_ms(20);
    ck_assert_int_eq(atomic_load(&calls[10].count), 1);
    /* handler failures are counted: E_RETURN and E_BOTH, and E_RETURN's
     * SKY_EBADMSG as a bad payload */
    ck_assert(TU_WAIT(tu_stat(node, e).errors == 2, 5000));
    ck_assert_uint_eq(tu_stat(node, e).bad, 1);
    calls_reset();
    sky_node_free(node);
}
END_TEST

/* sky_error_text on its own. */
START_TEST(test_error_text)
{
    char buf[64];
    ck_assert_str_eq(sky_error_text(NULL, SKY_ETIMEDOUT, buf, sizeof buf), sky_strerror(SKY_ETIMEDOUT));
    sky_msg notanerror = {.kind = SKY_RESPONSE, .size = 3, .data = "abc"};
    ck_assert_str_eq(sky_error_text(&notanerror, SKY_EFAIL, buf, sizeof buf), sky_strerror(SKY_EFAIL));
    /* a Status {code: -11, message: "hello"} */
    unsigned char st[] = {0x08, 0xf5, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
                          0x12, 0x05, 'h', 'e', 'l', 'l', 'o'};
    sky_msg err = {.kind = SKY_ERROR, .size = sizeof st, .data = st};
    ck_assert_str_eq(sky_error_text(&err, SKY_EFAIL, buf, sizeof buf), "hello");
    ck_assert_str_eq(sky_error_text(&err, SKY_EFAIL, buf, 3), "he");
    ck_assert_str_eq(sky_error_app_code(&err, buf, sizeof buf), ""); /* an old Status: none */
    size_t n = 1;
    ck_assert_ptr_null(sky_error_details(&err, &n));
    ck_assert_uint_eq(n, 0);
    /* {code: -16, app_code: "EOUTOFSTOCK", details: "\0d", 9: 1 (a newer field)} */
    unsigned char app[] = {0x08, 0xf0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x1a, 0x0b, 'E', 'O',
                           'U', 'T', 'O', 'F', 'S', 'T', 'O', 'C', 'K', 0x22, 0x02, 0, 'd', 0x48, 0x01};
    sky_msg aerr = {.kind = SKY_ERROR, .size = sizeof app, .data = app};
    ck_assert_str_eq(sky_error_app_code(&aerr, buf, sizeof buf), "EOUTOFSTOCK");
    ck_assert_str_eq(sky_error_app_code(&aerr, buf, 5), "EOUT");
    ck_assert_str_eq(sky_error_text(&aerr, SKY_EAPP, buf, sizeof buf), sky_strerror(SKY_EAPP));
    ck_assert_ptr_eq(sky_error_details(&aerr, &n), app + 26);
    ck_assert_uint_eq(n, 2);
    app[1] = 0xf5; /* code -11: an app_code counts only with EAPP */
    ck_assert_str_eq(sky_error_app_code(&aerr, buf, sizeof buf), "");
    ck_assert_str_eq(sky_errname(SKY_EAPP), "EAPP");
    /* garbage instead of a Status */
    unsigned char junk[] = {0xff, 0xff, 0xff};
    sky_msg bad = {.kind = SKY_ERROR, .size = sizeof junk, .data = junk};
    ck_assert_str_eq(sky_error_text(&bad, SKY_EBADMSG, buf, sizeof buf), sky_strerror(SKY_EBADMSG));
    ck_assert_str_eq(sky_error_app_code(&bad, buf, sizeof buf), "");
    ck_assert_str_eq(sky_error_app_code(NULL, buf, sizeof buf), "");
    ck_assert_ptr_null(sky_error_details(NULL, &n));
}
END_TEST

/* ---- deferred answers -------------------------------------------------- */

static void deferrer_reset(void)
{
    atomic_store(&deferred_now, 0);
    atomic_store(&twice_rc, 1);
    atomic_store(&responded, 0);
    atomic_store(&deferrer_released, 0);
    for (int i = 0; i < SLOTS; i++) atomic_store(&respond_rc[i], 1);
}

START_TEST(test_defer_respond)
{
    calls_reset();
    deferrer_reset();
    sky_node *node = tu_node(2, &caller_module, &deferrer_module, NULL);
    sky_addr_t c = tu_spawn(node, "caller", "");
    sky_addr_t d = tu_spawn(node, "deferrer", "");
    for (int i = 0; i < 3; i++) ck_assert_int_eq(call(node, c, d, i, 1, 4), 0);
    ck_assert(TU_WAIT(atomic_load(&deferred_now) == 3, 5000));
    tu_sleep_ms(50);
    for (int i = 0; i < 3; i++) ck_assert_int_eq(atomic_load(&calls[i].count), 0); /* no ENOREPLY */
    ck_assert_int_eq(tu_send(node, d, T_RELEASE, NULL, 0), 0);
    for (int i = 0; i < 3; i++) wait_answer(i);
    ck_assert_int_eq(atomic_load(&calls[0].status), 0);
    ck_assert_uint_eq(calls[0].size, 2);
    ck_assert_int_eq(memcmp(calls[0].data, "ok", 2), 0);
    ck_assert_int_eq(atomic_load(&calls[1].status), SKY_ENOTSUP);
    ck_assert_str_eq(calls[1].text, "later error");
    ck_assert_int_eq(atomic_load(&calls[2].status), 0);
    ck_assert(TU_WAIT(atomic_load(&twice_rc) != 1, 5000));
    ck_assert_int_eq(atomic_load(&twice_rc), SKY_EINVAL);
    for (int i = 0; i < 3; i++) ck_assert_int_eq(atomic_load(&respond_rc[i]), 0);
    calls_reset();
    sky_node_free(node);
}
END_TEST

/* ---- calls from outside ------------------------------------------------ */

START_TEST(test_node_call)
{
    sky_node *node = tu_node(2, &tu_echo_module, &errsvc_module, &tu_hole_module, NULL);
    sky_addr_t echo = tu_spawn(node, "echo", "");
    sky_addr_t e = tu_spawn(node, "errsvc", "");
    sky_addr_t hole = tu_spawn(node, "hole", "");
    sky_node_stat s0;
    sky_node_stat_get(node, &s0);

    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = sizes[i] ? malloc(sizes[i]) : NULL;
        for (size_t k = 0; k < sizes[i]; k++) p[k] = pattern(k);
        sky_msg req = {.type_id = 33, .size = sizes[i], .data = p}, reply;
        char err[64] = "untouched";
        ck_assert_int_eq(sky_node_call(node, echo, &req, 0, &reply, err, sizeof err), 0);
        ck_assert_int_eq(reply.kind, SKY_RESPONSE);
        ck_assert_uint_eq(reply.source, echo);
        ck_assert_uint_eq(reply.type_id, 33);
        ck_assert_uint_eq(reply.size, sizes[i]);
        for (size_t k = 0; k < sizes[i]; k++) ck_assert(((unsigned char *)reply.data)[k] == pattern(k));
        free(reply.data);
    }

    /* an error reply: its code and text */
    sky_msg req = {.type_id = E_TEXT, .size = 0}, reply = {0};
    char err[64] = "";
    ck_assert_int_eq(sky_node_call(node, e, &req, 0, &reply, err, sizeof err), SKY_ENOTSUP);
    ck_assert_str_eq(err, "custom text");
    req = (sky_msg){.type_id = E_NOREPLY, .size = 0};
    ck_assert_int_eq(sky_node_call(node, e, &req, 0, &reply, err, sizeof err), SKY_ENOREPLY);
    ck_assert_str_eq(err, sky_strerror(SKY_ENOREPLY));

    /* unknown: at once */
    req = (sky_msg){.size = 3, .data = memcpy(malloc(3), "abc", 3)};
    ck_assert_int_eq(sky_node_call(node, SKY_ADDR(sky_node_id(node), 77777), &req, 0, &reply, err, sizeof err),
                     SKY_ENOSVC);

    /* no answer: the call's own deadline, not the node's 10 s */
    req = (sky_msg){.size = 3, .data = memcpy(malloc(3), "abc", 3)};
    uint64_t t0 = tu_now_ms();
    ck_assert_int_eq(sky_node_call(node, hole, &req, 200, &reply, err, sizeof err), SKY_ETIMEDOUT);
    uint64_t took = tu_now_ms() - t0;
    ck_assert_uint_ge(took, 199);
    ck_assert_msg(took < (uint64_t)tu_ms(5000), "a 200 ms call took %llu ms", (unsigned long long)took);
    ck_assert_str_eq(err, sky_strerror(SKY_ETIMEDOUT));

    /* the short-lived services behind these calls are all gone */
    sky_node_stat s1;
    ck_assert(TU_WAIT(({
                          sky_node_stat_get(node, &s1);
                          s1.services == s0.services;
                      }),
                      5000));
    sky_node_free(node);
}
END_TEST

typedef struct caller_thread {
    sky_node *node;
    sky_addr_t to;
    int ok;
} caller_thread;

static void *node_caller(void *arg)
{
    caller_thread *t = arg;
    for (int i = 0; i < 50; i++) {
        int v = i * 1000 + (int)(intptr_t)t;
        sky_msg req = {.size = sizeof v, .data = memcpy(malloc(sizeof v), &v, sizeof v)}, reply;
        if (sky_node_call(t->node, t->to, &req, 0, &reply, NULL, 0) != 0) continue;
        int back = -1;
        if (reply.size == sizeof back) memcpy(&back, reply.data, sizeof back);
        free(reply.data);
        if (back == v) t->ok++;
    }
    return NULL;
}

START_TEST(test_node_call_threads)
{
    sky_node *node = tu_node(2, &tu_echo_module, NULL);
    sky_addr_t echo = tu_spawn(node, "echo", "");
    caller_thread t[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        t[i] = (caller_thread){node, echo, 0};
        ck_assert_int_eq(pthread_create(&th[i], NULL, node_caller, &t[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(t[i].ok, 50);
    }
    sky_node_free(node);
}
END_TEST

/* ---- callers of a service that dies ------------------------------------ */

typedef struct outside_call {
    sky_node *node;
    sky_addr_t to;
    int rc;
    char err[64];
} outside_call;

static void *outside_caller(void *arg)
{
    outside_call *o = arg;
    sky_msg req = {.size = 0}, reply;
    o->rc = sky_node_call(o->node, o->to, &req, 0, &reply, o->err, sizeof o->err);
    if (o->rc == 0) free(reply.data);
    return NULL;
}

/* A status for a call to a service that exited: SKY_EEXIT, and if a reply
 * comes with it, an error reply. */
static void expect_eexit(int slot)
{
    callrec *r = &calls[slot];
    ck_assert_msg(atomic_load(&r->status) == SKY_EEXIT, "call %d: %s, expected EEXIT", slot,
                  sky_errname(atomic_load(&r->status)));
    if (atomic_load(&r->had_reply)) ck_assert_int_eq(atomic_load(&r->kind), SKY_ERROR);
    ck_assert_int_eq(atomic_load(&r->count), 1);
}

/* Requests still queued when a service exits are answered SKY_EEXIT at
 * once (long before the 10 s default deadline). */
START_TEST(test_exit_with_queued_requests)
{
    enum { N = 5 };
    calls_reset();
    tu_gate_init(&gate);
    atomic_store(&blocked, 0);
    sky_node *node = tu_node(2, &caller_module, &gatekeeper_module, NULL);
    sky_addr_t c = tu_spawn(node, "caller", "");
    sky_addr_t g = tu_spawn(node, "gatekeeper", "");
    ck_assert_int_eq(tu_send(node, g, T_BLOCK, NULL, 0), 0);
    ck_assert(TU_WAIT(atomic_load(&blocked), 5000));
    for (int i = 0; i < N; i++) ck_assert_int_eq(call(node, c, g, i, 1, 20), 0);
    outside_call o = {node, g, 1, ""};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, outside_caller, &o), 0);
    ck_assert(TU_WAIT(tu_stat(node, g).queued == N + 1, 5000));

    tu_gate_open(&gate);
    for (int i = 0; i < N; i++) wait_answer(i);
    pthread_join(th, NULL);
    for (int i = 0; i < N; i++) expect_eexit(i);
    ck_assert_int_eq(o.rc, SKY_EEXIT);
    ck_assert(!tu_alive(node, g));
    calls_reset();
    sky_node_free(node);
}
END_TEST

/* Deferred requests of a service that exits, or is killed, are answered
 * SKY_EEXIT. */
START_TEST(test_exit_with_deferred)
{
    calls_reset();
    deferrer_reset();
    sky_node *node = tu_node(2, &caller_module, &deferrer_module, NULL);
    sky_addr_t c = tu_spawn(node, "caller", "");
    sky_addr_t d1 = tu_spawn(node, "deferrer", "");
    sky_addr_t d2 = tu_spawn(node, "deferrer", "");
    for (int i = 0; i < 3; i++) ck_assert_int_eq(call(node, c, d1, i, 1, 4), 0);
    for (int i = 3; i < 6; i++) ck_assert_int_eq(call(node, c, d2, i, 1, 4), 0);
    outside_call o = {node, d2, 1, ""};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, outside_caller, &o), 0);
    ck_assert(TU_WAIT(atomic_load(&deferred_now) == 7, 5000));

    ck_assert_int_eq(tu_send(node, d1, T_EXIT, NULL, 0), 0); /* exits by itself */
    ck_assert_int_eq(sky_node_kill(node, d2), 0);             /* is killed */
    for (int i = 0; i < 6; i++) wait_answer(i);
    pthread_join(th, NULL);
    for (int i = 0; i < 6; i++) expect_eexit(i);
    ck_assert_int_eq(o.rc, SKY_EEXIT);
    ck_assert(TU_WAIT(atomic_load(&deferrer_released) == 2, 5000));
    calls_reset();
    sky_node_free(node);
}
END_TEST

/* A caller that exits with calls pending: the answers go nowhere (and
 * sky_respond still returns 0) and its callbacks never run. */
START_TEST(test_caller_exits_first)
{
    calls_reset();
    deferrer_reset();
    sky_node *node = tu_node(2, &caller_module, &deferrer_module, NULL);
    sky_addr_t c = tu_spawn(node, "caller", "");
    sky_addr_t d = tu_spawn(node, "deferrer", "");
    for (int i = 0; i < 3; i++) ck_assert_int_eq(call(node, c, d, i, 1, 4), 0);
    ck_assert(TU_WAIT(atomic_load(&deferred_now) == 3, 5000));
    ck_assert_int_eq(tu_send(node, c, T_EXIT, NULL, 0), 0);
    ck_assert(TU_WAIT(!tu_alive(node, c), 5000));
    ck_assert_int_eq(tu_send(node, d, T_RELEASE, NULL, 0), SKY_OK);
    /* answering a caller that is gone is not the answerer's error */
    ck_assert(TU_WAIT(atomic_load(&responded) == 3, 5000));
    for (int i = 0; i < 3; i++)
        ck_assert_msg(atomic_load(&respond_rc[i]) == 0, "answer %d to a dead caller: %s", i,
                      sky_errname(atomic_load(&respond_rc[i])));
    ck_assert_int_eq(atomic_load(&twice_rc), SKY_EINVAL);
    tu_sleep_ms(20);
    for (int i = 0; i < 3; i++) ck_assert_int_eq(atomic_load(&calls[i].count), 0);
    ck_assert(tu_alive(node, d));
    sky_node_free(node);
}
END_TEST

/* ---- kill -------------------------------------------------------------- */

START_TEST(test_kill)
{
    deferrer_reset();
    sky_node *node = tu_node(2, &killer_module, &deferrer_module, NULL);
    sky_addr_t k = tu_spawn(node, "killer", "");
    sky_addr_t v = tu_spawn(node, "deferrer", "");

    atomic_store(&kill_rc, 1);
    ck_assert_int_eq(tu_send(node, k, T_KILL, &v, sizeof v), 0);
    ck_assert(TU_WAIT(atomic_load(&kill_rc) != 1, 5000));
    ck_assert_int_eq(atomic_load(&kill_rc), 0);
    ck_assert(TU_WAIT(!tu_alive(node, v), 5000));
    ck_assert(TU_WAIT(atomic_load(&deferrer_released) == 1, 5000));

    /* a dead or unknown address */
    atomic_store(&kill_rc, 1);
    ck_assert_int_eq(tu_send(node, k, T_KILL, &v, sizeof v), 0);
    ck_assert(TU_WAIT(atomic_load(&kill_rc) != 1, 5000));
    ck_assert_int_eq(atomic_load(&kill_rc), SKY_ENOSVC);
    ck_assert_int_eq(sky_node_kill(node, v), SKY_ENOSVC);
    ck_assert_int_eq(sky_node_kill(node, SKY_ADDR_NONE), SKY_ENOSVC);

    /* itself: 0, and it is gone once the handler returns */
    atomic_store(&kill_rc, 1);
    ck_assert_int_eq(tu_send(node, k, T_KILL, &k, sizeof k), 0);
    ck_assert(TU_WAIT(atomic_load(&kill_rc) != 1, 5000));
    ck_assert_int_eq(atomic_load(&kill_rc), 0);
    ck_assert(TU_WAIT(!tu_alive(node, k), 5000));

    /* from outside */
    sky_addr_t v2 = tu_spawn(node, "deferrer", "");
    ck_assert_int_eq(sky_node_kill(node, v2), 0);
    ck_assert(TU_WAIT(!tu_alive(node, v2), 5000));
    ck_assert(TU_WAIT(atomic_load(&deferrer_released) == 2, 5000));
    sky_node_free(node);
}
END_TEST

/* ---- misuse is refused, and payloads are still freed (valgrind) ------- */

static atomic_int misuse_done;
static atomic_int misuse_rc[8];
static atomic_int text_seen;

static void never(sky_ctx *ctx, int status, const sky_msg *reply, void *ud)
{
    (void)ctx, (void)status, (void)reply, (void)ud;
    atomic_store(&misuse_rc[7], 99); /* must never run */
}

static int misuser_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st;
    if (m->kind == SKY_TEXT) {
        atomic_store(&text_seen, 1);
        return 0;
    }
    if (m->kind != SKY_ONEWAY) return 0;
    char big[64] = "a payload that does not fit inline in a mail";
    sky_msg bad = {.kind = SKY_REQUEST, .size = sizeof big, .data = memcpy(malloc(sizeof big), big, sizeof big)};
    atomic_store(&misuse_rc[0], sky_send(ctx, sky_self(ctx), &bad));
    bad = (sky_msg){.kind = SKY_EXIT, .size = sizeof big, .data = memcpy(malloc(sizeof big), big, sizeof big)};
    atomic_store(&misuse_rc[1], sky_send(ctx, sky_self(ctx), &bad));
    sky_msg req = {.size = sizeof big, .data = memcpy(malloc(sizeof big), big, sizeof big)};
    atomic_store(&misuse_rc[2], sky_call(ctx, sky_self(ctx), &req, 0, NULL, NULL));
    sky_msg resp = {.size = sizeof big, .data = memcpy(malloc(sizeof big), big, sizeof big)};
    atomic_store(&misuse_rc[3], sky_reply(ctx, m, &resp)); /* m is a oneway */
    atomic_store(&misuse_rc[4], sky_reply_error(ctx, m, SKY_EFAIL, "no"));
    sky_token tok = sky_defer(ctx, m);
    resp = (sky_msg){.size = sizeof big, .data = memcpy(malloc(sizeof big), big, sizeof big)};
    atomic_store(&misuse_rc[5], sky_respond(ctx, tok, &resp));
    atomic_store(&misuse_rc[6], sky_respond_error(ctx, (sky_token){sky_self(ctx), 12345}, SKY_EFAIL, "no"));
    /* a text message to itself is fine */
    sky_msg text = {.kind = SKY_TEXT, .size = 5, .data = memcpy(malloc(5), "hello", 5)};
    if (sky_send(ctx, sky_self(ctx), &text) != 0) atomic_store(&misuse_rc[7], 98);
    (void)never;
    atomic_store(&misuse_done, 1);
    return 0;
}

static const sky_module misuser_module = {"misuser", NULL, NULL, misuser_handle, NULL};

START_TEST(test_api_misuse)
{
    atomic_store(&misuse_done, 0);
    atomic_store(&text_seen, 0);
    for (int i = 0; i < 8; i++) atomic_store(&misuse_rc[i], 1);
    sky_node *node = tu_node(2, &misuser_module, NULL);
    sky_addr_t a = tu_spawn(node, "misuser", "");
    ck_assert_int_eq(tu_send(node, a, 1, NULL, 0), 0);
    ck_assert(TU_WAIT(atomic_load(&misuse_done), 5000));
    for (int i = 0; i < 7; i++)
        ck_assert_msg(atomic_load(&misuse_rc[i]) == SKY_EINVAL, "misuse %d: %s", i,
                      sky_errname(atomic_load(&misuse_rc[i])));
    ck_assert(TU_WAIT(atomic_load(&text_seen), 5000));
    ck_assert_int_eq(atomic_load(&misuse_rc[7]), 1);

    /* from outside: only oneways and text */
    char big[64] = "a payload that does not fit inline in a mail";
    sky_msg m = {.kind = SKY_RESPONSE, .size = sizeof big, .data = memcpy(malloc(sizeof big), big, sizeof big)};
    ck_assert_int_eq(sky_node_send(node, a, &m), SKY_EINVAL);
    m = (sky_msg){.kind = SKY_REQUEST, .size = sizeof big, .data = memcpy(malloc(sizeof big), big, sizeof big)};
    ck_assert_int_eq(sky_node_send(node, a, &m), SKY_EINVAL);
    /* a failed send to nobody frees the payload too */
    m = (sky_msg){.kind = 0, .size = sizeof big, .data = memcpy(malloc(sizeof big), big, sizeof big)};
    ck_assert_int_eq(sky_node_send(node, SKY_ADDR(sky_node_id(node), 4242), &m), SKY_ENOSVC);
    atomic_store(&text_seen, 0);
    m = (sky_msg){.kind = SKY_TEXT, .size = 2, .data = memcpy(malloc(2), "hi", 2)};
    ck_assert_int_eq(sky_node_send(node, a, &m), 0);
    ck_assert(TU_WAIT(atomic_load(&text_seen), 5000));
    sky_node_free(node);
}
END_TEST

Suite *call_suite(void)
{
    Suite *s = suite_create("call");
    TCase *tc = tu_tcase("basic");
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_call_from_callback);
    tcase_add_test(tc, test_call_no_such_service);
    tcase_add_test(tc, test_error_replies);
    tcase_add_test(tc, test_error_text);
    tcase_add_test(tc, test_defer_respond);
    tcase_add_test(tc, test_api_misuse);
    suite_add_tcase(s, tc);
    tc = tu_tcase("outside");
    tcase_add_test(tc, test_node_call);
    tcase_add_test(tc, test_node_call_threads);
    suite_add_tcase(s, tc);
    tc = tu_tcase("death");
    tcase_add_test(tc, test_exit_with_queued_requests);
    tcase_add_test(tc, test_exit_with_deferred);
    tcase_add_test(tc, test_caller_exits_first);
    tcase_add_test(tc, test_kill);
    suite_add_tcase(s, tc);
    return s;
}
