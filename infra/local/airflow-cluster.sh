#!/usr/bin/env bash
# Local Airflow 3 "cluster" for Kho's cluster profile: PostgreSQL metadata database,
# LocalExecutor, and each component as its own process.
#
#   infra/local/airflow-cluster.sh start                 db migrate + scheduler, dag-processor,
#                                                        api-server, triggerer; wait for health
#   infra/local/airflow-cluster.sh stop                  stop all (SIGTERM to each process group)
#   infra/local/airflow-cluster.sh status                one line per component; exit 0 if all run
#   infra/local/airflow-cluster.sh trigger DAG_ID DATE   unpause DAG_ID and trigger a run with logical
#                                                        date DATE (YYYY-MM-DD or ISO 8601) through
#                                                        the REST API; prints the run id
#   infra/local/airflow-cluster.sh wait RUN_ID           follow that run to a terminal state through
#                                                        the REST API; prints it; exit 0 only on success
#   infra/local/airflow-cluster.sh delete-runs DAG_ID    forget every run of DAG_ID (a clean history
#                                                        for a rerun of the same logical date)
#   infra/local/airflow-cluster.sh tasks DAG_ID RUN_ID   the run's task instances, one JSON line each
#                                                        (state, start, end, duration)
#
# Everything is local to this machine:
#   - metadata database `airflow` on the local PostgreSQL of infra/local/postgres.sh (started if
#     needed; the database is created once, owned by the throwaway role kho);
#   - the api-server listens on 127.0.0.1:$KHO_AIRFLOW_PORT (18088) only; the per-process log
#     servers (which would bind to all interfaces) are switched off: with LocalExecutor the task
#     logs are local files the api-server reads directly;
#   - authentication stays on (SimpleAuthManager): Airflow generates the password of the user
#     `admin` into $AIRFLOW_HOME/simple_auth_manager_passwords.json.generated (made 0600), and
#     `trigger` / `wait` exchange it for a JWT at /auth/token. "All admins" mode (no auth at
#     all) is deliberately not used: any local user could then drive the API;
#   - AIRFLOW_HOME = <repo>/.cache/servers/airflow (git-ignored): airflow.cfg, secrets.env (JWT,
#     API and Fernet keys, generated once, 0600), logs/ (task and dag-processor logs), one
#     <component>.log per process, run/ (pid files).
# The DAGs folder is the repo's dags/ unless AIRFLOW__CORE__DAGS_FOLDER is set (tests use a
# throwaway folder); it is fixed for as long as the cluster runs.
#
# Environment: KHO_AIRFLOW_PORT (18088), AIRFLOW__CORE__PARALLELISM (4), AIRFLOW__CORE__DAGS_FOLDER,
#              KHO_PG_PORT (54329), KHO_PYTHON (<repo>/.venv/bin/python),
#              KHO_AIRFLOW_WAIT_TIMEOUT (600 s, for `wait`), KHO_SERVER_TIMEOUT (60 s; start uses
#              twice that for the first health check).
set -euo pipefail

KHO_LOG_TAG=airflow
# shellcheck source=infra/local/_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

API_PORT="${KHO_AIRFLOW_PORT:-18088}"
check_port "$API_PORT" KHO_AIRFLOW_PORT
PG_PORT="${KHO_PG_PORT:-54329}"
check_port "$PG_PORT" KHO_PG_PORT
API_URL="http://127.0.0.1:$API_PORT"
PYTHON="${KHO_PYTHON:-$KHO_REPO_ROOT/.venv/bin/python}"
AIRFLOW_BIN="$(dirname "$PYTHON")/airflow"
WAIT_TIMEOUT="${KHO_AIRFLOW_WAIT_TIMEOUT:-600}"

BASE="$KHO_REPO_ROOT/.cache/servers/airflow"
RUN_DIR="$BASE/run"
SECRETS_FILE="$BASE/secrets.env"
PASSWORDS_FILE="$BASE/simple_auth_manager_passwords.json.generated"
DAGS_FOLDER_FILE="$RUN_DIR/dags_folder"
COMPONENTS=(scheduler dag-processor triggerer api-server)
KHO_FORKSERVER_PRELOAD=airflow,airflow.executors.local_executor,kho.airflow_preload

need_airflow() {
    [ -x "$PYTHON" ] || die "no Python at $PYTHON: create the venv with 'make install' (or set KHO_PYTHON)"
    [ -x "$AIRFLOW_BIN" ] || die "airflow is not installed next to $PYTHON: run 'make install'"
}

