/* The client libraries' Check runner: every suite of tests/client/, one
 * summary. CK_FORK=no runs in one process (gdb, valgrind); CK_RUN_SUITE /
 * CK_RUN_CASE pick a suite or test case. */
#include <stdlib.h>
#include "check_client.h"

int main(void)
{
    SRunner *sr = srunner_create(cclient_suite());

    srunner_add_suite(sr, stubs_suite());
    srunner_add_suite(sr, nano_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
