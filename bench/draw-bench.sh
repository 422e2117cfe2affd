#!/usr/bin/env bash
# bench/draw-bench.sh — the witnessed, signed draw against an unverifiable
# SQL shuffle, on the same generated data in the same run (issue 5).
#
#   (a) 1,000,000 entities, 3 strata totalling 10,000 objects, 2,000
#       inspectors, 2 per object (and one expert);
#   (b) 4,000,000 entities, 200,000 drawn from one stratum (objects only:
#       the task names an inspector category nobody has, so every group is
#       recorded as a shortfall and no inspector is matched).
#
# shuangsui: "draw open" (freeze the population as of the draw date,
# commit to r, sign, log) + "draw waive" (a logged record standing for the
# witness) + "draw run" (reveal, select, match, sign, log, lock the list),
# each a real client over TLS, until the signed record is committed.
# baseline: the same filters in PostgreSQL with ORDER BY random() LIMIT k
# per stratum — unverifiable, unsigned, nothing persisted.
# Prints the median of --runs runs of each, the ratio (target <= 1.0), the
# receipt export and `shuangsui-verify receipt` times for (b) (target < 2 s).
set -euo pipefail

usage() {
	cat <<'USAGE'
Usage: bench/draw-bench.sh [--runs N] [--small] [--no-install]
  --runs N       draws of each kind (default 3; the median is reported)
  --small        100,000 / 400,000 entities instead (a quick check)
  --no-install   skip deploy/install-deps.sh
Uses its own PostgreSQL (var/bench-draw-pg, port 55452), PKI and server
(port 7652); removes them afterwards.
USAGE
}

runs=3
na=1000000
nb=4000000
install=1
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) runs=$2; shift ;;
	--small) na=100000; nb=400000 ;;
	--no-install) install=0 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "draw-bench.sh: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done
ka=$((na / 100))   # (a) 10,000 of 1,000,000
kb=$((nb / 20))    # (b) 200,000 of 4,000,000

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
var="$repo/var/bench-draw"
pki="$repo/var/bench-draw-pki"
pg=("$repo/deploy/pg.sh" --dir "$repo/var/bench-draw-pg" --port 55452)
[ "$install" = 1 ] && "$repo/deploy/install-deps.sh" >/dev/null
command -v bc >/dev/null || apt-get install -y -qq bc >/dev/null
cmake -S "$repo" -B "$repo/build-bench" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$repo/build-bench" -j "$(nproc)" >/dev/null
bin="$repo/build-bench/bin"

server_pid=""
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
	# The server's log (per-act timings) outlives the run.
	[ -f "$var/server.log" ] && cp "$var/server.log" /tmp/draw-bench-server.log
	"${pg[@]}" destroy >/dev/null 2>&1 || true
	rm -rf "$pki" "$var"
}
trap cleanup EXIT
cleanup
mkdir -p "$var"
"${pg[@]}" start >/dev/null
eval "$("${pg[@]}" env)"
"$repo/deploy/pki.sh" --dir "$pki" demo >/dev/null
"$bin/shuangsuid" keygen "$pki/draw.key" >/dev/null
cat >"$var/server.ini" <<INI
[server]
port = 7652
log_level = info
max_frame_size = 4194304
[tls]
ca = $pki/ca/ca.crt
cert = $pki/server/server.crt
key = $pki/server/server.key
crl = $pki/ca/crl.pem
[database]
conninfo = $SHUANGSUI_DB_APP
migrate_conninfo = $SHUANGSUI_DB_OWNER
sql_dir = $repo/sql
statement_timeout_ms = 0
[draw]
key_file = $pki/draw.key
INI
"$bin/shuangsuid" --config "$var/server.ini" migrate >/dev/null 2>&1
"$repo/deploy/register-principals.sh" --manifest "$pki/principals.tsv" --server-bin "$bin/shuangsuid" \
	-- --config "$var/server.ini" >/dev/null
for who in city-admin city-legal; do
	cat >"$var/$who.ini" <<INI
