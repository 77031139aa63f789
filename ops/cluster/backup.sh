#!/usr/bin/env bash
# A pgBackRest backup of the replicated database of `make cluster` (CLUSTER_DATABASE=patroni), taken
# from whichever node is the primary now: `ops/cluster/backup.sh [full|diff|incr]` (default full).
# The repository is <instance>/backup/repo (pgbackrest.conf beside it); every node archives its WAL
# there while it is the primary. `ops/cluster/backup.sh info` lists the backups and the archived WAL.
set -euo pipefail
cd "$(dirname "$0")/../.."
source ops/services.sh
embedded_paths "${CLUSTER_INSTANCE:-instance/cluster}"
[ -s "$INSTANCE/cluster.env" ] || { echo "backup: no cluster in $INSTANCE" >&2; exit 1; }
source "$INSTANCE/cluster.env"
conf=$INSTANCE/backup/pgbackrest.conf
[ -s "$conf" ] || { echo "backup: the cluster of $INSTANCE keeps no backups (CLUSTER_DATABASE=patroni)" >&2; exit 1; }
as_postgres=()
[ "$(id -u)" -eq 0 ] && as_postgres=(runuser -u postgres --)

primary=
for n in $(seq "$CLUSTER_DB_NODES"); do
  if curl -sf "http://127.0.0.1:$((CLUSTER_DB_BASE_PORT + 1000 + n))/primary" >/dev/null; then primary=$n; break; fi
done
[ -n "$primary" ] || { echo "backup: no node is the primary now" >&2; exit 1; }
node=(--pg1-path="$INSTANCE/patroni/db$primary" --pg1-port=$((CLUSTER_DB_BASE_PORT + primary)))

case "${1:-full}" in
  info) exec "${as_postgres[@]}" pgbackrest --config="$conf" --stanza=portal info ;;
  full | diff | incr) ;;
  *) echo "usage: ops/cluster/backup.sh [full|diff|incr|info]" >&2; exit 2 ;;
esac
"${as_postgres[@]}" pgbackrest --config="$conf" --stanza=portal "${node[@]}" stanza-create
"${as_postgres[@]}" pgbackrest --config="$conf" --stanza=portal "${node[@]}" --type="${1:-full}" backup
echo "backup: a ${1:-full} backup of db$primary is in $INSTANCE/backup/repo"
