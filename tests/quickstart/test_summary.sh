#!/bin/sh
# quickstart.sh test's closing summary adds up the summary lines the tests
# print: the Check runners' ("check_runtime: 100%: Checks: N, Failures: F,
# Errors: E") and the scripts' ("test_launcher: N passed, M failed"), each
# named after what it closes, and the old unnamed forms too; a test that
# printed no such line counts as one case.
#
# Runs summarize()'s awk program, read from quickstart.sh, on a made-up
# log of `make check`. Environment: SKY_SRCDIR (default: two levels up).
# Prints one line per case and closes with "test_summary: N passed, M
# failed"; exits 1 if any case failed.

set -u
NAME=summary
. "${SKY_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/skyc/lib.sh"

# The program: from the line after `awk -v tests=... '` to the line "}'".
sed -n "/awk -v tests=\" \$tests \" '\$/,/^[[:space:]]*}'\$/p" "$SKY_SRCDIR/quickstart.sh" |
    sed '1d; $s/'"'"'$//' >"$tmp/summary.awk"
w=
[ -s "$tmp/summary.awk" ] || w="no awk program found in quickstart.sh's summarize()"
report "summarize()'s awk program read from quickstart.sh" "$w"
[ -z "$w" ] || finish

cat >"$tmp/check.log" <<'END'
check_runtime: 100%: Checks: 120, Failures: 0, Errors: 0
PASS: tests/runtime/check_runtime
check_client: 81%: Checks: 11, Failures: 1, Errors: 1
tests/client/check_cclient.c:12:F:core: boom
tests/client/check_cclient.c:40:E:core: (after this point) Received signal 11
FAIL: tests/client/check_client
ok    the first case
test_launcher: 4 passed, 0 failed
PASS: tests/launcher/test_launcher.sh
test_echo_example: 13 passed, 1 failed
FAIL: tests/skyc/test_echo_example.sh
PASS: tests/layout/test_quiet.sh
95%: Checks: 20, Failures: 1, Errors: 0
FAIL: tests/old/check_old
3 passed, 0 failed
PASS: tests/old/test_old.sh
END
tests="tests/runtime/check_runtime tests/client/check_client tests/launcher/test_launcher.sh"
tests="$tests tests/skyc/test_echo_example.sh tests/layout/test_quiet.sh tests/old/check_old tests/old/test_old.sh"
awk -v tests=" $tests " -f "$tmp/summary.awk" "$tmp/check.log" >"$tmp/out" 2>&1
st=$?
report "the awk program runs" "$(why $st)" "$tmp/out"

# 120 + 9 + 4 + 13 + 1 (test_quiet) + 19 + 3 passed; 2 + 1 + 1 failed.
w=
grep -qx 'tests: 169 passed, 4 failed' "$tmp/out" || w="closing line: $(tail -n 1 "$tmp/out")"
report "named and unnamed lines are added up" "$w" "$tmp/out"

w=
for l in 'check_runtime: 100%: Checks: 120, Failures: 0, Errors: 0' 'test_launcher: 4 passed, 0 failed' \
    'failed: tests/client/check_client tests/skyc/test_echo_example.sh tests/old/check_old'; do
    grep -qxF "$l" "$tmp/out" || w="${w:+$w; }no line '$l'"
done
report "the summary lines are shown with their names, and the failed tests" "$w" "$tmp/out"

finish
