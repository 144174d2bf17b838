/* libsky-client against the test gate (fakegate.c) on 127.0.0.1. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "sky/client.h"
#include "check_client.h"
#include "fakegate.h"

fakegate *gate;
sky_client *cl;

void client_setup(void)
{
    fakegate_opts o = {0};

    gate = fakegate_start(&o);
    ck_assert_ptr_nonnull(gate);
    cl = sky_client_new("127.0.0.1", fakegate_port(gate));
    ck_assert_ptr_nonnull(cl);
    ck_assert_int_eq(sky_client_connect(cl, 2000), 0);
}

void client_teardown(void)
{
    sky_client_free(cl);
    fakegate_stop(gate);
}

long test_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

/* Calls FAKE_ECHO with `text`, asserts the echo. */
static void echo_ok(sky_client *c, const char *text)
{
    void *resp;
    size_t len;

    ck_assert_int_eq(sky_client_call_name(c, FAKE_ECHO, text, strlen(text), &resp, &len, 2000), 0);
    ck_assert_uint_eq(len, strlen(text));
    ck_assert_mem_eq(resp, text, len);
    ck_assert_str_eq(sky_client_error(c), "");
    free(resp);
}

/* The bytes of docs/protocol.md's example: the preface, then the frame. */
START_TEST(wire_format)
{
    static const uint8_t req[] = {0x0a, 0x02, 'h', 'i'};
    static const uint8_t want[16] = {0, 0, 0, 0x10, 1, 0, 0, 0, 0, 0, 0, 1};
    uint8_t hdr[16];
    fakegate_seen s;
    void *resp;
    size_t len;

    ck_assert_uint_eq(sky_client_method_id("echo.Echo.Say"), 0xf6c2f52eu);
    ck_assert_int_eq(sky_client_call_name(cl, FAKE_ECHO, req, sizeof req, &resp, &len, 2000), 0);
    ck_assert_uint_eq(len, sizeof req);
    ck_assert_mem_eq(resp, req, sizeof req);
    free(resp);
    fakegate_seen_get(gate, &s);
    memcpy(hdr, want, 12);
    uint32_t id = sky_client_method_id(FAKE_ECHO);
    hdr[12] = (uint8_t)(id >> 24), hdr[13] = (uint8_t)(id >> 16), hdr[14] = (uint8_t)(id >> 8), hdr[15] = (uint8_t)id;
    ck_assert_mem_eq(s.last_header, hdr, 16);
    ck_assert_int_eq(s.connections, 1);
    ck_assert_int_eq(s.bad_prefaces, 0);
    /* sessions count up */
    echo_ok(cl, "x");
    fakegate_seen_get(gate, &s);
    ck_assert_int_eq(s.last_header[11], 2);
}
END_TEST

START_TEST(empty_payload)
{
    void *resp = NULL;
    size_t len = 99;

    ck_assert_int_eq(sky_client_call_name(cl, FAKE_ECHO, NULL, 0, &resp, &len, 2000), 0);
    ck_assert_ptr_nonnull(resp);
    ck_assert_uint_eq(len, 0);
    free(resp);
}
END_TEST

START_TEST(error_answer)
{
    void *resp = (void *)1;
    size_t len;

    ck_assert_int_eq(sky_client_call_name(cl, FAKE_FAIL, "", 0, &resp, &len, 2000), SKY_ENOSVC);
    ck_assert_ptr_null(resp);
    ck_assert_str_eq(sky_client_error(cl), "no such service");
    ck_assert(sky_client_connected(cl));
    /* a Status without a message */
    ck_assert_int_eq(sky_client_call_name(cl, "test.Fake.Unknown", "", 0, &resp, &len, 2000), SKY_ENOENT);
    ck_assert_str_eq(sky_client_error(cl), "");
    echo_ok(cl, "still fine");
}
END_TEST

/* The service's own error: the application code and details are kept
 * until the next call; a field of a newer Status is skipped. */
