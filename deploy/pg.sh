#!/usr/bin/env bash
# pg.sh — a private PostgreSQL 15 cluster in one directory, for development and
# for the test suite of shuangsuid.
#
# Layout of DIR (default <repo>/var/pg):
#   DIR/data                  PGDATA (owned by the server's OS user)
#   DIR/run                   unix socket directory (unless the path is too long)
#   DIR/log/postgresql.log    server log
#   DIR/secrets/*.password    role passwords, 32 hex characters, mode 0600
#   DIR/socketdir             the socket directory actually configured
#   DIR/port                  the port the cluster was last configured with
#
# As root, PostgreSQL runs as the `postgres` OS user because it refuses to run
# as root. When that user cannot traverse DIR's parent (a checkout under /root,
# say), the cluster lives in /var/tmp/shuangsui-pg-<hash> and DIR is a symlink
# to it. A unix socket path must fit in sockaddr_un (108 bytes); if DIR/run
# would be too long, /tmp/shuangsui-pg-<hash> is used as the socket directory.
set -euo pipefail

readonly PROG="${0##*/}"
SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
readonly SCRIPT_DIR
REPO_DIR="$(dirname -- "$SCRIPT_DIR")"
readonly REPO_DIR

readonly DEFAULT_PORT=55432
readonly DB_NAME=shuangsui
readonly OWNER_ROLE=shuangsui_owner
readonly APP_ROLE=shuangsui_app
# Socket paths are ".../.s.PGSQL.<port>"; keep them well under sun_path's 108.
readonly MAX_SOCKET_PATH=100

usage() {
    cat <<EOF
Usage: $PROG [--dir DIR] [--port PORT] COMMAND [ARGS...]

Manage a private PostgreSQL cluster for shuangsuid.

Options:
  --dir DIR     cluster directory (default: <repo>/var/pg = $REPO_DIR/var/pg)
  --port PORT   TCP port and socket port number (default: \$SHUANGSUI_PG_PORT,
                else the port recorded in DIR/port, else $DEFAULT_PORT)
  -h, --help    show this help

Commands:
  init          create the cluster if absent (initdb), configure it, and make
                sure roles $OWNER_ROLE, $APP_ROLE and database $DB_NAME
                exist; leaves the server running only if it was running before
  start         start the server if not running (running init first if
                needed), wait until it accepts connections, ensure roles/db
  stop          fast shutdown if running
  status        print "running (pid N, port P, socket dir S)" and exit 0, or
                print "stopped" and exit 3
  env           print shell export lines: PGHOST PGPORT SHUANGSUI_PG_SOCKET
                SHUANGSUI_DB_APP SHUANGSUI_DB_OWNER  (use: eval "\$($PROG env)")
  psql [ARGS]   run psql as the database superuser on the unix socket against
                database $DB_NAME, passing ARGS through
  destroy       stop the server and delete the cluster directory (and its
                /var/tmp and /tmp counterparts, if any)

Authentication: local (unix socket) connections are trusted, so no password is
needed on the socket; TCP (127.0.0.1) uses scram-sha-256 with the passwords in
DIR/secrets/{owner,app}.password.

When run as root the server runs as the 'postgres' OS user. When not root, it
runs as the invoking user, and the superuser role has that user's name.

Exit status: 0 success; 1 error; 2 bad usage; 3 'status' found it stopped.
EOF
}

die() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    exit 1
}

warn() {
    printf '%s: warning: %s\n' "$PROG" "$*" >&2
}

info() {
    printf '%s: %s\n' "$PROG" "$*" >&2
}

usage_error() {
    printf '%s: error: %s\n' "$PROG" "$*" >&2
    printf "Try '%s --help'.\n" "$PROG" >&2
    exit 2
}

# ---------------------------------------------------------------- arguments

DIR_ARG=""
PORT_ARG=""
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
        --port)
            [[ $# -ge 2 ]] || usage_error "--port needs an argument"
            PORT_ARG="$2"
            shift 2
            ;;
        --port=*)
            PORT_ARG="${1#--port=}"
            shift
            ;;
        --)
            shift
            break
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
case "$COMMAND" in
    init | start | stop | status | env | destroy)
        [[ $# -eq 0 ]] || usage_error "'$COMMAND' takes no arguments"
        ;;
    psql) ;;
    help)
        usage
        exit 0
        ;;
    *)
        usage_error "unknown command: $COMMAND"
        ;;
esac

# ------------------------------------------------------------------ layout

