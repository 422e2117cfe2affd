#!/usr/bin/env bash
# deploy/demo.sh — set everything up and run the main job on the embedded
# default: a private PostgreSQL under var/pg, a generated city PKI under
# var/pki, shuangsuid on 127.0.0.1, and a scripted session of real clients
# (one certificate per office and role) through everything that exists.
set -euo pipefail

usage() {
	cat <<'USAGE'
Usage: deploy/demo.sh [--port PORT] [--keep-running] [--no-install]

Sets everything up and runs a real session:
  1. installs the Debian packages (deploy/install-deps.sh) and builds build/;
  2. starts the private PostgreSQL cluster in var/pg (deploy/pg.sh);
  3. creates the city CA, the server certificate and one client certificate
     per office and role in var/pki (deploy/pki.sh demo), and registers each
     as a principal in the database;
  4. starts shuangsuid (log: var/log/shuangsuid.log);
  5. runs a scripted client session: ping, whoami for every office, a refused
     request (audited), an administrator disabling and re-enabling a district
     office with reasons, a district importing its entity directory (and
     re-importing it: no change), a refused Excel-mangled file, a change with
     its history, a cross-district refusal, an XLSX export, working-day
     arithmetic; departments, the item list, inspectors and a declared
     conflict; an annual plan filed by the legal office and published; a task
     with two strata and its preview; a draw opened, witnessed by the
     discipline supervisor, run, shown, its receipt verified offline (and a
     changed receipt rejected), the log exported and replayed; the oversight
     figures; and the auditor reading the audit trail;
  6. stops the server (and the database) cleanly.
Ctrl-C stops everything cleanly at any point.  Safe to re-run.

Options:
  --port PORT      server port (default 7443)
  --keep-running   leave the server and the database running at the end
  --no-install     skip deploy/install-deps.sh
  -h, --help       this text
USAGE
}

port=7443
keep=0
install=1
while [ $# -gt 0 ]; do
	case "$1" in
	--port) port=$2; shift ;;
	--keep-running) keep=1 ;;
	--no-install) install=0 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "demo.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
var="$repo/var"
cd "$repo"
mkdir -p "$var/log" "$var/clients"

if [ "$install" = 1 ]; then
	"$repo/deploy/install-deps.sh"
fi
echo "== building"
cmake -S "$repo" -B "$repo/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$repo/build" -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
bin="$repo/build/bin"

server_pid=""
stopped=0
stop_all() {
	[ "$stopped" = 1 ] && return 0
	stopped=1
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid"
		wait "$server_pid" || echo "shuangsuid exited with status $?" >&2
	fi
	server_pid=""
	if [ "$keep" = 0 ]; then
		"$repo/deploy/pg.sh" stop >/dev/null || true
	fi
}
trap 'echo; echo "== interrupted: stopping"; stop_all; exit 130' INT TERM
# A step that fails stops the server too: one left running would answer
# the next run's clients in place of the server that run starts.
trap 'stop_all' EXIT

echo "== private PostgreSQL (var/pg)"
"$repo/deploy/pg.sh" start
eval "$("$repo/deploy/pg.sh" env)"

echo "== city PKI (var/pki)"
"$repo/deploy/pki.sh" demo >/dev/null
# The randomness service's signing key (kept across runs: the log is too).
[ -f "$var/pki/draw.key" ] || "$bin/shuangsuid" keygen "$var/pki/draw.key"
cat >"$var/shuangsuid.ini" <<INI
; Written by deploy/demo.sh.  See server/config.h for every setting.
[server]
listen = 127.0.0.1
port = $port
log_level = info
[tls]
ca = pki/ca/ca.crt
cert = pki/server/server.crt
key = pki/server/server.key
crl = pki/ca/crl.pem
[database]
conninfo = $SHUANGSUI_DB_APP
migrate_conninfo = $SHUANGSUI_DB_OWNER
sql_dir = $repo/sql
[draw]
key_file = pki/draw.key
INI
"$bin/shuangsuid" --config "$var/shuangsuid.ini" migrate
"$repo/deploy/register-principals.sh" --manifest "$var/pki/principals.tsv" \
	--server-bin "$bin/shuangsuid" -- --config "$var/shuangsuid.ini"

# A new database has a new, empty draw log: the checkpoints the demo's
# clients kept of an earlier database's log would (rightly) make them
# refuse this server as a rewritten log.
if [ "$("$repo/deploy/pg.sh" psql -At -c 'SELECT count(*) FROM log_leaves')" = 0 ]; then
	rm -f "$var"/clients/*/checkpoint "$var"/clients/*/checkpoint.key
fi

# One client configuration per office and role, as each office would have.
while IFS=$'\t' read -r id _office _role _jur _fp cert; do
	[ -n "$id" ] || continue
	mkdir -p "$var/clients/$id"
	cat >"$var/clients/$id/client.ini" <<INI