# The environment every Airflow process of this cluster gets (components and CLI calls).
airflow_env() {
    export AIRFLOW_HOME="$BASE"
    export AIRFLOW__CORE__DAGS_FOLDER="${AIRFLOW__CORE__DAGS_FOLDER:-$KHO_REPO_ROOT/dags}"
    export AIRFLOW__CORE__LOAD_EXAMPLES=False
    export AIRFLOW__CORE__EXECUTOR=LocalExecutor
    export AIRFLOW__CORE__PARALLELISM="${AIRFLOW__CORE__PARALLELISM:-4}"
    export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql+psycopg2://kho:kho@127.0.0.1:$PG_PORT/airflow"
    # Airflow 3.3 derives an async URL (postgresql+asyncpg) from the one above, but asyncpg is
    # not in requirements.lock. Empty = no async engine: scheduling, the REST API and the task
    # execution API work; only async-only features (the streaming dagRuns/{id}/wait endpoint,
    # the task state store, multi-team) need asyncpg. Set this variable to use them.
    export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC="${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC:-}"
    export AIRFLOW__API__HOST=127.0.0.1
    export AIRFLOW__API__PORT="$API_PORT"
    export AIRFLOW__API__WORKERS=1
    export AIRFLOW__API__BASE_URL="$API_URL"
    export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="$API_URL/execution/"
    export AIRFLOW__CORE__AUTH_MANAGER=airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager
    export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=admin:admin
    export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=False
    export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$PASSWORDS_FILE"
    # New DAG files show up within 30 s instead of the default 5 min.
    export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="${AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL:-30}"
    # Tasks are forked from executor workers, which come from a forkserver that imported
    # Great Expectations once (kho/airflow_preload.py): no task pays GX's 4-6 s import.
    export AIRFLOW__SCHEDULER__MP_START_METHOD="${AIRFLOW__SCHEDULER__MP_START_METHOD:-forkserver}"
    export AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD="${AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD:-$KHO_FORKSERVER_PRELOAD}"
    export PYSPARK_PYTHON="$PYTHON" SPARK_LOCAL_IP=127.0.0.1
    load_secrets
}

# JWT/API/Fernet keys: generated once (0600), the same for every component.
ensure_secrets() {
    mkdir -p "$BASE"
    chmod 0700 "$BASE"
    [ -s "$SECRETS_FILE" ] && { chmod 0600 "$SECRETS_FILE"; return 0; }
    (
        umask 077
        "$PYTHON" - >"$SECRETS_FILE.tmp" <<'EOF'
import secrets
from cryptography.fernet import Fernet
print("# Generated once by infra/local/airflow-cluster.sh; never commit. Delete to rotate.")
print(f"AIRFLOW__API_AUTH__JWT_SECRET={secrets.token_urlsafe(48)}")
print(f"AIRFLOW__API__SECRET_KEY={secrets.token_urlsafe(48)}")
print(f"AIRFLOW__CORE__FERNET_KEY={Fernet.generate_key().decode()}")
EOF
    ) || die "could not generate $SECRETS_FILE"
    mv "$SECRETS_FILE.tmp" "$SECRETS_FILE"
    log "generated keys in $SECRETS_FILE (mode 0600)"
}

load_secrets() {
    [ -s "$SECRETS_FILE" ] || return 0
    local line
    while IFS= read -r line; do
        case "$line" in AIRFLOW__*=*) export "${line?}";; esac
    done <"$SECRETS_FILE"
}

pid_file() { printf '%s/%s.pid\n' "$RUN_DIR" "$1"; }
log_file() { printf '%s/%s.log\n' "$BASE" "$1"; }

component_pid() {
    local pid
    pid="$(cat "$(pid_file "$1")" 2>/dev/null || true)"
    case "$pid" in ''|*[!0-9]*) return 1;; esac
    kill -0 "$pid" 2>/dev/null || return 1
    # Guard against a recycled pid: an airflow process of this component.
    # (The api-server renames itself to "airflow api_server -- host:...".)
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qE "airflow.* ${1//-/[-_]}( |$)" || return 1
    printf '%s\n' "$pid"
}