DIR="${DIR_ARG:-$REPO_DIR/var/pg}"
[[ -n $DIR ]] || usage_error "--dir must not be empty"
# Absolute, lexically normalised, symlinks NOT resolved: this is the name the
# user knows the cluster by, and the input of the hash below.
DIR="$(realpath -m -s -- "$DIR")"
[[ $DIR != "/" ]] || usage_error "refusing to use / as the cluster directory"
readonly DIR

DIR_HASH="$(printf '%s' "$DIR" | sha256sum | cut -c1-12)"
readonly DIR_HASH
readonly SPILL_DIR="/var/tmp/shuangsui-pg-$DIR_HASH"
readonly TMP_SOCKET_DIR="/tmp/shuangsui-pg-$DIR_HASH"
readonly LOCK_FILE="/tmp/shuangsui-pg-$DIR_HASH.lock"

valid_port() {
    [[ $1 =~ ^[0-9]+$ ]] && ((10#$1 >= 1 && 10#$1 <= 65535))
}

if [[ -n $PORT_ARG ]]; then
    PORT="$PORT_ARG"
    PORT_EXPLICIT=1
elif [[ -n ${SHUANGSUI_PG_PORT:-} ]]; then
    PORT="$SHUANGSUI_PG_PORT"
    PORT_EXPLICIT=1
elif [[ -r $DIR/port ]]; then
    PORT="$(head -n1 -- "$DIR/port")"
    PORT_EXPLICIT=0
else
    PORT="$DEFAULT_PORT"
    PORT_EXPLICIT=0
fi
valid_port "$PORT" || usage_error "invalid port: '$PORT' (expected 1-65535)"
PORT="$((10#$PORT))"
readonly PORT PORT_EXPLICIT

# ---------------------------------------------------------------- binaries

find_pg_bindir() {
    local d=/usr/lib/postgresql/15/bin
    if [[ -x $d/initdb && -x $d/pg_ctl ]]; then
        printf '%s\n' "$d"
        return 0
    fi
    if command -v pg_config >/dev/null 2>&1; then
        d="$(pg_config --bindir 2>/dev/null || true)"
        if [[ -n $d && -x $d/initdb && -x $d/pg_ctl ]]; then
            printf '%s\n' "$d"
            return 0
        fi
    fi
    d="$(dirname -- "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")"
    if [[ -x $d/initdb && -x $d/pg_ctl ]]; then
        printf '%s\n' "$d"
        return 0
    fi
    return 1
}

PG_BIN="$(find_pg_bindir)" ||
    die "PostgreSQL server binaries not found (looked in /usr/lib/postgresql/15/bin, pg_config --bindir, PATH); run deploy/install-deps.sh"
readonly PG_BIN

PSQL="$PG_BIN/psql"
[[ -x $PSQL ]] || PSQL="$(command -v psql || true)"
[[ -n $PSQL && -x $PSQL ]] || die "psql not found; run deploy/install-deps.sh"
readonly PSQL

# ------------------------------------------------------------- identities

if [[ $EUID -eq 0 ]]; then
    readonly AS_ROOT=1
    readonly PG_OS_USER=postgres
    getent passwd "$PG_OS_USER" >/dev/null ||
        die "running as root but OS user '$PG_OS_USER' does not exist (install postgresql: deploy/install-deps.sh)"
    PG_OS_HOME="$(getent passwd "$PG_OS_USER" | cut -d: -f6)"
    readonly PG_OS_HOME
    PG_OS_GROUP="$(id -gn "$PG_OS_USER")"
    readonly PG_OS_GROUP
    # The initdb superuser is named after the OS user that ran initdb.
    readonly SUPERUSER="$PG_OS_USER"
else
    readonly AS_ROOT=0
    PG_OS_USER="$(id -un)"
    readonly PG_OS_USER
    readonly PG_OS_HOME="${HOME:-/}"
    PG_OS_GROUP="$(id -gn)"
    readonly PG_OS_GROUP
    readonly SUPERUSER="$PG_OS_USER"
fi

# as_pg CMD... — run a server-side command (initdb, pg_ctl) as the OS user
# that owns the cluster, from / so that an unreadable working directory
# (e.g. below /root) does not matter.
as_pg() {
    if [[ $AS_ROOT -eq 1 ]]; then
        (
            cd / &&
                if command -v runuser >/dev/null 2>&1; then
                    runuser -u "$PG_OS_USER" -- env HOME="$PG_OS_HOME" "$@"
                else
                    su -s /bin/bash "$PG_OS_USER" -c "HOME=$(printf '%q' "$PG_OS_HOME") $(printf '%q ' "$@")"
                fi
        )
    else
        (cd / && "$@")
    fi
}

# pg_can_traverse PATH — true if the cluster's OS user can reach PATH.
pg_can_traverse() {
    as_pg test -x "$1" 2>/dev/null
}

# byte_length STRING — length in bytes (paths may contain UTF-8).
byte_length() {
    printf '%s' "$1" | wc -c
}

# real_dir — where DIR really lives (symlinks resolved); may not exist yet.
real_dir() {
    realpath -m -- "$DIR"
}

# socket_dir — the socket directory: the one recorded at init, else the one
# that init would choose.
socket_dir() {
    if [[ -r $DIR/socketdir ]]; then
        head -n1 -- "$DIR/socketdir"
        return 0
    fi
    choose_socket_dir "$(real_dir)"
}

# choose_socket_dir REALDIR — REALDIR/run, unless the socket path would be
# too long for sockaddr_un, in which case a short directory under /tmp.
choose_socket_dir() {
    local candidate="$1/run"
    local sock="$candidate/.s.PGSQL.$PORT"
    if (($(byte_length "$sock") < MAX_SOCKET_PATH)); then
        printf '%s\n' "$candidate"
    else
        printf '%s\n' "$TMP_SOCKET_DIR"
    fi
}

# ------------------------------------------------------------- directories

# owner_of PATH — "user:group" of PATH.
owner_of() {
    stat -c '%U:%G' -- "$1"
}

# ensure_private_dir PATH MODE — create PATH if needed, owned by the cluster's
# OS user with MODE. Refuses a pre-existing PATH owned by someone else when it
# lives in a shared directory such as /tmp.
ensure_pg_dir() {
    local path="$1" mode="$2"
    if [[ -L $path ]]; then
        die "$path is a symlink; refusing to use it"
    fi
    mkdir -p -- "$path"
    if [[ $AS_ROOT -eq 1 ]]; then
        chown "$PG_OS_USER:$PG_OS_GROUP" -- "$path"
    fi
    chmod "$mode" -- "$path"
}

ensure_tmp_socket_dir() {
    local path="$TMP_SOCKET_DIR"
    if [[ -L $path ]]; then
        die "$path is a symlink; refusing to use it as a socket directory"
    fi
    if [[ -e $path ]]; then
        [[ -d $path ]] || die "$path exists and is not a directory"
        local owner
        owner="$(stat -c '%U' -- "$path")"
        [[ $owner == "$PG_OS_USER" ]] ||
            die "$path exists but is owned by '$owner', not '$PG_OS_USER'; remove it"
        chmod 0700 -- "$path"
    else
        ensure_pg_dir "$path" 0700
    fi
}

# prepare_cluster_dir — make DIR exist and be usable by the cluster's OS user,
# relocating it to /var/tmp behind a symlink if that user cannot reach it.
prepare_cluster_dir() {
    local parent
    parent="$(dirname -- "$DIR")"

    if [[ -L $DIR ]]; then
        local target
        target="$(realpath -m -- "$DIR")"
        [[ -d $target ]] || die "$DIR is a dangling symlink (to $target); remove it or recreate $target"
    elif [[ -e $DIR ]]; then
        [[ -d $DIR ]] || die "$DIR exists and is not a directory"
        if [[ $AS_ROOT -eq 1 ]] && ! pg_can_traverse "$DIR"; then
            if [[ -z "$(ls -A -- "$DIR")" ]]; then
                info "OS user '$PG_OS_USER' cannot reach $DIR; relocating it to $SPILL_DIR"
                rmdir -- "$DIR"
                make_spill_symlink
            else
                die "OS user '$PG_OS_USER' cannot reach $DIR (a parent directory is not traversable) and it is not empty; move it away or use --dir elsewhere"
            fi
        fi
    else
        mkdir -p -- "$parent" || die "cannot create $parent"
        if [[ $AS_ROOT -eq 1 ]] && ! pg_can_traverse "$parent"; then
            info "OS user '$PG_OS_USER' cannot traverse $parent; keeping the cluster in $SPILL_DIR (symlinked from $DIR)"
            make_spill_symlink
        else
            [[ -w $parent ]] || die "cannot create $DIR: $parent is not writable"
            mkdir -p -- "$DIR"
            chmod 0755 -- "$DIR"
        fi
    fi

    local real
    real="$(real_dir)"
    [[ -w $real ]] || die "$real is not writable by $(id -un)"
    if [[ $AS_ROOT -eq 1 ]] && ! pg_can_traverse "$real"; then
        die "OS user '$PG_OS_USER' cannot reach $real"
    fi

    ensure_pg_dir "$real/data" 0700
    ensure_pg_dir "$real/run" 0700
    ensure_pg_dir "$real/log" 0750
    mkdir -p -- "$real/secrets"
    chmod 0700 -- "$real/secrets"

    if [[ ! -r $DIR/socketdir ]]; then
        local sd
        sd="$(choose_socket_dir "$real")"
        printf '%s\n' "$sd" >"$DIR/socketdir.tmp"
        mv -f -- "$DIR/socketdir.tmp" "$DIR/socketdir"
        if [[ $sd != "$real/run" ]]; then
            info "socket path under $real/run would exceed $MAX_SOCKET_PATH bytes; using $sd"
        fi
    fi
    if [[ "$(socket_dir)" == "$TMP_SOCKET_DIR" ]]; then
        # /tmp may have been cleaned since the last start.
        ensure_tmp_socket_dir
    fi

    if [[ $PORT_EXPLICIT -eq 1 || ! -r $DIR/port ]]; then
        printf '%s\n' "$PORT" >"$DIR/port.tmp"
        mv -f -- "$DIR/port.tmp" "$DIR/port"
    fi
}

make_spill_symlink() {
    if [[ -L $SPILL_DIR ]]; then
        die "$SPILL_DIR is a symlink; refusing to use it"
    fi
    if [[ -e $SPILL_DIR ]]; then
        [[ -d $SPILL_DIR ]] || die "$SPILL_DIR exists and is not a directory"
        [[ "$(stat -c '%u' -- "$SPILL_DIR")" == "$EUID" ]] ||
            die "$SPILL_DIR exists but is not owned by $(id -un); remove it"
        info "reusing existing $SPILL_DIR"
    else
        mkdir -p -- "$SPILL_DIR"
    fi
    chmod 0755 -- "$SPILL_DIR"
    ln -s -- "$SPILL_DIR" "$DIR" 2>/dev/null || [[ -L $DIR ]] ||
        die "cannot create symlink $DIR -> $SPILL_DIR"
}

# --------------------------------------------------------------- secrets

# ensure_secret NAME — create DIR/secrets/NAME.password (32 hex chars, 0600)
# if absent; keep it otherwise.
ensure_secret() {
    local file
    file="$(real_dir)/secrets/$1.password"
    if [[ -f $file ]]; then
        grep -qE '^[0-9a-f]{32}$' -- "$file" ||
            die "$file does not hold a 32-hex-character password; fix or delete it"
        chmod 0600 -- "$file"
        return 0
    fi
    local pw
    pw="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
    [[ $pw =~ ^[0-9a-f]{32}$ ]] || die "could not generate a random password"
    (
        umask 077
        printf '%s\n' "$pw" >"$file.tmp"
    )
    mv -f -- "$file.tmp" "$file"
}

read_secret() {
    head -n1 -- "$(real_dir)/secrets/$1.password"
}

# ---------------------------------------------------------------- cluster

data_dir() {
    printf '%s/data\n' "$(real_dir)"
}

log_file() {
    printf '%s/log/postgresql.log\n' "$(real_dir)"
}

is_initialized() {
    [[ -f "$(data_dir)/PG_VERSION" ]]
}

# is_running — true if pg_ctl reports a live postmaster for the data dir.
is_running() {
    is_initialized || return 1
    as_pg "$PG_BIN/pg_ctl" -D "$(data_dir)" status >/dev/null 2>&1
}

pick_locale() {
    if locale -a 2>/dev/null | grep -qiE '^C\.utf-?8$'; then
        printf 'C.UTF-8\n'
    else
        warn "locale C.UTF-8 unavailable; initialising with locale C"
        printf 'C\n'
    fi
}

# write_config — (re)write data/shuangsui.conf, included from postgresql.conf.
write_config() {
    local data conf sd
    data="$(data_dir)"
    conf="$data/shuangsui.conf"
    sd="$(socket_dir)"
    cat >"$conf.tmp" <<EOF
# Written by deploy/pg.sh; rewritten on every init/start. Do not edit.
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$sd'
unix_socket_permissions = 0700
password_encryption = 'scram-sha-256'
# pg_ctl -l sends stderr to DIR/log/postgresql.log.
logging_collector = off
log_destination = 'stderr'
log_line_prefix = '%m [%p] %q%u@%d '
log_connections = off
EOF
    if [[ $AS_ROOT -eq 1 ]]; then
        chown "$PG_OS_USER:$PG_OS_GROUP" -- "$conf.tmp"
    fi
    chmod 0600 -- "$conf.tmp"
    mv -f -- "$conf.tmp" "$conf"
    if ! grep -q "^include_if_exists = 'shuangsui.conf'" -- "$data/postgresql.conf"; then
        printf "\n# Added by deploy/pg.sh\ninclude_if_exists = 'shuangsui.conf'\n" >>"$data/postgresql.conf"
    fi
}

do_initdb() {
    local data loc
    data="$(data_dir)"
    if [[ -n "$(ls -A -- "$data")" ]]; then
        die "$data is not empty but holds no cluster (no PG_VERSION); remove it and retry"
    fi
    loc="$(pick_locale)"
    info "initialising cluster in $data (locale $loc)"
    # initdb insists on a superuser password when host auth needs one; it is
    # kept in secrets/ for completeness (the socket is trusted). The server's
    # OS user cannot read the root-owned secrets dir (nor a root-owned pipe),
    # so hand it over in a private copy inside its own run/ directory.
    local pwfile rc=0
    pwfile="$(real_dir)/run/initdb.pwfile"
    (
        umask 077
        read_secret superuser >"$pwfile"
    )
    if [[ $AS_ROOT -eq 1 ]]; then
        chown "$PG_OS_USER:$PG_OS_GROUP" -- "$pwfile"
    fi
    as_pg "$PG_BIN/initdb" -D "$data" -U "$SUPERUSER" --pwfile="$pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 \
        -E UTF8 --locale="$loc" >"$(log_file).initdb" 2>&1 || rc=$?
    rm -f -- "$pwfile"
    if [[ $rc -ne 0 ]]; then
        cat -- "$(log_file).initdb" >&2 || true
        die "initdb failed (see above)"
    fi
}

superuser_psql() {
    "$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$(socket_dir)" -p "$PORT" -U "$SUPERUSER" "$@"
}

wait_ready() {
    local i sd
    sd="$(socket_dir)"
    for ((i = 0; i < 60; i++)); do
        if "$PG_BIN/pg_isready" -q -h "$sd" -p "$PORT" -d postgres -U "$SUPERUSER" -t 2; then
            return 0
        fi
        sleep 0.5
    done
    die "server did not become ready on $sd port $PORT; see $(log_file)"
}

# bootstrap_roles — create (or bring into line) the two roles, the database
# and its privileges. Every statement is safe to repeat.
bootstrap_roles() {
    # Passwords travel in the environment (psql's \getenv), not on the
    # command line where any local user could read them with ps.
    SHUANGSUI_OWNER_PW="$(read_secret owner)" SHUANGSUI_APP_PW="$(read_secret app)" \
        superuser_psql -d postgres <<'SQL'
\getenv owner_pw SHUANGSUI_OWNER_PW
\getenv app_pw SHUANGSUI_APP_PW
SELECT format('CREATE ROLE %I LOGIN', 'shuangsui_owner')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'shuangsui_owner') \gexec
SELECT format('CREATE ROLE %I LOGIN', 'shuangsui_app')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'shuangsui_app') \gexec
ALTER ROLE shuangsui_owner LOGIN NOSUPERUSER PASSWORD :'owner_pw';
ALTER ROLE shuangsui_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'app_pw';
SELECT 'CREATE DATABASE shuangsui OWNER shuangsui_owner ENCODING ''UTF8'' TEMPLATE template0'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'shuangsui') \gexec
ALTER DATABASE shuangsui OWNER TO shuangsui_owner;
REVOKE ALL ON DATABASE shuangsui FROM PUBLIC;
GRANT CONNECT ON DATABASE shuangsui TO shuangsui_app;
\connect shuangsui
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
ALTER SCHEMA public OWNER TO shuangsui_owner;
GRANT USAGE ON SCHEMA public TO shuangsui_app;
SQL
}

