#!/usr/bin/env bash
# Local MinIO (S3-compatible object store) for Kho's cluster profile and its tests.
#
#   infra/local/minio.sh install   build the MinIO server from source with Go (once)
#   infra/local/minio.sh start     start it on 127.0.0.1 and create the lake buckets; prints the
#                                  endpoint (http://127.0.0.1:19000) on stdout
#   infra/local/minio.sh stop      stop it (SIGTERM to its process group, bounded wait)
#   infra/local/minio.sh status    exit 0 if running, 3 if not
#   infra/local/minio.sh env       print export lines for clients (endpoint, keys, region)
#
# MinIO publishes its community server as source only; `install` builds it the
# documented way, `go install github.com/minio/minio@<version>`, with GOBIN,
# GOPATH, GOCACHE and GOMODCACHE under <repo>/.cache/go (git-ignored), so later
# runs reuse the binary and the module cache. The first build takes minutes.
#
# State lives in <repo>/.cache/servers/minio (git-ignored):
#   credentials.env   root user and password, generated once (mode 0600; never commit)
#   data/             the object store
#   minio.log, run/   log and pid file
# The server listens on 127.0.0.1 only: API on $KHO_MINIO_PORT (19000), console
# on $KHO_MINIO_CONSOLE_PORT (19001). Buckets created on start: raw processed
# integrated topic quarantine system exchange (`_system` is not a valid bucket
# name, so the lake's _system zone maps to the bucket `system`).
#
# Environment: KHO_MINIO_PORT (19000), KHO_MINIO_CONSOLE_PORT (19001),
#              KHO_MINIO_VERSION (module version to build, default below),
#              KHO_GO (go binary; default: go on PATH, else /usr/local/go/bin/go),
#              KHO_SERVER_TIMEOUT (60 s).
set -euo pipefail

KHO_LOG_TAG=minio
# shellcheck source=infra/local/_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

MINIO_PORT="${KHO_MINIO_PORT:-19000}"
CONSOLE_PORT="${KHO_MINIO_CONSOLE_PORT:-19001}"
check_port "$MINIO_PORT" KHO_MINIO_PORT
check_port "$CONSOLE_PORT" KHO_MINIO_CONSOLE_PORT
# Pinned: @latest resolves to the newest commit (MinIO tags are not semver), i.e. a moving
# target; this is what @latest gave on 2026-11-27 and builds with Go 1.26 in ~2.5 min.
MINIO_VERSION="${KHO_MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}"
MINIO_REGION=us-east-1
BUCKETS=(raw processed integrated topic quarantine system exchange)

GO_DIR="$KHO_REPO_ROOT/.cache/go"
MINIO_BIN="$GO_DIR/bin/minio"
BASE="$KHO_REPO_ROOT/.cache/servers/minio"
DATA="$BASE/data"
RUN_DIR="$BASE/run"
PID_FILE="$RUN_DIR/minio.pid"
LOG_FILE="$BASE/minio.log"
CRED_FILE="$BASE/credentials.env"
ENDPOINT="http://127.0.0.1:$MINIO_PORT"

find_go() {
    if [ -n "${KHO_GO:-}" ]; then
        [ -x "$KHO_GO" ] || die "KHO_GO=$KHO_GO is not an executable"
        printf '%s\n' "$KHO_GO"; return 0
    fi
    if command -v go >/dev/null 2>&1; then command -v go; return 0; fi
    if [ -x /usr/local/go/bin/go ]; then echo /usr/local/go/bin/go; return 0; fi
    return 1
}

need_bin() {
    [ -x "$MINIO_BIN" ] || die "MinIO server not built yet: run 'bash infra/local/minio.sh install' (builds it with Go, a few minutes the first time)"
}

server_pid() {
    local pid
    pid="$(cat "$PID_FILE" 2>/dev/null || true)"
    case "$pid" in ''|*[!0-9]*) return 1;; esac
    kill -0 "$pid" 2>/dev/null || return 1
    # Guard against a recycled pid: it must be our minio binary.
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$MINIO_BIN server" || return 1
    printf '%s\n' "$pid"
}

# Generate the root credentials once; the file is created 0600 from the first byte.
ensure_credentials() {
    mkdir -p "$BASE"
    if [ -s "$CRED_FILE" ]; then
        chmod 0600 "$CRED_FILE"
        return 0
    fi
    local user password
    user="kho-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
    password="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
    (
        umask 077
        cat >"$CRED_FILE" <<EOF
# Generated once by infra/local/minio.sh: root credentials of the local MinIO.
# Never commit or copy this file; delete it together with data/ to rotate.
MINIO_ROOT_USER=$user
MINIO_ROOT_PASSWORD=$password
EOF
    )
    log "generated credentials in $CRED_FILE (mode 0600)"
}