launch() {
    local name="$1"; shift
    local pidf; pidf="$(pid_file "$name")"
    rm -f "$pidf"
    # shellcheck disable=SC2016  # $$ and $1 are expanded by the inner sh
    setsid -f sh -c 'echo $$ >"$1"; shift; exec "$@"' _ "$pidf" "$AIRFLOW_BIN" "$name" "$@" \
        </dev/null >>"$(log_file "$name")" 2>&1 || die "could not launch airflow $name"
    local deadline=$((SECONDS + 10))
    until [ -s "$pidf" ]; do
        [ "$SECONDS" -lt "$deadline" ] || die "airflow $name wrote no pid file within 10s (log: $(log_file "$name"))"
        sleep 0.1
    done
}

find_psql() {
    local d
    if [ -n "${KHO_PG_BIN:-}" ] && [ -x "$KHO_PG_BIN/psql" ]; then echo "$KHO_PG_BIN/psql"; return 0; fi
    d="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
    if [ -x "$d/psql" ]; then echo "$d/psql"; return 0; fi
    command -v psql 2>/dev/null || return 1
}

ensure_database() {
    bash "$KHO_LOCAL_DIR/postgres.sh" start >/dev/null \
        || die "the local PostgreSQL did not start (see above; 'bash infra/local/postgres.sh install' first if it is missing)"
    local psql
    psql="$(find_psql)" || die "psql not found: run 'bash infra/local/postgres.sh install'"
    # Trust auth on loopback (postgres.sh); the database belongs to the throwaway role kho.
    "$psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres >/dev/null <<'EOF' \
        || die "could not create database airflow on 127.0.0.1:$PG_PORT"
SELECT 'CREATE DATABASE airflow OWNER kho ENCODING ''UTF8'' TEMPLATE template0'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'airflow')
\gexec
EOF
}

# health_ok: every component the health endpoint reports is healthy.
health_ok() {
    local body
    body="$(curl -sf --max-time 3 "$API_URL/api/v2/monitor/health" 2>/dev/null)" || return 1
    printf '%s' "$body" | "$PYTHON" -c '
import json, sys
h = json.load(sys.stdin)
parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
sys.exit(0 if all((h.get(p) or {}).get("status") == "healthy" for p in parts) else 1)' 2>/dev/null
}

wait_healthy() {
    local deadline=$((SECONDS + 2 * KHO_SERVER_TIMEOUT)) c
    until health_ok; do
        for c in "${COMPONENTS[@]}"; do
            if ! component_pid "$c" >/dev/null; then
                show_log_tail "$(log_file "$c")"
                die "airflow $c exited during startup (log above: $(log_file "$c"))"
            fi
        done
        if [ "$SECONDS" -ge "$deadline" ]; then
            curl -s --max-time 3 "$API_URL/api/v2/monitor/health" >&2 || true
            echo >&2
            die "$API_URL/api/v2/monitor/health not all healthy after $((2 * KHO_SERVER_TIMEOUT))s (logs: $BASE/*.log)"
        fi
        sleep 1
    done
}

