/* The Check runners' common end (tests/runtime/check_runtime,
 * tests/client/check_client). */
#ifndef SKY_TEST_CKRUN_H
#define SKY_TEST_CKRUN_H

#include <check.h>

/* Runs every suite of sr (CK_RUN_SUITE / CK_RUN_CASE pick some, CK_FORK=no
 * runs them in this process), then prints Check's summary line named after
 * the runner, "NAME: 100%: Checks: N, Failures: F, Errors: E", and one
 * line per failed test ("file:line:F|E:test case: message"). Frees sr.
 * Returns the runner's exit status: EXIT_SUCCESS if nothing failed. */
int sky_test_run(SRunner *sr, const char *name);

#endif
