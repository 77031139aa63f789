#!/usr/bin/env bash
# `make cluster`: the production topology on this one machine, until Ctrl-C.
# nginx (Debian's package) on http://$CLUSTER_HOST:$CLUSTER_PORT in front of
# CLUSTER_WEB_NODES gunicorn web nodes (and CLUSTER_VOICE_NODES for voices), CLUSTER_WORKERS RQ workers, RQ's scheduler,
# the outbox sweeper, Redis, the S3 object store (SeaweedFS) and PostgreSQL, all of its own in
# CLUSTER_INSTANCE (never the database of `make run`), every part supervised
# (ops/cluster/supervisord.conf). Ctrl-C stops everything it started.
# CLUSTER_DATABASE=patroni: a replicated database instead of the one PostgreSQL, CLUSTER_DB_NODES
# nodes under Patroni and etcd (ops/cluster/patroni.sh); the portal reads its reports from a standby.
set -euo pipefail
cd "$(dirname "$0")/.."
export CLUSTER_DATABASE=${CLUSTER_DATABASE:-embedded}
case "$CLUSTER_DATABASE" in
  embedded) WITH_NGINX=1 ops/bootstrap.sh ;;
  patroni) WITH_NGINX=1 WITH_PATRONI=1 ops/bootstrap.sh ;;
  *) echo "cluster: CLUSTER_DATABASE is embedded or patroni, not $CLUSTER_DATABASE" >&2; exit 1 ;;
esac

source ops/services.sh
source ops/supervise.sh
source ops/cluster/patroni.sh

export CLUSTER_HOST=${CLUSTER_HOST:-127.0.0.1} CLUSTER_PORT=${CLUSTER_PORT:-8080}
# The host names nginx answers (any other Host is refused): this machine's own, and the
# address it listens on when that is a particular one.
default_names="127.0.0.1 localhost"
case "$CLUSTER_HOST" in 127.0.0.1 | localhost | 0.0.0.0 | "[::]") ;; *) default_names+=" $CLUSTER_HOST" ;; esac
export CLUSTER_SERVER_NAME=${CLUSTER_SERVER_NAME:-$default_names}
export CLUSTER_WEB_NODES=${CLUSTER_WEB_NODES:-2} CLUSTER_WEB_BASE_PORT=${CLUSTER_WEB_BASE_PORT:-5100}
export CLUSTER_VOICE_NODES=${CLUSTER_VOICE_NODES:-1} CLUSTER_VOICE_BASE_PORT=${CLUSTER_VOICE_BASE_PORT:-5150}
export CLUSTER_WORKERS=${CLUSTER_WORKERS:-2} CLUSTER_S3_PORT=${CLUSTER_S3_PORT:-8333}
export WEB_CONCURRENCY=${WEB_CONCURRENCY:-2} SWEEP_EVERY=${SWEEP_EVERY:-10}
export FLASK_APP=wsgi
# The cluster's own database, Redis and object store, whatever the shell holds for `make run`.
unset DATABASE_URL DATABASE_READ_URL REDIS_URL STORAGE_ROOT STORAGE_URL

embedded_init "${CLUSTER_INSTANCE:-instance/cluster}"
export INSTANCE SOCKDIR INSTANCE_PATH=$INSTANCE
supervise_lock
supervise_clear_leftovers
ports=("$CLUSTER_PORT")
for offset in 0 1 2 3; do ports+=($((CLUSTER_S3_PORT + offset)) $((CLUSTER_S3_PORT + offset + 10000))); done
for n in $(seq "$CLUSTER_WEB_NODES"); do ports+=($((CLUSTER_WEB_BASE_PORT + n))); done
[ "$CLUSTER_DATABASE" = patroni ] && ports+=($(patroni_ports))
for n in $(seq "$CLUSTER_VOICE_NODES"); do ports+=($((CLUSTER_VOICE_BASE_PORT + n))); done
for port in "${ports[@]}"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "cluster: port $port is in use by another program." >&2
    command -v ss >/dev/null && ss -Hltnp "sport = :$port" >&2
    echo "Stop it, or choose other ports (CLUSTER_PORT, CLUSTER_WEB_BASE_PORT, CLUSTER_VOICE_BASE_PORT," \
      "CLUSTER_S3_PORT, CLUSTER_DB_BASE_PORT, CLUSTER_ETCD_PORT)." >&2
    exit 1
  fi
done

supervisord_pid= poller_pid=
stop_all() {
  trap - EXIT INT TERM HUP
  echo; echo "Stopping the cluster…"
  [ -n "$poller_pid" ] && kill "$poller_pid" 2>/dev/null || true
  if [ -n "$supervisord_pid" ]; then
    kill -TERM "$supervisord_pid" 2>/dev/null || true
    wait "$supervisord_pid" 2>/dev/null || true
  fi
  embedded_pg_stop
}
trap stop_all EXIT INT TERM HUP

if [ "$CLUSTER_DATABASE" = patroni ]; then
  patroni_prepare
else
  patroni_forget
  embedded_pg_start
fi
embedded_redis_url
mkdir -p "$INSTANCE/logs" "$INSTANCE/nginx" "$INSTANCE/s3"
# Private to the cluster's own processes: every part's log, Redis's append-only file (the queues),
# the object store's data (the photos as they are) and keys. nginx keeps its logs private itself.
chmod 700 "$INSTANCE/logs" "$INSTANCE/redis" "$INSTANCE/s3"

# One secret key for every node: a session or CSRF token signed by one node is valid on all.
if [ -z "${SECRET_KEY:-}" ] && [ -z "${SECRET_KEY_FILE:-}" ]; then
  if [ ! -s "$INSTANCE/secret_key" ]; then
    (umask 077 && .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(48))' >"$INSTANCE/secret_key.new")
    mv "$INSTANCE/secret_key.new" "$INSTANCE/secret_key"
  fi
  export SECRET_KEY_FILE=$INSTANCE/secret_key