cmd_start() {
    need_airflow
    mkdir -p "$BASE" "$RUN_DIR"
    chmod 0700 "$BASE" "$RUN_DIR"
    ensure_secrets
    airflow_env
    local want_dags="$AIRFLOW__CORE__DAGS_FOLDER" running=() c pid
    [ -d "$want_dags" ] || die "DAGs folder $want_dags does not exist"
    for c in "${COMPONENTS[@]}"; do
        if component_pid "$c" >/dev/null; then running+=("$c"); fi
    done
    if [ "${#running[@]}" -gt 0 ]; then
        local cur_dags; cur_dags="$(cat "$DAGS_FOLDER_FILE" 2>/dev/null || true)"
        if [ -n "$cur_dags" ] && [ "$cur_dags" != "$want_dags" ]; then
            die "already running with DAGs folder $cur_dags, not $want_dags: run 'bash infra/local/airflow-cluster.sh stop' first"
        fi
        want_dags="${cur_dags:-$want_dags}"
        export AIRFLOW__CORE__DAGS_FOLDER="$want_dags"
    elif port_in_use "$API_PORT"; then
        die "port 127.0.0.1:$API_PORT is in use by another process; stop it or set KHO_AIRFLOW_PORT"
    fi
    ensure_database
    if [ "${#running[@]}" -lt "${#COMPONENTS[@]}" ]; then
        log "airflow db migrate (PostgreSQL 127.0.0.1:$PG_PORT/airflow)"
        if ! "$AIRFLOW_BIN" db migrate >"$BASE/db-migrate.log" 2>&1; then
            tail -n 25 "$BASE/db-migrate.log" >&2
            die "airflow db migrate failed (log: $BASE/db-migrate.log)"
        fi
    fi
    # One single-slot pool per table a DAG writes (one writer per Delta table); without them
    # the scheduler never queues the tasks that name them. Idempotent (import upserts).
    "$PYTHON" -m kho.airflow_runner pools >"$RUN_DIR/pools.json" \
        || die "could not list the pools of the source registry (python -m kho.airflow_runner pools)"
    "$AIRFLOW_BIN" pools import "$RUN_DIR/pools.json" >"$BASE/pools-import.log" 2>&1 \
        || { tail -n 25 "$BASE/pools-import.log" >&2; die "airflow pools import failed (log: $BASE/pools-import.log)"; }
    log "declared $(grep -c '"slots"' "$RUN_DIR/pools.json") pools"
    printf '%s\n' "$want_dags" >"$DAGS_FOLDER_FILE"
    local started=()
    for c in "${COMPONENTS[@]}"; do
        if pid="$(component_pid "$c")"; then
            log "$c already running (pid $pid)"
            continue
        fi
        case "$c" in
            scheduler|triggerer) launch "$c" --skip-serve-logs ;;
            *) launch "$c" ;;
        esac
        started+=("$c")
    done
    if [ "${#started[@]}" -gt 0 ]; then
        log "started ${started[*]} (DAGs $want_dags, logs $BASE); waiting for $API_URL/api/v2/monitor/health"
    fi
    wait_healthy
    [ ! -f "$PASSWORDS_FILE" ] || chmod 0600 "$PASSWORDS_FILE"
    log "ready: $API_URL (user admin, password in $PASSWORDS_FILE)"
    printf '%s\n' "$API_URL"
}

# wait_group NAME PGID: wait (bounded) until the process group is gone, then SIGKILL it.
wait_group() {
    local name="$1" pgid="$2"
    # The whole group: LocalExecutor workers and dag-processor children included.
    wait_group_exit "$name" "$pgid"
    rm -f "$(pid_file "$name")"
    log "$name stopped"
}

cmd_stop() {
    local c pid names=() pids=() i
    for c in "${COMPONENTS[@]}"; do
        if pid="$(component_pid "$c")"; then names+=("$c"); pids+=("$pid"); else rm -f "$(pid_file "$c")"; fi
    done
    if [ "${#names[@]}" -eq 0 ]; then
        rm -f "$DAGS_FOLDER_FILE"
        log "not running"
        return 0
    fi
    # Signal every group first (each shutdown takes seconds), then wait for each.
    for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    for i in "${!names[@]}"; do wait_group "${names[$i]}" "${pids[$i]}"; done
    rm -f "$DAGS_FOLDER_FILE"
}

cmd_status() {
    local c pid rc=0
    for c in "${COMPONENTS[@]}"; do
        if pid="$(component_pid "$c")"; then
            log "$c running (pid $pid)"
        else
            log "$c not running"
            rc=3
        fi
    done
    if [ "$rc" -eq 0 ]; then
        if health_ok; then log "healthy: $API_URL (DAGs $(cat "$DAGS_FOLDER_FILE" 2>/dev/null))"
        else log "running but not healthy: see $API_URL/api/v2/monitor/health"; rc=3; fi
    fi
    exit "$rc"
}

# --- REST API client (trigger / wait) ------------------------------------------------------

CURL_AUTH=""
API_STATUS=""
API_BODY=""

api_login() {
    [ -s "$PASSWORDS_FILE" ] || die "no $PASSWORDS_FILE: start the cluster first ('bash infra/local/airflow-cluster.sh start')"
    CURL_AUTH="$RUN_DIR/api.curlrc"
    local token
    # The password goes to curl on stdin and the token into a 0600 curl config file:
    # neither appears on a command line.
    token="$("$PYTHON" -c '
import json, sys
print(json.dumps({"username": "admin", "password": json.load(open(sys.argv[1]))["admin"]}))' "$PASSWORDS_FILE" \
        | curl -sS --max-time 15 -X POST -H 'Content-Type: application/json' --data-binary @- \
            "$API_URL/auth/token" \
        | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')" \
        || die "could not get a JWT from $API_URL/auth/token (is the cluster running? 'bash infra/local/airflow-cluster.sh status')"
    ( umask 077; printf 'header = "Authorization: Bearer %s"\n' "$token" >"$CURL_AUTH" )
}