start_server() {
    write_config
    local sd
    sd="$(socket_dir)"
    info "starting server (port $PORT, socket dir $sd)"
    # 9>&- : the postmaster must not inherit (and hold forever) our lock.
    if ! as_pg "$PG_BIN/pg_ctl" -D "$(data_dir)" -l "$(log_file)" -w -t 60 start >/dev/null 9>&-; then
        printf '%s: last lines of %s:\n' "$PROG" "$(log_file)" >&2
        tail -n 20 -- "$(log_file)" >&2 || true
        die "pg_ctl start failed (is port $PORT already in use?)"
    fi
    wait_ready
}

stop_server() {
    info "stopping server"
    as_pg "$PG_BIN/pg_ctl" -D "$(data_dir)" -m fast -w -t 60 stop >/dev/null ||
        die "pg_ctl stop failed; see $(log_file)"
}

# ---------------------------------------------------------------- locking

# Serialise the commands that change state, so that parallel test scripts
# calling `start` do not race each other.
take_lock() {
    exec 9>>"$LOCK_FILE" || die "cannot open lock file $LOCK_FILE"
    flock -w 120 9 || die "timed out waiting for lock $LOCK_FILE"
}

# --------------------------------------------------------------- commands

prepare_and_init() {
    prepare_cluster_dir
    ensure_secret superuser
    ensure_secret owner
    ensure_secret app
    if ! is_initialized; then
        do_initdb
    fi
    write_config
}

