#!/usr/bin/env bash
# quickstart.sh — build sky from a fresh clone, then run the demo or the tests.
#
#   ./quickstart.sh demo    build, then run examples/demo (make demo)
#   ./quickstart.sh test    build, then run every test suite (make check)
#
# Installs missing Debian packages first (apt-get, through sudo unless root).
# Idempotent: autoreconf and configure run only when their inputs are newer
# than their outputs. Extra configure options come from SKY_CONFIGURE_FLAGS
# (e.g. SKY_CONFIGURE_FLAGS='--enable-sanitizers=address --enable-werror');
# a change of them reconfigures. Runs without interaction (CI=true or not).
set -euo pipefail

usage() {
	echo "usage: $0 demo|test" >&2
	exit 2
}

[[ $# -eq 1 ]] || usage
cmd=$1
case $cmd in
demo | test) ;;
*) usage ;;
esac

cd "$(dirname "${BASH_SOURCE[0]}")"

PACKAGES=(
	build-essential autoconf automake libtool pkg-config
	liblua5.4-dev lua5.4 libev-dev
	libprotobuf-c-dev protobuf-c-compiler protobuf-compiler libprotobuf-dev libprotoc-dev
	nanopb libnanopb-dev check valgrind
	# the cluster handshake's HMAC-SHA256 and nonces
	libsodium-dev
	# the protobuf JSON mapping (runtime/schema/pbjson.c) parses with it
	libjansson-dev
	# the Lua codec interop test (tests/lua/interop/) decodes with it
	python3 python3-protobuf
)

say() { printf 'quickstart: %s\n' "$*"; }

install_packages() {
	if ! command -v dpkg-query >/dev/null 2>&1; then
		say "no dpkg-query: not Debian; make sure these (or their equivalents) are installed: ${PACKAGES[*]}"
		return 0
	fi
	local missing=() p status
	for p in "${PACKAGES[@]}"; do
		status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
		[[ $status == "install ok installed" ]] || missing+=("$p")
	done
	[[ ${#missing[@]} -gt 0 ]] || return 0

	local sudo=()
	if [[ $(id -u) -ne 0 ]]; then
		command -v sudo >/dev/null 2>&1 || {
			say "not root and no sudo: install ${missing[*]} by hand"
			exit 1
		}
		# In CI (or without a terminal) sudo must not wait for a password.
		if [[ ${CI:-} == true || ! -t 0 ]]; then sudo=(sudo -n); else sudo=(sudo); fi
	fi
	say "installing ${missing[*]}"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}"
}

# The configure options the tree was last configured with, one string.
current_configure_flags() {
	local out
	out=$(./config.status --config 2>/dev/null) || return 1
	eval "set -- $out"
	echo "$*"
}

build() {
	local regen=0 f
	if [[ ! -x configure ]]; then
		regen=1
	else
		for f in configure.ac Makefile.am m4/sky_*.m4; do
			[[ -e $f && $f -nt configure ]] && regen=1
		done
	fi
	if [[ $regen -eq 1 ]]; then
		say "autoreconf -fi"
		autoreconf -fi
		touch configure
	fi

	local want reconf=0
	if [[ ! -f Makefile || ! -f config.status || configure -nt Makefile ]]; then
		reconf=1
	elif [[ -n ${SKY_CONFIGURE_FLAGS+set} ]]; then
		read -r -a want <<<"${SKY_CONFIGURE_FLAGS}"
		[[ "$(current_configure_flags || true)" == "${want[*]-}" ]] || reconf=1
	fi
	if [[ $reconf -eq 1 ]]; then
		if [[ -n ${SKY_CONFIGURE_FLAGS+set} || ! -f config.status ]]; then
			read -r -a want <<<"${SKY_CONFIGURE_FLAGS:-}"
			say "./configure ${want[*]-}"
			./configure ${want[@]+"${want[@]}"}
		else
			# Keep the options this tree was configured with.
			say "./config.status --recheck"
			./config.status --recheck
			./config.status
		fi
	fi

	make -j"$(nproc)"
}

# The names in $(TESTS), so that result lines printed by a test itself are
# not mistaken for the harness's.
list_tests() {
	printf 'qs-print-tests:\n\t@echo $(TESTS)\n' |
		make -s --no-print-directory -f Makefile -f - qs-print-tests 2>/dev/null || true
}

# Print every Check summary line ('check_runtime: 100%: Checks: N, ...')
# and every script's closing 'test_x: N passed, M failed' (each names the
# runner or script it closes; an unnamed line counts too), the logs of failed tests (parallel harness only: the serial one
# prints test output inline), and a closing 'tests: N passed, M failed' line
# that adds up those cases, counting a test that printed no such line as one.
summarize() {
	local log=$1 tests trs
	tests=$(list_tests)

	for trs in $(find . -name '*.trs' -newer "$log.start" 2>/dev/null); do
		if grep -Eq '^:test-result: (FAIL|ERROR|XPASS)' "$trs"; then
			echo "===== ${trs%.trs}.log ====="
			cat "${trs%.trs}.log"
		fi
	done

	echo "===== summary ====="
	sed 's/\x1b\[[0-9;]*m//g' "$log" | awk -v tests=" $tests " '
		function is_test(name) { return index(tests, " " name " ") > 0 }
		# A Check runner summary, named ("check_runtime: 100%: Checks: ...") or not.
		/^([A-Za-z0-9_.-]+: )?[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+/ {
			print
			line = $0
			sub(/^[A-Za-z0-9_.-]+: /, "", line)
			split(line, n, /[^0-9]+/)
			# n[1]=percent n[2]=checks n[3]=failures n[4]=errors
			pass += n[2] - n[3] - n[4]
			fail += n[3] + n[4]
			seen = 1; seen_fail += n[3] + n[4]
			next
		}
		# A script test closing with "test_x: N passed, M failed" (or no name).
		/^([A-Za-z0-9_.-]+: )?[0-9]+ passed, [0-9]+ failed/ {
			print
			line = $0
			sub(/^[A-Za-z0-9_.-]+: /, "", line)
			split(line, n, /[^0-9]+/)
			pass += n[1]; fail += n[2]
			seen = 1; seen_fail += n[2]
			next
		}
		/^(PASS|XFAIL|SKIP|FAIL|XPASS|ERROR): / {
			name = $2
			if (!is_test(name)) next
			bad = ($1 == "FAIL:" || $1 == "XPASS:" || $1 == "ERROR:")
			if (!seen) {
				if (bad) fail++
				else if ($1 != "SKIP:") pass++
			} else if (bad && seen_fail == 0) {
				fail++	# a Check runner that passed its cases but exited non-zero
			}
			if (bad) failed_tests = failed_tests " " name
			seen = 0; seen_fail = 0
			next
		}
		END {
			if (failed_tests != "") print "failed:" failed_tests
			printf "tests: %d passed, %d failed\n", pass, fail
		}'
}

install_packages
build

case $cmd in
demo)
	exec make demo
	;;
test)
	log=$(mktemp)
	trap 'rm -f "$log" "$log.start"' EXIT
	touch "$log.start"
	set +e
	make -j2 check 2>&1 | tee "$log"
	status=${PIPESTATUS[0]}
	set -e
	summarize "$log"
	if [[ $status -ne 0 ]]; then
		say "make check failed (exit $status)"
		exit 1
	fi
	;;
esac