[server]
host = localhost
port = 7652
ca = $pki/ca/ca.crt
[identity]
cert = $pki/clients/$who.crt
key = $pki/clients/$who.key
[log]
key = $pki/draw.key.pub
checkpoint = $var/checkpoint-$who
INI
done
# A draw of millions may take more than the client's default 30 s to answer.
as() { local who=$1; shift; SHUANGSUI_CONFIG="$var/$who.ini" "$bin/shuangsui" --timeout 900 "$@"; }

"$bin/shuangsuid" --config "$var/server.ini" 2>"$var/server.log" &
server_pid=$!
for _ in $(seq 1 100); do
	as city-admin ping >/dev/null 2>&1 && break
	sleep 0.1
done

echo "== data: $na entities in 110101, $nb in 110102, 2,000 inspectors (imported through shuangsui)"
"$bin/ss-gen-entities" "$na" A 110101 >"$var/a.csv"
"$bin/ss-gen-entities" "$nb" B 110102 >"$var/b.csv"
as city-admin entity import "$var/a.csv" --reason "benchmark data" >/dev/null
as city-admin entity import "$var/b.csv" --reason "benchmark data" >/dev/null
rm -f "$var/a.csv" "$var/b.csv"
{
	echo "inspector_id,name,department,certificate_no,certificate_valid_from,certificate_valid_to,categories,jurisdiction,status,is_expert"
	for i in $(seq 1 2000); do
		printf 'INS-%04d,检查员%d,东城区住房和城乡建设局,ZF-%04d,2024-01-01,2029-12-31,建筑市场,110101,active,%s\n' \
			"$i" "$i" "$i" "$([ $((i % 20)) = 0 ] && echo t || echo f)"
	done
} >"$var/inspectors.csv"
as city-admin inspector import "$var/inspectors.csv" --reason "benchmark data" >/dev/null
as city-admin department set city-zjj --name 市住房和城乡建设局 --jurisdiction 110000 --reason bench >/dev/null
as city-admin department set dc-zjj --name 东城区住房和城乡建设局 --jurisdiction 110101 --parent city-zjj --reason bench >/dev/null
as city-admin department set xc-zjj --name 西城区住房和城乡建设局 --jurisdiction 110102 --parent city-zjj --reason bench >/dev/null
as city-legal item set IT-B1 name=基准事项 legal_basis=条例 department=东城区住房和城乡建设局 method=onsite \
	category=general object_types=entity enforcement_category=建筑市场 status=active --reason bench >/dev/null
year=$(date +%Y)
today=$(date +%F)
for d in dc-zjj xc-zjj; do
	cat >"$var/plan-$d.json" <<JSON
{"kind":"annual","department":"$d","year":$year,"name":"基准计划","basis":"基准",
 "signoff":{"section_head":"甲","leader":"乙"},
 "rows":[{"task_name":"基准","items":["IT-B1"],"directory":"entity","ratio":0.05}]}
JSON
	as city-legal plan put "P-$d" "$var/plan-$d.json" --reason bench >/dev/null
	for act in submit approve publish; do
		as city-legal plan "$act" "P-$d" --version 1 --reason bench >/dev/null
	done
done
# (a): three strata by risk level, 20 % / 30 % / 50 % of ka.
task_a() {
	cat <<JSON
{"plan_id":"P-dc-zjj","name":"$1","directory":"entity","executing_unit":"dc-zjj",
 "draw_date":"$today","window":{"start":"$today","end":"$today"},"items":["IT-B1"],
 "strata":[{"name":"high","filter":{"risk_level":["high"]},"count":$((ka / 5))},
           {"name":"medium","filter":{"risk_level":["medium"]},"count":$((ka * 3 / 10))},
           {"name":"low","filter":{"risk_level":["low"]},"count":$((ka / 2))}],
 "inspectors":{"categories":["建筑市场"],"group_size":2,"experts":1}}
JSON
}
task_b() {
	cat <<JSON
{"plan_id":"P-xc-zjj","name":"$1","directory":"entity","executing_unit":"xc-zjj",
 "draw_date":"$today","window":{"start":"$today","end":"$today"},"items":["IT-B1"],
 "strata":[{"name":"all","count":$kb}],
 "inspectors":{"categories":["无人具备的类别"],"group_size":2}}
JSON
}
asof="$(date -d tomorrow +%F) 00:00:00+08"
base_sql() { # stratum filter, k, division
	echo "SELECT count(*) FROM (SELECT record_id FROM (SELECT DISTINCT ON (record_id) record_id,
	  division_code, risk_level, status FROM entity_versions WHERE changed_at < '$asof'
	  ORDER BY record_id, version DESC) b WHERE division_code LIKE '$3%' AND status = 'active' $1
	  ORDER BY random() LIMIT $2) x;"
}
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

