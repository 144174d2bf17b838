/* The Check runners' summary, named: `make check` and quickstart.sh's
 * summary show which runner a line closes. */
#include <stdio.h>
#include <stdlib.h>
#include "ckrun.h"

int sky_test_run(SRunner *sr, const char *name)
{
    srunner_run_all(sr, CK_SILENT);
    int run = srunner_ntests_run(sr), bad = srunner_ntests_failed(sr), failures = 0;
    TestResult **tr = srunner_failures(sr);
    for (int i = 0; i < bad; i++)
        if (tr_rtype(tr[i]) == CK_FAILURE) failures++;
    printf("%s: %d%%: Checks: %d, Failures: %d, Errors: %d\n", name, run ? (run - bad) * 100 / run : 0, run,
           failures, bad - failures);
    for (int i = 0; i < bad; i++)
        printf("%s:%d:%c:%s: %s\n", tr_lfile(tr[i]), tr_lno(tr[i]), tr_rtype(tr[i]) == CK_FAILURE ? 'F' : 'E',
               tr_tcname(tr[i]), tr_msg(tr[i]));
    fflush(stdout);
    free(tr);
    srunner_free(sr);
    return bad == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
