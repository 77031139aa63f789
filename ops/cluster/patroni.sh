# The replicated database of `make cluster` with CLUSTER_DATABASE=patroni (sourced by ops/cluster.sh):
# CLUSTER_DB_NODES PostgreSQL nodes under Patroni, agreeing through one etcd, all supervised
# (ops/cluster/patroni_conf.py writes their configuration). Sets DATABASE_URL (every node, the one
# that takes writes chosen by libpq: target_session_attrs=read-write) and DATABASE_READ_URL (a standby).

export CLUSTER_DB_NODES=${CLUSTER_DB_NODES:-2} CLUSTER_DB_BASE_PORT=${CLUSTER_DB_BASE_PORT:-5440}
export CLUSTER_ETCD_PORT=${CLUSTER_ETCD_PORT:-12379} CLUSTER_DB_SYNC=${CLUSTER_DB_SYNC:-on}
export CLUSTER_DB_TTL=${CLUSTER_DB_TTL:-10}

patroni_ports() {
  local n
  echo "$CLUSTER_ETCD_PORT" "$((CLUSTER_ETCD_PORT + 1))"
  for n in $(seq "$CLUSTER_DB_NODES"); do echo "$((CLUSTER_DB_BASE_PORT + n))" "$((CLUSTER_DB_BASE_PORT + 1000 + n))"; done
}

patroni_prepare() {
  local bin hosts="" ports="" n
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  mkdir -p "$INSTANCE/etcd" "$INSTANCE/supervisord.d" "$INSTANCE/backup/repo" "$INSTANCE/backup/log" "$INSTANCE/backup/lock"
  chmod 700 "$INSTANCE/etcd" "$INSTANCE/backup"
  # pgBackRest's repository of the WAL every primary archives and of the backups (ops/cluster/backup.sh).
  cat >"$INSTANCE/backup/pgbackrest.conf" <<CONF
[global]
repo1-path=$INSTANCE/backup/repo
repo1-retention-full=2
log-path=$INSTANCE/backup/log
lock-path=$INSTANCE/backup/lock
start-fast=y
log-level-console=warn

[portal]
pg1-socket-path=$SOCKDIR
pg1-user=postgres
CONF
  .venv/bin/python ops/cluster/patroni_conf.py --instance "$INSTANCE" --sockdir "$SOCKDIR" \
    --nodes "$CLUSTER_DB_NODES" --base-port "$CLUSTER_DB_BASE_PORT" --etcd-port "$CLUSTER_ETCD_PORT" \
    --sync "$CLUSTER_DB_SYNC" --ttl "$CLUSTER_DB_TTL" --bin-dir "$bin" --backup-conf "$INSTANCE/backup/pgbackrest.conf"
  [ "$(id -u)" -eq 0 ] && chown -R postgres: "$INSTANCE/patroni" "$INSTANCE/backup"
  for n in $(seq "$CLUSTER_DB_NODES"); do
    hosts+="${hosts:+,}$SOCKDIR" ports+="${ports:+,}$((CLUSTER_DB_BASE_PORT + n))"
  done
  export DATABASE_URL="postgresql://postgres@/portal?host=$hosts&port=$ports&target_session_attrs=read-write"
  export DATABASE_READ_URL="postgresql://postgres@/portal?host=$hosts&port=$ports&target_session_attrs=standby&connect_timeout=2"
}

# With the embedded database, no Patroni programs are left from an earlier run of this instance.
patroni_forget() {
  rm -f "$INSTANCE/supervisord.d/database.conf"
}

# Wait until a node takes writes, then make the portal's database there (once: the standbys copy it).
patroni_wait_primary() {
  local try url="postgresql://postgres@/postgres?host=${DATABASE_URL#*host=}"
  for try in $(seq 180); do
    if _embedded_psql_url "$url" -tAc 'SELECT 1' >/dev/null 2>&1; then
      if ! _embedded_psql_url "$url" -tAc "SELECT 1 FROM pg_database WHERE datname='portal'" | grep -q 1; then
        _embedded_psql_url "$url" -q -c "CREATE DATABASE portal"
      fi
      return 0
    fi
    sleep 1
  done
  echo "cluster: no database node took writes within 3 minutes; see $INSTANCE/logs/db*.log" >&2
  return 1
}

_embedded_psql_url() {
  local url=$1
  shift
  "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/psql" "$url" "$@"
}
