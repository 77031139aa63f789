#!/usr/bin/env bash
# `make drill`: petitions with photos through the cluster's nginx while a web
# node, a worker in the middle of a photo job and Redis fail (ops/drill.py).
# Uses the running `make cluster` (of CLUSTER_INSTANCE), or starts one for the
# drill and stops it afterwards. Arguments go to ops/drill.py (--help).
# `ops/drill.sh failover [arguments]` (`make drill ARGS=failover`): the primary database of a replicated
# cluster (CLUSTER_DATABASE=patroni, instance/cluster-failover) is lost under load (ops/failover_drill.py).
set -euo pipefail
cd "$(dirname "$0")/.."
source ops/services.sh
drill=ops/drill.py
if [ "${1:-}" = failover ]; then
  shift
  drill=ops/failover_drill.py
  export CLUSTER_DATABASE=patroni CLUSTER_INSTANCE=${CLUSTER_INSTANCE:-instance/cluster-failover}
fi
export CLUSTER_INSTANCE=${CLUSTER_INSTANCE:-instance/cluster}
embedded_paths "$CLUSTER_INSTANCE"

running() {
  [ -S "$SOCKDIR/supervisor.sock" ] && [ -s "$INSTANCE/cluster.env" ] &&
    SOCKDIR=$SOCKDIR INSTANCE=$INSTANCE .venv/bin/supervisorctl -c ops/cluster/supervisord.conf status nginx 2>/dev/null |
    grep -q RUNNING
}

cluster_pid=
stop_cluster() {
  trap - EXIT INT TERM
  if [ -n "$cluster_pid" ]; then
    echo "drill: stopping the cluster it started"
    kill -TERM "$cluster_pid" 2>/dev/null || true
    wait "$cluster_pid" 2>/dev/null || true
  fi
}
trap stop_cluster EXIT INT TERM

if ! running; then
  echo "drill: no cluster is running; starting one (log: $INSTANCE.log)"
  mkdir -p "$(dirname "$INSTANCE")"
  ops/cluster.sh >"$INSTANCE.log" 2>&1 &
  cluster_pid=$!
  for _ in $(seq 600); do
    grep -q "the portal is at" "$INSTANCE.log" 2>/dev/null && break
    kill -0 "$cluster_pid" 2>/dev/null || { echo "drill: the cluster did not start:" >&2; tail -n 20 "$INSTANCE.log" >&2; exit 1; }
    sleep 1
  done
  grep -q "the portal is at" "$INSTANCE.log" || { echo "drill: the cluster did not come up in 10 minutes" >&2; exit 1; }
fi

source "$INSTANCE/cluster.env"
if [ "$drill" = ops/failover_drill.py ] && [ "${CLUSTER_DATABASE:-embedded}" != patroni ]; then
  echo "drill: the cluster of $INSTANCE runs one database; stop it, or set CLUSTER_INSTANCE to another" >&2
  exit 1
fi
.venv/bin/python "$drill" "$@"
