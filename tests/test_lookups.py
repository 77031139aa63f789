"""A lookup runs outside any transaction on a connection its thread keeps outside the pool: it leaves no
transaction open and the pool's connections to the sessions; inside a transaction already open it joins it
(and sees what it wrote); and a kept connection the server dropped is replaced without the caller noticing."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from app import create_app
from app.extensions import db
from app.geodata.importer import import_features
from app.services.geotag import geotag
from tests.conftest import database_url
from tests.factories import mini_geography

HUE = "lat=16.4637&lon=107.5909"  # in province 46, the committed slice


@pytest.fixture
def served(app, postgresql_proc, redis_proc):
    """The portal bound to its database engine as in production (not to a test's transaction), one pooled
    connection (the sessions'; lookups keep their own outside the pool)."""
    served = create_app(
        {
            "SECRET_KEY": "lookups",
            "SQLALCHEMY_DATABASE_URI": database_url(postgresql_proc, "portal_test"),
            "REDIS_URL": f"redis://{redis_proc.host}:{redis_proc.port}/2",
            "SQLALCHEMY_ENGINE_OPTIONS": {
                "pool_size": 1,
                "max_overflow": 0,
                "pool_timeout": 5,
                "hide_parameters": True,
            },
        }
    )
    yield served
    with served.app_context():
        db.engine.dispose()


def lookup_backend(served) -> int:
    """The server process of the connection this thread's lookups keep."""
    from app.queries.geotag import reading

    with served.app_context(), reading() as conn:
        return conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()


def test_a_lookup_leaves_no_transaction_open_and_the_pools_connections_transactional(served):
    response = served.test_client().get(f"/api/v1/locate?{HUE}")
    assert response.status_code == 200 and response.json["province"]["code"] == "46"
    with served.app_context():
        state = db.session.execute(
            text("SELECT state FROM pg_stat_activity WHERE pid = :pid"), {"pid": lookup_backend(served)}
        ).scalar()
        assert state == "idle"  # not "idle in transaction": nothing held open between requests
        db.session.rollback()
        # The pool's one connection is still the sessions', and what they do a rollback still undoes.
        db.session.execute(text("CREATE TEMP TABLE lookup_probe (n int)"))
        db.session.rollback()
        assert db.session.execute(text("SELECT to_regclass('pg_temp.lookup_probe')")).scalar() is None
        db.session.rollback()


def test_lookups_keep_one_connection_between_requests(served):
    client = served.test_client()
    assert client.get(f"/api/v1/locate?{HUE}").status_code == 200
    first = lookup_backend(served)
    for _ in range(5):
        assert client.get(f"/api/v1/locate?{HUE}").status_code == 200
    assert lookup_backend(served) == first


def test_a_lookup_inside_an_open_transaction_sees_what_it_wrote(served):
    with served.app_context():
        import_features(mini_geography(), "mini-lookups", make_current=True)
        db.session.flush()
        try:
            tag = geotag(105.031, 20.049)  # in the village just imported, not committed
            assert (tag.village.code, tag.commune.code, tag.method) == ("99001001", "99001", "inside")
        finally:
            db.session.rollback()
        assert geotag(105.031, 20.049).method == "unlocated"  # gone with the rollback


def test_a_lookup_whose_kept_connection_the_server_dropped_is_answered_on_a_new_one(served, postgresql_proc):
    import psycopg

    client = served.test_client()
    assert client.get(f"/api/v1/locate?{HUE}").status_code == 200
    pid = lookup_backend(served)
    dsn = database_url(postgresql_proc, "portal_test").replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    again = client.get(f"/api/v1/locate?{HUE}")
    assert again.status_code == 200 and again.json["province"]["code"] == "46"
    assert lookup_backend(served) != pid


def test_a_lookup_with_the_database_gone_answers_503(app):
    from tests.test_petitions import portal_without_database

    gone = portal_without_database(app)
    response = gone.test_client().get(f"/api/v1/locate?{HUE}")
    assert response.status_code == 503 and response.json["error"]["code"] == "unavailable"


def test_a_lookup_in_a_transaction_whose_connection_the_server_dropped_is_a_database_error(served, postgresql_proc):
    import psycopg
    from sqlalchemy.exc import OperationalError

    dsn = database_url(postgresql_proc, "portal_test").replace("postgresql+psycopg", "postgresql")
    with served.app_context():
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()  # the session's transaction
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        with pytest.raises(OperationalError) as raised:  # answered 503, not sent again on the dead transaction
            geotag(107.5909, 16.4637)
        assert "107.5909" not in str(raised.value)  # a citizen's place is never in an error message
        db.session.rollback()


def test_a_forking_process_closes_its_kept_connection_so_no_child_shares_it(served):
    import os

    assert served.test_client().get(f"/api/v1/locate?{HUE}").status_code == 200
    before = lookup_backend(served)
    child = os.fork()
    if child == 0:
        os._exit(0)
    os.waitpid(child, 0)
    assert lookup_backend(served) != before