# api METHOD PATH [JSON_BODY]: sets API_STATUS (HTTP code) and API_BODY (response body).
# (Not to be called in $(...): the variables must land in this shell.)
api() {
    local method="$1" path="$2" body="${3:-}" out="$RUN_DIR/api.out"
    [ -n "$CURL_AUTH" ] || api_login
    if [ -n "$body" ]; then
        API_STATUS="$(printf '%s' "$body" | curl -sS --max-time 30 -K "$CURL_AUTH" -X "$method" \
            -H 'Content-Type: application/json' --data-binary @- -o "$out" -w '%{http_code}' "$API_URL$path")" \
            || API_STATUS=000
    else
        API_STATUS="$(curl -sS --max-time 30 -K "$CURL_AUTH" -X "$method" -o "$out" -w '%{http_code}' \
            "$API_URL$path")" || API_STATUS=000
    fi
    API_BODY="$(cat "$out" 2>/dev/null || true)"
    rm -f "$out"
}

json_field() { "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

cmd_trigger() {
    local dag_id="${1:-}" date="${2:-}"
    if [ -z "$dag_id" ] || [ -z "$date" ]; then
        die "usage: $0 trigger DAG_ID DATE (DATE: YYYY-MM-DD or ISO 8601 with time zone)"
    fi
    need_airflow
    case "$dag_id" in *[!A-Za-z0-9_.-]*) die "invalid DAG id '$dag_id'";; esac
    local logical
    logical="$("$PYTHON" -c '
import sys
from datetime import datetime, timezone
s = sys.argv[1]
d = datetime.fromisoformat(s.replace("Z", "+00:00"))
if d.tzinfo is None:
    d = d.replace(tzinfo=timezone.utc)
print(d.isoformat())' "$date" 2>/dev/null)" || die "DATE '$date' is not YYYY-MM-DD or ISO 8601"
    api_login
    # A DAG file is visible to the API once the dag-processor has parsed it (bounded wait).
    local deadline=$((SECONDS + 2 * KHO_SERVER_TIMEOUT))
    while :; do
        api GET "/api/v2/dags/$dag_id"
        [ "$API_STATUS" = 200 ] && break
        if [ "$API_STATUS" != 404 ] || [ "$SECONDS" -ge "$deadline" ]; then
            printf '%s\n' "$API_BODY" >&2
            die "DAG $dag_id not available through the API (HTTP $API_STATUS); check 'airflow dags list-import-errors' and $BASE/dag-processor.log"
        fi
        sleep 2
    done
    api PATCH "/api/v2/dags/$dag_id" '{"is_paused": false}'
    [ "$API_STATUS" = 200 ] || { printf '%s\n' "$API_BODY" >&2; die "could not unpause $dag_id (HTTP $API_STATUS)"; }
    api POST "/api/v2/dags/$dag_id/dagRuns" "{\"logical_date\": \"$logical\", \"conf\": {}}"
    case "$API_STATUS" in
        200|201) ;;
        409) printf '%s\n' "$API_BODY" >&2; die "a run of $dag_id for $logical already exists (HTTP 409)" ;;
        *)   printf '%s\n' "$API_BODY" >&2; die "triggering $dag_id failed (HTTP $API_STATUS)" ;;
    esac
    local run_id
    run_id="$(printf '%s' "$API_BODY" | json_field dag_run_id)"
    log "triggered $dag_id for $logical: run $run_id"
    printf '%s\n' "$run_id"
}

cmd_wait() {
    local run_id="${1:-}"
    [ -n "$run_id" ] || die "usage: $0 wait RUN_ID"
    need_airflow
    api_login
    local deadline=$((SECONDS + WAIT_TIMEOUT)) state="" last=""
    local q
    q="$("$PYTHON" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$run_id")"
    while :; do
        # run_id_pattern is a LIKE pattern: select the exact run id from the answer.
        api GET "/api/v2/dags/~/dagRuns?run_id_pattern=$q&limit=100"
        if [ "$API_STATUS" = 401 ]; then api_login; continue; fi
        [ "$API_STATUS" = 200 ] || { printf '%s\n' "$API_BODY" >&2; die "listing runs failed (HTTP $API_STATUS)"; }
        state="$(printf '%s' "$API_BODY" | "$PYTHON" -c '