fi

# The object store's one identity, made once (random keys, private), and the
# STORAGE_URL every node and worker uses.
mkdir -p "$INSTANCE/s3"
if [ ! -s "$INSTANCE/s3/identities.json" ]; then
  (umask 077 && .venv/bin/python - "$INSTANCE/s3/identities.json" <<'PY'
import json, secrets, sys
keys = {"accessKey": "portal" + secrets.token_hex(6), "secretKey": secrets.token_urlsafe(30)}
identity = {"name": "portal", "credentials": [keys], "actions": ["Admin", "Read", "Write", "List", "Tagging"]}
with open(sys.argv[1], "w") as f:
    json.dump({"identities": [identity]}, f)
PY
  )
fi
read -r S3_ACCESS_KEY S3_SECRET_KEY < <(.venv/bin/python -c '
import json, sys
keys = json.load(open(sys.argv[1]))["identities"][0]["credentials"][0]
print(keys["accessKey"], keys["secretKey"])' "$INSTANCE/s3/identities.json")
export S3_ACCESS_KEY S3_SECRET_KEY
export STORAGE_URL="s3://portal?endpoint=http://127.0.0.1:$CLUSTER_S3_PORT&region=us-east-1"

nodes=()
for n in $(seq "$CLUSTER_WEB_NODES"); do nodes+=(--node "127.0.0.1:$((CLUSTER_WEB_BASE_PORT + n))"); done
for n in $(seq "$CLUSTER_VOICE_NODES"); do nodes+=(--voice-node "127.0.0.1:$((CLUSTER_VOICE_BASE_PORT + n))"); done
.venv/bin/python ops/cluster/nginx_conf.py "${nodes[@]}" --listen "$CLUSTER_HOST:$CLUSTER_PORT" \
  --server-name "$CLUSTER_SERVER_NAME" --prefix "$INSTANCE/nginx" --max-upload-mb "${MAX_UPLOAD_MB:-60}" \
  --out "$INSTANCE/nginx/nginx.conf"
nginx -q -t -p "$INSTANCE/nginx" -c "$INSTANCE/nginx/nginx.conf"

# What `make drill` and ops/cluster/supervisorctl need to find this cluster.
{
  for name in INSTANCE SOCKDIR CLUSTER_DATABASE DATABASE_URL DATABASE_READ_URL CLUSTER_DB_NODES CLUSTER_DB_BASE_PORT \
    REDIS_URL STORAGE_URL S3_ACCESS_KEY S3_SECRET_KEY SECRET_KEY_FILE \
    CLUSTER_HOST CLUSTER_PORT CLUSTER_SERVER_NAME CLUSTER_WEB_NODES CLUSTER_WEB_BASE_PORT CLUSTER_WORKERS \
    CLUSTER_VOICE_NODES CLUSTER_VOICE_BASE_PORT \
    CLUSTER_S3_PORT; do
    printf 'export %s=%q\n' "$name" "${!name:-}"
  done
} >"$INSTANCE/cluster.env"
chmod 600 "$INSTANCE/cluster.env"

url="http://$CLUSTER_HOST:$CLUSTER_PORT"
case "$CLUSTER_HOST" in 0.0.0.0 | "[::]") url="http://127.0.0.1:$CLUSTER_PORT" ;; esac  # every address: this one too
echo "cluster: starting Redis and the object store${DATABASE_READ_URL:+, etcd and the database nodes} (logs in $INSTANCE/logs)"
.venv/bin/supervisord -c ops/cluster/supervisord.conf 9>&- &
supervisord_pid=$!
[ "$CLUSTER_DATABASE" = patroni ] && patroni_wait_primary
# Once, against the primary (the standbys replay it), before any web node or worker starts.
.venv/bin/flask db upgrade
# SYNTH_PROVINCE (a province code, e.g. 46) loads that one province only: a quick start.
.venv/bin/flask geodata synth --if-empty ${SYNTH_PROVINCE:+--province "$SYNTH_PROVINCE"}
if [ "$CLUSTER_DATABASE" = patroni ]; then
  echo "cluster: a first full backup of the database (log: $INSTANCE/logs/backup.log)"
  CLUSTER_INSTANCE=$INSTANCE ops/cluster/backup.sh full >"$INSTANCE/logs/backup.log" 2>&1 9>&- &
fi
for try in $(seq 60); do
  .venv/bin/flask storage check --create-bucket >"$INSTANCE/logs/storage-check.log" 2>&1 && break
  kill -0 "$supervisord_pid" 2>/dev/null || exit 1
  [ "$try" = 60 ] && { echo "cluster: the object store does not answer:" >&2; cat "$INSTANCE/logs/storage-check.log" >&2; exit 1; }
  sleep 1
done
echo "cluster: starting $CLUSTER_WEB_NODES web nodes, $CLUSTER_VOICE_NODES voice node(s), $CLUSTER_WORKERS workers, the scheduler, the sweeper and nginx"
ops/cluster/supervisorctl start all >/dev/null
(
  for _ in $(seq 120); do
    if .venv/bin/python - "$url/healthz" <<'PY' 2>/dev/null; then
import sys, urllib.request
sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=2).status == 200 else 1)
PY
      echo "cluster: the portal is at $url (Ctrl-C stops it; ops/cluster/supervisorctl status shows its parts)"
      exit 0
    fi
    sleep 1
  done
  echo "cluster: $url does not answer yet; see $INSTANCE/logs" >&2
) 9>&- &
poller_pid=$!
wait "$supervisord_pid"