cmd_init() {
    take_lock
    prepare_and_init
    if is_running; then
        bootstrap_roles
    else
        start_server
        bootstrap_roles
        stop_server
    fi
    info "cluster ready in $DIR"
}

cmd_start() {
    take_lock
    prepare_and_init
    if is_running; then
        info "already running"
        wait_ready
    else
        start_server
    fi
    bootstrap_roles
    cmd_status
}

cmd_stop() {
    take_lock
    if is_running; then
        stop_server
    else
        info "not running"
    fi
}

cmd_status() {
    if is_running; then
        local pidfile pid port sd
        pidfile="$(data_dir)/postmaster.pid"
        pid="$(sed -n 1p -- "$pidfile")"
        port="$(sed -n 4p -- "$pidfile")"
        sd="$(sed -n 5p -- "$pidfile")"
        printf 'running (pid %s, port %s, socket dir %s)\n' "$pid" "$port" "$sd"
        return 0
    fi
    printf 'stopped\n'
    return 3
}

# sq STRING — STRING single-quoted for a POSIX shell.
sq() {
    printf "'%s'" "${1//\'/\'\\\'\'}"
}

cmd_env() {
    local sd
    sd="$(socket_dir)"
    is_initialized || warn "cluster in $DIR is not initialised yet (run: $PROG init)"
    printf 'export PGHOST=%s\n' "$(sq "$sd")"
    printf 'export PGPORT=%s\n' "$(sq "$PORT")"
    printf 'export SHUANGSUI_PG_SOCKET=%s\n' "$(sq "$sd")"
    printf 'export SHUANGSUI_DB_APP=%s\n' \
        "$(sq "host=$sd port=$PORT dbname=$DB_NAME user=$APP_ROLE")"
    printf 'export SHUANGSUI_DB_OWNER=%s\n' \
        "$(sq "host=$sd port=$PORT dbname=$DB_NAME user=$OWNER_ROLE")"
    # The cluster's superuser: for tests that play an attacker with full access.
    printf 'export SHUANGSUI_DB_SUPER=%s\n' \
        "$(sq "host=$sd port=$PORT dbname=$DB_NAME user=$SUPERUSER")"
}

