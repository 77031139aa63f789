# The embedded default: a private PostgreSQL cluster and a private Redis
# whose data live under the instance folder. Sourced by ops/run.sh (and the
# benchmarks); it sets DATABASE_URL and REDIS_URL for what they start.
# Both listen on Unix sockets only, in a short folder under /tmp (socket
# paths are limited to ~100 characters), so they never clash with a port.

embedded_init() {
  INSTANCE=$(realpath -m "${1:?instance folder}")
  mkdir -p "$INSTANCE"
  SOCKDIR=/tmp/cmts-$(printf '%s' "$INSTANCE" | sha1sum | cut -c1-10)
  mkdir -p "$SOCKDIR"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$SOCKDIR"
    if ! runuser -u postgres -- test -x "$INSTANCE"; then
      echo "The postgres system user cannot reach $INSTANCE (a folder above it is private)." >&2
      echo "Set INSTANCE_PATH to a folder it can reach, or give DATABASE_URL." >&2
      return 1
    fi
  fi
}

embedded_pg_start() {
  local data="$INSTANCE/pgdata" db=portal
  if [ ! -f "$data/PG_VERSION" ]; then
    echo "Creating the private PostgreSQL cluster in $data"
    mkdir -p "$data"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$data"
    ops/pg_ctl initdb -s -D "$data" -o "--auth=trust --username=postgres --encoding=UTF8 --locale=C.UTF-8"
  fi
  ops/pg_ctl start -s -w -D "$data" -l "$data/server.log" \
    -o "-c listen_addresses='' -c unix_socket_directories='$SOCKDIR'"
  EMBEDDED_PG=$data
  local psql
  psql=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/psql
  if ! "$psql" -h "$SOCKDIR" -U postgres -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1; then
    "$psql" -q -h "$SOCKDIR" -U postgres -d postgres -c "CREATE DATABASE $db"
  fi
  export DATABASE_URL="postgresql://postgres@/$db?host=$SOCKDIR"
}

embedded_pg_stop() {
  [ -n "${EMBEDDED_PG:-}" ] && ops/pg_ctl stop -s -w -m fast -D "$EMBEDDED_PG" || true
  EMBEDDED_PG=
}

embedded_redis_start() {
  mkdir -p "$INSTANCE/redis"
  redis-server --daemonize yes --port 0 --unixsocket "$SOCKDIR/redis.sock" --unixsocketperm 700 \
    --dir "$INSTANCE/redis" --appendonly yes --save "" \
    --pidfile "$SOCKDIR/redis.pid" --logfile "$INSTANCE/redis/redis.log"
  for _ in $(seq 50); do [ -S "$SOCKDIR/redis.sock" ] && break; sleep 0.1; done
  EMBEDDED_REDIS=$SOCKDIR/redis.sock
  export REDIS_URL="unix://$SOCKDIR/redis.sock?db=0"
}

embedded_redis_stop() {
  [ -n "${EMBEDDED_REDIS:-}" ] && redis-cli -s "$EMBEDDED_REDIS" shutdown nosave >/dev/null 2>&1 || true
  EMBEDDED_REDIS=
}
