/* Mailboxes: unit tests of sky__mailbox_* and, through a node, the bound:
 * a full mailbox refuses requests and oneways with SKY_EBUSY (counted),
 * accepts replies, timers and kills, and nothing is lost silently. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include "core/mailbox.h"
#include "testutil.h"

/* ---- unit tests -------------------------------------------------------- */

/* A mail whose payload (size bytes) is derived from seq; sizes above
 * SKY__INLINE live on the heap. */
static sky__mail mk(int kind, uint32_t seq, size_t size)
{
    unsigned char buf[256];
    for (size_t i = 0; i < size; i++) buf[i] = (unsigned char)(seq * 31 + i);
    sky__mail m;
    sky__mail_copy(&m, kind, seq, buf, size);
    m.session = seq;
    return m;
}

/* 1 if m is the mail mk(kind, seq, size) made; frees its payload. */
static int is(sky__mail *m, int kind, uint32_t seq, size_t size)
{
    int ok = m->kind == kind && m->session == seq && m->type_id == seq && m->size == size;
    const unsigned char *d = sky__mail_data(m);
    for (size_t i = 0; ok && i < size; i++) ok = d[i] == (unsigned char)(seq * 31 + i);
    sky__mail_free(m);
    return ok;
}

static size_t size_of(uint32_t seq) { return seq % 3 == 0 ? 0 : seq % 3 == 1 ? 8 : 40; }

static int push(sky__mailbox *mb, sky__mail m, int bounded)
{
    uint32_t len = 0;
    int rc = sky__mailbox_push(mb, &m, bounded, &len);
    if (rc < 0) sky__mail_free(&m); /* the caller still owns it on error */
    return rc;
}

START_TEST(test_fifo)
{
    sky__mailbox mb;
    sky__mailbox_init(&mb, 1000, 0);
    sky__mail out[64];
    for (uint32_t i = 0; i < 100; i++) ck_assert_int_ge(push(&mb, mk(SKY_ONEWAY, i, size_of(i)), 1), 0);
    ck_assert_uint_eq(sky__mailbox_length(&mb), 100);
    uint32_t next = 0;
    while (next < 100) {
        uint32_t n = sky__mailbox_take(&mb, out, 7);
        ck_assert_uint_eq(n, next + 7 <= 100 ? 7 : 100 - next);
        for (uint32_t i = 0; i < n; i++, next++)
            ck_assert_msg(is(&out[i], SKY_ONEWAY, next, size_of(next)), "mail %u out of order or damaged", next);
    }
    ck_assert_uint_eq(sky__mailbox_take(&mb, out, 64), 0);
    ck_assert_uint_eq(sky__mailbox_take(&mb, out, 0), 0);
    sky__mailbox_deinit(&mb);
}
END_TEST

/* Pushes and takes interleaved at random (the ring wraps and grows while
 * wrapped): order matches a model queue. */
START_TEST(test_fifo_wrap)
{
    sky__mailbox mb;
    sky__mailbox_init(&mb, 100000, 0);
    sky__mail out[16];
    uint32_t pushed = 0, taken = 0;
    unsigned seed = 12345;
    for (int round = 0; round < 20000; round++) {
        if (rand_r(&seed) % 5 < 3) {
            ck_assert_int_ge(push(&mb, mk(SKY_ONEWAY, pushed, size_of(pushed)), 1), 0);
            pushed++;
        } else {
            uint32_t n = sky__mailbox_take(&mb, out, 1 + (uint32_t)rand_r(&seed) % 16);
            for (uint32_t i = 0; i < n; i++, taken++)
                ck_assert_msg(is(&out[i], SKY_ONEWAY, taken, size_of(taken)), "mail %u out of order", taken);
        }
        ck_assert_uint_eq(sky__mailbox_length(&mb), pushed - taken);
    }
    ck_assert_uint_gt(pushed - taken, 0);
    sky__mailbox_deinit(&mb); /* frees what is still queued (valgrind checks) */
}
END_TEST

