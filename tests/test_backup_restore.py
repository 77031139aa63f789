"""Backups with pgBackRest: WAL archived as the primary writes it, a full base backup, and a restore to a
point in time that recovers a petition filed before that time and not one filed after.

A throwaway cluster of its own (WAL archiving needs a restart to turn on), a pgBackRest repository in a
temporary folder, and the portal's real schema and intake path.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from app import create_app
from app.extensions import db
from app.geodata.importer import import_features
from app.geodata.readers import read_features
from tests.conftest import SLICE
from tests.factories import petition_in, slice_communes
from tests.replicas import Server, as_postgres, initdb, server_dir

STANZA = "portal"


def pgbackrest(conf: Path, *args: str) -> str:
    return as_postgres("pgbackrest", f"--config={conf}", f"--stanza={STANZA}", *args).stdout


@pytest.fixture
def archived(redis_proc):
    """A primary whose WAL pgBackRest archives, its repository, and its pgbackrest.conf."""
    if shutil.which("pgbackrest") is None:
        pytest.fail("pgBackRest is not installed (ops/bootstrap.sh installs it)")
    base = server_dir("cmts-test-backup-")
    conf = base / "pgbackrest.conf"
    archive = f"pgbackrest --config={conf} --stanza={STANZA} archive-push %p"
    primary = initdb(("archive_mode=on", f"archive_command='{archive}'", "wal_level=replica"))
    conf.write_text(
        f"[global]\nrepo1-path={base}/repo\nrepo1-retention-full=2\nlog-path={base}/log\nlock-path={base}/lock\n"
        f"start-fast=y\nlog-level-console=warn\n\n[{STANZA}]\npg1-path={primary.data}\n"
        f"pg1-port={primary.port}\npg1-socket-path={primary.base}\npg1-user=postgres\n"
    )
    as_postgres("mkdir", "-p", f"{base}/repo", f"{base}/log", f"{base}/lock")
    primary.start()
    restored: list[Server] = []
    try:
        yield primary, conf, restored
    finally:
        for server in [primary, *restored]:
            server.remove()
        shutil.rmtree(base, ignore_errors=True)


def test_a_point_in_time_restore_recovers_what_was_filed_before_and_not_after(archived, redis_proc):
    primary, conf, restored = archived
    with primary.connect() as conn:
        conn.execute("CREATE DATABASE portal")
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": primary.url("portal"),
            "REDIS_URL": f"redis://{redis_proc.host}:{redis_proc.port}/3",
        }
    )
    with app.app_context():
        upgrade()
        import_features(read_features(SLICE), "2025")
        db.session.commit()
        commune = slice_communes(1)[0]

        pgbackrest(conf, "stanza-create")
        pgbackrest(conf, "--type=full", "backup")
        backups = json.loads(pgbackrest(conf, "--output=json", "info"))[0]["backup"]
        # pgBackRest restores to a time from a backup that ended before it, in whole seconds: the first
        # petition comes after the second the backup ended in.
        ended = backups[0]["timestamp"]["stop"]
        for _ in range(500):
            if db.session.execute(text("SELECT extract(epoch FROM clock_timestamp())")).scalar_one() > ended + 1:
                break
            time.sleep(0.01)
        db.session.commit()

        before = petition_in(commune, title="Cầu tạm bị cuốn trôi").tracking_code
        db.session.commit()
        target = db.session.execute(text("SELECT clock_timestamp()::text")).scalar_one()  # after the first commit
        db.session.commit()
        after = petition_in(commune, title="Mất điện cả xóm").tracking_code
        db.session.commit()
        db.engine.dispose()
    pgbackrest(conf, "check")  # switches to a new WAL file and waits until the one holding both is archived
    assert [backup["type"] for backup in backups] == ["full"]
    primary.stop()

    # The restore procedure of the README, into a new data folder.
    copy = Server(server_dir("cmts-test-restore-"))
    restored.append(copy)
    pgbackrest(
        conf, f"--pg1-path={copy.data}", "--type=time", f"--target={target}", "--target-action=promote", "restore"
    )
    copy.start()
    with copy.connect("portal") as conn:
        for _ in range(600):  # the recovery ends with a promotion; bounded in count
            if not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                break
            time.sleep(0.1)
        assert conn.execute("SELECT pg_is_in_recovery()").fetchone()[0] is False
        codes = {code for (code,) in conn.execute("SELECT tracking_code FROM petitions")}
    assert before in codes
    assert after not in codes
