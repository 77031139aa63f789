"""The replicated database of `make cluster` (ops/cluster/patroni_conf.py): what Patroni is told to do."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def configure(tmp_path: Path, *extra: str) -> list[dict]:
    subprocess.run(
        [sys.executable, str(ROOT / "ops" / "cluster" / "patroni_conf.py"), "--instance", str(tmp_path),
         "--sockdir", str(tmp_path / "sock"), "--bin-dir", "/usr/lib/postgresql/15/bin", *extra],
        check=True,
    )  # fmt: skip
    return [json.loads(path.read_text()) for path in sorted((tmp_path / "patroni").glob("db*.yml"))]


@pytest.mark.parametrize(
    ("sync", "mode", "strict"), [("on", True, False), ("strict", True, True), ("off", False, False)]
)
def test_synchronous_commit_to_one_standby_is_chosen_by_cluster_db_sync(tmp_path, sync, mode, strict):
    for node in configure(tmp_path, "--sync", sync):
        dcs = node["bootstrap"]["dcs"]
        assert (dcs["synchronous_mode"], dcs["synchronous_mode_strict"]) == (mode, strict)
        assert dcs["synchronous_node_count"] == 1


def test_a_silent_primary_loses_its_lease_within_the_ttl_patroni_accepts(tmp_path):
    for ttl in ("10", "30"):
        for node in configure(tmp_path, "--ttl", ttl):
            dcs = node["bootstrap"]["dcs"]
            assert dcs["ttl"] == int(ttl)
            assert dcs["loop_wait"] + 2 * dcs["retry_timeout"] <= dcs["ttl"]  # Patroni refuses more


def test_each_node_has_its_own_ports_and_folder_and_archives_from_it(tmp_path):
    conf = str(tmp_path / "backup" / "pgbackrest.conf")
    nodes = configure(tmp_path, "--nodes", "3", "--base-port", "6000", "--backup-conf", conf)
    assert [n["postgresql"]["listen"] for n in nodes] == ["127.0.0.1:6001", "127.0.0.1:6002", "127.0.0.1:6003"]
    assert [n["restapi"]["listen"] for n in nodes] == ["127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"]
    for n, node in enumerate(nodes, start=1):
        data = node["postgresql"]["data_dir"]
        assert data == str(tmp_path / "patroni" / f"db{n}")
        archive = node["postgresql"]["parameters"]["archive_command"]
        assert f"--config={conf}" in archive and f"--pg1-path={data} " in archive and archive.endswith("%p")
        assert node["bootstrap"]["dcs"]["postgresql"]["parameters"]["archive_mode"] == "on"


def test_over_tcp_every_connection_needs_a_password_and_the_secrets_are_private(tmp_path):
    nodes = configure(tmp_path)
    for node in nodes:
        tcp = [line for line in node["postgresql"]["pg_hba"] if line.startswith("host")]
        assert tcp and all(line.endswith("scram-sha-256") for line in tcp)
        assert node["postgresql"]["parameters"]["unix_socket_permissions"] == "0700"
    secrets = tmp_path / "patroni" / "secrets.json"
    assert secrets.stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "patroni" / "db1.yml").stat().st_mode & 0o777 == 0o600
    again = configure(tmp_path)  # a second start keeps the passwords the nodes were made with
    assert again[0]["postgresql"]["authentication"] == nodes[0]["postgresql"]["authentication"]