START_TEST(test_bound)
{
    sky__mailbox mb;
    sky__mailbox_init(&mb, 4, 0);
    ck_assert_uint_eq(sky__mailbox_limit(&mb), 4);
    for (uint32_t i = 0; i < 4; i++) ck_assert_int_ge(push(&mb, mk(i % 2 ? SKY_REQUEST : SKY_ONEWAY, i, 40), 1), 0);
    ck_assert_int_eq(push(&mb, mk(SKY_ONEWAY, 4, 40), 1), SKY_EBUSY);
    ck_assert_int_eq(push(&mb, mk(SKY_REQUEST, 5, 4), 1), SKY_EBUSY);
    ck_assert_uint_eq(sky__mailbox_length(&mb), 4);
    /* unbounded pushes (responses, errors, timers) are still taken */
    ck_assert_int_ge(push(&mb, mk(SKY_RESPONSE, 6, 40), 0), 0);
    ck_assert_int_ge(push(&mb, mk(SKY_ERROR, 7, 4), 0), 0);
    ck_assert_int_ge(push(&mb, mk(SKY_TIMER, 8, 0), 0), 0);
    /* and so are signals */
    ck_assert_int_ge(push(&mb, mk(SKY__KILL, 9, 0), 0), 0);
    ck_assert_uint_eq(sky__mailbox_length(&mb), 8);
    /* a bigger bound takes more at once (the 3 unbounded ones count) */
    sky__mailbox_set_limit(&mb, 8);
    ck_assert_uint_eq(sky__mailbox_limit(&mb), 8);
    ck_assert_int_ge(push(&mb, mk(SKY_ONEWAY, 10, 4), 1), 0);
    ck_assert_int_eq(push(&mb, mk(SKY_ONEWAY, 11, 4), 1), SKY_EBUSY);
    /* taking frees room */
    sky__mail out[16];
    ck_assert_uint_eq(sky__mailbox_take(&mb, out, 2), 2);
    ck_assert(is(&out[0], SKY__KILL, 9, 0));
    ck_assert(is(&out[1], SKY_ONEWAY, 0, 40));
    ck_assert_int_ge(push(&mb, mk(SKY_ONEWAY, 12, 4), 1), 0);
    sky__mailbox_deinit(&mb);
}
END_TEST

/* A refused push must not mark the mailbox scheduled. */
START_TEST(test_bound_zero)
{
    sky__mailbox mb;
    sky__mailbox_init(&mb, 0, 0);
    ck_assert_int_eq(push(&mb, mk(SKY_ONEWAY, 1, 40), 1), SKY_EBUSY);
    ck_assert_int_eq(push(&mb, mk(SKY_RESPONSE, 2, 40), 0), SKY__PUSH_SCHEDULE);
    sky__mailbox_deinit(&mb);
}
END_TEST

START_TEST(test_signals_first)
{
    sky__mailbox mb;
    sky__mailbox_init(&mb, 100, 0);
    push(&mb, mk(SKY_ONEWAY, 0, 4), 1);
    push(&mb, mk(SKY_REQUEST, 1, 40), 1);
    push(&mb, mk(SKY_ONEWAY, 2, 0), 1);
    push(&mb, mk(SKY__KILL, 100, 0), 0);
    push(&mb, mk(SKY_TIMER, 3, 0), 0);
    push(&mb, mk(SKY__KILL, 101, 0), 0);
    ck_assert_uint_eq(sky__mailbox_length(&mb), 6);
    sky__mail out[8];
    ck_assert_uint_eq(sky__mailbox_take(&mb, out, 3), 3);
    ck_assert(is(&out[0], SKY__KILL, 100, 0));
    ck_assert(is(&out[1], SKY__KILL, 101, 0));
    ck_assert(is(&out[2], SKY_ONEWAY, 0, 4));
    /* a signal pushed now still overtakes the rest */
    push(&mb, mk(SKY__KILL, 102, 0), 0);
    ck_assert_uint_eq(sky__mailbox_take(&mb, out, 8), 4);
    ck_assert(is(&out[0], SKY__KILL, 102, 0));
    ck_assert(is(&out[1], SKY_REQUEST, 1, 40));
    ck_assert(is(&out[2], SKY_ONEWAY, 2, 0));
    ck_assert(is(&out[3], SKY_TIMER, 3, 0));
    sky__mailbox_deinit(&mb);
}
END_TEST

