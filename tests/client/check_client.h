/* The client libraries' Check suites (tests/client/). */
#ifndef SKY_TEST_CHECK_CLIENT_H
#define SKY_TEST_CHECK_CLIENT_H

#include <check.h>

Suite *cclient_suite(void);
Suite *stubs_suite(void);
Suite *nano_suite(void);

struct fakegate;
struct sky_client;

/* The fixture of the libsky-client suites: a test gate (fakegate.h) and
 * a client connected to it. */
extern struct fakegate *gate;
extern struct sky_client *cl;
void client_setup(void);
void client_teardown(void);

/* CLOCK_MONOTONIC in milliseconds. */
long test_now_ms(void);

#endif
