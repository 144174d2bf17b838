/* The nanopb client core and the stubs of skyc --nanopb_out
 * (fake.sky-nano.h) against the test gate, over posix_io, the device
 * example's transport. */
#include <check.h>
#include <string.h>
#include <unistd.h>
#include "check_client.h"
#include "fake.sky-nano.h"
#include "fakegate.h"
#include "posix_io.h"
#include "sky/client.h"

static int fd = -1;
static sky_nano nc;
static uint8_t frame[16 + 128];

static void connect_nano(sky_nano *n, int with_clock)
{
    sky_nano_io io = posix_io(&fd);

    if (!with_clock)
        io.now_ms = NULL;
    if (fd >= 0)
        close(fd);
    fd = posix_io_connect("127.0.0.1", fakegate_port(gate), 2000);
    ck_assert_int_ge(fd, 0);
    sky_nano_init(n, &io, frame, sizeof frame);
    ck_assert_int_eq(sky_nano_handshake(n, 2000), 0);
}

static void setup(void)
{
    fakegate_opts o = {0};

    gate = fakegate_start(&o);
    ck_assert_ptr_nonnull(gate);
    connect_nano(&nc, 1);
}

static void teardown(void)
{
    close(fd);
    fd = -1;
    fakegate_stop(gate);
}

static void echo_ok(const char *text)
{
    test_Msg req = {"", 42}, resp = {"", 0};

    strcpy(req.text, text);
    ck_assert_int_eq(test_Fake_Echo_nano_call(&nc, &req, &resp, 2000), 0);
    ck_assert_str_eq(resp.text, text);
    ck_assert_int_eq(resp.n, 42);
}

START_TEST(nano_call)
{
    echo_ok("hello, device");
    echo_ok("");
}
END_TEST

START_TEST(nano_no_clock)
{
    connect_nano(&nc, 0);
    echo_ok("no clock");
}
END_TEST

START_TEST(nano_error)
{
    test_Msg req = {"", 0}, resp;

    ck_assert_int_eq(test_Fake_Fail_nano_call(&nc, &req, &resp, 2000), SKY_ENOSVC);
    ck_assert_int_eq(nc.code, SKY_ENOSVC);
    ck_assert_str_eq(nc.message, "no such service");
    echo_ok("after an error");
}
END_TEST

/* The service's own error: its application code and details, in the
 * frame buffer; the next call forgets them. */
START_TEST(nano_app_error)
{
    test_Msg req = {"", 0}, resp;

    ck_assert_int_eq(sky_nano_call(&nc, sky_client_method_id(FAKE_APPFAIL), test_Msg_fields, &req, test_Msg_fields,
                                   &resp, 2000),
                     SKY_EAPP);
    ck_assert_int_eq(nc.code, SKY_EAPP);
    ck_assert_str_eq(nc.message, "only 3 left");
    ck_assert_str_eq(nc.app_code, "EOUTOFSTOCK");
    ck_assert_uint_eq(nc.details_len, 5);
    ck_assert(memcmp(nc.details, "\0\1det", 5) == 0);
    ck_assert_int_eq(test_Fake_Fail_nano_call(&nc, &req, &resp, 2000), SKY_ENOSVC);
    ck_assert_str_eq(nc.app_code, "");
    ck_assert_ptr_null(nc.details);
    ck_assert_uint_eq(nc.details_len, 0);
    echo_ok("after an application error");
}
END_TEST

/* The method's own deadline (100 ms); the late answer is dropped later. */
START_TEST(nano_deadline)
{
    test_Msg req = {"late", 0}, resp;
    long t0 = test_now_ms(), dt;

    ck_assert_int_eq(test_Fake_Slow_nano_call(&nc, &req, &resp, 0), SKY_ETIMEDOUT);
    dt = test_now_ms() - t0;
    ck_assert_int_ge(dt, 95);
    ck_assert_int_lt(dt, 280);
    echo_ok("on time");
}
END_TEST