/* The `scheduled` protocol: only the push that finds the mailbox idle asks
 * for scheduling; done() keeps it scheduled while mail waits. */
START_TEST(test_scheduled_protocol)
{
    sky__mailbox mb;
    sky__mailbox_init(&mb, 100, 0);
    sky__mail out[8];
    ck_assert_int_eq(push(&mb, mk(SKY_ONEWAY, 0, 4), 1), SKY__PUSH_SCHEDULE);
    ck_assert_int_eq(push(&mb, mk(SKY_ONEWAY, 1, 4), 1), 0);
    /* a turn takes everything; mail arriving meanwhile does not schedule
     * again (the service is running) ... */
    ck_assert_uint_eq(sky__mailbox_take(&mb, out, 8), 2);
    sky__mail_free(&out[0]);
    sky__mail_free(&out[1]);
    ck_assert_int_eq(push(&mb, mk(SKY_ONEWAY, 2, 4), 1), 0);
    ck_assert_int_eq(push(&mb, mk(SKY__KILL, 3, 0), 0), 0);
    /* ... so done() must report it and stay scheduled */
    ck_assert_int_eq(sky__mailbox_done(&mb), 1);
    ck_assert_int_eq(push(&mb, mk(SKY_ONEWAY, 4, 4), 1), 0);
    ck_assert_uint_eq(sky__mailbox_take(&mb, out, 8), 3);
    for (int i = 0; i < 3; i++) sky__mail_free(&out[i]);
    ck_assert_int_eq(sky__mailbox_done(&mb), 0);
    /* idle now: the next push of any kind schedules, once */
    ck_assert_int_eq(push(&mb, mk(SKY__KILL, 5, 0), 0), SKY__PUSH_SCHEDULE);
    ck_assert_int_eq(push(&mb, mk(SKY_TIMER, 6, 0), 0), 0);
    ck_assert_uint_eq(sky__mailbox_take(&mb, out, 8), 2);
    sky__mail_free(&out[0]);
    sky__mail_free(&out[1]);
    ck_assert_int_eq(sky__mailbox_done(&mb), 0);
    ck_assert_int_eq(sky__mailbox_done(&mb), 0);
    ck_assert_int_eq(push(&mb, mk(SKY_RESPONSE, 7, 4), 0), SKY__PUSH_SCHEDULE);
    sky__mailbox_deinit(&mb);
}
END_TEST

START_TEST(test_overload_warn)
{
    sky__mailbox mb;
    sky__mailbox_init(&mb, 100, 4);
    sky__mail out[16];
    uint32_t len = 0;
    for (uint32_t i = 0; i < 3; i++) ck_assert_int_eq(push(&mb, mk(SKY_ONEWAY, i, 4), 1) & SKY__PUSH_WARN, 0);
    sky__mail m = mk(SKY_ONEWAY, 3, 4);
    ck_assert_int_ne(sky__mailbox_push(&mb, &m, 1, &len) & SKY__PUSH_WARN, 0);
    ck_assert_uint_eq(len, 4);
    /* the next warning comes at twice the length */
    for (uint32_t i = 4; i < 7; i++) ck_assert_int_eq(push(&mb, mk(SKY_ONEWAY, i, 4), 1) & SKY__PUSH_WARN, 0);
    m = mk(SKY_ONEWAY, 7, 4);
    ck_assert_int_ne(sky__mailbox_push(&mb, &m, 1, &len) & SKY__PUSH_WARN, 0);
    ck_assert_uint_eq(len, 8);
    /* drained: warnings re-arm at the first threshold */
    ck_assert_uint_eq(sky__mailbox_take(&mb, out, 16), 8);
    for (int i = 0; i < 8; i++) sky__mail_free(&out[i]);
    ck_assert_int_eq(sky__mailbox_done(&mb), 0);
    for (uint32_t i = 0; i < 3; i++) ck_assert_int_eq(push(&mb, mk(SKY_ONEWAY, i, 4), 1) & SKY__PUSH_WARN, 0);
    m = mk(SKY_ONEWAY, 3, 4);
    ck_assert_int_ne(sky__mailbox_push(&mb, &m, 1, &len) & SKY__PUSH_WARN, 0);
    ck_assert_uint_eq(len, 4);
    sky__mailbox_deinit(&mb);
}
END_TEST

