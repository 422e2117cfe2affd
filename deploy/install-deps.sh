#!/usr/bin/env bash
# install-deps.sh — install the Debian packages needed to build, run and test
# shuangsuid (the city server) and shuangsui (the district client), and make
# sure the zh_CN.UTF-8 locale exists for the translated user interface.
#
# Safe to re-run: packages that are already installed are skipped, so a second
# run needs neither the network nor `apt-get update`.
set -euo pipefail

readonly PROG="${0##*/}"

# Everything to build (compiler, CMake, libraries and their headers), to run
# (PostgreSQL 15 server and client, OpenSSL for the PKI) and to test (CMocka,
# python3 for the interoperability test, gettext for the message catalogues).
readonly PACKAGES=(
    build-essential
    cmake
    pkg-config
    libuv1-dev
    libprotobuf-c-dev
    protobuf-c-compiler
    libsodium-dev
    libssl-dev
    openssl
    libpq-dev
    postgresql
    postgresql-15
    postgresql-client
    libcmocka-dev
    libinih-dev
    libjson-c-dev
    libcsv-dev
    libzip-dev
    libexpat1-dev
    libxlsxwriter-dev
    libzstd-dev
    gettext
    locales
    python3
)

readonly LOCALE_NAME="zh_CN.UTF-8"

usage() {
    cat <<EOF
Usage: $PROG [-h|--help]

Install, with apt-get, every Debian package needed to build, run and test
shuangsuid/shuangsui, and generate the $LOCALE_NAME locale if it is missing.

Packages:
  ${PACKAGES[*]}

Behaviour:
  - Packages already installed (per dpkg-query) are skipped; if nothing is
    missing, apt-get is not run at all.
  - 'apt-get update' runs only when needed: the package lists are empty, a
    missing package has no installation candidate, or the first install
    attempt fails.
  - Runs as root; otherwise re-runs the apt/locale commands through sudo.
    Fails if neither is possible.
  - Failure to generate the locale is reported as a warning, not an error.

Exit status: 0 on success, 1 on failure, 2 on bad usage.
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
    printf '%s: %s\n' "$PROG" "$*"
}

for arg in "$@"; do
    case "$arg" in
        -h | --help)
            usage
            exit 0
            ;;
        *)
            printf '%s: error: unknown argument: %s\n' "$PROG" "$arg" >&2
            usage >&2
            exit 2
            ;;
    esac
done

# Root privileges: run directly as root, else through sudo, else give up.
SUDO=()
if [[ $EUID -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        die "must be run as root (sudo is not available to elevate)"
    fi
fi

command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script supports Debian/Ubuntu only"
command -v apt-get >/dev/null 2>&1 || die "apt-get not found: this script supports Debian/Ubuntu only"

# is_installed PKG — true if dpkg reports PKG as fully installed ("ii").
is_installed() {
    local status
    status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" || return 1
    [[ $status == ii* ]]
}

# has_candidate PKG — true if apt knows a version of PKG it could install.
has_candidate() {
    local candidate
    candidate="$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2; exit }')"
    [[ -n $candidate && $candidate != "(none)" ]]
}

# lists_empty — true if apt has no package lists at all (fresh container).
lists_empty() {
    ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null
}

apt_install() {
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "$@"
}

install_packages() {
    local pkg
    local missing=()
    for pkg in "${PACKAGES[@]}"; do
        is_installed "$pkg" || missing+=("$pkg")
    done

    if [[ ${#missing[@]} -eq 0 ]]; then
        info "all ${#PACKAGES[@]} packages already installed"
        return 0
    fi
    info "missing packages: ${missing[*]}"

    local need_update=0
    if lists_empty; then
        need_update=1
    else
        for pkg in "${missing[@]}"; do
            if ! has_candidate "$pkg"; then
                info "no installation candidate for $pkg in current package lists"
                need_update=1
                break
            fi
        done
    fi

    local updated=0
    if [[ $need_update -eq 1 ]]; then
        info "running apt-get update"
        "${SUDO[@]}" apt-get update || die "apt-get update failed"
        updated=1
    fi

    if ! apt_install "${missing[@]}"; then
        if [[ $updated -eq 1 ]]; then
            die "apt-get install failed for: ${missing[*]}"
        fi
        warn "apt-get install failed; retrying after apt-get update"
        "${SUDO[@]}" apt-get update || die "apt-get update failed"
        apt_install "${missing[@]}" || die "apt-get install failed for: ${missing[*]}"
    fi

    for pkg in "${missing[@]}"; do
        is_installed "$pkg" || die "package $pkg is still not installed"
    done
    info "installed: ${missing[*]}"
}

# locale_present — true if `locale -a` lists zh_CN.UTF-8 (glibc prints it as
# zh_CN.utf8).
locale_present() {
    locale -a 2>/dev/null | grep -qiE '^zh_CN\.utf-?8$'
}

ensure_locale() {
    if locale_present; then
        info "locale $LOCALE_NAME already available"
        return 0
    fi
    if ! command -v locale-gen >/dev/null 2>&1; then
        warn "locale-gen not found; cannot generate $LOCALE_NAME"
        return 0
    fi

    local gen=/etc/locale.gen
    # Debian's locale-gen builds the locales enabled in /etc/locale.gen and
    # ignores arguments, so enable the line there (uncomment or append).
    if [[ -f $gen ]] && grep -qE "^[[:space:]]*${LOCALE_NAME//./\\.}[[:space:]]+UTF-8" "$gen"; then
        :
    elif [[ -f $gen ]] && grep -qE "^#[[:space:]]*${LOCALE_NAME//./\\.}[[:space:]]+UTF-8" "$gen"; then
        "${SUDO[@]}" sed -i -E "s/^#[[:space:]]*(${LOCALE_NAME//./\\.}[[:space:]]+UTF-8)/\\1/" "$gen" ||
            warn "could not edit $gen"
    else
        printf '%s UTF-8\n' "$LOCALE_NAME" | "${SUDO[@]}" tee -a "$gen" >/dev/null ||
            warn "could not append to $gen"
    fi

    info "generating locale $LOCALE_NAME"
    if ! "${SUDO[@]}" locale-gen; then
        # Ubuntu's locale-gen takes the locale as an argument instead.
        "${SUDO[@]}" locale-gen "$LOCALE_NAME" || true
    fi

    if locale_present; then
        info "locale $LOCALE_NAME generated"
    else
        warn "locale $LOCALE_NAME is still unavailable; Chinese messages will fall back to C"
    fi
}

install_packages
ensure_locale
info "done"