START_TEST(nano_trickle)
{
    test_Msg req = {"slowly, byte by byte", 3}, resp;
    uint32_t id = sky_client_method_id(FAKE_TRICKLE);

    ck_assert_int_eq(sky_nano_call(&nc, id, test_Msg_fields, &req, test_Msg_fields, &resp, 5000), 0);
    ck_assert_str_eq(resp.text, req.text);
}
END_TEST

START_TEST(nano_undecodable)
{
    test_Msg req = {"", 0}, resp;

    ck_assert_int_eq(test_Fake_Garbage_nano_call(&nc, &req, &resp, 2000), SKY_EBADMSG);
    echo_ok("still in step");
}
END_TEST

START_TEST(nano_send)
{
    test_Msg req = {"note", 5};
    fakegate_seen s;

    ck_assert_int_eq(test_Fake_Note_nano_send(&nc, &req, 0), 0);
    ck_assert_int_eq(fakegate_wait_oneways(gate, 1, 5000), 1);
    fakegate_seen_get(gate, &s);
    ck_assert_uint_eq(s.last_payload_len, 8);
    ck_assert_mem_eq(s.last_payload, "\x0a\x04note\x10\x05", 8);
}
END_TEST

START_TEST(nano_too_big)
{
    static uint8_t small[16 + 4];
    sky_nano_io io = posix_io(&fd);
    sky_nano n;
    test_Msg req = {"too long for the buffer", 0}, resp;

    sky_nano_init(&n, &io, small, sizeof small);
    ck_assert_int_eq(sky_nano_call(&n, 1, test_Msg_fields, &req, test_Msg_fields, &resp, 100), SKY_ENODEDOWN);
    n.broken = 0; /* the connection's preface was exchanged by nc */
    ck_assert_int_eq(test_Fake_Echo_nano_call(&n, &req, &resp, 2000), SKY_ENOMEM);
    ck_assert_int_eq(sky_nano_handshake(&n, 0), SKY_EINVAL);
    echo_ok("nothing was sent");
}
END_TEST

/* A gate breaking the protocol: EBADMSG, then ENODEDOWN until reconnected. */
START_TEST(nano_malformed)
{
    static const char *const methods[] = {FAKE_SHORT, FAKE_BADKIND, FAKE_CLOSE};
    static const int codes[] = {SKY_EBADMSG, SKY_EBADMSG, SKY_ENODEDOWN};
    test_Msg req = {"", 0}, resp;

    ck_assert_int_eq(sky_nano_call(&nc, sky_client_method_id(methods[_i]), test_Msg_fields, &req, test_Msg_fields,
                                   &resp, 2000),
                     codes[_i]);
    ck_assert_int_eq(test_Fake_Echo_nano_call(&nc, &req, &resp, 2000), SKY_ENODEDOWN);
    connect_nano(&nc, 1);
    echo_ok("reconnected");
}
END_TEST

START_TEST(nano_bad_preface)
{
    fakegate_opts o = {.bad_preface = 1};
    fakegate *bad = fakegate_start(&o);
    int bfd = posix_io_connect("127.0.0.1", fakegate_port(bad), 2000);
    sky_nano_io io = posix_io(&bfd);
    sky_nano n;

    ck_assert_int_ge(bfd, 0);
    sky_nano_init(&n, &io, frame, sizeof frame);
    ck_assert_int_eq(sky_nano_handshake(&n, 2000), SKY_EBADMSG);
    close(bfd);
    fakegate_stop(bad);
}
END_TEST

Suite *nano_suite(void)
{
    Suite *s = suite_create("nano");
    TCase *tc = tcase_create("gate");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, nano_call);
    tcase_add_test(tc, nano_no_clock);
    tcase_add_test(tc, nano_error);
    tcase_add_test(tc, nano_app_error);
    tcase_add_test(tc, nano_deadline);
    tcase_add_test(tc, nano_trickle);
    tcase_add_test(tc, nano_undecodable);
    tcase_add_test(tc, nano_send);
    tcase_add_test(tc, nano_too_big);
    tcase_add_loop_test(tc, nano_malformed, 0, 3);
    tcase_add_test(tc, nano_bad_preface);
    suite_add_tcase(s, tc);
    return s;
}
