/* The runtime's Check runner: every suite of tests/runtime/, one summary
 * ("check_runtime: 100%: Checks: ...").
 *
 * Environment: SKY_TEST_MODDIR (the directory holding testmod.so, set by
 * `make check`); CK_FORK=no to run in one process (gdb, valgrind);
 * CK_RUN_SUITE / CK_RUN_CASE to pick a suite or test case. */
#include "ckrun.h"
#include "testutil.h"

int main(void)
{
    SRunner *sr = srunner_create(handle_suite());
    srunner_add_suite(sr, mailbox_suite());
    srunner_add_suite(sr, sched_suite());
    srunner_add_suite(sr, timer_suite());
    srunner_add_suite(sr, call_suite());
    srunner_add_suite(sr, shutdown_suite());
    srunner_add_suite(sr, module_suite());
    srunner_add_suite(sr, outbox_suite());
    srunner_add_suite(sr, typed_suite());
    srunner_add_suite(sr, codec_suite());
    srunner_add_suite(sr, lua_suite());
    srunner_add_suite(sr, dynschema_suite());
    srunner_add_suite(sr, process_suite());
    srunner_add_suite(sr, socket_suite());
    srunner_add_suite(sr, gate_suite());
    srunner_add_suite(sr, misbehave_suite());
    srunner_add_suite(sr, cluster_suite());
    srunner_add_suite(sr, pbjson_suite());
    srunner_add_suite(sr, link_suite());
    return sky_test_run(sr, "check_runtime");
}
