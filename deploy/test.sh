#!/usr/bin/env bash
# deploy/test.sh — set everything up and run the whole test suite.
#
# Installs the Debian packages, builds twice (normal, and with
# AddressSanitizer + UndefinedBehaviorSanitizer), starts a throwaway
# PostgreSQL cluster and a throwaway PKI, runs every ctest test in both
# builds, stops PostgreSQL and exits non-zero on any failure.
# This is what .ci/run calls.
set -euo pipefail

usage() {
	cat <<'USAGE'
Usage: deploy/test.sh [--no-sanitize] [--keep] [-- CTEST_ARGS...]

Sets everything up and runs the whole test suite:
  1. deploy/install-deps.sh (Debian packages by name);
  2. builds build/ (warnings are errors) and build-asan/ (ASan + UBSan);
  3. starts a throwaway PostgreSQL cluster under var/test-pg, creates a
     throwaway PKI under var/test-pki, applies the migrations and registers
     the test principals;
  4. runs ctest in both builds (unit tests, then the "pg" integration tests
     that use real TLS on loopback and the real PostgreSQL);
  5. stops and deletes the cluster.

Options:
  --no-sanitize   skip the sanitizer build (faster local runs)
  --keep          keep the cluster and PKI afterwards (for debugging)
  -h, --help      this text
Anything after -- is passed to ctest (e.g. -- -R server).
Exit status: 0 all tests passed; non-zero otherwise.
USAGE
}

sanitize=1
keep=0
ctest_args=()
while [ $# -gt 0 ]; do
	case "$1" in
	--no-sanitize) sanitize=0 ;;
	--keep) keep=1 ;;
	-h | --help) usage; exit 0 ;;
	--) shift; ctest_args=("$@"); break ;;
	*) echo "test.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
jobs=$(nproc 2>/dev/null || echo 2)

"$repo/deploy/install-deps.sh"

build() {
	local dir=$1
	shift
	cmake -S "$repo" -B "$repo/$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHUANGSUI_WERROR=ON "$@" >/dev/null
	cmake --build "$repo/$dir" -j "$jobs"
}
echo "== building (normal)"
build build
if [ "$sanitize" = 1 ]; then
	echo "== building (AddressSanitizer + UndefinedBehaviorSanitizer)"
	build build-asan -DSHUANGSUI_SANITIZE=ON
fi

pgdir="$repo/var/test-pg"
pki="$repo/var/test-pki"
tmp="$repo/var/test-tmp"
port=${SHUANGSUI_TEST_PG_PORT:-55439}
pg=("$repo/deploy/pg.sh" --dir "$pgdir" --port "$port")

cleanup() {
	if [ "$keep" = 0 ]; then
		"${pg[@]}" destroy >/dev/null 2>&1 || true
		rm -rf "$pki" "$tmp"
	else
		echo "kept: cluster $pgdir (port $port), PKI $pki, server logs $tmp"
	fi
}
trap cleanup EXIT

echo "== throwaway PKI"
rm -rf "$pki" "$tmp"
mkdir -p "$tmp"
"$repo/deploy/pki.sh" --dir "$pki" demo >/dev/null
"$repo/deploy/pki.sh" --dir "$pki" test-extras >/dev/null
# The randomness service's signing key, and its public key for clients and auditors.
"$repo/build/bin/shuangsuid" keygen "$pki/draw.key" >/dev/null

# Each build's tests start from an empty database: migrations applied,
# the test principals registered, nothing else.
fresh_database() {
	echo "== throwaway PostgreSQL"
	# The clients' last accepted checkpoints belong to the old log.
	rm -f "$tmp"/checkpoint-*
	"${pg[@]}" destroy >/dev/null 2>&1 || true
	"${pg[@]}" start
	eval "$("${pg[@]}" env)"
	"$repo/build/bin/shuangsuid" --set "database.conninfo=$SHUANGSUI_DB_APP" \
		--set "database.migrate_conninfo=$SHUANGSUI_DB_OWNER" migrate
	"$repo/deploy/register-principals.sh" --manifest "$pki/principals.tsv" \
		--server-bin "$repo/build/bin/shuangsuid" -- --set "database.conninfo=$SHUANGSUI_DB_APP" \
		--set "database.migrate_conninfo=$SHUANGSUI_DB_OWNER" >/dev/null
}
fresh_database

export SS_TEST_PKI="$pki"
export SS_TEST_DB_APP="$SHUANGSUI_DB_APP"
export SS_TEST_DB_OWNER="$SHUANGSUI_DB_OWNER"
export SS_TEST_DB_SUPER="$SHUANGSUI_DB_SUPER"
export SS_TEST_PGCTL="${pg[*]}"
export SS_TEST_TMP="$tmp"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=23"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

status=0
dirs=(build)
[ "$sanitize" = 1 ] && dirs+=(build-asan)
first=1
for d in "${dirs[@]}"; do
	[ "$first" = 1 ] || fresh_database
	first=0
	echo "== ctest in $d"
	(cd "$repo/$d" && ctest --output-on-failure "${ctest_args[@]}") || status=1
done
if [ "$status" = 0 ]; then
	echo "== all tests passed (${dirs[*]})"
else
	echo "== TESTS FAILED" >&2
fi
exit "$status"
