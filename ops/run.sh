#!/usr/bin/env bash
# `make run`: install what is missing, start the embedded PostgreSQL and
# Redis unless DATABASE_URL / REDIS_URL are given, migrate, load the
# synthetic national geography once, start an RQ worker and serve the portal
# on http://127.0.0.1:$PORT until Ctrl-C, which stops all it started.
set -euo pipefail
cd "$(dirname "$0")/.."
ops/bootstrap.sh
source ops/services.sh

PORT=${PORT:-5000}
export FLASK_APP=wsgi
children=()
stop_all() {
  trap - EXIT INT TERM
  echo; echo "Stopping the portal…"
  for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${children[@]}"; do wait "$pid" 2>/dev/null || true; done
  embedded_redis_stop
  embedded_pg_stop
}
trap stop_all EXIT INT TERM

demo=0
if [ -z "${DATABASE_URL:-}" ] || [ -z "${REDIS_URL:-}" ]; then
  embedded_init "${INSTANCE_PATH:-instance}"
  [ -z "${DATABASE_URL:-}" ] && { embedded_pg_start; demo=1; }
  [ -z "${REDIS_URL:-}" ] && embedded_redis_start
fi

# The portal refuses to start without a secret key: when none is given, make
# one once, random and private, in the instance folder (app/config.py reads it).
if [ -z "${SECRET_KEY:-}" ] && [ -z "${SECRET_KEY_FILE:-}" ]; then
  key_file="${INSTANCE_PATH:-instance}/secret_key"
  if [ ! -s "$key_file" ]; then
    mkdir -p "$(dirname "$key_file")"
    (umask 077 && .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(48))' >"$key_file.new")
    mv "$key_file.new" "$key_file"
    echo "Created a secret key in $key_file"
  fi
fi

.venv/bin/flask db upgrade
.venv/bin/flask geodata synth --if-empty
# Demo accounts only on the embedded default, never on a given database.
[ "$demo" = 1 ] && .venv/bin/flask officers demo

export STORAGE_ROOT=${STORAGE_ROOT:-$(realpath -m "${INSTANCE_PATH:-instance}")/storage}
.venv/bin/rq worker --url "$REDIS_URL" --with-scheduler default &
children+=($!)
# Hands over follow-up work that waited while Redis or the worker was down.
.venv/bin/flask jobs sweep --every 30 &
children+=($!)
echo "The portal is at http://127.0.0.1:$PORT (Ctrl-C stops it)"
.venv/bin/gunicorn --bind "127.0.0.1:$PORT" --workers "${WEB_CONCURRENCY:-3}" \
  --access-logfile - wsgi:app &
children+=($!)
wait -n "${children[@]}" || true