load_credentials() {
    [ -s "$CRED_FILE" ] || die "no credentials in $CRED_FILE: run 'bash infra/local/minio.sh start' first"
    MINIO_ROOT_USER="$(sed -n 's/^MINIO_ROOT_USER=//p' "$CRED_FILE")"
    MINIO_ROOT_PASSWORD="$(sed -n 's/^MINIO_ROOT_PASSWORD=//p' "$CRED_FILE")"
    if [ -z "$MINIO_ROOT_USER" ] || [ -z "$MINIO_ROOT_PASSWORD" ]; then
        die "$CRED_FILE is incomplete; delete it and $DATA, then start again"
    fi
}

# s3_curl ARGS...: curl signed with AWS SigV4 (curl >= 7.75). The key pair goes
# to curl through a config on stdin, so it never appears in the process list.
s3_curl() {
    printf 'user = "%s:%s"\n' "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" \
        | curl -sS -K - --aws-sigv4 "aws:amz:$MINIO_REGION:s3" --max-time 10 "$@"
}

ensure_buckets() {
    local bucket code created=()
    for bucket in "${BUCKETS[@]}"; do
        code="$(s3_curl -o /dev/null -w '%{http_code}' -I "$ENDPOINT/$bucket")" || code=000
        [ "$code" = 200 ] && continue
        code="$(s3_curl -o "$RUN_DIR/bucket.out" -w '%{http_code}' -X PUT "$ENDPOINT/$bucket")" || code=000
        case "$code" in
            200) created+=("$bucket") ;;
            409) ;;  # BucketAlreadyOwnedByYou: created meanwhile
            *)  cat "$RUN_DIR/bucket.out" >&2 2>/dev/null || true
                die "could not create bucket '$bucket' (HTTP $code; log: $LOG_FILE)" ;;
        esac
    done
    rm -f "$RUN_DIR/bucket.out"
    if [ "${#created[@]}" -gt 0 ]; then log "created buckets: ${created[*]}"; fi
    return 0
}

wait_ready() {
    local launched="$1" deadline=$((SECONDS + KHO_SERVER_TIMEOUT))
    until curl -sf --max-time 2 -o /dev/null "$ENDPOINT/minio/health/ready"; do
        if [ -n "$launched" ] && ! group_alive "$launched"; then
            show_log_tail "$LOG_FILE"
            die "minio exited during startup (log above: $LOG_FILE)"
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            show_log_tail "$LOG_FILE"
            die "MinIO did not become ready on $ENDPOINT within ${KHO_SERVER_TIMEOUT}s (log: $LOG_FILE)"
        fi
        sleep 0.3
    done
}

cmd_install() {
    if [ -x "$MINIO_BIN" ]; then
        log "already built ($MINIO_BIN; delete it to rebuild)"
        return 0
    fi
    local go
    go="$(find_go)" || die "Go not found: install Go (>= 1.24) or set KHO_GO to the go binary"
    mkdir -p "$GO_DIR/bin" "$GO_DIR/path" "$GO_DIR/cache" "$GO_DIR/modcache" "$GO_DIR/tmp"
    log "building github.com/minio/minio@$MINIO_VERSION with $("$go" version | cut -d' ' -f3) (first time: several minutes)"
    local t0=$SECONDS
    # GOTOOLCHAIN=local: never download a different Go toolchain behind our back.
    # CGO_ENABLED=0: a static binary, like MinIO's own release builds.
    if ! env GOBIN="$GO_DIR/bin" GOPATH="$GO_DIR/path" GOCACHE="$GO_DIR/cache" \
            GOMODCACHE="$GO_DIR/modcache" GOTMPDIR="$GO_DIR/tmp" GOTOOLCHAIN=local \
            GOFLAGS=-buildvcs=false CGO_ENABLED=0 \
            "$go" install "github.com/minio/minio@$MINIO_VERSION" >"$GO_DIR/build.log" 2>&1; then
        tail -n 30 "$GO_DIR/build.log" >&2
        die "go install github.com/minio/minio@$MINIO_VERSION failed after $((SECONDS - t0))s (full log: $GO_DIR/build.log); set KHO_MINIO_VERSION to a version that builds with this Go"
    fi
    [ -x "$MINIO_BIN" ] || die "go install finished but $MINIO_BIN is missing (log: $GO_DIR/build.log)"
    log "built $MINIO_BIN in $((SECONDS - t0))s"
    # The binary is what later runs reuse; the module and build caches (~2 GB) are not
    # needed again, and CI machines can be short of disk. Set KHO_GO_KEEP_CACHE=1 to keep them.
    if [ "${KHO_GO_KEEP_CACHE:-0}" != 1 ]; then
        env GOPATH="$GO_DIR/path" GOCACHE="$GO_DIR/cache" GOMODCACHE="$GO_DIR/modcache" GOTOOLCHAIN=local \
            "$go" clean -cache -modcache >/dev/null 2>&1 || true
        rm -rf "$GO_DIR/tmp" "$GO_DIR/path/pkg"
        log "removed the Go build caches ($(du -sh "$GO_DIR" | cut -f1) left in $GO_DIR)"
    fi
}