import json, sys
runs = [r for r in json.load(sys.stdin)["dag_runs"] if r["dag_run_id"] == sys.argv[1]]
print(runs[0]["dag_id"], runs[0]["state"]) if runs else print("")' "$run_id")"
        [ -n "$state" ] || die "no DAG run with id $run_id"
        if [ "$state" != "$last" ]; then log "run $run_id: ${state#* }"; last="$state"; fi
        case "${state#* }" in
            queued|running) ;;
            success) printf '%s\n' "success"; return 0 ;;
            *) printf '%s\n' "${state#* }"
               die "run $run_id of ${state%% *} ended in state ${state#* } (task logs: $BASE/logs/dag_id=${state%% *})" ;;
        esac
        if [ "$SECONDS" -ge "$deadline" ]; then
            die "run $run_id still ${state#* } after ${WAIT_TIMEOUT}s (set KHO_AIRFLOW_WAIT_TIMEOUT to wait longer)"
        fi
        sleep 2
    done
}

# delete-runs DAG_ID: forget every run of DAG_ID (and its task instances) through the REST
# API, so a rerun for the same logical date starts from a clean history (tests, demos).
cmd_delete_runs() {
    local dag_id="${1:-}"
    [ -n "$dag_id" ] || die "usage: $0 delete-runs DAG_ID"
    case "$dag_id" in *[!A-Za-z0-9_.-]*) die "invalid DAG id '$dag_id'";; esac
    need_airflow
    api_login
    api GET "/api/v2/dags/$dag_id/dagRuns?limit=100"
    case "$API_STATUS" in
        200) ;;
        404) log "no DAG $dag_id in the metadata database: no runs to delete"; return 0 ;;
        *)   printf '%s\n' "$API_BODY" >&2; die "listing the runs of $dag_id failed (HTTP $API_STATUS)" ;;
    esac
    local ids id q n=0
    ids="$(printf '%s' "$API_BODY" | "$PYTHON" -c '
import json, sys, urllib.parse
for r in json.load(sys.stdin)["dag_runs"]:
    print(urllib.parse.quote(r["dag_run_id"], safe=""))')"
    for q in $ids; do
        api DELETE "/api/v2/dags/$dag_id/dagRuns/$q"
        [ "$API_STATUS" = 204 ] || { printf '%s\n' "$API_BODY" >&2; die "deleting run $q of $dag_id failed (HTTP $API_STATUS)"; }
        n=$((n + 1))
    done
    log "deleted $n run(s) of $dag_id"
}

# tasks DAG_ID RUN_ID: the run's task instances as JSON lines (task_id, map_index, state,
# start_date, end_date, duration in seconds, try_number), for reports and benchmarks.
cmd_tasks() {
    local dag_id="${1:-}" run_id="${2:-}"
    [ -n "$dag_id" ] && [ -n "$run_id" ] || die "usage: $0 tasks DAG_ID RUN_ID"
    case "$dag_id" in *[!A-Za-z0-9_.-]*) die "invalid DAG id '$dag_id'";; esac
    need_airflow
    api_login
    local q
    q="$("$PYTHON" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$run_id")"
    api GET "/api/v2/dags/$dag_id/dagRuns/$q/taskInstances?limit=1000"
    [ "$API_STATUS" = 200 ] || { printf '%s\n' "$API_BODY" >&2; die "listing the tasks of run $run_id failed (HTTP $API_STATUS)"; }
    printf '%s' "$API_BODY" | "$PYTHON" -c '
import json, sys
keys = ("task_id", "map_index", "state", "start_date", "end_date", "duration", "try_number")
for ti in json.load(sys.stdin)["task_instances"]:
    print(json.dumps({k: ti.get(k) for k in keys}))'
}

case "${1:-}" in
    start)   cmd_start ;;
    stop)    cmd_stop ;;
    status)  cmd_status ;;
    trigger) shift; cmd_trigger "$@" ;;
    wait)    shift; cmd_wait "$@" ;;
    delete-runs) shift; cmd_delete_runs "$@" ;;
    tasks)   shift; cmd_tasks "$@" ;;
    *)
        echo "usage: $0 {start|stop|status|trigger DAG_ID DATE|wait RUN_ID|delete-runs DAG_ID|tasks DAG_ID RUN_ID}" >&2
        exit 2 ;;
esac
