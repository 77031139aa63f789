"""Read routing to a real streaming standby: the maps, reports and exports read it, every write goes to the
primary, the pages say how fresh the standby's data are, and a standby too far behind (or away) is not read.

The standby is made with pg_basebackup from the tests' PostgreSQL and streams from it. To see which server
a page read, the standby's replay is paused and a petition filed on the primary: a page that shows it read
the primary, one that does not read the standby.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager

import port_for
import pytest
from flask_migrate import upgrade
from pytest_postgresql.janitor import DatabaseJanitor
from sqlalchemy import event, func, select, text

from app import create_app
from app.extensions import db
from app.geodata.importer import import_features
from app.geodata.readers import read_features
from app.models import User
from app.services import workflow
from app.standby import use_standby
from tests.conftest import SLICE
from tests.factories import log_in, officer, petition_in, slice_communes
from tests.replicas import standby_of, wait_replayed

DBNAME = "portal_replicated"


@pytest.fixture(scope="module")
def replicated(postgresql_proc, redis_proc):
    """A committed, migrated database on the tests' PostgreSQL, a hot standby of it, and a commune officer."""
    janitor = DatabaseJanitor(
        user=postgresql_proc.user, host=postgresql_proc.host, port=postgresql_proc.port, dbname=DBNAME
    )
    janitor.init()
    primary_url = f"postgresql+psycopg://{postgresql_proc.user}@{postgresql_proc.host}:{postgresql_proc.port}/{DBNAME}"
    setup = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": primary_url, "REDIS_URL": _redis(redis_proc)})
    with setup.app_context():
        upgrade()
        import_features(read_features(SLICE), "2025")
        commune = slice_communes(1)[0]
        username = officer("commune", commune).username
        db.session.commit()
        db.engine.dispose()
    standby = standby_of(postgresql_proc.host, postgresql_proc.port)
    try:
        yield {"primary": primary_url, "standby": standby, "commune": commune, "username": username}
    finally:
        standby.remove()
        janitor.drop()


def _redis(redis_proc) -> str:
    return f"redis://{redis_proc.host}:{redis_proc.port}/2"


@contextmanager
def portal(replicated, redis_proc, read_url: str | None, max_lag_s: float = 3600):
    """The portal on the primary, reading the standby at read_url (None: no standby configured)."""
    binds = {"standby": {"url": read_url}} if read_url else {}
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": replicated["primary"],
            "SQLALCHEMY_BINDS": binds,
            "DATABASE_READ_MAX_LAG_S": max_lag_s,
            "REDIS_URL": _redis(redis_proc),
        }
    )
    try:
        yield app
    finally:
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture
def paused(replicated):
    """The standby replays nothing new until the test ends (it still receives the primary's WAL).

    A transaction is replayed first: its commit time is the standby's "as of" while it is paused.
    """
    with replicated["standby"].connect() as conn, psycopg_primary(replicated) as primary:
        primary.execute("CREATE TABLE IF NOT EXISTS replay_marks (at timestamptz)")
        primary.execute("INSERT INTO replay_marks VALUES (now())")
        wait_replayed(primary, conn)
        conn.execute("SELECT pg_wal_replay_pause()")
    try:
        yield replicated["standby"]
    finally:
        with replicated["standby"].connect() as conn:
            conn.execute("SELECT pg_wal_replay_resume()")


def file_on_primary(app, commune: str) -> str:
    """A committed petition with a title of its own; returns the title."""
    title = f"Cống thoát nước tắc {uuid.uuid4().hex[:8]}"
    with app.app_context():
        petition_in(commune, title=title)
        db.session.commit()
    return title


def logged_in(app, replicated):
    client = app.test_client()
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == replicated["username"]))
    log_in(client, user)
    return client


def test_report_and_export_read_the_standby_and_say_how_fresh_it_is(replicated, redis_proc, paused):
    with portal(replicated, redis_proc, paused.url(DBNAME)) as app:
        title = file_on_primary(app, replicated["commune"])
        client = logged_in(app, replicated)

        export = client.get("/officer/export.csv")
        assert export.status_code == 200
        assert title not in export.get_data(as_text=True)  # the standby has not replayed it yet
        report = client.get("/officer/report").get_data(as_text=True)
        assert 'id="data-as-of"' in report and "Dữ liệu tính đến" in report
        officer_map = client.get("/officer/map").get_data(as_text=True)
        assert "Dữ liệu tính đến" in officer_map

        with replicated["standby"].connect() as standby:
            standby.execute("SELECT pg_wal_replay_resume()")
            with psycopg_primary(replicated) as primary:
                wait_replayed(primary, standby)
        assert title in client.get("/officer/export.csv").get_data(as_text=True)


