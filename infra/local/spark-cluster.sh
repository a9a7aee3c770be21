#!/usr/bin/env bash
# Local Spark standalone cluster (one master, two workers) for Kho's cluster profile.
#
#   infra/local/spark-cluster.sh start    start master + workers, wait until all workers are ALIVE;
#                                         prints the master URL (spark://127.0.0.1:17077) on stdout
#   infra/local/spark-cluster.sh stop     stop workers and master (SIGTERM to each process group)
#   infra/local/spark-cluster.sh status   one line per process; exit 0 if all run, 3 if not
#
# Spark comes from the project's venv (the pyspark wheel ships a full Spark:
# SPARK_HOME = the pyspark package folder); Java 17 or 21 from PATH/JAVA_HOME.
# Every daemon is a separate process started with setsid (its own process
# group), bound to 127.0.0.1. State lives in <repo>/.cache/servers/spark
# (git-ignored): logs/ (one log per daemon), run/ (pid files), work/ (executor
# working dirs and their stdout/stderr), local/ (shuffle scratch).
#
# Environment: KHO_SPARK_MASTER_PORT (17077), KHO_SPARK_UI_PORT (18080; workers
#              use the next ports), KHO_SPARK_WORKERS (2), KHO_SPARK_WORKER_CORES (1),
#              KHO_SPARK_WORKER_MEMORY (2g), KHO_PYTHON (<repo>/.venv/bin/python),
#              KHO_SERVER_TIMEOUT (60 s).
set -euo pipefail

KHO_LOG_TAG=spark
# shellcheck source=infra/local/_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

MASTER_PORT="${KHO_SPARK_MASTER_PORT:-17077}"
UI_PORT="${KHO_SPARK_UI_PORT:-18080}"
N_WORKERS="${KHO_SPARK_WORKERS:-2}"
WORKER_CORES="${KHO_SPARK_WORKER_CORES:-1}"
WORKER_MEMORY="${KHO_SPARK_WORKER_MEMORY:-2g}"
check_port "$MASTER_PORT" KHO_SPARK_MASTER_PORT
check_port "$UI_PORT" KHO_SPARK_UI_PORT
case "$N_WORKERS" in ''|*[!0-9]*|0) die "KHO_SPARK_WORKERS must be a positive number";; esac
MASTER_URL="spark://127.0.0.1:$MASTER_PORT"
UI_URL="http://127.0.0.1:$UI_PORT"
PYTHON="${KHO_PYTHON:-$KHO_REPO_ROOT/.venv/bin/python}"

BASE="$KHO_REPO_ROOT/.cache/servers/spark"
LOG_DIR="$BASE/logs"
RUN_DIR="$BASE/run"
WORK_DIR="$BASE/work"
LOCAL_DIR="$BASE/local"

DAEMONS=(master)
for i in $(seq 1 "$N_WORKERS"); do DAEMONS+=("worker$i"); done

find_spark_home() {
    [ -x "$PYTHON" ] || die "no Python at $PYTHON: create the venv with 'make install' (or set KHO_PYTHON)"
    SPARK_HOME="$("$PYTHON" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))' 2>/dev/null)" \
        || die "pyspark is not installed in $PYTHON: run 'make install'"
    [ -x "$SPARK_HOME/bin/spark-class" ] || die "$SPARK_HOME/bin/spark-class not found (broken pyspark install?)"
    export SPARK_HOME
}

check_java() {
    local java=java out major
    if [ -n "${JAVA_HOME:-}" ]; then java="$JAVA_HOME/bin/java"; fi
    command -v "$java" >/dev/null 2>&1 \
        || die "Java not found: install Java 17 ('apt-get install -y openjdk-17-jre-headless') or set JAVA_HOME"
    out="$("$java" -version 2>&1 | head -n 1)"
    major="$(printf '%s\n' "$out" | sed -n 's/.*version "\([0-9]*\).*/\1/p')"
    case "$major" in
        17|21) ;;
        *) die "Spark 4.2 needs Java 17 or 21, found: $out ('apt-get install -y openjdk-17-jre-headless' or set JAVA_HOME)" ;;
    esac
}

pid_file() { printf '%s/%s.pid\n' "$RUN_DIR" "$1"; }
log_file() { printf '%s/%s.log\n' "$LOG_DIR" "$1"; }

daemon_pid() {
    local pid
    pid="$(cat "$(pid_file "$1")" 2>/dev/null || true)"
    case "$pid" in ''|*[!0-9]*) return 1;; esac
    kill -0 "$pid" 2>/dev/null || return 1
    # Guard against a recycled pid: a JVM running the right Spark class.
    local want=org.apache.spark.deploy.master.Master
    [ "$1" = master ] || want=org.apache.spark.deploy.worker.Worker
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$want" || return 1
    printf '%s\n' "$pid"
}

# launch NAME ARGS...: run spark-class ARGS in a new session; pid (= pgid) to run/NAME.pid.
launch() {
    local name="$1"; shift
    local pidf; pidf="$(pid_file "$name")"
    rm -f "$pidf"
    # shellcheck disable=SC2016  # $$ and $1 are expanded by the inner sh
    setsid -f sh -c 'echo $$ >"$1"; shift; exec "$@"' _ "$pidf" \
        "$SPARK_HOME/bin/spark-class" "$@" </dev/null >>"$(log_file "$name")" 2>&1 \
        || die "could not launch $name"
    local deadline=$((SECONDS + 10))
    until [ -s "$pidf" ]; do
        [ "$SECONDS" -lt "$deadline" ] || die "$name wrote no pid file within 10s (log: $(log_file "$name"))"
        sleep 0.1
    done
}

