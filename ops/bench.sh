#!/usr/bin/env bash
# `make bench`: run the benchmarks on a private PostgreSQL and Redis kept in
# bench/.cache (so the prepared national data is reused between runs).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { apt-get install -y -qq wrk >/dev/null; }
source ops/services.sh
# The benchmarks' portal runs as in development: its development secret key will do.
export PORTAL_ENV=${PORTAL_ENV:-development}
embedded_init bench/.cache/instance
trap 'embedded_redis_stop; embedded_pg_stop' EXIT INT TERM
embedded_pg_start
embedded_redis_start
.venv/bin/python -m bench "$@"
