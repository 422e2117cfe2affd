#!/usr/bin/env bash
# bench/import-bench.sh — end-to-end import throughput against psql \copy.
#
# Generates N market entities as CSV and measures, in the same run and on
# the same PostgreSQL:
#   baseline  psql \copy of the file into a table with the same columns and
#             a primary-key index (no validation, no history, no audit);
#   shuangsui "shuangsui entity import FILE": client parse -> TLS -> server
#             validation (check characters, division codes, enumerations,
#             jurisdiction) -> staging -> history versions + audit, all or
#             nothing.
# Prints rows/s of both, the ratio (target >= 0.5), and the peak resident
# memory of client and server (target < 200 MB each).
set -euo pipefail

usage() {
	cat <<'USAGE'
Usage: bench/import-bench.sh [--rows N] [--no-install]
  --rows N       rows to import (default 1000000)
  --no-install   skip deploy/install-deps.sh
Uses its own PostgreSQL (var/bench-pg, port 55450), PKI (var/bench-pki) and
server (port 7650); removes them afterwards.
USAGE
}

rows=1000000
install=1
while [ $# -gt 0 ]; do
	case "$1" in
	--rows) rows=$2; shift ;;
	--no-install) install=0 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "import-bench.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
var="$repo/var/bench"
pg=("$repo/deploy/pg.sh" --dir "$repo/var/bench-pg" --port 55450)
pki="$repo/var/bench-pki"
[ "$install" = 1 ] && "$repo/deploy/install-deps.sh" >/dev/null
command -v /usr/bin/time >/dev/null && command -v bc >/dev/null || apt-get install -y -qq time bc >/dev/null
cmake -S "$repo" -B "$repo/build-bench" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$repo/build-bench" -j "$(nproc)" >/dev/null
bin="$repo/build-bench/bin"

server_pid=""
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
	"${pg[@]}" destroy >/dev/null 2>&1 || true
	rm -rf "$pki" "$var"
}
trap cleanup EXIT
cleanup
mkdir -p "$var"
"${pg[@]}" start >/dev/null
eval "$("${pg[@]}" env)"
"$repo/deploy/pki.sh" --dir "$pki" demo >/dev/null
cat >"$var/server.ini" <<INI
[server]
port = 7650
log_level = info
[tls]
ca = $pki/ca/ca.crt
cert = $pki/server/server.crt
key = $pki/server/server.key
crl = $pki/ca/crl.pem
[database]
conninfo = $SHUANGSUI_DB_APP
migrate_conninfo = $SHUANGSUI_DB_OWNER
sql_dir = $repo/sql
INI
"$bin/shuangsuid" --config "$var/server.ini" migrate >/dev/null 2>&1
"$repo/deploy/register-principals.sh" --manifest "$pki/principals.tsv" --server-bin "$bin/shuangsuid" \
	-- --config "$var/server.ini" >/dev/null
cat >"$var/client.ini" <<INI
[server]
host = localhost
port = 7650
ca = $pki/ca/ca.crt
[identity]
cert = $pki/clients/city-admin.crt
key = $pki/clients/city-admin.key
INI

echo "== generating $rows entities"
"$bin/ss-gen-entities" "$rows" Q 110101 >"$var/base.csv"
"$bin/ss-gen-entities" "$rows" R 110101 >"$var/ours.csv"
ls -l "$var/ours.csv" | awk '{printf "   file size %.1f MB\n", $5/1e6}'

echo "== baseline: psql \\copy into an indexed table with the same columns"
"${pg[@]}" psql -q -c "CREATE TABLE bench_copy (credit_code text PRIMARY KEY, name text,
  business_category text, address text, legal_representative text, division_code text,
  entity_type text, scale text, industry text, supervising_department text, risk_level text,
  credit_class text, abnormal_operation text, serious_violation text, complaint_count integer,
  status text)" >/dev/null
t0=$(date +%s.%N)
"${pg[@]}" psql -q -c "\\copy bench_copy FROM '$var/base.csv' CSV HEADER" >/dev/null
t1=$(date +%s.%N)
base=$(echo "$t1 - $t0" | bc -l)

echo "== shuangsui entity import (end to end)"
"$bin/shuangsuid" --config "$var/server.ini" 2>"$var/server.log" &
server_pid=$!
for _ in $(seq 1 100); do
	SHUANGSUI_CONFIG="$var/client.ini" "$bin/shuangsui" ping >/dev/null 2>&1 && break
	sleep 0.1
done
t0=$(date +%s.%N)
cpu0=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
# SS_BENCH_PERF=1 records a system-wide profile during the import (copied to /tmp/ss-perf.data).
perf_pid=""
if [ "${SS_BENCH_PERF:-0}" = 1 ]; then
	perf record -a -o "$var/perf.data" >/dev/null 2>&1 &
	perf_pid=$!
fi
SHUANGSUI_CONFIG="$var/client.ini" /usr/bin/time -f "%M %U %S" -o "$var/client.rss" \
	"$bin/shuangsui" entity import "$var/ours.csv" --reason "benchmark" >"$var/import.out"
t1=$(date +%s.%N)
ours=$(echo "$t1 - $t0" | bc -l)
if [ -n "$perf_pid" ]; then
	kill -INT "$perf_pid"
	wait "$perf_pid" 2>/dev/null || true
	cp "$var/perf.data" /tmp/ss-perf.data
fi
server_rss=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
server_cpu=$(awk -v c0="$cpu0" -v hz="$(getconf CLK_TCK)" '{print ($14 + $15 - c0) / hz}' "/proc/$server_pid/stat")
read -r client_rss client_user client_sys <"$var/client.rss"
applied=$(grep -c "applied" "$var/import.out" || true)

printf '\n%-34s %10s %12s\n' "" "seconds" "rows/s"
printf '%-34s %10.2f %12.0f\n' "psql \\copy (baseline)" "$base" "$(echo "$rows / $base" | bc -l)"
printf '%-34s %10.2f %12.0f\n' "shuangsui entity import" "$ours" "$(echo "$rows / $ours" | bc -l)"
printf 'ratio (shuangsui / \\copy throughput): %.2f   (target >= 0.50)\n' "$(echo "$base / $ours" | bc -l)"
printf 'peak resident memory: client %.0f MB, server %.0f MB   (target < 200 MB each)\n' \
	"$(echo "$client_rss / 1024" | bc -l)" "$(echo "$server_rss / 1024" | bc -l)"
grep "import [0-9]* (entity)" "$var/server.log" || true
printf 'CPU seconds during the import: client %.1f, server %.1f (the rest: PostgreSQL, waiting)\n' \
	"$(echo "$client_user + $client_sys" | bc -l)" "$server_cpu"
[ "$applied" -ge 1 ] || { echo "the import was not applied:"; cat "$var/import.out"; exit 1; }
