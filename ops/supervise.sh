# What `make run` needs around supervisord (ops/supervisord.conf). Sourced by
# ops/run.sh after ops/services.sh (it uses INSTANCE, SOCKDIR and pid_runs).

# Hold the run's lock on fd 9 for as long as this shell lives; refuse a second
# `make run` of the same instance. A run killed hard frees it with its death.
supervise_lock() {
  exec 9>"$SOCKDIR/run.lock"
  if ! flock -n 9; then
    echo "make run is already running for $INSTANCE; stop it first (Ctrl-C in its terminal)." >&2
    exit 1
  fi
}

# Processes started under supervisord for this instance (CMTS_RUN in their environment).
supervise_marked() {
  local env pid
  for env in /proc/[0-9]*/environ; do
    pid=${env#/proc/}; pid=${pid%/environ}
    [ "$pid" = "$$" ] && continue
    grep -qzxF "CMTS_RUN=$INSTANCE" "$env" 2>/dev/null && echo "$pid"
  done
  return 0
}

# Stop what a run killed hard left behind: its supervisord (which stops its
# programs), then any program that outlived it (SIGTERM, SIGKILL after 20 s).
supervise_clear_leftovers() {
  local pid left
  pid=$(cat "$SOCKDIR/supervisord.pid" 2>/dev/null || true)
  if pid_runs "$pid" supervisord; then
    echo "Stopping the supervisord left running by an earlier run (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 400); do pid_runs "$pid" supervisord || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$SOCKDIR/supervisord.pid" "$SOCKDIR/supervisor.sock"
  left=$(supervise_marked)
  if [ -n "$left" ]; then
    echo "Stopping processes left running by an earlier run: $(echo $left)"
    kill -TERM $left 2>/dev/null || true
    for _ in $(seq 200); do
      left=$(supervise_marked)
      [ -z "$left" ] && break
      sleep 0.1
    done
    [ -n "$left" ] && kill -KILL $left 2>/dev/null || true
  fi
  embedded_redis_stop_leftover
}

# Refuse to start when another program already listens on the port.
supervise_port_free() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    echo "Port $1 is in use by another program." >&2
    command -v ss >/dev/null && ss -Hltnp "sport = :$1" >&2
    echo "Stop it, or choose another port: PORT=5001 make run" >&2
    exit 1
  fi
}