def test_scorecard_and_public_map_note_the_standby_time(replicated, redis_proc):
    with portal(replicated, redis_proc, replicated["standby"].url(DBNAME)) as app:
        client = app.test_client()
        scorecard = client.get(f"/scorecard/{replicated['commune']}")
        assert scorecard.status_code == 200
        assert "Dữ liệu tính đến" in scorecard.get_data(as_text=True)
        assert "Dữ liệu tính đến" in client.get("/map").get_data(as_text=True)
        english = client.get(f"/scorecard/{replicated['commune']}?lang=en").get_data(as_text=True)
        assert "Data as of" in english


def test_a_write_after_a_read_from_the_standby_goes_to_the_primary(replicated, redis_proc):
    with portal(replicated, redis_proc, replicated["standby"].url(DBNAME)) as app, app.app_context():
        assert use_standby() is not None
        assert db.session.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is True
        assert db.session.scalar(select(func.pg_is_in_recovery())) is True
        user = db.session.scalar(select(User).where(User.username == replicated["username"]))  # from the standby
        locked = select(User).where(User.id == user.id).with_for_update()
        assert db.session.scalar(locked) is user  # a hot standby refuses FOR UPDATE: this one is the primary's
        marker = uuid.uuid4().hex
        workflow.record(None, user, "exported_contact", data={"marker": marker})  # the ORM's flush
        db.session.commit()
        assert db.session.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is True  # reads still routed
        # a WITH that writes, and a SELECT that locks, read as text: the primary's too
        written = db.session.execute(
            text(
                "WITH w AS (UPDATE users SET full_name = full_name WHERE id = :id RETURNING id) "
                "SELECT pg_is_in_recovery() FROM w"
            ),
            {"id": user.id},
        ).scalar_one()
        assert written is False
        assert db.session.execute(text("SELECT pg_is_in_recovery() FROM users FOR SHARE LIMIT 1")).scalar() is False
        db.session.commit()
        db.session.remove()
    with psycopg_primary(replicated) as primary:
        found = primary.execute("SELECT count(*) FROM audit_events WHERE data->>'marker' = %s", (marker,)).fetchone()[0]
    assert found == 1


def test_views_that_are_not_reports_read_the_primary(replicated, redis_proc, paused):
    with portal(replicated, redis_proc, paused.url(DBNAME)) as app:
        client = app.test_client()
        response = client.post(
            "/petitions",
            data={**petition_form(client), "title": "Ổ gà giữa đường"},
            content_type="multipart/form-data",
        )
        assert response.status_code == 303
        status = client.get(response.headers["Location"])  # the citizen's own petition, just filed
        assert status.status_code == 200
        assert "Ổ gà giữa đường" in status.get_data(as_text=True)
        assert "Dữ liệu tính đến" not in status.get_data(as_text=True)


def test_a_standby_further_behind_than_the_bound_is_not_read(replicated, redis_proc, paused):
    with portal(replicated, redis_proc, paused.url(DBNAME), max_lag_s=0) as app:
        title = file_on_primary(app, replicated["commune"])
        client = logged_in(app, replicated)
        assert title in client.get("/officer/export.csv").get_data(as_text=True)
        assert "Dữ liệu tính đến" not in client.get("/officer/report").get_data(as_text=True)


def test_an_unreachable_standby_leaves_the_reports_on_the_primary(replicated, redis_proc):
    nowhere = f"postgresql+psycopg://postgres@127.0.0.1:{port_for.select_random()}/{DBNAME}?connect_timeout=2"
    with portal(replicated, redis_proc, nowhere) as app:
        title = file_on_primary(app, replicated["commune"])
        client = logged_in(app, replicated)
        with app.app_context():
            attempts = []
            event.listen(db.engines["standby"], "do_connect", lambda *args: attempts.append(1))
        report = client.get("/officer/report")
        assert report.status_code == 200
        assert "Dữ liệu tính đến" not in report.get_data(as_text=True)
        assert title in client.get("/officer/export.csv").get_data(as_text=True)
        assert len(attempts) == 1  # not tried again by the next page for DATABASE_READ_RETRY_S


def test_without_a_read_url_the_reports_read_the_primary_and_say_nothing(replicated, redis_proc, paused):
    with portal(replicated, redis_proc, None) as app:
        title = file_on_primary(app, replicated["commune"])
        client = logged_in(app, replicated)
        assert title in client.get("/officer/export.csv").get_data(as_text=True)
        assert "Dữ liệu tính đến" not in client.get("/officer/report").get_data(as_text=True)


