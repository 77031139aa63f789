"""A lookup runs outside any transaction on a pooled connection: it leaves that connection as it found it,
and inside a transaction already open it joins it (and sees what it wrote)."""

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
    """The portal bound to its database engine as in production (not to a test's transaction), one pooled connection."""
    served = create_app(
        {
            "SECRET_KEY": "lookups",
            "SQLALCHEMY_DATABASE_URI": database_url(postgresql_proc, "portal_test"),
            "REDIS_URL": f"redis://{redis_proc.host}:{redis_proc.port}/2",
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 1, "max_overflow": 0, "pool_timeout": 5},
        }
    )
    yield served
    with served.app_context():
        db.engine.dispose()


def test_a_lookup_leaves_its_pooled_connection_transactional_for_the_next_request(served):
    response = served.test_client().get(f"/api/v1/locate?{HUE}")
    assert response.status_code == 200 and response.json["province"]["code"] == "46"
    with served.app_context():
        # The pool's one connection, the lookup's: what a session does on it a rollback still undoes.
        db.session.execute(text("CREATE TEMP TABLE lookup_probe (n int)"))
        db.session.rollback()
        assert db.session.execute(text("SELECT to_regclass('pg_temp.lookup_probe')")).scalar() is None
        db.session.rollback()


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


def test_a_lookup_whose_connection_the_server_dropped_answers_503_and_the_next_one_gets_a_new_connection(
    served, postgresql_proc
):
    import psycopg

    client = served.test_client()
    assert client.get(f"/api/v1/locate?{HUE}").status_code == 200
    with served.app_context():
        pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()  # the pool's one connection
        db.session.remove()
    dsn = database_url(postgresql_proc, "portal_test").replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    dropped = client.get(f"/api/v1/locate?{HUE}")
    assert dropped.status_code == 503 and dropped.json["error"]["code"] == "unavailable"
    again = client.get(f"/api/v1/locate?{HUE}")
    assert again.status_code == 200 and again.json["province"]["code"] == "46"