START_TEST(test_close_returns_everything)
{
    sky__mailbox mb;
    sky__mailbox_init(&mb, 100, 0);
    for (uint32_t i = 0; i < 10; i++) push(&mb, mk(i % 2 ? SKY_REQUEST : SKY_ONEWAY, i, size_of(i) + 30), 1);
    push(&mb, mk(SKY__KILL, 99, 0), 0);
    sky__mail *all = NULL;
    uint32_t n = 0;
    sky__mailbox_close(&mb, &all, &n);
    ck_assert_uint_eq(n, 11);
    ck_assert(is(&all[0], SKY__KILL, 99, 0));
    for (uint32_t i = 0; i < 10; i++) ck_assert(is(&all[i + 1], i % 2 ? SKY_REQUEST : SKY_ONEWAY, i, size_of(i) + 30));
    free(all);
    ck_assert_uint_eq(sky__mailbox_length(&mb), 0);
    /* closed: every push fails and the caller keeps the payload */
    ck_assert_int_eq(push(&mb, mk(SKY_ONEWAY, 1, 40), 1), SKY_ENOSVC);
    ck_assert_int_eq(push(&mb, mk(SKY_RESPONSE, 2, 40), 0), SKY_ENOSVC);
    ck_assert_int_eq(push(&mb, mk(SKY__KILL, 3, 0), 0), SKY_ENOSVC);
    /* an empty mailbox closes with nothing */
    sky__mailbox mb2;
    sky__mailbox_init(&mb2, 10, 0);
    sky__mailbox_close(&mb2, &all, &n);
    ck_assert_uint_eq(n, 0);
    free(all);
    sky__mailbox_deinit(&mb2);
    sky__mailbox_deinit(&mb);
}
END_TEST

/* ---- through a node ---------------------------------------------------- */

enum { T_GO = 1, T_BLOCK = 2, T_DATA = 3, T_CALL = 4, T_RELEASE = 5 };

/* What the test and its services share. */
static struct {
    tu_gate gate;
    atomic_int blocked;   /* the sink is inside its T_BLOCK handler */
    atomic_long handled;  /* messages the sink's handler saw */
    atomic_long data;     /* T_DATA oneways the sink saw */
    atomic_long timers;   /* SKY_TIMER the sink saw, with session 77 */
    atomic_int replies;   /* reply callbacks the sink ran */
    atomic_int reply_status;
    atomic_int deferred;  /* the delayer holds a request */
} box;

static void box_reset(void)
{
    memset(&box, 0, sizeof box);
    tu_gate_init(&box.gate);
}

/* sink: args "limit:N" sets its mailbox bound. Counts T_DATA; T_BLOCK
 * optionally arms a 0 ms timer (payload "t") and blocks on the gate;
 * T_CALL calls the address in its payload; requests are echoed. */
static void sink_reply(sky_ctx *ctx, int status, const sky_msg *reply, void *ud)
{
    (void)ctx, (void)reply, (void)ud;
    atomic_store(&box.reply_status, status);
    atomic_fetch_add(&box.replies, 1);
}

static int sink_init(void *st, sky_ctx *ctx, const char *args)
{
    (void)st;
    if (strncmp(args, "limit:", 6) == 0) sky_set_mailbox_limit(ctx, (size_t)atol(args + 6));
    return 0;
}

