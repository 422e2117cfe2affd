#!/usr/bin/env bash
# deploy/register-principals.sh — register every certificate of a PKI
# manifest (deploy/pki.sh) as a principal, through "shuangsuid principal-add".
# Safe to re-run: unchanged principals stay as they are; changed ones get a
# new version; every registration is audited.
set -euo pipefail

usage() {
	cat <<'USAGE'
Usage: deploy/register-principals.sh --manifest FILE [--server-bin PATH] [-- SHUANGSUID_ARGS...]

Reads the tab-separated manifest written by deploy/pki.sh
(id, office, role, jurisdiction, fingerprint, certificate path) and runs
  shuangsuid SHUANGSUID_ARGS... principal-add --id ... --cert ...
for each line.  SHUANGSUID_ARGS name the database, e.g.
  -- --config var/shuangsuid.ini
Options:
  --manifest FILE    the manifest (default var/pki/principals.tsv)
  --server-bin PATH  the shuangsuid binary (default build/bin/shuangsuid)
  -h, --help         this text
USAGE
}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
manifest="$repo/var/pki/principals.tsv"
bin="$repo/build/bin/shuangsuid"
args=()
while [ $# -gt 0 ]; do
	case "$1" in
	--manifest) manifest=$2; shift ;;
	--server-bin) bin=$2; shift ;;
	-h | --help) usage; exit 0 ;;
	--) shift; args=("$@"); break ;;
	*) echo "register-principals.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
[ -r "$manifest" ] || { echo "register-principals.sh: cannot read $manifest" >&2; exit 2; }
[ -x "$bin" ] || { echo "register-principals.sh: $bin is not built" >&2; exit 2; }

while IFS=$'\t' read -r id office role jurisdiction _fingerprint cert; do
	[ -n "$id" ] || continue
	case "$id" in \#*) continue ;; esac
	"$bin" "${args[@]}" principal-add --id "$id" --office "$office" --role "$role" \
		--jurisdiction "$jurisdiction" --cert "$cert" \
		--reason "registered from the PKI manifest"
done <"$manifest"
