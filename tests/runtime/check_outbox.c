/* The outbox: mail from a worker to a busy receiver is buffered for the
 * rest of the sender's turn and pushed in one go. These tests hold the
 * receiver busy (its handler blocks on a gate, so it stays scheduled)
 * while a sender on the other worker sends to it, which is exactly when
 * the outbox is used, and check that order, bounds and deaths behave as
 * if every message had been pushed on its own. */
#include <stdlib.h>
#include <string.h>
#include "testutil.h"

enum { T_HOLD = 1, T_SEQ = 2, T_GO = 3, T_ASK = 4, T_GO_MIXED = 5 };

static tu_gate hold;        /* the receiver blocks on it */
static tu_gate release_sender; /* the sender blocks on it (death test) */
static tu_rec seen;         /* sequence numbers as the receiver got them */
static atomic_int held, sender_sent, busy_refusals, eexits, answered;
static sky_addr_t receiver;
static int sends, calls_too, exit_after_hold, wait_after, log_first;
static atomic_int asked;
static sky_addr_t sender_addr;
static sky_token ask_token;

static void reset(void)
{
    tu_gate_init(&hold);
    tu_gate_init(&release_sender);
    tu_rec_init(&seen);
    atomic_store(&held, 0);
    atomic_store(&sender_sent, 0);
    atomic_store(&busy_refusals, 0);
    atomic_store(&eexits, 0);
    atomic_store(&answered, 0);
    atomic_store(&asked, 0);
    calls_too = exit_after_hold = wait_after = log_first = 0;
}

static void cleanup(void)
{
    tu_gate_deinit(&hold);
    tu_gate_deinit(&release_sender);
    tu_rec_deinit(&seen);
}

/* ---- the receiver ------------------------------------------------------ */

/* The answer to the receiver's T_ASK: recorded as -1 among the numbers. */
static void on_ask_answer(sky_ctx *ctx, int status, const sky_msg *reply, void *ud)
{
    (void)ctx, (void)reply, (void)ud;
    tu_rec_add(&seen, status == 0 ? -1 : -2);
}

static int recv_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st;
    if (m->type_id == T_ASK) {
        sky_msg req = {.type_id = T_ASK};
        return sky_call(ctx, sender_addr, &req, 5000, on_ask_answer, NULL);
    }
    if (m->type_id == T_HOLD) {
        atomic_store(&held, 1);
        tu_gate_wait(&hold, 10000);
        if (exit_after_hold) sky_exit(ctx);
        return 0;
    }
    if (m->type_id == T_SEQ && m->size == sizeof(int32_t)) {
        int32_t v;
        memcpy(&v, m->data, sizeof v);
        tu_rec_add(&seen, v);
        if (m->kind == SKY_REQUEST) return sky_reply_copy(ctx, m, T_SEQ, &v, sizeof v);
    }
    return 0;
}

static const sky_module recv_module = {"obrecv", NULL, NULL, recv_handle, NULL};

/* ---- the sender -------------------------------------------------------- */

static void on_answer(sky_ctx *ctx, int status, const sky_msg *reply, void *ud)
{
    (void)ctx, (void)reply, (void)ud;
    if (status == SKY_EEXIT) atomic_fetch_add(&eexits, 1);
    if (status == 0) atomic_fetch_add(&answered, 1);
}

