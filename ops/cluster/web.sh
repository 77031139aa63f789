#!/usr/bin/env bash
# Web node n of `make cluster` (started by supervisord): gunicorn on
# 127.0.0.1:$((CLUSTER_WEB_BASE_PORT + n)), behind the cluster's nginx.
set -euo pipefail
n=${1:?node number}
port=$((${CLUSTER_WEB_BASE_PORT:-5100} + n))
exec .venv/bin/gunicorn --bind "127.0.0.1:$port" --workers "${WEB_CONCURRENCY:-2}" \
  --access-logfile - --no-control-socket wsgi:app