static int sink_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st;
    atomic_fetch_add(&box.handled, 1);
    if (m->kind == SKY_REQUEST) return sky_reply_copy(ctx, m, m->type_id, m->data, m->size);
    if (m->kind == SKY_TIMER) {
        if (m->session == 77) atomic_fetch_add(&box.timers, 1);
        return 0;
    }
    switch (m->type_id) {
    case T_DATA:
        atomic_fetch_add(&box.data, 1);
        break;
    case T_BLOCK:
        if (m->size == 1 && ((const char *)m->data)[0] == 't' && sky_timeout(ctx, 0, 77) != 0) return SKY_EFAIL;
        atomic_store(&box.blocked, 1);
        tu_gate_wait(&box.gate, 10000);
        atomic_store(&box.blocked, 0);
        break;
    case T_CALL: {
        sky_addr_t to;
        memcpy(&to, m->data, sizeof to);
        sky_msg req = {.size = 0};
        return sky_call(ctx, to, &req, 0, sink_reply, NULL);
    }
    }
    return 0;
}

static const sky_module sink_module = {"sink", NULL, sink_init, sink_handle, NULL};

/* flooder: on T_GO {to, n, calls} sends n oneways of T_DATA (or makes n
 * calls) to `to` in one handler, counting the results in its job. */
typedef struct job {
    sky_addr_t to;
    int n;
    int calls;
    atomic_int ok, busy, other, done;
    atomic_int cb_ok, cb_other; /* reply callbacks */
} job;

static void flood_reply(sky_ctx *ctx, int status, const sky_msg *reply, void *ud)
{
    job *j = ud;
    (void)ctx, (void)reply;
    atomic_fetch_add(status == 0 ? &j->cb_ok : &j->cb_other, 1);
}

static int flooder_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st;
    if (m->kind != SKY_ONEWAY || m->type_id != T_GO) return 0;
    job *j;
    memcpy(&j, m->data, sizeof j);
    char payload[40] = "flood payload that lives on the heap";
    for (int i = 0; i < j->n; i++) {
        int rc;
        if (j->calls) {
            sky_msg req = {.size = 4, .data = memcpy(malloc(4), &i, 4)};
            rc = sky_call(ctx, j->to, &req, 0, flood_reply, j);
        } else {
            rc = sky_send_copy(ctx, j->to, T_DATA, payload, i % 2 ? sizeof payload : 4);
        }
        atomic_fetch_add(rc == 0 ? &j->ok : rc == SKY_EBUSY ? &j->busy : &j->other, 1);
    }
    atomic_store(&j->done, 1);
    return 0;
}

static const sky_module flooder_module = {"flooder", NULL, NULL, flooder_handle, NULL};

static void go(sky_node *node, sky_addr_t flooder, job *j)
{
    ck_assert_int_eq(tu_send(node, flooder, T_GO, &j, sizeof j), 0);
}

/* One worker: while the flooder's handler runs, the sink cannot, so
 * exactly `limit` sends fit and the rest are refused and counted. */
START_TEST(test_flood_past_limit)
{
    enum { N = 1000, LIMIT = 8 };
    box_reset();
    sky_node *node = tu_node(1, &sink_module, &flooder_module, NULL);
    sky_addr_t sink = tu_spawn(node, "sink", "limit:8");
    sky_addr_t fl = tu_spawn(node, "flooder", "");
    ck_assert_uint_eq(tu_stat(node, sink).limit, LIMIT);
    sky_node_stat n0;
    sky_node_stat_get(node, &n0);

    static job j;
    memset(&j, 0, sizeof j);
    j.to = sink;
    j.n = N;
    go(node, fl, &j);
    ck_assert(TU_WAIT(atomic_load(&j.done), 5000));
    ck_assert_int_eq(atomic_load(&j.other), 0);
    ck_assert_int_eq(atomic_load(&j.ok), LIMIT);
    ck_assert_int_eq(atomic_load(&j.busy), N - LIMIT);

    ck_assert(TU_WAIT(atomic_load(&box.data) == LIMIT, 5000));
    sky_service_stat rs = tu_stat(node, sink), ss = tu_stat(node, fl);
    ck_assert_uint_eq(rs.dropped, N - LIMIT);
    ck_assert_uint_eq(ss.sent, N);
    ck_assert_uint_eq(rs.received + rs.dropped, ss.sent);
    sky_node_stat n1;
    sky_node_stat_get(node, &n1);
    ck_assert_uint_eq(n1.dropped - n0.dropped, N - LIMIT);
    tu_sleep_ms(20);
    ck_assert_int_eq(atomic_load(&box.data), LIMIT); /* no late extras */
    sky_node_free(node);
}
END_TEST

