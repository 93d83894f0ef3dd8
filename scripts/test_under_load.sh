#!/usr/bin/env bash
# `make test-under-load`: the whole `make test` (lint, types, pytest) with two CPU-bound
# processes running beside it, as on a CI machine shared with other work. The burners are
# stopped by their PIDs when this script exits, however it exits. Prints the wall time.
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
[ -x "$PY" ] || PY="$(command -v python3)"

"$PY" -c 'while True: pass' &
BURNER_1=$!
"$PY" -c 'while True: pass' &
BURNER_2=$!
stop_burners() {
    kill "$BURNER_1" "$BURNER_2" 2>/dev/null
    wait "$BURNER_1" "$BURNER_2" 2>/dev/null
}
trap stop_burners EXIT
trap 'exit 130' INT TERM
echo "test-under-load: CPU burners running (pids $BURNER_1 $BURNER_2)"

START=$(date +%s)
"${MAKE:-make}" test
STATUS=$?
echo "test-under-load: exit $STATUS, wall time $(( $(date +%s) - START )) s," \
    "beside two CPU-bound processes"
exit "$STATUS"
