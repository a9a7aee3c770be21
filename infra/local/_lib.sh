# shellcheck shell=bash
# Shared helpers for infra/local/{postgres,mariadb,servers}.sh.
# Sourced, not executed. The sourcing script has already done `set -euo pipefail`.
#
# Conventions:
#   - progress and error messages go to stderr; the only thing printed on
#     stdout by `start` / `dsn` is the DSN, so callers can capture it.
#   - every wait is bounded by KHO_SERVER_TIMEOUT seconds (default 60).

umask 022   # directories we create must be traversable by the service user

KHO_LOCAL_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KHO_REPO_ROOT="$(cd "$KHO_LOCAL_DIR/../.." && pwd)"
KHO_SERVER_TIMEOUT="${KHO_SERVER_TIMEOUT:-60}"

# Unix socket paths (sun_path) are limited to 107 bytes on Linux.
KHO_MAX_SOCKET_PATH=100

log() { printf '%s: %s\n' "${KHO_LOG_TAG:-kho}" "$*" >&2; }
die() { printf '%s: ERROR: %s\n' "${KHO_LOG_TAG:-kho}" "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }

# The OS user that owns the server's files and runs its processes:
# the given system user when we are root, otherwise ourselves (PostgreSQL and
# MariaDB both run fine as an ordinary user for a private throwaway instance).
service_user() {
    local sys_user="$1"
    if is_root; then
        id -u "$sys_user" >/dev/null 2>&1 \
            || die "system user '$sys_user' does not exist; the distribution package creates it: run '$0 install'"
        printf '%s\n' "$sys_user"
    else
        id -un
    fi
}

# as_user USER CMD...: run CMD as USER (from / so that an untraversable
# current directory such as /root/... does not bother the server tools).
as_user() {
    local user="$1"; shift
    if is_root; then
        (cd / && runuser -u "$user" -- "$@")
    else
        (cd / && "$@")
    fi
}

# can_traverse USER DIR: can USER cd into DIR (i.e. search every ancestor)?
can_traverse() {
    local user="$1" dir="$2"
    # shellcheck disable=SC2016  # $1 is expanded by the inner sh
    as_user "$user" sh -c 'cd "$1"' _ "$dir" >/dev/null 2>&1
}

# server_base_dir NAME USER SOCKET_NAME: print the per-server state directory.
#
# Normally $REPO/.cache/servers/NAME (.cache/ is git-ignored). The server runs
# as USER (postgres / mysql when we are root), and that user must be able to
# traverse every ancestor of its data directory. A clone under /root (mode
# 0700 on Debian) is NOT traversable by postgres/mysql, so in that case - or
# when the repo path is so long that the unix socket path would exceed the
# kernel's 107-byte sun_path limit - we fall back to /tmp/kho-servers-<uid>/NAME.
server_base_dir() {
    local name="$1" user="$2" sock_name="$3"
    local in_repo="$KHO_REPO_ROOT/.cache/servers"
    local reason=""
    if mkdir -p "$in_repo" 2>/dev/null; then
        if ! can_traverse "$user" "$in_repo"; then
            reason="user '$user' cannot traverse $in_repo (e.g. repo under /root)"
        elif [ "${#in_repo}" -gt $((KHO_MAX_SOCKET_PATH - ${#name} - 6 - ${#sock_name})) ]; then
            reason="socket path under $in_repo would exceed the unix socket path limit"
        fi
    else
        reason="cannot create $in_repo"
    fi
    if [ -z "$reason" ]; then
        printf '%s\n' "$in_repo/$name"
        return 0
    fi
    local tmp_base
    tmp_base="/tmp/kho-servers-$(id -u)"
    if [ ! -d "$tmp_base" ]; then
        mkdir -m 0755 "$tmp_base" || die "cannot create $tmp_base"
    fi
    if [ -L "$tmp_base" ] || [ ! -O "$tmp_base" ]; then
        die "$tmp_base exists but is not a directory owned by $(id -un); remove it and retry"
    fi
    chmod 0755 "$tmp_base"
    can_traverse "$user" "$tmp_base" \
        || die "user '$user' cannot traverse $tmp_base either; check permissions of /tmp"
    [ -n "${KHO_QUIET_FALLBACK:-}" ] || log "using $tmp_base/$name: $reason"
    printf '%s\n' "$tmp_base/$name"
}

# apt_install PKG...: install Debian packages, running `apt-get update` only
# when the package lists are missing or stale (install failed once).
apt_install() {
    is_root || die "installing packages needs root: run 'sudo $0 install' (or install: $*)"
    command -v apt-get >/dev/null 2>&1 \
        || die "apt-get not found: install $* with your system's package manager"
    export DEBIAN_FRONTEND=noninteractive
    local pkg need_update=0
    for pkg in "$@"; do
        apt-cache show --no-all-versions "$pkg" >/dev/null 2>&1 || need_update=1
    done
    if [ "$need_update" -eq 1 ]; then
        log "package lists missing $*; running apt-get update"
        apt-get update -q >&2 || die "apt-get update failed (network? see output above)"
    fi
    if ! apt-get install -y -q --no-install-recommends "$@" >&2; then
        log "apt-get install failed; refreshing package lists and retrying once"
        apt-get update -q >&2 || die "apt-get update failed (network? see output above)"
        apt-get install -y -q --no-install-recommends "$@" >&2 \
            || die "apt-get install $* failed (see output above)"
    fi
}

# port_in_use PORT: is something listening on 127.0.0.1:PORT?
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

check_port() {
    case "$1" in
        ''|*[!0-9]*) die "invalid port '$1' (from $2)";;
    esac
    if [ "$1" -lt 1024 ] || [ "$1" -gt 65535 ]; then
        die "port $1 (from $2) must be in 1024..65535"
    fi
}

# show_log_tail FILE: print the last lines of a server log to stderr.
show_log_tail() {
    if [ -f "$1" ]; then
        printf -- '--- last lines of %s ---\n' "$1" >&2
        tail -n 25 "$1" >&2 || true
        printf -- '---\n' >&2
    fi
}

# group_alive PGID: does the process group have a live (non-zombie) member? Exited
# processes re-parented to init can stay zombies for a while, and `kill -0` counts them.
group_alive() {
    ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'
}

# wait_group_exit NAME PGID: wait (bounded by KHO_SERVER_TIMEOUT) until a signalled process
# group has exited; SIGKILL the group if it has not.
wait_group_exit() {
    local name="$1" pgid="$2" deadline=$((SECONDS + ${KHO_SERVER_TIMEOUT:-60}))
    while group_alive "$pgid"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            log "$name (process group $pgid) still running after ${KHO_SERVER_TIMEOUT:-60}s; sending SIGKILL"
            kill -KILL -- "-$pgid" 2>/dev/null || kill -KILL "$pgid" 2>/dev/null || true
            break
        fi
        sleep 0.2
    done
}
