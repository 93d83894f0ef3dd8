#!/usr/bin/env bash
# Runs "$@" with SPUTNIK_TEST_REDIS_URL pointing at a Redis that answers.
# (Minimal version: the stores work makes this start or install a server when none answers.)
set -euo pipefail
export SPUTNIK_TEST_REDIS_URL="${SPUTNIK_TEST_REDIS_URL:-redis://127.0.0.1:6379/15}"
exec "$@"
