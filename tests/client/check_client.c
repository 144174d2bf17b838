/* The client libraries' Check runner: every suite of tests/client/, one
 * summary ("check_client: 100%: Checks: ..."). CK_FORK=no runs in one process (gdb, valgrind); CK_RUN_SUITE /
 * CK_RUN_CASE pick a suite or test case. */
#include "ckrun.h"
#include "check_client.h"

int main(void)
{
    SRunner *sr = srunner_create(cclient_suite());

    srunner_add_suite(sr, stubs_suite());
    srunner_add_suite(sr, nano_suite());
    return sky_test_run(sr, "check_client");
}