START_TEST(app_error_answer)
{
    void *resp = (void *)1;
    const void *d;
    size_t len;

    ck_assert_str_eq(sky_client_error_app_code(cl), "");
    ck_assert_int_eq(sky_client_call_name(cl, FAKE_APPFAIL, "", 0, &resp, &len, 2000), SKY_EAPP);
    ck_assert_ptr_null(resp);
    ck_assert_str_eq(sky_client_error(cl), "only 3 left");
    ck_assert_str_eq(sky_client_error_app_code(cl), "EOUTOFSTOCK");
    d = sky_client_error_details(cl, &len);
    ck_assert_uint_eq(len, 5);
    ck_assert(memcmp(d, "\0\1det", 5) == 0);
    ck_assert_int_eq(sky_client_call_name(cl, FAKE_FAIL, "", 0, &resp, &len, 2000), SKY_ENOSVC);
    ck_assert_str_eq(sky_client_error_app_code(cl), "");
    ck_assert_ptr_null(sky_client_error_details(cl, &len));
    ck_assert_uint_eq(len, 0);
    echo_ok(cl, "still fine");
}
END_TEST

/* A call past its deadline fails; its late answer does not reach the next. */
START_TEST(deadline)
{
    void *resp;
    size_t len;
    long t0 = test_now_ms(), dt;

    ck_assert_int_eq(sky_client_call_name(cl, FAKE_SLOW, "late", 4, &resp, &len, 100), SKY_ETIMEDOUT);
    dt = test_now_ms() - t0;
    ck_assert_int_ge(dt, 95);
    ck_assert_int_lt(dt, 280);
    ck_assert_ptr_null(resp);
    ck_assert(sky_client_connected(cl));
    echo_ok(cl, "on time");
}
END_TEST

START_TEST(other_sessions_dropped)
{
    void *resp;
    size_t len;

    ck_assert_int_eq(sky_client_call_name(cl, FAKE_OTHER, "mine", 4, &resp, &len, 2000), 0);
    ck_assert_uint_eq(len, 4);
    ck_assert_mem_eq(resp, "mine", 4);
    free(resp);
}
END_TEST

START_TEST(trickled_answer)
{
    void *resp;
    size_t len;
    char big[200];

    memset(big, 'b', sizeof big);
    ck_assert_int_eq(sky_client_call_name(cl, FAKE_TRICKLE, big, sizeof big, &resp, &len, 5000), 0);
    ck_assert_uint_eq(len, sizeof big);
    ck_assert_mem_eq(resp, big, sizeof big);
    free(resp);
}
END_TEST

/* Each malformed answer: SKY_EBADMSG, connection closed, reconnect works. */
START_TEST(malformed_answers)
{
    static const char *const methods[] = {FAKE_SHORT, FAKE_HUGE, FAKE_BADKIND, FAKE_BADSTATUS};
    const char *m = methods[_i];
    void *resp;
    size_t len;

    ck_assert_int_eq(sky_client_call_name(cl, m, "x", 1, &resp, &len, 2000), SKY_EBADMSG);
    ck_assert_ptr_null(resp);
    ck_assert(!sky_client_connected(cl));
    ck_assert_ptr_nonnull(strstr(sky_client_error(cl), "connection closed"));
    ck_assert_int_eq(sky_client_call_name(cl, FAKE_ECHO, "x", 1, &resp, &len, 2000), SKY_ENODEDOWN);
    ck_assert_int_eq(sky_client_connect(cl, 2000), 0);
    echo_ok(cl, "again");
}
END_TEST

START_TEST(answer_over_limit)
{
    void *resp;
    size_t len;

    sky_client_set_max_frame(cl, 3);
    echo_ok(cl, "abc");
    ck_assert_int_eq(sky_client_call_name(cl, FAKE_ECHO, "abcd", 4, &resp, &len, 2000), SKY_EBADMSG);
    ck_assert(!sky_client_connected(cl));
}
END_TEST

START_TEST(gate_closes)
{
    void *resp;
    size_t len;

    ck_assert_int_eq(sky_client_call_name(cl, FAKE_CLOSE, "", 0, &resp, &len, 2000), SKY_ENODEDOWN);
    ck_assert(!sky_client_connected(cl));
    ck_assert_int_eq(sky_client_send(cl, sky_client_method_id(FAKE_ECHO), "", 0, 100), SKY_ENODEDOWN);
    ck_assert_int_eq(sky_client_connect(cl, 2000), 0);
    echo_ok(cl, "back");
}
END_TEST

