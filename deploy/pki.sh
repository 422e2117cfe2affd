#!/usr/bin/env bash
# pki.sh — the small city PKI for shuangsuid's mutual TLS: one certificate
# authority, the server certificate, and one client certificate per principal
# (a person at a district or city office), built with `openssl ca` so that
# certificates can be revoked (CRL) and given arbitrary validity periods.
#
# Layout of DIR (default <repo>/var/pki):
#   DIR/ca/{ca.key,ca.crt,crl.pem,openssl.cnf,index.txt,serial,crlnumber,newcerts/}
#   DIR/server/server.{key,crt}
#   DIR/clients/<id>.{key,crt}
#   DIR/principals.tsv   id, office, role, jurisdiction, fingerprint, certpath
#   DIR/other-ca/...     (test-extras) an unrelated CA and its client "rogue"
#
# Keys are EC P-256 (accepted by every TLS stack, unlike Ed25519 certificates)
# and are written with mode 0600.
set -euo pipefail

readonly PROG="${0##*/}"
SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
readonly SCRIPT_DIR
REPO_DIR="$(dirname -- "$SCRIPT_DIR")"
readonly REPO_DIR

readonly DEFAULT_CA_NAME="Shuangsui City CA"
readonly CA_DAYS=3650
readonly SERVER_DAYS=825
readonly CLIENT_DAYS=365
readonly CRL_DAYS=30
readonly ROLES="operator legal supervisor auditor admin"

usage() {
    cat <<EOF
Usage: $PROG [--dir DIR] COMMAND [OPTIONS]

Manage the city PKI for shuangsuid's mutual TLS (EC P-256 keys, openssl ca).
DIR defaults to <repo>/var/pki = $REPO_DIR/var/pki.

Commands:
  init [--name NAME]
        Create the CA in DIR/ca (10 years; default NAME "$DEFAULT_CA_NAME")
        and an initial CRL DIR/ca/crl.pem ($CRL_DAYS days). Does nothing if the
        CA already exists.
  server [--cn CN] [--san SAN]
        Issue DIR/server/server.{key,crt} (serverAuth, $SERVER_DAYS days) unless
        present. Defaults: --cn localhost --san "DNS:localhost,IP:127.0.0.1".
  client --id ID --office OFFICE --role ROLE --jurisdiction CODE
         [--days N] [--expired]
        Issue DIR/clients/ID.{key,crt} (clientAuth; subject O=OFFICE,
        OU=ROLE, CN=ID, UTF-8) unless present, then (re)write ID's line in
        DIR/principals.tsv. ROLE is one of: $ROLES.
        CODE is a 6-digit administrative division code. --days defaults to
        $CLIENT_DAYS. --expired issues a certificate valid only from
        2020-01-01 to 2020-02-01 (for tests).
  revoke ID
        Revoke DIR/clients/ID.crt (idempotent) and regenerate the CRL. The
        manifest line is kept.
  crl   Regenerate DIR/ca/crl.pem (valid $CRL_DAYS days).
  demo  init + server + the standard principals:
          district-a-operator   东城区住房和城乡建设局           operator   110101
          district-b-operator   西城区住房和城乡建设局           operator   110102
          city-legal            市住房和城乡建设局法规科         legal      110000
          discipline-supervisor 市住房和城乡建设局纪检监察室     supervisor 110000
          city-auditor          市审计局                         auditor    110000
          city-admin            市住房和城乡建设局信息中心       admin      110000
  test-extras
        demo + expired-operator (expired), revoked-operator (revoked), and an
        unrelated CA in DIR/other-ca (same name as the city CA, different key)
        with client DIR/other-ca/clients/rogue.{key,crt}, not in the manifest.

Manifest DIR/principals.tsv: one line per principal, no header, fields
separated by a TAB:
  id  office  role  jurisdiction  sha256-fingerprint(lowercase hex of DER)  /abs/path/ID.crt

Every command is idempotent. Exit status: 0 success, 1 error, 2 bad usage.
EOF
}

