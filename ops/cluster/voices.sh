#!/usr/bin/env bash
# Node n of the voice pool of `make cluster` (started by supervisord): gunicorn on
# 127.0.0.1:$((CLUSTER_VOICE_BASE_PORT + n)), behind the cluster's nginx, which sends it
# only "add my voice" (POST /p/<public id>/support). It runs at a lower CPU priority
# (VOICE_NICE): under a viral petition its workers take what the web nodes leave idle,
# so citizens' submissions keep their pace; with nothing else to do they take it all.
set -euo pipefail
n=${1:?node number}
port=$((${CLUSTER_VOICE_BASE_PORT:-5150} + n))
exec nice -n "${VOICE_NICE:-10}" .venv/bin/gunicorn --bind "127.0.0.1:$port" --workers "${VOICE_CONCURRENCY:-2}" \
  --access-logfile - --no-control-socket wsgi:app