/* The gate goes away and comes back on the same port. */
START_TEST(server_restart)
{
    fakegate_opts o = {.port = fakegate_port(gate)};
    void *resp;
    size_t len;

    echo_ok(cl, "before");
    fakegate_stop(gate);
    gate = NULL;
    ck_assert_int_eq(sky_client_call_name(cl, FAKE_ECHO, "x", 1, &resp, &len, 2000), SKY_ENODEDOWN);
    ck_assert_int_eq(sky_client_connect(cl, 2000), SKY_ENODEDOWN); /* refused */
    gate = fakegate_start(&o);
    ck_assert_ptr_nonnull(gate);
    ck_assert_int_eq(sky_client_connect(cl, 2000), 0);
    echo_ok(cl, "after");
}
END_TEST

START_TEST(oneway)
{
    fakegate_seen s;
    uint32_t id = sky_client_method_id(FAKE_ECHO);

    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(sky_client_send(cl, id, "one", 3, 2000), 0);
    ck_assert_int_eq(fakegate_wait_oneways(gate, 100, 5000), 100);
    fakegate_seen_get(gate, &s);
    ck_assert_int_eq(s.last_header[4], 4);                               /* kind oneway */
    ck_assert_mem_eq(s.last_header + 8, "\0\0\0\0", 4);                  /* session 0 */
    ck_assert_uint_eq(s.last_payload_len, 3);
    echo_ok(cl, "and a call"); /* nothing came back for the oneways */
}
END_TEST

/* send_later queues: nothing is written until a flush, a call or a full
 * buffer; then everything, in order, before the call's own request. */
START_TEST(send_later)
{
    fakegate_seen s;
    uint32_t id = sky_client_method_id(FAKE_ECHO);
    char p[16];
    static char big[40000];

    for (int i = 0; i < 100; i++) {
        snprintf(p, sizeof p, "n%d", i);
        ck_assert_int_eq(sky_client_send_later(cl, id, p, strlen(p), 2000), 0);
    }
    usleep(100 * 1000);
    fakegate_seen_get(gate, &s);
    ck_assert_int_eq(s.oneways, 0); /* still queued */
    ck_assert_int_eq(sky_client_flush(cl, 2000), 0);
    ck_assert_int_eq(fakegate_wait_oneways(gate, 100, 5000), 100);
    fakegate_seen_get(gate, &s);
    ck_assert_uint_eq(s.last_payload_len, 3);
    ck_assert_mem_eq(s.last_payload, "n99", 3);
    ck_assert_int_eq(sky_client_flush(cl, 2000), 0); /* nothing queued: fine */

    /* past the buffer: written as it fills; a big one goes after the queue */
    for (int i = 0; i < 5000; i++) {
        snprintf(p, sizeof p, "m%d", i);
        ck_assert_int_eq(sky_client_send_later(cl, id, p, strlen(p), 2000), 0);
    }
    ck_assert_int_ge(fakegate_wait_oneways(gate, 101, 5000), 101); /* some went already */
    memset(big, 'b', sizeof big);
    ck_assert_int_eq(sky_client_send_later(cl, id, big, sizeof big, 2000), 0);
    ck_assert_int_eq(fakegate_wait_oneways(gate, 5101, 5000), 5101);
    fakegate_seen_get(gate, &s);
    ck_assert_uint_eq(s.last_payload[0], 'b');

    /* a call writes the queue first */
    ck_assert_int_eq(sky_client_send_later(cl, id, "last", 4, 2000), 0);
    echo_ok(cl, "a call");
    fakegate_seen_get(gate, &s);
    ck_assert_int_eq(s.oneways, 5102);

    /* close drops what is queued; not connected is refused */
    ck_assert_int_eq(sky_client_send_later(cl, id, "lost", 4, 2000), 0);
    sky_client_close(cl);
    ck_assert_int_eq(sky_client_send_later(cl, id, "x", 1, 2000), SKY_ENODEDOWN);
    ck_assert_int_eq(sky_client_connect(cl, 2000), 0);
    echo_ok(cl, "again");
    fakegate_seen_get(gate, &s);
    ck_assert_int_eq(s.oneways, 5102);
    ck_assert_int_eq(sky_client_send_later(cl, id, NULL, 3, 2000), SKY_EINVAL);
    ck_assert_int_eq(sky_client_flush(cl, 0), SKY_EINVAL);
}
END_TEST

