"""The replicated database of `make cluster` (CLUSTER_DATABASE=patroni): the configuration of etcd's one
member and of CLUSTER_DB_NODES PostgreSQL nodes under Patroni, and the supervisord programs that run them.

Written by ops/cluster.sh into <instance>/patroni (private to the postgres user) and
<instance>/supervisord.d/database.conf (which ops/cluster/supervisord.conf includes). The nodes listen on
127.0.0.1:CLUSTER_DB_BASE_PORT+n and on the cluster's socket folder; Patroni's REST API of node n on
127.0.0.1:CLUSTER_DB_BASE_PORT+1000+n. Replication and pg_rewind authenticate with passwords made once
(scram-sha-256, in <instance>/patroni/secrets.json, 0600); the portal connects over the socket folder (0700).

Synchronous commit (CLUSTER_DB_SYNC): "on" (the default) commits to the primary and one standby while a
standby is there, and to the primary alone while none is (Patroni's synchronous_mode; only a synchronous
standby may be promoted, so an acknowledged commit is never lost by a failover); "strict" refuses writes
while no standby is there; "off" replicates asynchronously (a failover may lose the last commits).

With --backup-conf every node archives its WAL with pgBackRest (ops/cluster/backup.sh takes the backups).

The output is JSON, which is YAML: Patroni reads it as its configuration.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import pg_sizing  # noqa: E402  (ops/pg_sizing.py, beside this folder)


def secrets_of(folder: Path) -> dict:
    path = folder / "secrets.json"
    if not path.exists():
        made = {"superuser": secrets.token_urlsafe(24), "replication": secrets.token_urlsafe(24)}
        path.write_text(json.dumps(made))
        path.chmod(0o600)
    return json.loads(path.read_text())


def node_conf(args, n: int, passwords: dict) -> dict:
    port, api = args.base_port + n, args.base_port + 1000 + n
    folder = Path(args.instance) / "patroni"
    sync = args.sync
    parameters = {
        "wal_level": "replica",
        "hot_standby": "on",
        "hot_standby_feedback": "on",  # the reports' long reads on a standby are not cancelled by replay
        "max_wal_senders": 10,
        "max_replication_slots": 10,
        "wal_log_hints": "on",  # pg_rewind: an old primary rejoins as a standby
        "wal_keep_size": "256MB",
        "max_connections": 200,
    }
    local = {
        "unix_socket_directories": args.sockdir,
        "unix_socket_permissions": "0700",
        # Each node's own, applied at every start (the cluster-wide ones above only at its first bootstrap);
        # the nodes of `make cluster` share this one machine.
        **pg_sizing.settings(share=args.nodes),
    }
    if args.backup_conf:
        # Every node archives its WAL to the one pgBackRest repository while it is the primary (a
        # standby archives nothing with archive_mode=on); the command names the node's own data folder.
        parameters["archive_mode"] = "on"
        local["archive_command"] = (
            f"pgbackrest --config={args.backup_conf} --stanza=portal --pg1-path={folder / f'db{n}'} archive-push %p"
        )
    return {
        "scope": "portal",
        "namespace": "/cmts/",
        "name": f"db{n}",
        "log": {"level": "INFO"},
        "restapi": {"listen": f"127.0.0.1:{api}", "connect_address": f"127.0.0.1:{api}"},
        "etcd3": {"hosts": [f"127.0.0.1:{args.etcd_port}"]},
        "bootstrap": {
            "dcs": {
                # A primary that stops renewing its lease (ttl s) is replaced; Patroni requires
                # loop_wait + 2 * retry_timeout <= ttl.
                "ttl": args.ttl,
                "loop_wait": 2,
                "retry_timeout": max(2, (args.ttl - 2) // 2),
                "maximum_lag_on_failover": 1048576,
                "synchronous_mode": sync in ("on", "strict"),
                "synchronous_mode_strict": sync == "strict",
                "synchronous_node_count": 1,
                "postgresql": {"use_pg_rewind": True, "use_slots": True, "parameters": parameters},
            },
            "initdb": [{"encoding": "UTF8"}, {"locale": "C.UTF-8"}, "data-checksums"],
        },
        "postgresql": {
            "listen": f"127.0.0.1:{port}",
            "connect_address": f"127.0.0.1:{port}",
            "data_dir": str(folder / f"db{n}"),
            "bin_dir": args.bin_dir,
            "pgpass": str(folder / f"pgpass{n}"),
            "authentication": {
                "superuser": {"username": "postgres", "password": passwords["superuser"]},
                "replication": {"username": "replicator", "password": passwords["replication"]},
                "rewind": {"username": "postgres", "password": passwords["superuser"]},
            },
            "parameters": local,
            "pg_hba": [
                "local all all trust",
                "host replication replicator 127.0.0.1/32 scram-sha-256",
                "host all postgres 127.0.0.1/32 scram-sha-256",
            ],
        },
    }


PROGRAMS = """; Written by ops/cluster/patroni_conf.py: the replicated database (CLUSTER_DATABASE=patroni).

; etcd: where the Patroni nodes agree on which one is the primary (a lease the primary renews).
[program:etcd]
command=setpriv --pdeathsig TERM -- etcd --name cmts --data-dir {instance}/etcd
    --listen-client-urls http://127.0.0.1:{etcd} --advertise-client-urls http://127.0.0.1:{etcd}
    --listen-peer-urls http://127.0.0.1:{peer} --initial-advertise-peer-urls http://127.0.0.1:{peer}
    --initial-cluster cmts=http://127.0.0.1:{peer}
autorestart=true
priority=5
startsecs=2
stopwaitsecs=20
stdout_logfile={instance}/logs/etcd.log
redirect_stderr=true

; The database nodes: Patroni runs PostgreSQL, as the postgres user, and promotes a standby when the
; primary's lease runs out; a node started again rejoins as a standby (pg_rewind).
[program:db]
process_name=db%(process_num)d
numprocs={nodes}
numprocs_start=1
command=setpriv --pdeathsig TERM {user} -- patroni {instance}/patroni/db%(process_num)d.yml
autorestart=true
priority=8
startsecs=3
startretries=100
stopwaitsecs=60
stdout_logfile={instance}/logs/db%(process_num)d.log
redirect_stderr=true
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instance", required=True)
    parser.add_argument("--sockdir", required=True)
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--base-port", type=int, default=5440)
    parser.add_argument("--etcd-port", type=int, default=12379)
    parser.add_argument("--sync", choices=("on", "off", "strict"), default="on")
    parser.add_argument("--ttl", type=int, default=10, help="seconds a silent primary keeps its lease")
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--backup-conf", default="", help="pgBackRest's configuration: archive the WAL there")
    args = parser.parse_args()
    instance = Path(args.instance)
    folder = instance / "patroni"
    folder.mkdir(mode=0o700, exist_ok=True)
    passwords = secrets_of(folder)
    for n in range(1, args.nodes + 1):
        path = folder / f"db{n}.yml"
        path.write_text(json.dumps(node_conf(args, n, passwords), indent=2))
        path.chmod(0o600)
    as_postgres = "--reuid postgres --regid postgres --init-groups" if os.getuid() == 0 else ""
    include = instance / "supervisord.d"
    include.mkdir(exist_ok=True)
    (include / "database.conf").write_text(
        PROGRAMS.format(
            instance=instance, etcd=args.etcd_port, peer=args.etcd_port + 1, nodes=args.nodes, user=as_postgres
        )
    )


if __name__ == "__main__":
    main()
