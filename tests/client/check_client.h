/* The client libraries' Check suites (tests/client/). */
#ifndef SKY_TEST_CHECK_CLIENT_H
#define SKY_TEST_CHECK_CLIENT_H

#include <check.h>

Suite *cclient_suite(void);
Suite *stubs_suite(void);
Suite *nano_suite(void);

/* CLOCK_MONOTONIC in milliseconds. */
long test_now_ms(void);

#endif