/* Lines of the log at path saying a mailbox is overloaded. */
static int overload_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[512];
    int n = 0;
    while (f && fgets(line, sizeof line, f)) n += strstr(line, "mailbox overloaded") != NULL;
    if (f) fclose(f);
    return n;
}

/* A queue that fills and drains again and again re-arms the warnings each
 * time it drains; within a second only a longer queue than the last
 * warned is worth a line. One worker: each burst of 64 is queued (in one
 * push, from the flooder's outbox: one warning) before the sink runs,
 * then drains. */
START_TEST(test_overload_warn_not_repeated)
{
    char path[] = "/tmp/sky-overload-log-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    box_reset();
    sky_config cfg;
    tu_config(&cfg, 1);
    cfg.log_level = SKY_LOG_WARN;
    cfg.log_path = path;
    cfg.overload_warn = 8;
    sky_node *node = tu_start(&cfg, &sink_module, &flooder_module, NULL);
    sky_addr_t sink = tu_spawn(node, "sink", "");
    sky_addr_t fl = tu_spawn(node, "flooder", "");
    static job j;
    int first = 0;
    for (int burst = 1; burst <= 3; burst++) {
        memset(&j, 0, sizeof j);
        j.to = sink;
        j.n = 64;
        go(node, fl, &j);
        ck_assert(TU_WAIT(atomic_load(&box.data) == 64 * burst, 5000));
        if (burst == 1) {
            ck_assert(TU_WAIT(overload_lines(path) >= 1, 3000));
            tu_sleep_ms(50);
            first = overload_lines(path);
        }
    }
    tu_sleep_ms(100); /* the logger has written what it got */
    sky_node_free(node);
    int lines = overload_lines(path);
    unlink(path);
    ck_assert_msg(lines == first, "%d overload lines for 3 bursts (%d for the first alone)", lines, first);
}
END_TEST

/* Several threads flood one blocked sink at once: every refusal is
 * counted, in the service's and the node's counters alike. */
START_TEST(test_flood_concurrent_counts)
{
    enum { N = 20000, LIMIT = 8, FLOODERS = 2 };
    box_reset();
    sky_node *node = tu_node(3, &sink_module, &flooder_module, NULL);
    sky_addr_t sink = tu_spawn(node, "sink", "limit:8");
    sky_addr_t fl[FLOODERS];
    for (int i = 0; i < FLOODERS; i++) fl[i] = tu_spawn(node, "flooder", "");
    ck_assert_int_eq(tu_send(node, sink, T_BLOCK, NULL, 0), 0);
    ck_assert(TU_WAIT(atomic_load(&box.blocked), 5000));
    sky_node_stat n0;
    sky_node_stat_get(node, &n0);

    static job j[FLOODERS];
    memset(j, 0, sizeof j);
    for (int i = 0; i < FLOODERS; i++) {
        j[i].to = sink;
        j[i].n = N;
        go(node, fl[i], &j[i]);
    }
    /* and this thread joins in */
    long ok = 0, busy = 0;
    for (int i = 0; i < N; i++) {
        int rc = tu_send(node, sink, T_DATA, "x", 1);
        ck_assert(rc == 0 || rc == SKY_EBUSY);
        rc == 0 ? ok++ : busy++;
    }
    for (int i = 0; i < FLOODERS; i++) {
        ck_assert(TU_WAIT(atomic_load(&j[i].done), 10000));
        ck_assert_int_eq(atomic_load(&j[i].other), 0);
        ok += atomic_load(&j[i].ok);
        busy += atomic_load(&j[i].busy);
    }
    ck_assert_int_eq(ok, LIMIT);
    ck_assert_int_eq(busy, (FLOODERS + 1) * N - LIMIT);
    sky_service_stat rs = tu_stat(node, sink);
    sky_node_stat n1;
    sky_node_stat_get(node, &n1);
    ck_assert_msg(rs.dropped == (uint64_t)busy, "service counted %llu drops, senders saw %ld",
                  (unsigned long long)rs.dropped, busy);
    ck_assert_msg(n1.dropped - n0.dropped == (uint64_t)busy, "node counted %llu drops, senders saw %ld",
                  (unsigned long long)(n1.dropped - n0.dropped), busy);
    ck_assert_uint_eq(rs.queued, LIMIT);

    tu_gate_open(&box.gate);
    ck_assert(TU_WAIT(atomic_load(&box.data) == LIMIT, 5000));
    sky_node_free(node);
}
END_TEST