[server]
host = localhost
port = $port
ca = $var/pki/ca/ca.crt
[identity]
cert = $cert
key = ${cert%.crt}.key
[log]
key = $var/pki/draw.key.pub
INI
done <"$var/pki/principals.tsv"

echo "== starting shuangsuid on 127.0.0.1:$port (log: var/log/shuangsuid.log)"
"$bin/shuangsuid" --config "$var/shuangsuid.ini" 2>>"$var/log/shuangsuid.log" &
server_pid=$!
as() {
	local id=$1
	shift
	SHUANGSUI_CONFIG="$var/clients/$id/client.ini" "$bin/shuangsui" "$@"
}
for _ in $(seq 1 100); do
	as city-auditor ping >/dev/null 2>&1 && break
	kill -0 "$server_pid" 2>/dev/null || { echo "shuangsuid failed to start; see var/log/shuangsuid.log" >&2; exit 1; }
	sleep 0.1
done

step() { printf '\n-- %s\n' "$*"; }
step "district A checks the server and the database"
as district-a-operator ping --db
step "every office and role, by its own certificate"
for id in district-a-operator district-b-operator city-legal discipline-supervisor city-auditor city-admin; do
	as "$id" whoami
done
step "the same in Chinese (LANG=zh_CN.UTF-8)"
LANG=zh_CN.UTF-8 as district-b-operator whoami
step "a district operator may not read the audit log: refused, and the refusal is audited"
as district-a-operator audit list && exit 1 || echo "(exit status $? as expected)"
step "the administrator disables district B's certificate, with a reason"
as city-admin principal set-status district-b-operator disabled --reason "演示：证书保管人调岗 (demo: key holder transferred)"
step "district B is now refused"
as district-b-operator whoami && exit 1 || echo "(exit status $? as expected)"
step "the administrator re-enables it, with a reason; a new version each time"
as city-admin principal set-status district-b-operator active --reason "演示：新保管人已到岗 (demo: new key holder in post)"
as city-admin principal list
mkdir -p "$var/demo"
"$bin/ss-gen-entities" 500 A 110101 >"$var/demo/dongcheng-entities.csv"
first=$(sed -n 2p "$var/demo/dongcheng-entities.csv" | cut -d, -f1)
step "district A imports its market-entity directory (500 rows, all or nothing)"
as district-a-operator entity import "$var/demo/dongcheng-entities.csv" --reason "演示：年度名录导入"
step "importing the same file again changes nothing"
as district-a-operator entity import "$var/demo/dongcheng-entities.csv" --reason "演示：重复导入"
step "a file with a code Excel turned into a number is refused, nothing applied"
printf 'credit_code,name,division_code,risk_level,credit_class,status\n9.11101E+17,某公司,110101,low,B,active\n' >"$var/demo/mangled.csv"
as district-a-operator entity import "$var/demo/mangled.csv" && exit 1 || echo "(exit status $? as expected)"
step "district A raises one entity's risk level, with a reason: a new version"
as district-a-operator entity set "$first" risk_level=high --reason "演示：投诉增多 (complaints)"
as district-a-operator entity history "$first"
step "district B may not read district A's records (refused, audited)"
as district-b-operator entity get "$first" && exit 1 || echo "(exit status $? as expected)"
step "district A exports its directory for Excel (codes kept as text)"
as district-a-operator entity export -o "$var/demo/dongcheng-entities.xlsx"
step "working days: the official calendar with 调休 (2026-09-18 + 3 working days)"
as district-a-operator calendar add 2026-09-18 3
run=$(date +%m%d%H%M%S)
step "departments are data: the administrator records the city bureau and two districts"
as city-admin department set city-zjj --name 市住房和城乡建设局 --jurisdiction 110000 --reason "演示：部门设置"
as city-admin department set dc-zjj --name 东城区住房和城乡建设局 --jurisdiction 110101 --parent city-zjj --reason "演示：部门设置"
as city-admin department set xc-zjj --name 西城区住房和城乡建设局 --jurisdiction 110102 --parent city-zjj --reason "演示：部门设置"
as city-admin department list
step "the legal office keeps the inspection-item list"
as city-legal item set IT-JZ-001 name=建筑市场主体资质检查 "legal_basis=《建筑法》第十三条" \
	department=东城区住房和城乡建设局 method=onsite category=key object_types=entity \
	enforcement_category=建筑市场 status=active --reason "演示：事项清单"
step "district A imports its inspectors (two of them in the expert pool) and a declared conflict"
{
	echo "inspector_id,name,department,certificate_no,certificate_valid_from,certificate_valid_to,categories,jurisdiction,status,is_expert"
	for i in $(seq 1 12); do
		printf 'DC-%03d,执法人员%d,东城区住房和城乡建设局,ZF-DC-%03d,2024-01-01,2029-12-31,建筑市场,110101,active,%s\n' \
			"$i" "$i" "$i" "$([ "$i" -gt 10 ] && echo 是 || echo 否)"
	done
} >"$var/demo/dongcheng-inspectors.csv"
as district-a-operator inspector import "$var/demo/dongcheng-inspectors.csv" --reason "演示：执法人员名录"
as district-a-operator conflict set "DC-001|$first" division_code=110101 relationship=近亲属任该企业法定代表人 \
	source=declared status=active --reason "演示：本人申报利害关系"