run_kind() { # kind
	local kind=$1 i t0 t1
	: >"$var/ours-$kind" ; : >"$var/base-$kind"
	for i in $(seq 1 "$runs"); do
		"task_$kind" "B-$kind-$i" >"$var/t.json"
		as city-legal task put "B-$kind-$i" "$var/t.json" --reason bench >/dev/null
		t0=$(now)
		as city-legal draw open "B-$kind-$i" >/dev/null
		as city-legal draw waive "B-$kind-$i" --reason "benchmark: no witness" >/dev/null
		as city-legal draw run "B-$kind-$i" >"$var/run.out"
		t1=$(now)
		echo "$t1 - $t0" | bc -l >>"$var/ours-$kind"
		t0=$(now)
		if [ "$kind" = a ]; then
			"${pg[@]}" psql -q -At -c "$(base_sql "AND risk_level = 'high'" $((ka / 5)) 110101)" \
				-c "$(base_sql "AND risk_level = 'medium'" $((ka * 3 / 10)) 110101)" \
				-c "$(base_sql "AND risk_level = 'low'" $((ka / 2)) 110101)" >/dev/null
		else
			"${pg[@]}" psql -q -At -c "$(base_sql "" "$kb" 110102)" >/dev/null
		fi
		t1=$(now)
		echo "$t1 - $t0" | bc -l >>"$var/base-$kind"
	done
}
echo "== (a) $na entities, 3 strata, $ka drawn, 2,000 inspectors, 2 per object + 1 expert; $runs runs"
run_kind a
grep -h "draw log: B-a-1" "$var/server.log" | sed 's/^.*draw log: /   /'
echo "== (b) $nb entities, $kb drawn; $runs runs"
run_kind b
grep -h "draw log: B-b-1" "$var/server.log" | sed 's/^.*draw log: /   /'

echo "== (b) receipt: export and offline verification"
t0=$(now)
as city-legal draw receipt B-b-1 -o "$var/b.receipt" >/dev/null
t1=$(now)
export_s=$(echo "$t1 - $t0" | bc -l)
t0=$(now)
"$bin/shuangsui-verify" receipt "$var/b.receipt" --key "$pki/draw.key.pub" >"$var/verify.out"
t1=$(now)
verify_s=$(echo "$t1 - $t0" | bc -l)
size=$(stat -c %s "$var/b.receipt")

printf '\n%-44s %12s %12s %8s\n' "median of $runs (seconds)" "shuangsui" "SQL random" "ratio"
for kind in a b; do
	o=$(median <"$var/ours-$kind")
	b=$(median <"$var/base-$kind")
	printf '%-44s %12.2f %12.2f %8.2f\n' \
		"$([ $kind = a ] && echo "(a) $ka of $na, 3 strata, matched" || echo "(b) $kb of $nb")" \
		"$o" "$b" "$(echo "$o / $b" | bc -l)"
done
echo "ratio = shuangsui time / SQL time (target <= 1.00)"
printf '(b) receipt: %.1f MB, exported in %.2f s, verified offline in %.2f s (target < 2 s): %s\n' \
	"$(echo "$size / 1000000" | bc -l)" "$export_s" "$verify_s" "$(tail -1 "$var/verify.out")"
server_rss=$(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")
printf 'server peak resident memory: %.0f MB\n' "$(echo "$server_rss / 1024" | bc -l)"

# The server and the cluster are stopped first: PostgreSQL's checkpoint and
# autovacuum after the draws made them vary (1.0 to 2.1 s for the same
# receipt check).
cleanup
server_pid=""
echo "== micro-benchmarks of the algorithm alone (no server, no database)"
"$bin/ss-bench-draw" 2>&1 | grep -v '^\['