static int send_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st;
    if (m->type_id == T_ASK) { /* answered in the middle of T_GO_MIXED */
        ask_token = sky_defer(ctx, m);
        atomic_store(&asked, 1);
        return 0;
    }
    if (m->type_id == T_GO_MIXED) {
        /* oneways (buffered: the receiver is busy), then the deferred
         * answer (a response: pushed directly), then more oneways */
        for (int32_t i = 0; i < sends; i++) {
            if (i == sends / 2) {
                sky_msg resp = {.type_id = T_ASK};
                TU_IGNORE(sky_respond(ctx, ask_token, &resp));
            }
            TU_IGNORE(sky_send_copy(ctx, receiver, T_SEQ, &i, sizeof i));
        }
        atomic_store(&sender_sent, 1);
        return 0;
    }
    if (m->type_id != T_GO) return 0;
    /* lines enough that the logger is busy, and so in this worker's
     * cache: the overload warnings below then go through the outbox */
    for (int i = 0; i < log_first; i++) sky_log(ctx, SKY_LOG_WARN, "line %d", i);
    for (int32_t i = 0; i < sends; i++) {
        int rc;
        if (calls_too && i % 3 == 0) {
            sky_msg req = {.type_id = T_SEQ, .size = sizeof i, .data = malloc(sizeof i)};
            memcpy(req.data, &i, sizeof i);
            rc = sky_call(ctx, receiver, &req, 5000, on_answer, NULL);
        } else {
            rc = sky_send_copy(ctx, receiver, T_SEQ, &i, sizeof i);
        }
        if (rc == SKY_EBUSY) atomic_fetch_add(&busy_refusals, 1);
    }
    atomic_store(&sender_sent, 1);
    /* the death test keeps the turn open (and the outbox full) until the
     * receiver is gone */
    if (wait_after) tu_gate_wait(&release_sender, 10000);
    return 0;
}

static const sky_module send_module = {"obsend", NULL, NULL, send_handle, NULL};

/* Starts a 2-worker node (with cfg, or the tests' defaults), holds the
 * receiver in its handler, and starts the sender on the other worker. */
static sky_node *start_with(const sky_config *cfg, sky_addr_t *sender)
{
    sky_node *node = cfg ? tu_start(cfg, &recv_module, &send_module, NULL) : tu_node(2, &recv_module, &send_module, NULL);
    receiver = tu_spawn(node, "obrecv", "");
    *sender = tu_spawn(node, "obsend", "");
    ck_assert_int_eq(tu_send(node, receiver, T_HOLD, NULL, 0), 0);
    ck_assert(TU_WAIT(atomic_load(&held), 5000));
    ck_assert_int_eq(tu_send(node, *sender, T_GO, NULL, 0), 0);
    ck_assert(TU_WAIT(atomic_load(&sender_sent), 5000));
    return node;
}

static sky_node *start(sky_addr_t *sender) { return start_with(NULL, sender); }

START_TEST(test_outbox_keeps_order)
{
    reset();
    sends = 3000;
    calls_too = 1;
    sky_addr_t sender;
    sky_node *node = start(&sender);
    tu_gate_open(&hold);
    ck_assert(TU_WAIT(tu_rec_count(&seen) == (size_t)sends, 5000));
    for (int i = 0; i < sends; i++) ck_assert_int_eq(tu_rec_get(&seen, (size_t)i), i);
    ck_assert(TU_WAIT(atomic_load(&answered) == (sends + 2) / 3, 5000));
    ck_assert_int_eq(atomic_load(&busy_refusals), 0);
    sky_node_free(node);
    cleanup();
}
END_TEST

/* Overload warnings logged while the outbox is flushed (the logger in
 * the worker's cache, so the warning itself goes through the outbox)
 * must not take the receiver's mail with them: every message arrives,
 * in order. (They went to the logger.) */
START_TEST(test_outbox_warning_mid_flood)
{
    reset();
    sends = 3000;
    log_first = 200;
    sky_config cfg;
    tu_config(&cfg, 2);
    cfg.log_level = SKY_LOG_WARN;
    cfg.log_path = "/dev/null";
    cfg.overload_warn = 8; /* warnings at 8, 16, ..., 2048 queued */
    sky_addr_t sender;
    sky_node *node = start_with(&cfg, &sender);
    tu_gate_open(&hold);
    ck_assert(TU_WAIT(tu_rec_count(&seen) == (size_t)sends, 5000));
    tu_sleep_ms(20);
    ck_assert_uint_eq(tu_rec_count(&seen), (size_t)sends);
    for (int i = 0; i < sends; i++) ck_assert_int_eq(tu_rec_get(&seen, (size_t)i), i);
    ck_assert_int_eq(atomic_load(&busy_refusals), 0);
    sky_node_free(node);
    cleanup();
}
END_TEST

/* A response to the receiver (pushed directly, not buffered) must not
 * overtake the oneways the sender buffered before it. */