step "district A proposes its annual plan; the legal office files it; it is published"
cat >"$var/demo/plan.json" <<JSON
{"kind":"annual","department":"dc-zjj","year":$(date +%Y),"name":"东城区住建局年度双随机抽查计划（演示 $run）",
 "lead_section":"建筑市场科","basis":"《住房和城乡建设部门随机抽查工作办法》",
 "signoff":{"section_head":"张科长","leader":"李局长"},
 "rows":[{"task_name":"建筑市场主体检查","items":["IT-JZ-001"],"directory":"entity","ratio":0.05,
          "object_scope":"辖区内建筑业企业"}]}
JSON
as district-a-operator plan put "AP-DC-$run" "$var/demo/plan.json" --reason "演示：拟定年度计划"
as district-a-operator plan submit "AP-DC-$run" --version 1 --reason "报法规科备案"
as district-a-operator plan approve "AP-DC-$run" --version 1 --reason "me" && exit 1 || echo "(exit status $? as expected: only the legal office files plans)"
as city-legal plan approve "AP-DC-$run" --version 1 --reason "备案审核通过"
as district-a-operator plan publish "AP-DC-$run" --version 1 --reason "向社会公开"
step "a task under the published plan: high-risk objects at a higher ratio (two strata), previewed"
cat >"$var/demo/task.json" <<JSON
{"plan_id":"AP-DC-$run","name":"建筑市场主体随机抽查（演示）","directory":"entity","executing_unit":"dc-zjj",
 "draw_date":"$(date +%F)","window":{"start":"$(date +%F)","end":"$(date -d '+30 days' +%F)"},
 "items":["IT-JZ-001"],
 "strata":[{"name":"高风险","filter":{"risk_level":["high"]},"ratio":0.1},{"name":"其他","ratio":0.02}],
 "inspectors":{"categories":["建筑市场"],"group_size":2,"experts":1},
 "witnesses":["discipline-supervisor"]}
JSON
as district-a-operator task put "T-DC-$run" "$var/demo/task.json" --reason "演示：建立抽查任务"
as district-a-operator task preview "T-DC-$run"
step "the draw is opened: population frozen, commitment to the secret value signed and logged"
as district-a-operator draw open "T-DC-$run"
step "not without the witness from the discipline office"
as district-a-operator draw run "T-DC-$run" && exit 1 || echo "(exit status $? as expected)"
step "the discipline supervisor adds the digits rolled on dice, from their own client"
as discipline-supervisor draw witness "T-DC-$run" --entropy "$(od -An -N16 -tu8 /dev/urandom | tr -dc 0-9 | head -c 24)"
step "reveal, select, match inspectors, sign, log, lock the list"
as district-a-operator draw run "T-DC-$run"
as district-a-operator draw show "T-DC-$run"
step "anyone may take the receipt and check it offline with the public key alone"
as city-auditor draw receipt "T-DC-$run" -o "$var/demo/receipt-$run"
"$bin/shuangsui-verify" receipt "$var/demo/receipt-$run" --key "$var/pki/draw.key.pub"
step "one byte changed in the receipt: the verifier says which check fails"
cp "$var/demo/receipt-$run" "$var/demo/receipt-$run.changed"
printf 'X' | dd of="$var/demo/receipt-$run.changed" bs=1 seek=200 conv=notrunc status=none
"$bin/shuangsui-verify" receipt "$var/demo/receipt-$run.changed" --key "$var/pki/draw.key.pub" && exit 1 || echo "(exit status $? as expected)"
step "the whole draw log, exported and replayed by the auditor's tool"
as city-auditor log export "$var/demo/log-$run"
"$bin/shuangsui-verify" log "$var/demo/log-$run" --key "$var/pki/draw.key.pub"
step "oversight figures for district A this year"
as city-auditor stats --department dc-zjj --from "$(date +%Y)-01-01" --to "$(date +%Y)-12-31"
step "the auditor reads the whole audit trail"
as city-auditor audit list --all
step "the same trail as JSON, for tools"
as city-auditor --json audit list --limit 3

stop_all
trap - INT TERM
cat <<DONE

== done.  Where to look:
   server log          var/log/shuangsuid.log
   server config       var/shuangsuid.ini
   client configs      var/clients/<office-role>/client.ini  (SHUANGSUI_CONFIG=... build/bin/shuangsui whoami)
   certificates        var/pki  (manifest: var/pki/principals.tsv, CRL: var/pki/ca/crl.pem)
   demo files          var/demo  (the imported CSV, the exported XLSX)
   database            deploy/pg.sh start && deploy/pg.sh psql -c 'SELECT * FROM audit_events'
DONE