/* A call into a full mailbox fails at once with SKY_EBUSY and its callback
 * is never run; the calls that fit are answered. */
START_TEST(test_calls_refused_when_full)
{
    enum { N = 50, LIMIT = 8 };
    box_reset();
    sky_node *node = tu_node(1, &sink_module, &flooder_module, NULL);
    sky_addr_t sink = tu_spawn(node, "sink", "limit:8");
    sky_addr_t fl = tu_spawn(node, "flooder", "");
    static job j;
    memset(&j, 0, sizeof j);
    j.to = sink;
    j.n = N;
    j.calls = 1;
    go(node, fl, &j);
    ck_assert(TU_WAIT(atomic_load(&j.done), 5000));
    ck_assert_int_eq(atomic_load(&j.ok), LIMIT);
    ck_assert_int_eq(atomic_load(&j.busy), N - LIMIT);
    ck_assert(TU_WAIT(atomic_load(&j.cb_ok) == LIMIT, 5000));
    tu_sleep_ms(50);
    ck_assert_int_eq(atomic_load(&j.cb_ok), LIMIT);
    ck_assert_int_eq(atomic_load(&j.cb_other), 0);
    ck_assert_uint_eq(tu_stat(node, sink).dropped, N - LIMIT);
    sky_node_free(node);
}
END_TEST

/* delayer: defers one request and answers it on T_RELEASE. */
static sky_token delayed;

static int delayer_handle(void *st, sky_ctx *ctx, const sky_msg *m)
{
    (void)st;
    if (m->kind == SKY_REQUEST) {
        delayed = sky_defer(ctx, m);
        atomic_store(&box.deferred, 1);
    } else if (m->kind == SKY_ONEWAY && m->type_id == T_RELEASE) {
        sky_msg resp = {.size = 0};
        return sky_respond(ctx, delayed, &resp);
    }
    return 0;
}

static const sky_module delayer_module = {"delayer", NULL, NULL, delayer_handle, NULL};

/* A full mailbox still takes the answer to a call and a timer. */
START_TEST(test_full_accepts_replies_and_timers)
{
    enum { LIMIT = 4 };
    box_reset();
    sky_node *node = tu_node(2, &sink_module, &delayer_module, NULL);
    sky_addr_t sink = tu_spawn(node, "sink", "limit:4");
    sky_addr_t del = tu_spawn(node, "delayer", "");

    /* the sink calls the delayer, which holds the request */
    ck_assert_int_eq(tu_send(node, sink, T_CALL, &del, sizeof del), 0);
    ck_assert(TU_WAIT(atomic_load(&box.deferred), 5000));
    /* the sink blocks (after arming a 0 ms timer) and its mailbox fills */
    ck_assert_int_eq(tu_send(node, sink, T_BLOCK, "t", 1), 0);
    ck_assert(TU_WAIT(atomic_load(&box.blocked), 5000));
    int sent = 0, rc;
    while ((rc = tu_send(node, sink, T_DATA, "x", 1)) == 0) sent++;
    ck_assert_int_eq(rc, SKY_EBUSY);
    ck_assert_int_le(sent, LIMIT);
    ck_assert_uint_ge(tu_stat(node, sink).queued, LIMIT); /* the timer may be one of them */
    ck_assert_int_eq(tu_send(node, sink, T_DATA, "x", 1), SKY_EBUSY);

    /* now the reply comes; the timer has come or comes too */
    ck_assert_int_eq(tu_send(node, del, T_RELEASE, NULL, 0), 0);
    ck_assert_msg(TU_WAIT(tu_stat(node, sink).queued == (size_t)sent + 2, 5000),
                  "reply or timer refused: %zu queued, %d oneways", tu_stat(node, sink).queued, sent);
    ck_assert_int_eq(tu_stat(node, sink).dropped, 2);

    tu_gate_open(&box.gate);
    ck_assert(TU_WAIT(atomic_load(&box.replies) == 1, 5000));
    ck_assert_int_eq(atomic_load(&box.reply_status), 0);
    ck_assert(TU_WAIT(atomic_load(&box.timers) == 1, 5000));
    ck_assert(TU_WAIT(atomic_load(&box.data) == sent, 5000));
    sky_node_free(node);
}
END_TEST