def petition_form(client) -> dict:
    from tests.factories import csrf_token, petition_fields

    return petition_fields(csrf_token=csrf_token(client))


@contextmanager
def psycopg_primary(replicated):
    import psycopg

    with psycopg.connect(replicated["primary"].replace("+psycopg", ""), autocommit=True) as conn:
        yield conn


def test_a_database_url_naming_every_node_reaches_the_one_that_takes_writes(replicated, redis_proc, monkeypatch):
    """libpq's multi-host URL with target_session_attrs=read-write: the standby, named first, is passed over."""
    standby, primary = replicated["standby"].port, int(replicated["primary"].split(":")[2].split("/")[0])
    monkeypatch.setenv(
        "DATABASE_URL",
        f"postgresql://postgres@/{DBNAME}?host=127.0.0.1:{standby}&host=127.0.0.1:{primary}"
        "&target_session_attrs=read-write",
    )
    monkeypatch.setenv("DATABASE_READ_URL", replicated["standby"].url(DBNAME, "postgresql"))
    app = create_app({"TESTING": True, "REDIS_URL": _redis(redis_proc)})
    try:
        with app.app_context():
            assert db.session.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is False
            with db.engines["standby"].connect() as connection:
                assert connection.execute(text("SELECT pg_is_in_recovery()")).scalar_one() is True
    finally:
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()


def test_while_no_node_takes_writes_a_citizen_gets_the_503_page_with_the_text_and_no_code(replicated, redis_proc):
    """The seconds of a failover: the primary gone, the standby not yet promoted (libpq passes it over)."""
    from tests.factories import petition_fields

    standby = replicated["standby"].port
    only_standby = f"postgresql+psycopg://postgres@/{DBNAME}?host=127.0.0.1:{standby}&target_session_attrs=read-write"
    app = create_app(
        {
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "SQLALCHEMY_DATABASE_URI": only_standby,
            "REDIS_URL": _redis(redis_proc),
            "SUBMIT_LIMIT": "1 per minute",
        }
    )
    try:
        phone = app.test_client()
        form = petition_fields(body="Nước giếng cả xóm có mùi lạ từ tuần trước.")
        for _ in range(3):  # sent again by the phone (its same key): refused neither by the limit nor silently
            response = phone.post("/petitions", data=form)
            html = response.get_data(as_text=True)
            assert response.status_code == 503
            assert "Hệ thống đang tạm thời gián đoạn" in html
            assert "Nước giếng cả xóm có mùi lạ từ tuần trước." in html
            assert "Location" not in response.headers  # no receipt: nothing was stored
        another = phone.post("/petitions", data=petition_fields(body="Một kiến nghị khác, gửi ngay sau đó."))
        assert another.status_code == 429  # a new form counts: the limit's one was spent by the first
    finally:
        with app.app_context():
            db.engine.dispose()


def test_the_public_maps_shared_counts_say_when_they_were_counted(replicated, redis_proc):
    import json

    from app.redis_conn import redis
    from app.services import map_counts

    with portal(replicated, redis_proc, replicated["standby"].url(DBNAME)) as app:
        with app.app_context():
            redis().flushdb()
        client = app.test_client()
        assert "Dữ liệu tính đến" in client.get("/map").get_data(as_text=True)
        with app.app_context():  # the counts that page shared were made long ago
            keys = list(redis().scan_iter(map_counts.KEY_PREFIX + "*"))
            assert keys
            for key in keys:
                numbers = json.loads(redis().get(key))
                numbers["as_of"] = "2026-01-01T00:00:00+00:00"
                redis().set(key, json.dumps(numbers), ex=300)
        assert "Dữ liệu tính đến 01/01/2026 07:00." in client.get("/map").get_data(as_text=True)


def test_a_write_that_reaches_a_standby_gets_the_503_page_and_the_connection_is_dropped(replicated, redis_proc):
    """A connection that still points at a node demoted to a standby (no target_session_attrs to catch it)."""
    from tests.factories import petition_fields

    app = create_app(
        {
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "SQLALCHEMY_DATABASE_URI": replicated["standby"].url(DBNAME),
            "REDIS_URL": _redis(redis_proc),
        }
    )
    try:
        dropped = []
        with app.app_context():
            event.listen(db.engine, "invalidate", lambda *args: dropped.append(1))
        phone = app.test_client()
        response = phone.post("/petitions", data=petition_fields(body="Cột điện nghiêng sắp đổ ra đường."))
        assert response.status_code == 503
        assert "Cột điện nghiêng sắp đổ ra đường." in response.get_data(as_text=True)
        assert dropped  # not handed to the next request
    finally:
        with app.app_context():
            db.engine.dispose()