cmd_psql() {
    is_running || die "cluster in $DIR is not running (run: $PROG start)"
    # Socket authentication is 'trust', so the invoking user may connect as
    # the superuser role directly; running psql as the invoking user (not via
    # runuser) keeps relative paths such as `-f file.sql` working.
    exec "$PSQL" -X -h "$(socket_dir)" -p "$PORT" -U "$SUPERUSER" -d "$DB_NAME" "$@"
}

cmd_destroy() {
    take_lock
    if is_running; then
        stop_server
    fi
    local real sd
    real="$(real_dir)"
    sd="$(socket_dir)"
    if [[ -L $DIR ]]; then
        rm -f -- "$DIR"
        if [[ $real == "$SPILL_DIR" && -d $real ]]; then
            rm -rf -- "$real"
        fi
    elif [[ -d $DIR ]]; then
        rm -rf -- "$DIR"
    fi
    if [[ $sd == "$TMP_SOCKET_DIR" && -d $sd && ! -L $sd ]]; then
        rm -rf -- "$sd"
    fi
    rm -f -- "$LOCK_FILE"
    info "destroyed $DIR"
}

case "$COMMAND" in
    init) cmd_init ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) cmd_env ;;
    psql) cmd_psql "$@" ;;
    destroy) cmd_destroy ;;
esac
