#!/bin/sh
# The user docs (README.md, docs/*.md, the public headers' comments) say
# what sky is: no mention of issues or of work still to come, and every
# docs/X.md or relative .md link they name exists.
#
# Environment: SKY_SRCDIR, the source tree (default: two levels up).
# Prints one line per case and closes with "test_docs: N passed, M
# failed"; exits 1 if any case failed.

set -u
NAME=docs
. "${SKY_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/skyc/lib.sh"
cd "$SKY_SRCDIR" || exit 1

docs="README.md docs/*.md include/sky/*.h"

# Issues, and plans: "being built", "lands here", "will be specified", ...
# shellcheck disable=SC2086
grep -nEi '\bissues?\b|work in progress|\bbeing built\b|\blands? here\b|when (it|they) lands?|will be (specified|added)|\bTODO\b' \
    $docs >"$tmp/plans"
w=
[ ! -s "$tmp/plans" ] || w="$(wc -l <"$tmp/plans") line(s)"
report "no issues or plans mentioned" "$w" "$tmp/plans"

# docs/X.md named anywhere in them, and [text](X.md) links relative to
# the file that has them.
: >"$tmp/missing"
# shellcheck disable=SC2086
grep -noE 'docs/[A-Za-z0-9_./-]+\.md' $docs | while IFS=: read -r f l ref; do
    [ -f "$ref" ] || echo "$f:$l: $ref" >>"$tmp/missing"
done
# shellcheck disable=SC2086
grep -noE '\]\([^)#:]+\.md' $docs | while IFS=: read -r f l ref; do
    ref=${ref#\](}
    [ -f "$(dirname "$f")/$ref" ] || echo "$f:$l: $ref" >>"$tmp/missing"
done
w=
[ ! -s "$tmp/missing" ] || w="$(wc -l <"$tmp/missing") missing"
report "every doc they name exists" "$w" "$tmp/missing"

finish
