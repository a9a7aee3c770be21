#!/usr/bin/env bash
# The whole local "cluster" profile for developers: PostgreSQL, MinIO, Spark standalone, Airflow.
#
#   infra/local/cluster.sh start    install what is missing (PostgreSQL via apt, MinIO built with
#                                   Go: minutes the first time) and start everything, in order
#   infra/local/cluster.sh stop     stop everything, in reverse order
#   infra/local/cluster.sh status   one line each; exit 0 only if all are running
#
# Output (stdout), one line per service:   <name>: <state> [<address>] [(<seconds>s)]
# Details and errors go to stderr. Exit status is non-zero if any service failed; start stops
# at the first failure (later services depend on earlier ones), stop and status try them all.
# Each service has its own script in this folder with more verbs and settings:
#   postgres.sh  minio.sh (also: env)  spark-cluster.sh  airflow-cluster.sh (also: trigger, wait)
# Clients of MinIO need its credentials: eval "$(bash infra/local/minio.sh env)".
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SERVICES=(postgres minio spark airflow)

usage() { echo "usage: $0 {start|stop|status}" >&2; exit 2; }

script_of() {
    case "$1" in
        postgres) echo "$HERE/postgres.sh" ;;
        minio)    echo "$HERE/minio.sh" ;;
        spark)    echo "$HERE/spark-cluster.sh" ;;
        airflow)  echo "$HERE/airflow-cluster.sh" ;;
    esac
}

has_install() { [ "$1" = postgres ] || [ "$1" = minio ]; }

verb="${1:-}"
case "$verb" in start|stop|status) ;; *) usage ;; esac

rc=0
case "$verb" in
    start)
        for name in "${SERVICES[@]}"; do
            script="$(script_of "$name")"
            t0=$SECONDS
            if has_install "$name" && ! bash "$script" install; then
                echo "$name: FAILED to install (see above; retry: bash $script install)"
                exit 1
            fi
            if addr="$(bash "$script" start)"; then
                addr="$(printf '%s' "$addr" | tail -n 1)"
                echo "$name: running ${addr:+$addr }($((SECONDS - t0))s)"
            else
                echo "$name: FAILED to start (see above; retry: bash $script start)"
                exit 1
            fi
        done
        ;;
    stop)
        for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
            name="${SERVICES[$i]}"
            script="$(script_of "$name")"
            if bash "$script" stop; then
                echo "$name: stopped"
            else
                echo "$name: FAILED to stop (see above)"
                rc=1
            fi
        done
        ;;
    status)
        for name in "${SERVICES[@]}"; do
            script="$(script_of "$name")"
            if bash "$script" status 2>/dev/null; then
                echo "$name: running"
            else
                echo "$name: not running (start: bash $HERE/cluster.sh start)"
                rc=3
            fi
        done
        ;;
esac
exit "$rc"