# Number of ALIVE workers the master reports (0 when it does not answer yet).
alive_workers() {
    local body
    body="$(curl -sfL --max-time 3 "$UI_URL/json/" 2>/dev/null)" || { echo 0; return 0; }
    printf '%s' "$body" | "$PYTHON" -c '
import json, sys
try:
    print(sum(1 for w in json.load(sys.stdin).get("workers", []) if w.get("state") == "ALIVE"))
except ValueError:
    print(0)' 2>/dev/null || echo 0
}

wait_workers() {
    local deadline=$((SECONDS + KHO_SERVER_TIMEOUT)) n=0 d
    while :; do
        n="$(alive_workers)"
        [ "$n" -ge "$N_WORKERS" ] && return 0
        for d in "${DAEMONS[@]}"; do
            if ! daemon_pid "$d" >/dev/null; then
                show_log_tail "$(log_file "$d")"
                die "$d exited during startup (log above: $(log_file "$d"))"
            fi
        done
        if [ "$SECONDS" -ge "$deadline" ]; then
            show_log_tail "$(log_file master)"
            die "master at $UI_URL/json lists $n ALIVE workers, not $N_WORKERS, after ${KHO_SERVER_TIMEOUT}s (logs: $LOG_DIR)"
        fi
        sleep 0.5
    done
}

cmd_start() {
    check_java
    find_spark_home
    mkdir -p "$LOG_DIR" "$RUN_DIR" "$WORK_DIR" "$LOCAL_DIR"
    export SPARK_LOCAL_IP=127.0.0.1 SPARK_LOCAL_HOSTNAME=127.0.0.1
    export SPARK_LOG_DIR="$LOG_DIR" SPARK_PID_DIR="$RUN_DIR" SPARK_LOCAL_DIRS="$LOCAL_DIR"
    export SPARK_WORKER_DIR="$WORK_DIR" SPARK_DAEMON_MEMORY="${SPARK_DAEMON_MEMORY:-512m}"
    # No REST submission server (port 6066, unauthenticated): jobs go through spark://.
    export SPARK_MASTER_OPTS="${SPARK_MASTER_OPTS:-} -Dspark.master.rest.enabled=false"
    # Executors run the venv's Python; finished applications' work dirs are cleaned after a day.
    export PYSPARK_PYTHON="$PYTHON"
    export SPARK_WORKER_OPTS="${SPARK_WORKER_OPTS:-} -Dspark.worker.cleanup.enabled=true -Dspark.worker.cleanup.appDataTtl=86400"
    local pid started=()
    if pid="$(daemon_pid master)"; then
        log "master already running (pid $pid)"
    else
        local port
        for port in "$MASTER_PORT" "$UI_PORT"; do
            port_in_use "$port" && die "port 127.0.0.1:$port is in use by another process; stop it or set KHO_SPARK_MASTER_PORT / KHO_SPARK_UI_PORT"
        done
        launch master org.apache.spark.deploy.master.Master \
            --host 127.0.0.1 --port "$MASTER_PORT" --webui-port "$UI_PORT"
        started+=(master)
    fi
    # Workers register themselves and retry until the master is up, so no wait is needed here.
    local i name
    for i in $(seq 1 "$N_WORKERS"); do
        name="worker$i"
        if pid="$(daemon_pid "$name")"; then
            log "$name already running (pid $pid)"
            continue
        fi
        mkdir -p "$WORK_DIR/$name"
        launch "$name" org.apache.spark.deploy.worker.Worker "$MASTER_URL" \
            --host 127.0.0.1 --cores "$WORKER_CORES" --memory "$WORKER_MEMORY" \
            --webui-port "$((UI_PORT + i))" --work-dir "$WORK_DIR/$name"
        started+=("$name")
    done
    if [ "${#started[@]}" -gt 0 ]; then
        log "started ${started[*]} (logs $LOG_DIR); waiting for $N_WORKERS ALIVE workers at $UI_URL/json"
    fi
    wait_workers
    log "ready: $MASTER_URL with $N_WORKERS workers x $WORKER_CORES core / $WORKER_MEMORY (UI $UI_URL)"
    printf '%s\n' "$MASTER_URL"
}

stop_daemon() {
    local name="$1" pid
    if ! pid="$(daemon_pid "$name")"; then
        rm -f "$(pid_file "$name")"
        return 0
    fi
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    wait_group_exit "$name" "$pid"
    rm -f "$(pid_file "$name")"
    log "$name stopped"
}

cmd_stop() {
    local i any=0
    # Workers first (they would otherwise keep trying to reconnect), then the master.
    # Also stop workers beyond the current KHO_SPARK_WORKERS left by an earlier start.
    for f in "$RUN_DIR"/worker*.pid; do
        [ -e "$f" ] || continue
        any=1
        stop_daemon "$(basename "$f" .pid)"
    done
    if daemon_pid master >/dev/null; then any=1; fi
    stop_daemon master
    [ "$any" -eq 1 ] || log "not running"
    return 0
}

cmd_status() {
    local d pid rc=0
    for d in "${DAEMONS[@]}"; do
        if pid="$(daemon_pid "$d")"; then
            log "$d running (pid $pid)"
        else
            log "$d not running"
            rc=3
        fi
    done
    if [ "$rc" -eq 0 ]; then
        [ -x "$PYTHON" ] || { log "no Python at $PYTHON"; exit 3; }
        log "master $MASTER_URL: $(alive_workers) ALIVE workers (UI $UI_URL)"
    fi
    exit "$rc"
}

case "${1:-}" in
    start)  cmd_start ;;
    stop)   cmd_stop ;;
    status) cmd_status ;;
    url)    printf '%s\n' "$MASTER_URL" ;;
    *)
        echo "usage: $0 {start|stop|status|url}" >&2
        exit 2 ;;
esac