die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}

info() {
    printf '%s: %s\n' "$PROG" "$*" >&2
}

usage_error() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    printf "Try '%s --help'.\n" "$PROG" >&2
    exit 2
}

command -v openssl >/dev/null 2>&1 || die "openssl not found; run deploy/install-deps.sh"

# ---------------------------------------------------------------- arguments

DIR_ARG=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        -h | --help)
            usage
            exit 0
            ;;
        --dir)
            [[ $# -ge 2 ]] || usage_error "--dir needs an argument"
            DIR_ARG="$2"
            shift 2
            ;;
        --dir=*)
            DIR_ARG="${1#--dir=}"
            shift
            ;;
        -*)
            usage_error "unknown option: $1"
            ;;
        *)
            break
            ;;
    esac
done
[[ $# -ge 1 ]] || usage_error "missing COMMAND"
COMMAND="$1"
shift

PKI_DIR="${DIR_ARG:-$REPO_DIR/var/pki}"
[[ -n $PKI_DIR ]] || usage_error "--dir must not be empty"
PKI_DIR="$(realpath -m -s -- "$PKI_DIR")"
# The path goes verbatim into openssl.cnf, where '$' and '\' are special.
if [[ $PKI_DIR == *'$'* || $PKI_DIR == *"\\"* || $PKI_DIR == *$'\n'* || $PKI_DIR == *$'\t'* ]]; then
    usage_error "DIR must not contain '\$', '\\', tabs or newlines: $PKI_DIR"
fi

readonly ROOT_DIR="$PKI_DIR"

# set_paths — derive every path from PKI_DIR (re-run after changing it).
set_paths() {
    CA_DIR="$PKI_DIR/ca"
    CA_CNF="$CA_DIR/openssl.cnf"
    CA_KEY="$CA_DIR/ca.key"
    CA_CRT="$CA_DIR/ca.crt"
    CA_CRL="$CA_DIR/crl.pem"
    SERVER_DIR="$PKI_DIR/server"
    CLIENTS_DIR="$PKI_DIR/clients"
    MANIFEST="$PKI_DIR/principals.tsv"
}
set_paths

# ------------------------------------------------------------- validation

# check_dn_value WHAT VALUE — refuse characters that -subj would misparse.
check_dn_value() {
    local what="$1" value="$2"
    [[ -n $value ]] || usage_error "$what must not be empty"
    case "$value" in
        */* | *\\* | *+* | *=* | *$'\t'* | *$'\n'* | *$'\r'*)
            usage_error "$what must not contain '/', '\\', '+', '=', tabs or newlines: $value"
            ;;
    esac
}

check_id() {
    [[ $1 =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]] ||
        usage_error "invalid --id '$1' (1-64 of A-Z a-z 0-9 . _ -, starting alphanumeric)"
}

check_role() {
    local r
    for r in $ROLES; do
        [[ $1 == "$r" ]] && return 0
    done
    usage_error "invalid --role '$1' (one of: $ROLES)"
}

check_jurisdiction() {
    [[ $1 =~ ^[0-9]{6}$ ]] || usage_error "invalid --jurisdiction '$1' (6 digits, e.g. 110101)"
}

check_days() {
    if [[ ! $1 =~ ^[0-9]+$ ]] || ((10#$1 < 1 || 10#$1 > 36500)); then
        usage_error "invalid --days '$1' (1-36500)"
    fi
}

# ---------------------------------------------------------------- helpers

# new_key PATH — an EC P-256 private key, mode 0600, unless PATH exists.
new_key() {
    local path="$1"
    if [[ -f $path ]]; then
        chmod 0600 -- "$path"
        return 0
    fi
    (
        umask 077
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
            -pkeyopt ec_param_enc:named_curve -out "$path.tmp" 2>/dev/null
    ) || die "key generation failed for $path"
    mv -f -- "$path.tmp" "$path"
}

# fingerprint CRT — lowercase hex SHA-256 of the certificate's DER.
fingerprint() {
    local fp
    fp="$(openssl x509 -in "$1" -noout -fingerprint -sha256)" ||
        die "cannot read certificate $1"
    fp="${fp#*=}"
    fp="${fp//:/}"
    printf '%s\n' "${fp,,}"
}

# subject_field CRT FIELD — the value of FIELD (CN, O, OU) in CRT's subject.
subject_field() {
    openssl x509 -in "$1" -noout -subject -nameopt sep_multiline,utf8,-esc_msb,sname |
        sed -n "s/^[[:space:]]*$2=//p" | head -n1
}

have_ca() {
    [[ -f $CA_KEY && -f $CA_CRT && -f $CA_CNF && -f $CA_DIR/index.txt ]]
}

require_ca() {
    have_ca || die "no CA in $CA_DIR; run: $PROG --dir $PKI_DIR init"
}

# run_openssl_ca ARGS... — `openssl ca` with our config; shows its output on
# failure only.
run_openssl_ca() {
    local out
    if ! out="$(openssl ca -batch -config "$CA_CNF" "$@" 2>&1)"; then
        printf '%s\n' "$out" >&2
        return 1
    fi
}

# ------------------------------------------------------------------- CA

write_ca_config() {
    cat >"$CA_CNF.tmp" <<EOF
# Generated by deploy/pki.sh. Paths are absolute.
[ ca ]
default_ca = city_ca

[ city_ca ]
dir              = $CA_DIR
database         = \$dir/index.txt
serial           = \$dir/serial
crlnumber        = \$dir/crlnumber
new_certs_dir    = \$dir/newcerts
certificate      = \$dir/ca.crt
private_key      = \$dir/ca.key
default_md       = sha256
default_days     = $CLIENT_DAYS
default_crl_days = $CRL_DAYS
# Without 'preserve', the subject is rebuilt in the order of the policy.
policy           = policy_principal
unique_subject   = no
copy_extensions  = none
email_in_dn      = no
string_mask      = utf8only
utf8             = yes
name_opt         = sep_comma_plus,utf8,-esc_msb
cert_opt         = ca_default
crl_extensions   = crl_ext

[ policy_principal ]
organizationName       = optional
organizationalUnitName = optional
commonName             = supplied

[ req ]
distinguished_name = req_dn
string_mask        = utf8only
utf8               = yes
prompt             = no

[ req_dn ]
commonName = unused

[ v3_ca ]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ server_ext ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid, issuer

[ client_ext ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid, issuer

[ crl_ext ]
authorityKeyIdentifier = keyid:always
EOF
    mv -f -- "$CA_CNF.tmp" "$CA_CNF"
}

ca_init() {
    local name="$1"
    check_dn_value "--name" "$name"
    if have_ca; then
        info "CA already exists in $CA_DIR (nothing to do)"
        [[ -f $CA_CRL ]] || gen_crl
        return 0
    fi
    if [[ -f $CA_CRT ]]; then
        die "$CA_CRT exists but the CA is incomplete; remove $CA_DIR to start over"
    fi
    info "creating CA \"$name\" in $CA_DIR"
    mkdir -p -- "$CA_DIR/newcerts"
    chmod 0755 -- "$PKI_DIR" "$CA_DIR"
    write_ca_config
    : >"$CA_DIR/index.txt"
    printf 'unique_subject = no\n' >"$CA_DIR/index.txt.attr"
    # A random 128-bit positive starting serial, so that certificates from a
    # re-created CA never share serial numbers with the old ones.
    printf '01%s\n' "$(openssl rand -hex 15)" >"$CA_DIR/serial"
    printf '1000\n' >"$CA_DIR/crlnumber"
    new_key "$CA_KEY"
    openssl req -new -x509 -config "$CA_CNF" -extensions v3_ca -utf8 \
        -key "$CA_KEY" -subj "/CN=$name" -days "$CA_DAYS" -sha256 \
        -set_serial "0x$(openssl rand -hex 8)" -out "$CA_CRT.tmp" ||
        die "CA certificate creation failed"
    mv -f -- "$CA_CRT.tmp" "$CA_CRT"
    chmod 0644 -- "$CA_CRT"
    gen_crl
}

gen_crl() {
    require_ca
    run_openssl_ca -gencrl -crldays "$CRL_DAYS" -out "$CA_CRL.tmp" ||
        die "CRL generation failed"
    mv -f -- "$CA_CRL.tmp" "$CA_CRL"
    chmod 0644 -- "$CA_CRL"
    info "CRL written to $CA_CRL"
}

# sign CSR CRT EXT DAYS EXPIRED [EXTFILE] — sign CSR with the CA.
sign() {
    local csr="$1" crt="$2" ext="$3" days="$4" expired="$5" extfile="${6:-}"
    local args=(-in "$csr" -out "$crt.tmp" -extensions "$ext" -notext -utf8)
    [[ -n $extfile ]] && args+=(-extfile "$extfile")
    if [[ $expired -eq 1 ]]; then
        args+=(-startdate 20200101000000Z -enddate 20200201000000Z)
    else
        args+=(-days "$days")
    fi
    run_openssl_ca "${args[@]}" || die "signing $crt failed"
    mv -f -- "$crt.tmp" "$crt"
    chmod 0644 -- "$crt"
}

# ---------------------------------------------------------------- server

issue_server() {
    local cn="$1" san="$2"
    check_dn_value "--cn" "$cn"
    [[ -n $san && $san != *$'\n'* ]] || usage_error "invalid --san '$san'"
    require_ca
    local key="$SERVER_DIR/server.key" crt="$SERVER_DIR/server.crt"
    if [[ -f $crt ]]; then
        info "server certificate exists: $crt (nothing to do)"
        return 0
    fi
    mkdir -p -- "$SERVER_DIR"
    new_key "$key"
    local tmpd
    tmpd="$(mktemp -d)"
    # The SAN differs per server, so it goes in a one-off extension file.
    cat >"$tmpd/ext.cnf" <<EOF
[ server_ext ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid, issuer
subjectAltName         = $san
EOF
    if ! openssl req -new -config "$CA_CNF" -utf8 -key "$key" -subj "/CN=$cn" \
        -out "$tmpd/server.csr"; then
        rm -rf -- "$tmpd"
        die "server CSR creation failed"
    fi
    (sign "$tmpd/server.csr" "$crt" server_ext "$SERVER_DAYS" 0 "$tmpd/ext.cnf") || {
        rm -rf -- "$tmpd"
        die "server certificate issuance failed (check --san '$san')"
    }
    rm -rf -- "$tmpd"
    info "issued server certificate $crt (CN=$cn, $san)"
}

# --------------------------------------------------------------- clients

# manifest_put ID OFFICE ROLE JURISDICTION CRT — replace or append ID's line.
manifest_put() {
    local id="$1" office="$2" role="$3" jur="$4" crt="$5" fp line
    fp="$(fingerprint "$crt")"
    line="$(printf '%s\t%s\t%s\t%s\t%s\t%s' "$id" "$office" "$role" "$jur" "$fp" "$crt")"
    touch -- "$MANIFEST"
    MANIFEST_ID="$id" MANIFEST_LINE="$line" awk -F '\t' '
        BEGIN { id = ENVIRON["MANIFEST_ID"]; line = ENVIRON["MANIFEST_LINE"]; done = 0 }
        $1 == id { if (!done) print line; done = 1; next }
        { print }
        END { if (!done) print line }
    ' "$MANIFEST" >"$MANIFEST.tmp"
    chmod 0644 -- "$MANIFEST.tmp"
    mv -f -- "$MANIFEST.tmp" "$MANIFEST"
}

# issue_client ID OFFICE ROLE JURISDICTION DAYS EXPIRED WRITE_MANIFEST
issue_client() {
    local id="$1" office="$2" role="$3" jur="$4" days="$5" expired="$6" manifest="$7"
    require_ca
    local key="$CLIENTS_DIR/$id.key" crt="$CLIENTS_DIR/$id.crt"
    mkdir -p -- "$CLIENTS_DIR"
    if [[ -f $crt ]]; then
        local have_o have_ou
        have_o="$(subject_field "$crt" O)"
        have_ou="$(subject_field "$crt" OU)"
        if [[ $have_o != "$office" || $have_ou != "$role" ]]; then
            die "$crt exists with O=$have_o OU=$have_ou, not O=$office OU=$role; revoke it and delete $crt (and .key) first"
        fi
        info "client certificate exists: $crt"
    else
        new_key "$key"
        local tmpd
        tmpd="$(mktemp -d)"
        if ! openssl req -new -config "$CA_CNF" -utf8 -key "$key" \
            -subj "/O=$office/OU=$role/CN=$id" -out "$tmpd/client.csr"; then
            rm -rf -- "$tmpd"
            die "CSR creation failed for $id"
        fi
        (sign "$tmpd/client.csr" "$crt" client_ext "$days" "$expired") || {
            rm -rf -- "$tmpd"
            die "certificate issuance failed for $id"
        }
        rm -rf -- "$tmpd"
        if [[ $expired -eq 1 ]]; then
            info "issued EXPIRED client certificate $crt"
        else
            info "issued client certificate $crt ($days days)"
        fi
    fi
    if [[ $manifest -eq 1 ]]; then
        manifest_put "$id" "$office" "$role" "$jur" "$crt"
    fi
}

revoke_client() {
    local id="$1"
    check_id "$id"
    require_ca
    local crt="$CLIENTS_DIR/$id.crt"
    [[ -f $crt ]] || die "no certificate for '$id' ($crt)"
    local serial status
    serial="$(openssl x509 -in "$crt" -noout -serial)"
    serial="${serial#serial=}"
    status="$(awk -F '\t' -v s="${serial^^}" 'toupper($4) == s { print $1; exit }' "$CA_DIR/index.txt")"
    [[ -n $status ]] || die "$crt (serial $serial) was not issued by the CA in $CA_DIR"
    if [[ $status == R ]]; then
        info "$id (serial $serial) is already revoked"
    else
        run_openssl_ca -revoke "$crt" -crl_reason keyCompromise ||
            die "revoking $crt failed"
        info "revoked $id (serial $serial)"
    fi
    gen_crl
}

# --------------------------------------------------------------- bundles

cmd_demo() {
    ca_init "$DEFAULT_CA_NAME"
    issue_server localhost "DNS:localhost,IP:127.0.0.1"
    issue_client district-a-operator "东城区住房和城乡建设局" operator 110101 "$CLIENT_DAYS" 0 1
    issue_client district-b-operator "西城区住房和城乡建设局" operator 110102 "$CLIENT_DAYS" 0 1
    issue_client city-legal "市住房和城乡建设局法规科" legal 110000 "$CLIENT_DAYS" 0 1
    issue_client discipline-supervisor "市住房和城乡建设局纪检监察室" supervisor 110000 "$CLIENT_DAYS" 0 1
    issue_client city-auditor "市审计局" auditor 110000 "$CLIENT_DAYS" 0 1
    issue_client city-admin "市住房和城乡建设局信息中心" admin 110000 "$CLIENT_DAYS" 0 1
}

cmd_test_extras() {
    cmd_demo
    # A second witness for draws that name two (a district's discipline group).
    issue_client district-supervisor "东城区纪委监委派驻纪检监察组" supervisor 110101 "$CLIENT_DAYS" 0 1
    issue_client expired-operator "东城区住房和城乡建设局" operator 110101 "$CLIENT_DAYS" 1 1
    issue_client revoked-operator "东城区住房和城乡建设局" operator 110101 "$CLIENT_DAYS" 0 1
    revoke_client revoked-operator
    # An impostor: a CA with the same name as ours but its own key, and a
    # client whose subject looks exactly like a real district operator's.
    # shellcheck disable=SC2030,SC2031 # the subshell scopes the change.
    (
        PKI_DIR="$PKI_DIR/other-ca"
        set_paths
        ca_init "$DEFAULT_CA_NAME"
        issue_client rogue "东城区住房和城乡建设局" operator 110101 "$CLIENT_DAYS" 0 0
    )
}

# ------------------------------------------------------------------ main

# Serialise concurrent runs against the same DIR (index.txt, serial, manifest).
# take_lock [create] — only init, demo and test-extras may create DIR.
take_lock() {
    if [[ ! -d $ROOT_DIR ]]; then
        [[ ${1:-} == create ]] || die "no PKI in $ROOT_DIR; run: $PROG --dir $ROOT_DIR init"
        mkdir -p -- "$ROOT_DIR"
    fi
    exec 9>>"$ROOT_DIR/.lock" || die "cannot open lock file $ROOT_DIR/.lock"
    flock -w 60 9 || die "timed out waiting for lock $ROOT_DIR/.lock"
}

need_value() {
    [[ $2 -ge 2 ]] || usage_error "$1 needs an argument"
}

case "$COMMAND" in
    init)
        name="$DEFAULT_CA_NAME"
        while [[ $# -gt 0 ]]; do
            case "$1" in
                --name)
                    need_value "$1" $#
                    name="$2"
                    shift 2
                    ;;
                -h | --help)
                    usage
                    exit 0
                    ;;
                *) usage_error "init: unknown argument: $1" ;;
            esac
        done
        take_lock create
        ca_init "$name"
        ;;
    server)
        cn=localhost
        san="DNS:localhost,IP:127.0.0.1"
        while [[ $# -gt 0 ]]; do
            case "$1" in
                --cn)
                    need_value "$1" $#
                    cn="$2"
                    shift 2
                    ;;
                --san)
                    need_value "$1" $#
                    san="$2"
                    shift 2
                    ;;
                -h | --help)
                    usage
                    exit 0
                    ;;
                *) usage_error "server: unknown argument: $1" ;;
            esac
        done
        take_lock
        issue_server "$cn" "$san"
        ;;
    client)
        id="" office="" role="" jur="" days="$CLIENT_DAYS" expired=0
        while [[ $# -gt 0 ]]; do
            case "$1" in
                --id | --office | --role | --jurisdiction | --days)
                    need_value "$1" $#
                    case "$1" in
                        --id) id="$2" ;;
                        --office) office="$2" ;;
                        --role) role="$2" ;;
                        --jurisdiction) jur="$2" ;;
                        --days) days="$2" ;;
                    esac
                    shift 2
                    ;;
                --expired)
                    expired=1
                    shift
                    ;;
                -h | --help)
                    usage
                    exit 0
                    ;;
                *) usage_error "client: unknown argument: $1" ;;
            esac
        done
        [[ -n $id ]] || usage_error "client: --id is required"
        [[ -n $office ]] || usage_error "client: --office is required"
        [[ -n $role ]] || usage_error "client: --role is required"
        [[ -n $jur ]] || usage_error "client: --jurisdiction is required"
        check_id "$id"
        check_dn_value "--office" "$office"
        check_role "$role"
        check_jurisdiction "$jur"
        check_days "$days"
        take_lock
        issue_client "$id" "$office" "$role" "$jur" "$((10#$days))" "$expired" 1
        ;;
    revoke)
        [[ $# -eq 1 ]] || usage_error "usage: $PROG revoke ID"
        take_lock
        revoke_client "$1"
        ;;
    crl)
        [[ $# -eq 0 ]] || usage_error "crl takes no arguments"
        take_lock
        gen_crl
        ;;
    demo)
        [[ $# -eq 0 ]] || usage_error "demo takes no arguments"
        take_lock create
        cmd_demo
        ;;
    test-extras)
        [[ $# -eq 0 ]] || usage_error "test-extras takes no arguments"
        take_lock create
        cmd_test_extras
        ;;
    help)
        usage
        ;;
    *)
        usage_error "unknown command: $COMMAND"
        ;;
esac