cmd_start() {
    need_bin
    mkdir -p "$BASE" "$DATA" "$RUN_DIR"
    chmod 0700 "$BASE" "$DATA" "$RUN_DIR"
    ensure_credentials
    load_credentials
    local pid
    if pid="$(server_pid)"; then
        wait_ready "$pid"
        ensure_buckets
        log "already running (pid $pid, $ENDPOINT, data $DATA)"
        printf '%s\n' "$ENDPOINT"
        return 0
    fi
    local port
    for port in "$MINIO_PORT" "$CONSOLE_PORT"; do
        if port_in_use "$port"; then
            die "port 127.0.0.1:$port is already in use by another process; stop it or set KHO_MINIO_PORT / KHO_MINIO_CONSOLE_PORT to free ports"
        fi
    done
    rm -f "$PID_FILE"
    log "starting on $ENDPOINT, console http://127.0.0.1:$CONSOLE_PORT (data $DATA, log $LOG_FILE)"
    # setsid -f: a new session and process group (pgid = the server's pid), so
    # `stop` can signal the whole group; the caller's pipes are not held.
    # Credentials go through the environment, never the command line.
    # shellcheck disable=SC2016  # $$ and $1..$5 are expanded by the inner sh
    MINIO_ROOT_USER="$MINIO_ROOT_USER" MINIO_ROOT_PASSWORD="$MINIO_ROOT_PASSWORD" \
    MINIO_REGION="$MINIO_REGION" MINIO_UPDATE=off MINIO_BROWSER=on \
        setsid -f sh -c 'echo $$ >"$1"; exec "$2" server --quiet --address "$3" --console-address "$4" "$5"' _ \
        "$PID_FILE" "$MINIO_BIN" "127.0.0.1:$MINIO_PORT" "127.0.0.1:$CONSOLE_PORT" "$DATA" \
        </dev/null >>"$LOG_FILE" 2>&1 || die "could not launch $MINIO_BIN"
    local deadline=$((SECONDS + 10)) launched=""
    until launched="$(cat "$PID_FILE" 2>/dev/null)" && [ -n "$launched" ]; do
        [ "$SECONDS" -lt "$deadline" ] || die "minio wrote no pid file within 10s (log: $LOG_FILE)"
        sleep 0.1
    done
    wait_ready "$launched"
    ensure_buckets
    log "ready (pid $launched; credentials: bash infra/local/minio.sh env)"
    printf '%s\n' "$ENDPOINT"
}

cmd_stop() {
    local pid
    if ! pid="$(server_pid)"; then
        log "not running"
        rm -f "$PID_FILE"
        return 0
    fi
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
    wait_group_exit minio "$pid"
    rm -f "$PID_FILE"
    log "stopped"
}

cmd_status() {
    local pid
    if [ ! -x "$MINIO_BIN" ]; then
        log "not installed (run 'bash infra/local/minio.sh install')"
        exit 3
    fi
    if pid="$(server_pid)"; then
        log "running (pid $pid, $ENDPOINT, data $DATA)"
        exit 0
    fi
    log "not running"
    exit 3
}

cmd_env() {
    load_credentials
    printf 'export KHO_S3_ENDPOINT=%s\n' "$ENDPOINT"
    printf 'export AWS_ACCESS_KEY_ID=%s\n' "$MINIO_ROOT_USER"
    printf 'export AWS_SECRET_ACCESS_KEY=%s\n' "$MINIO_ROOT_PASSWORD"
    printf 'export AWS_REGION=%s\n' "$MINIO_REGION"
}

case "${1:-}" in
    install) cmd_install ;;
    start)   cmd_start ;;
    stop)    cmd_stop ;;
    status)  cmd_status ;;
    env)     cmd_env ;;
    *)
        echo "usage: $0 {install|start|stop|status|env}" >&2
        exit 2 ;;
esac