START_TEST(test_outbox_direct_push_keeps_order)
{
    reset();
    sends = 200;
    sky_node *node = tu_node(2, &recv_module, &send_module, NULL);
    receiver = tu_spawn(node, "obrecv", "");
    sender_addr = tu_spawn(node, "obsend", "");
    ck_assert_int_eq(tu_send(node, receiver, T_ASK, NULL, 0), 0);
    ck_assert(TU_WAIT(atomic_load(&asked), 5000));
    ck_assert_int_eq(tu_send(node, receiver, T_HOLD, NULL, 0), 0);
    ck_assert(TU_WAIT(atomic_load(&held), 5000));
    ck_assert_int_eq(tu_send(node, sender_addr, T_GO_MIXED, NULL, 0), 0);
    ck_assert(TU_WAIT(atomic_load(&sender_sent), 5000));
    tu_gate_open(&hold);
    ck_assert(TU_WAIT(tu_rec_count(&seen) == (size_t)sends + 1, 5000));
    for (int i = 0; i < sends / 2; i++) ck_assert_int_eq(tu_rec_get(&seen, (size_t)i), i);
    ck_assert_int_eq(tu_rec_get(&seen, (size_t)sends / 2), -1);
    for (int i = sends / 2; i < sends; i++) ck_assert_int_eq(tu_rec_get(&seen, (size_t)i + 1), i);
    sky_node_free(node);
    cleanup();
}
END_TEST

/* A bounded receiver: the sender learns of every refusal at once, and
 * exactly the bound's worth gets through. */
static int bounded_init(void *st, sky_ctx *ctx, const char *args)
{
    (void)st, (void)args;
    sky_set_mailbox_limit(ctx, 10);
    return 0;
}

static const sky_module bounded_module = {"obbound", NULL, bounded_init, recv_handle, NULL};

START_TEST(test_outbox_respects_bound)
{
    reset();
    sends = 100;
    sky_node *node = tu_node(2, &bounded_module, &send_module, NULL);
    receiver = tu_spawn(node, "obbound", "");
    sky_addr_t sender = tu_spawn(node, "obsend", "");
    ck_assert_int_eq(tu_send(node, receiver, T_HOLD, NULL, 0), 0);
    ck_assert(TU_WAIT(atomic_load(&held), 5000));
    ck_assert_int_eq(tu_send(node, sender, T_GO, NULL, 0), 0);
    ck_assert(TU_WAIT(atomic_load(&sender_sent), 5000));
    ck_assert_int_eq(atomic_load(&busy_refusals), 90);
    tu_gate_open(&hold);
    ck_assert(TU_WAIT(tu_rec_count(&seen) == 10, 5000));
    tu_sleep_ms(50);
    ck_assert_int_eq(tu_rec_count(&seen), 10);
    for (int i = 0; i < 10; i++) ck_assert_int_eq(tu_rec_get(&seen, (size_t)i), i);
    sky_service_stat st = tu_stat(node, receiver);
    ck_assert_uint_eq(st.dropped, 90);
    sky_node_free(node);
    cleanup();
}
END_TEST

/* The receiver dies while the sender's turn still holds buffered calls:
 * the calls are answered SKY_EEXIT, as if they had been queued. */
START_TEST(test_outbox_receiver_dies)
{
    reset();
    sends = 30;
    calls_too = 1;
    exit_after_hold = 1;
    wait_after = 1;
    sky_addr_t sender;
    sky_node *node = start(&sender);
    tu_gate_open(&hold); /* the receiver exits while the sender's turn is open */
    ck_assert(TU_WAIT(!tu_alive(node, receiver), 5000));
    tu_gate_open(&release_sender);
    ck_assert(TU_WAIT(atomic_load(&eexits) == 10, 5000));
    ck_assert_int_eq(atomic_load(&answered), 0);
    ck_assert_int_eq(tu_rec_count(&seen), 0);
    sky_node_free(node);
    cleanup();
}
END_TEST

Suite *outbox_suite(void)
{
    Suite *s = suite_create("outbox");
    TCase *tc = tu_tcase("outbox");
    tcase_add_test(tc, test_outbox_keeps_order);
    tcase_add_test(tc, test_outbox_warning_mid_flood);
    tcase_add_test(tc, test_outbox_direct_push_keeps_order);
    tcase_add_test(tc, test_outbox_respects_bound);
    tcase_add_test(tc, test_outbox_receiver_dies);
    suite_add_tcase(s, tc);
    return s;
}