START_TEST(bad_preface)
{
    fakegate_opts o = {.bad_preface = 1};
    fakegate *bad = fakegate_start(&o);
    sky_client *c;

    ck_assert_ptr_nonnull(bad);
    c = sky_client_new("127.0.0.1", fakegate_port(bad));
    ck_assert_int_eq(sky_client_connect(c, 2000), SKY_EBADMSG);
    ck_assert(!sky_client_connected(c));
    sky_client_free(c);
    fakegate_stop(bad);
}
END_TEST

START_TEST(connect_timeout)
{
    int fds[8], nfds, port = blackhole_open(fds, &nfds, 8);
    sky_client *c;
    long t0, dt;

    ck_assert_int_gt(port, 0);
    c = sky_client_new("127.0.0.1", port);
    t0 = test_now_ms();
    ck_assert_int_eq(sky_client_connect(c, 200), SKY_ETIMEDOUT);
    dt = test_now_ms() - t0;
    ck_assert_int_ge(dt, 190);
    ck_assert_int_lt(dt, 1000);
    ck_assert_ptr_nonnull(strstr(sky_client_error(c), "timed out"));
    sky_client_free(c);
    for (int i = 0; i < nfds; i++)
        close(fds[i]);
}
END_TEST

START_TEST(bad_arguments)
{
    void *resp;
    size_t len;
    sky_client *c;

    ck_assert_ptr_null(sky_client_new(NULL, 1));
    ck_assert_ptr_null(sky_client_new("", 1));
    ck_assert_ptr_null(sky_client_new("127.0.0.1", 0));
    ck_assert_ptr_null(sky_client_new("127.0.0.1", 70000));
    sky_client_free(NULL);
    ck_assert_int_eq(sky_client_call(cl, 1, "x", 1, &resp, &len, 0), SKY_EINVAL);
    ck_assert_int_eq(sky_client_call(cl, 1, NULL, 1, &resp, &len, 100), SKY_EINVAL);
    ck_assert_int_eq(sky_client_call(NULL, 1, "x", 1, &resp, &len, 100), SKY_EINVAL);
    ck_assert_int_eq(sky_client_call_name(cl, NULL, "x", 1, &resp, &len, 100), SKY_EINVAL);
    ck_assert_int_eq(sky_client_connect(cl, 0), SKY_EINVAL);
    c = sky_client_new("127.0.0.1", 1);
    ck_assert_int_eq(sky_client_call(c, 1, "x", 1, &resp, &len, 100), SKY_ENODEDOWN); /* never connected */
    ck_assert_str_eq(sky_client_error(c), "not connected");
    ck_assert_int_eq(sky_client_connect(c, 1000), SKY_ENODEDOWN); /* nobody on port 1 */
    sky_client_free(c);
    c = sky_client_new("no-such-host.invalid", 80);
    ck_assert_int_eq(sky_client_connect(c, 1000), SKY_ENODEDOWN);
    sky_client_free(c);
    ck_assert_str_eq(sky_errname(SKY_ETIMEDOUT), "ETIMEDOUT");
}
END_TEST

Suite *cclient_suite(void)
{
    Suite *s = suite_create("cclient");
    TCase *tc = tcase_create("gate");

    tcase_add_checked_fixture(tc, client_setup, client_teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, wire_format);
    tcase_add_test(tc, empty_payload);
    tcase_add_test(tc, error_answer);
    tcase_add_test(tc, app_error_answer);
    tcase_add_test(tc, deadline);
    tcase_add_test(tc, other_sessions_dropped);
    tcase_add_test(tc, trickled_answer);
    tcase_add_loop_test(tc, malformed_answers, 0, 4);
    tcase_add_test(tc, answer_over_limit);
    tcase_add_test(tc, gate_closes);
    tcase_add_test(tc, server_restart);
    tcase_add_test(tc, oneway);
    tcase_add_test(tc, send_later);
    tcase_add_test(tc, bad_preface);
    tcase_add_test(tc, connect_timeout);
    tcase_add_test(tc, bad_arguments);
    suite_add_tcase(s, tc);
    return s;
}
