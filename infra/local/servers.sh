#!/usr/bin/env bash
# Local database servers for Kho's integration tests (PostgreSQL + MariaDB).
#
#   infra/local/servers.sh start    install (if missing) and start both; one line each
#   infra/local/servers.sh stop     stop both
#   infra/local/servers.sh status   one line each; exit 0 only if both are running
#
# Output (stdout), one line per server:   <name>: <state> [<dsn>]
# Details and errors go to stderr. Exit status is non-zero if any server failed;
# the other server is still attempted.
# Environment: KHO_PG_PORT, KHO_MYSQL_PORT, KHO_SERVER_TIMEOUT (see the scripts).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SERVERS=(postgres mariadb)

usage() { echo "usage: $0 {start|stop|status}" >&2; exit 2; }

verb="${1:-}"
case "$verb" in start|stop|status) ;; *) usage ;; esac

rc=0
for name in "${SERVERS[@]}"; do
    script="$HERE/$name.sh"
    case "$verb" in
        start)
            t0=$SECONDS
            if ! bash "$script" install; then
                echo "$name: FAILED to install (see above; as root run: bash $script install)"
                rc=1; continue
            fi
            if dsn="$(bash "$script" start)"; then
                echo "$name: running $dsn ($((SECONDS - t0))s)"
            else
                echo "$name: FAILED to start (see above; retry: bash $script start)"
                rc=1
            fi
            ;;
        stop)
            if bash "$script" stop; then
                echo "$name: stopped"
            else
                echo "$name: FAILED to stop (see above)"
                rc=1
            fi
            ;;
        status)
            if bash "$script" status 2>/dev/null; then
                echo "$name: running $(bash "$script" dsn)"
            else
                echo "$name: not running (start: bash $HERE/servers.sh start)"
                rc=3
            fi
            ;;
    esac
done
exit "$rc"
