/* The libsky-client stubs skyc generates (fake.sky-client.h) against the
 * test gate: typed calls, error answers, the method's own deadline, a
 * response that does not decode, oneways. */
#include <check.h>
#include <string.h>
#include "check_client.h"
#include "fake.sky-client.h"
#include "fakegate.h"

START_TEST(typed_call)
{
    Test__Msg req = TEST__MSG__INIT, *resp = NULL;

    req.text = "hello";
    req.n = -7;
    ck_assert_int_eq(test_Fake_Echo_client_call(cl, &req, &resp, 2000), 0);
    ck_assert_ptr_nonnull(resp);
    ck_assert_str_eq(resp->text, "hello");
    ck_assert_int_eq(resp->n, -7);
    test__msg__free_unpacked(resp, NULL);
}
END_TEST

START_TEST(typed_error)
{
    Test__Msg req = TEST__MSG__INIT, *resp = (Test__Msg *)1;

    ck_assert_int_eq(test_Fake_Fail_client_call(cl, &req, &resp, 2000), SKY_ENOSVC);
    ck_assert_ptr_null(resp);
    ck_assert_str_eq(sky_client_error(cl), "no such service");
}
END_TEST

/* timeout_ms 0: the method's (sky.timeout_ms) = 100. */
START_TEST(method_deadline)
{
    Test__Msg req = TEST__MSG__INIT, *resp;
    long t0 = test_now_ms(), dt;

    ck_assert_int_eq(test_Fake_Slow_client_call(cl, &req, &resp, 0), SKY_ETIMEDOUT);
    dt = test_now_ms() - t0;
    ck_assert_int_ge(dt, 95);
    ck_assert_int_lt(dt, 280);
    ck_assert_ptr_null(resp);
}
END_TEST

START_TEST(undecodable_response)
{
    Test__Msg req = TEST__MSG__INIT, *resp = (Test__Msg *)1;

    ck_assert_int_eq(test_Fake_Garbage_client_call(cl, &req, &resp, 2000), SKY_EBADMSG);
    ck_assert_ptr_null(resp);
    ck_assert(sky_client_connected(cl)); /* the frame was fine */
    req.text = "next";
    ck_assert_int_eq(test_Fake_Echo_client_call(cl, &req, &resp, 2000), 0);
    ck_assert_str_eq(resp->text, "next");
    test__msg__free_unpacked(resp, NULL);
}
END_TEST

START_TEST(typed_send)
{
    Test__Msg req = TEST__MSG__INIT;
    fakegate_seen s;
    uint8_t want[64];

    req.text = "note";
    ck_assert_int_eq(test_Fake_Note_client_send(cl, &req, 0), 0);
    ck_assert_int_eq(fakegate_wait_oneways(gate, 1, 5000), 1);
    fakegate_seen_get(gate, &s);
    ck_assert_uint_eq(s.last_payload_len, test__msg__get_packed_size(&req));
    test__msg__pack(&req, want);
    ck_assert_mem_eq(s.last_payload, want, s.last_payload_len);
}
END_TEST

Suite *stubs_suite(void)
{
    Suite *s = suite_create("stubs");
    TCase *tc = tcase_create("gate");

    tcase_add_checked_fixture(tc, client_setup, client_teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, typed_call);
    tcase_add_test(tc, typed_error);
    tcase_add_test(tc, method_deadline);
    tcase_add_test(tc, undecodable_response);
    tcase_add_test(tc, typed_send);
    suite_add_tcase(s, tc);
    return s;
}
