#!/usr/bin/env bash
# `make run`: install what is missing, start the embedded PostgreSQL unless
# DATABASE_URL is given, migrate, load the synthetic national geography once,
# then run the portal under supervisord (ops/supervisord.conf): gunicorn on
# http://127.0.0.1:$PORT, an RQ worker, RQ's scheduler, the outbox sweeper and, unless
# REDIS_URL is given, the embedded Redis, each restarted when it dies.
# Ctrl-C stops all it started. After a run that was killed hard, the next one
# stops what it left behind and reuses its PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
ops/bootstrap.sh
source ops/services.sh
source ops/supervise.sh

export PORT=${PORT:-5000} WEB_CONCURRENCY=${WEB_CONCURRENCY:-3} SWEEP_EVERY=${SWEEP_EVERY:-30}
export FLASK_APP=wsgi
if [ -z "${DATABASE_URL:-}" ]; then
  embedded_init "${INSTANCE_PATH:-instance}"
else
  embedded_paths "${INSTANCE_PATH:-instance}"
  mkdir -p "$INSTANCE"
  embedded_sockdir
fi
export INSTANCE SOCKDIR INSTANCE_PATH=$INSTANCE
supervise_lock
supervise_clear_leftovers
supervise_port_free "$PORT"

supervisord_pid=
stop_all() {
  trap - EXIT INT TERM HUP
  echo; echo "Stopping the portal…"
  if [ -n "$supervisord_pid" ]; then
    kill -TERM "$supervisord_pid" 2>/dev/null || true
    wait "$supervisord_pid" 2>/dev/null || true
  fi
  embedded_pg_stop
}
trap stop_all EXIT INT TERM HUP

demo=0
[ -z "${DATABASE_URL:-}" ] && { embedded_pg_start; demo=1; }
export SUPERVISE_REDIS=false
[ -z "${REDIS_URL:-}" ] && { embedded_redis_url; SUPERVISE_REDIS=true; }

# The portal refuses to start without a secret key: when none is given, make
# one once, random and private, in the instance folder (app/config.py reads it).
if [ -z "${SECRET_KEY:-}" ] && [ -z "${SECRET_KEY_FILE:-}" ]; then
  key_file="$INSTANCE/secret_key"
  if [ ! -s "$key_file" ]; then
    (umask 077 && .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(48))' >"$key_file.new")
    mv "$key_file.new" "$key_file"
    echo "Created a secret key in $key_file"
  fi
fi

.venv/bin/flask db upgrade
# SYNTH_PROVINCE (a province code, e.g. 46) loads that one province only: a quick start.
.venv/bin/flask geodata synth --if-empty ${SYNTH_PROVINCE:+--province "$SYNTH_PROVINCE"}
# Demo accounts only on the embedded default, never on a given database
# (they belong to province 01, which another SYNTH_PROVINCE does not hold).
if [ "$demo" = 1 ] && [ "${SYNTH_PROVINCE:-01}" = 01 ]; then
  .venv/bin/flask officers demo
elif [ "$demo" = 1 ]; then
  echo "No demo accounts: they belong to province 01, and SYNTH_PROVINCE=$SYNTH_PROVINCE."
fi

export STORAGE_ROOT=${STORAGE_ROOT:-$INSTANCE/storage}
echo "The portal is at http://127.0.0.1:$PORT (Ctrl-C stops it; ops/supervisorctl status shows its parts)"
# In the foreground's process group, so that killing `make run` hard kills it too
# (its programs then stop by their parent-death signal); fd 9 (the lock) stays here.
.venv/bin/supervisord -c ops/supervisord.conf $([ "$(id -u)" -eq 0 ] && echo --user=root) 9>&- &
supervisord_pid=$!
wait "$supervisord_pid"