/* A kill gets into a full mailbox and is handled before the mail queued
 * ahead of it. */
START_TEST(test_full_accepts_kill_first)
{
    enum { LIMIT = 4 };
    box_reset();
    sky_node *node = tu_node(2, &sink_module, NULL);
    sky_addr_t sink = tu_spawn(node, "sink", "limit:4");
    ck_assert_int_eq(tu_send(node, sink, T_BLOCK, NULL, 0), 0);
    ck_assert(TU_WAIT(atomic_load(&box.blocked), 5000));
    for (int i = 0; i < LIMIT; i++) ck_assert_int_eq(tu_send(node, sink, T_DATA, "x", 1), 0);
    ck_assert_int_eq(tu_send(node, sink, T_DATA, "x", 1), SKY_EBUSY);
    ck_assert_int_eq(sky_node_kill(node, sink), 0);
    tu_gate_open(&box.gate);
    ck_assert(TU_WAIT(!tu_alive(node, sink), 5000));
    ck_assert_int_eq(atomic_load(&box.handled), 1); /* only T_BLOCK */
    ck_assert_int_eq(atomic_load(&box.data), 0);
    sky_node_free(node);
}
END_TEST

/* The per-service bound: sky_set_mailbox_limit(0) means the node default. */
static int limit0_init(void *st, sky_ctx *ctx, const char *args)
{
    (void)st, (void)args;
    sky_set_mailbox_limit(ctx, 3);
    sky_set_mailbox_limit(ctx, 0);
    return 0;
}

static const sky_module limit0_module = {"limit0", NULL, limit0_init, sink_handle, NULL};

START_TEST(test_limit_default)
{
    box_reset();
    sky_config cfg;
    tu_config(&cfg, 1);
    cfg.mailbox_limit = 77;
    sky_node *node = tu_start(&cfg, &limit0_module, &sink_module, NULL);
    ck_assert_uint_eq(tu_stat(node, tu_spawn(node, "limit0", "")).limit, 77);
    ck_assert_uint_eq(tu_stat(node, tu_spawn(node, "sink", "")).limit, 77);
    ck_assert_uint_eq(tu_stat(node, tu_spawn(node, "sink", "limit:5")).limit, 5);
    sky_node_free(node);
}
END_TEST

Suite *mailbox_suite(void)
{
    Suite *s = suite_create("mailbox");
    TCase *tc = tu_tcase("unit");
    tcase_add_test(tc, test_fifo);
    tcase_add_test(tc, test_fifo_wrap);
    tcase_add_test(tc, test_bound);
    tcase_add_test(tc, test_bound_zero);
    tcase_add_test(tc, test_signals_first);
    tcase_add_test(tc, test_scheduled_protocol);
    tcase_add_test(tc, test_overload_warn);
    tcase_add_test(tc, test_close_returns_everything);
    suite_add_tcase(s, tc);
    tc = tu_tcase("node");
    tcase_add_test(tc, test_flood_past_limit);
    tcase_add_test(tc, test_overload_warn_not_repeated);
    tcase_add_test(tc, test_flood_concurrent_counts);
    tcase_add_test(tc, test_calls_refused_when_full);
    tcase_add_test(tc, test_full_accepts_replies_and_timers);
    tcase_add_test(tc, test_full_accepts_kill_first);
    tcase_add_test(tc, test_limit_default);
    suite_add_tcase(s, tc);
    return s;
}
