#!/usr/bin/env bash
# Install what the portal needs on a fresh Debian machine, once: PostgreSQL
# with PostGIS, Redis, pgBackRest, Chromium (browser tests), nginx (WITH_NGINX=1), Patroni and etcd
# (WITH_PATRONI=1), and the virtualenv .venv
# with requirements.txt. Later runs only check, and reinstall the virtualenv
# when requirements.txt changed.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need+=(postgresql postgresql-contrib)
ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || need+=(postgresql-postgis)
command -v redis-server >/dev/null || need+=(redis-server)
# pgBackRest: WAL archiving, base backups and point-in-time restores (README, "A replicated database").
command -v pgbackrest >/dev/null || need+=(pgbackrest)
# Patroni and etcd: the replicated database of `make drill ARGS=failover` (ops/failover/).
[ "${WITH_PATRONI:-0}" = 1 ] && { command -v patroni >/dev/null || need+=(patroni); }
[ "${WITH_PATRONI:-0}" = 1 ] && { command -v etcd >/dev/null || need+=(etcd-server); }
# openssl: the certificates of the object store's own ports (ops/cluster/seaweedfs_security.py).
command -v openssl >/dev/null || need+=(openssl)
[ "${WITH_BROWSER:-0}" = 1 ] && { command -v chromium >/dev/null || need+=(chromium); }
# nginx: the front of `make cluster`, and of the tests of its configuration.
[ "${WITH_NGINX:-0}" = 1 ] && { command -v nginx >/dev/null || need+=(nginx); }
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || { echo "bootstrap: missing ${need[*]}; run as root to install them" >&2; exit 1; }
  echo "bootstrap: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # "postgresql-postgis" is the PostGIS build for Debian's PostgreSQL version.
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# Debian's postgresql package starts a cluster of its own on port 5432; the
# portal does not use it, and leaves it as it is.
# Debian's nginx package may start its own nginx on port 80 with Debian's
# default site: the portal runs nginx with a configuration of its own
# (`nginx -p … -c …`), so the one the package started is stopped again.
if [[ " ${need[*]} " == *" nginx "* ]] && [ -s /run/nginx.pid ]; then
  service nginx stop >/dev/null 2>&1 || nginx -s quit 2>/dev/null || true
fi
# Likewise Debian's etcd-server starts an etcd of its own on port 2379: the drill runs its own.
if [[ " ${need[*]} " == *" etcd-server "* ]]; then
  service etcd stop >/dev/null 2>&1 || true
fi

stamp=.venv/.requirements.sha
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing the virtualenv .venv"
  python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
  echo "$want" > "$stamp"
fi

# The English catalogue (Vietnamese is written in the templates themselves).
.venv/bin/pybabel compile -d app/translations >/dev/null
