# The embedded default: a private PostgreSQL cluster and a private Redis
# whose data live under the instance folder. Sourced by ops/run.sh (and the
# benchmarks); it sets DATABASE_URL and REDIS_URL for what they start.
# Both listen on Unix sockets only, in a short folder under /tmp (socket
# paths are limited to ~100 characters), so they never clash with a port.
# A cluster left running by a run that was killed hard is found and reused.

# INSTANCE (absolute) and SOCKDIR of an instance folder, without creating them.
embedded_paths() {
  INSTANCE=$(realpath -m "${1:?instance folder}")
  SOCKDIR=/tmp/cmts-$(printf '%s' "$INSTANCE" | sha1sum | cut -c1-10)
}

# The socket folder: private (0700) and really ours. Its name under /tmp can be
# guessed, so one that another user made first (a folder or a link) is refused,
# never used: it would open the trust-authenticated database to them and let
# them steer what this script (often root) writes.
embedded_sockdir() {
  local owner want
  want=$(id -u)
  [ "$want" -eq 0 ] && want=$(id -u postgres)
  if [ ! -e "$SOCKDIR" ] && [ ! -L "$SOCKDIR" ]; then
    mkdir -m 0700 "$SOCKDIR" 2>/dev/null || true
    [ "$(id -u)" -eq 0 ] && [ ! -L "$SOCKDIR" ] && [ -d "$SOCKDIR" ] && [ "$(stat -c %u "$SOCKDIR")" -eq 0 ] &&
      chown -h postgres: "$SOCKDIR"
  fi
  owner=$(stat -c %u "$SOCKDIR" 2>/dev/null || echo none)
  if [ -L "$SOCKDIR" ] || [ ! -d "$SOCKDIR" ] || [ "$owner" != "$want" ]; then
    echo "The socket folder $SOCKDIR is not the portal's own (a link, or owned by user $owner):" >&2
    echo "remove it, or set INSTANCE_PATH to another folder." >&2
    return 1
  fi
  chmod 0700 "$SOCKDIR"
}

embedded_init() {
  embedded_paths "$1"
  mkdir -p "$INSTANCE"
  embedded_sockdir || return 1
  if [ "$(id -u)" -eq 0 ]; then
    if ! runuser -u postgres -- test -x "$INSTANCE"; then
      echo "The postgres system user cannot reach $INSTANCE (a folder above it is private)." >&2
      echo "Set INSTANCE_PATH to a folder it can reach, or give DATABASE_URL." >&2
      return 1
    fi
  fi
}

# Is the process $1 alive, with $2 in its command line?
pid_runs() {
  [ -n "${1:-}" ] && [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$2"
}

_embedded_psql() {
  "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/psql" -h "$SOCKDIR" -U postgres -d postgres "$@"
}

embedded_pg_start() {
  local data="$INSTANCE/pgdata" db=portal pid
  if [ ! -f "$data/PG_VERSION" ]; then
    echo "Creating the private PostgreSQL cluster in $data"
    mkdir -p "$data"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$data"
    ops/pg_ctl initdb -s -D "$data" -o "--auth=trust --username=postgres --encoding=UTF8 --locale=C.UTF-8"
  fi
  pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)
  if pid_runs "$pid" "$data"; then
    # Left running by an earlier run: reuse it if it answers on its socket, else restart it.
    if PGCONNECT_TIMEOUT=5 _embedded_psql -tAc 'SELECT 1' >/dev/null 2>&1; then
      echo "Reusing the private PostgreSQL cluster already running in $data (pid $pid)"
    else
      echo "Restarting the private PostgreSQL cluster in $data (pid $pid does not answer on $SOCKDIR)"
      ops/pg_ctl stop -s -w -m fast -D "$data" 9>&- || ops/pg_ctl stop -s -w -m immediate -D "$data" 9>&-
      pid=
    fi
  elif [ -n "$pid" ]; then
    # The lock file of a cluster that died: its pid is gone or now another program's.
    echo "Removing the stale lock file of the private PostgreSQL cluster (pid $pid is not its server)"
    rm -f "$data/postmaster.pid"
    pid=
  fi
  if [ -z "$pid" ]; then
    # Sized to this machine (ops/pg_sizing.py), not PostgreSQL's defaults for the smallest one.
    local sized
    sized=$(python3 ops/pg_sizing.py)
    ops/pg_ctl start -s -w -D "$data" -l "$data/server.log" \
      -o "-c listen_addresses='' -c unix_socket_directories='$SOCKDIR' -c unix_socket_permissions=0700 $sized" 9>&-
  fi
  EMBEDDED_PG=$data
  if ! _embedded_psql -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1; then
    _embedded_psql -q -c "CREATE DATABASE $db"
  fi
  export DATABASE_URL="postgresql://postgres@/$db?host=$SOCKDIR"
}

embedded_pg_stop() {
  [ -n "${EMBEDDED_PG:-}" ] && ops/pg_ctl stop -s -w -m fast -D "$EMBEDDED_PG" || true
  EMBEDDED_PG=
}

# The URL of the embedded Redis, whoever starts it (ops/run.sh has it supervised).
embedded_redis_url() {
  mkdir -p "$INSTANCE/redis"
  export REDIS_URL="unix://$SOCKDIR/redis.sock?db=0"
}

# Stop a Redis of this instance left running (by an earlier run, or started by embedded_redis_start).
embedded_redis_stop_leftover() {
  local pid
  pid=$(cat "$SOCKDIR/redis.pid" 2>/dev/null || true)
  pid_runs "$pid" redis-server || return 0
  echo "Stopping the private Redis left running (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do pid_runs "$pid" redis-server || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

embedded_redis_start() {
  embedded_redis_url
  redis-server --daemonize yes --port 0 --unixsocket "$SOCKDIR/redis.sock" --unixsocketperm 700 \
    --dir "$INSTANCE/redis" --appendonly yes --save "" \
    --pidfile "$SOCKDIR/redis.pid" --logfile "$INSTANCE/redis/redis.log"
  for _ in $(seq 50); do [ -S "$SOCKDIR/redis.sock" ] && break; sleep 0.1; done
  EMBEDDED_REDIS=$SOCKDIR/redis.sock
}

embedded_redis_stop() {
  [ -n "${EMBEDDED_REDIS:-}" ] && redis-cli -s "$EMBEDDED_REDIS" shutdown nosave >/dev/null 2>&1 || true
  EMBEDDED_REDIS=
}
