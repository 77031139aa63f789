"""Fixtures: a private PostgreSQL/PostGIS cluster and Redis for the whole run,
the portal migrated and loaded with the committed one-province slice, and a
transaction per test that is rolled back afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

import port_for
import pytest
from flask import g
from flask_migrate import upgrade
from pytest_postgresql.executors.proc import PostgreSQLExecutor
from pytest_postgresql.janitor import DatabaseJanitor

from app import create_app
from app.extensions import db
from app.geodata.importer import import_features
from app.geodata.readers import read_features
from app.redis_conn import redis

ROOT = Path(__file__).resolve().parent.parent
SLICE = ROOT / "geodata" / "synth-46-hue.geojson"
SLICE_PROVINCE = "46"


@pytest.fixture(scope="session")
def postgresql_proc():
    """Start a throwaway PostgreSQL cluster (as the postgres user when run as root)."""
    base = Path(tempfile.mkdtemp(prefix="cmts-test-pg-"))
    base.chmod(0o755)
    if os.getuid() == 0:
        shutil.chown(base, "postgres", "postgres")
    executor = PostgreSQLExecutor(
        executable=str(ROOT / "ops" / "pg_ctl"),
        host="127.0.0.1",
        port=port_for.select_random(),
        datadir=str(base / "data"),
        unixsocketdir=str(base),
        logfile=str(base / "postgresql.log"),
        startparams="-w",
        dbname="portal_test",
        # A throwaway cluster needs no crash safety.
        postgres_options="-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
    )
    executor.start()
    executor.wait_for_postgres()
    yield executor
    executor.stop()
    shutil.rmtree(base, ignore_errors=True)


def database_url(proc: PostgreSQLExecutor, dbname: str) -> str:
    return f"postgresql+psycopg://{proc.user}@{proc.host}:{proc.port}/{dbname}"


@pytest.fixture(scope="session")
def app(postgresql_proc, redis_proc, tmp_path_factory):
    """The portal on a migrated test database holding the one-province slice."""
    janitor = DatabaseJanitor(
        user=postgresql_proc.user, host=postgresql_proc.host, port=postgresql_proc.port, dbname="portal_test"
    )
    janitor.init()
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url(postgresql_proc, "portal_test"),
            "REDIS_URL": f"redis://{redis_proc.host}:{redis_proc.port}/0",
        }
    )

    @app.teardown_request
    def forget_request_globals(exc):
        # Requests in a test share its app context; in production each request
        # has its own, so nothing cached in g (CSRF token, logged-in user) survives it.
        g.__dict__.clear()

    with app.app_context():
        upgrade()
        import_features(read_features(SLICE), "2025")
        db.session.commit()
        # Sessions join the per-test transaction through savepoints, so code
        # under test may commit and roll back as it does in production.
        db.session.remove()
        db.session.session_factory.configure(join_transaction_mode="create_savepoint")
    yield app
    janitor.drop()


@pytest.fixture
def app_ctx(app):
    """An app context whose database work is rolled back after the test."""
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        try:
            with _sessions_bound_to(connection):
                yield app
        finally:
            transaction.rollback()
            connection.close()


@contextmanager
def _sessions_bound_to(connection):
    """Make the current app's sessions use this connection (and its open transaction)."""
    engines = db.engines
    original = engines[None]
    engines[None] = connection
    try:
        yield
    finally:
        db.session.remove()
        engines[None] = original


@pytest.fixture
def client(app_ctx):
    """A browser-like client; rate-limit counters and queues start empty."""
    redis().flushdb()
    return app_ctx.test_client()


@pytest.fixture
def runner(app_ctx):
    return app_ctx.test_cli_runner()


@contextmanager
def bind_to_test_transaction(other_app):
    """Let another app (e.g. one with Redis unreachable) work inside this test's transaction."""
    connection = db.engines[None]
    with other_app.app_context(), _sessions_bound_to(connection):
        yield other_app


@pytest.fixture(scope="session")
def live_server(postgresql_proc, redis_proc, tmp_path_factory):
    """The portal served over HTTP from a thread, on its own committed database.

    Browser tests cannot share a test's transaction (the server answers from
    another thread), so they get a database of their own: migrated, with the
    one-province slice.
    """
    import threading

    from werkzeug.serving import make_server

    janitor = DatabaseJanitor(
        user=postgresql_proc.user, host=postgresql_proc.host, port=postgresql_proc.port, dbname="portal_browser"
    )
    janitor.init()
    app = create_app(
        {
            "SECRET_KEY": "browser-tests",  # served as in production: not TESTING, so a key of its own
            "SQLALCHEMY_DATABASE_URI": database_url(postgresql_proc, "portal_browser"),
            "REDIS_URL": f"redis://{redis_proc.host}:{redis_proc.port}/1",
            "STORAGE_ROOT": str(tmp_path_factory.mktemp("browser-storage")),
            "SUBMIT_LIMIT": "1000 per minute",
            # Every browser test signs in from 127.0.0.1: one client, many officers
            # in a minute. The login limits themselves are tested in test_scope.
            "LOGIN_LIMIT": "1000 per minute",
        }
    )
    with app.app_context():
        upgrade()
        import_features(read_features(SLICE), "2025")
        db.session.commit()
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config["LIVE_URL"] = f"http://127.0.0.1:{server.server_port}"
    from tests.factories import LIVE

    LIVE["app"] = app
    yield app
    server.shutdown()
    with app.app_context():
        db.engine.dispose()
    janitor.drop()


CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"  # screenshots the browser tests keep
ARTIFACTS.mkdir(exist_ok=True)


@pytest.fixture(scope="session")
def chromium():
    """Debian's headless Chromium driven by Playwright (no browser download)."""
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed (ops/bootstrap.sh installs it with WITH_BROWSER=1)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


def guarded_page(chromium, live_server, **context_options):
    """A page that may reach only the portal; it records (and refuses) any other request."""
    from urllib.parse import urlparse

    context = chromium.new_context(**context_options)
    page = context.new_page()
    page.outside_requests = []
    portal = urlparse(live_server.config["LIVE_URL"]).netloc

    def guard(route):
        if urlparse(route.request.url).netloc == portal:
            route.continue_()
        else:
            page.outside_requests.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    return page


@pytest.fixture
def phone(chromium, live_server):
    """A phone-sized page with no outside network."""
    page = guarded_page(
        chromium,
        live_server,
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="vi-VN",
    )
    yield page
    page.context.close()


@pytest.fixture
def desktop(chromium, live_server):
    """An office PC's page with no outside network."""
    page = guarded_page(chromium, live_server, viewport={"width": 1280, "height": 900}, locale="vi-VN")
    yield page
    page.context.close()


def pass_second_factor(page, username: str) -> None:
    """After the password: enrol as a new provincial or central officer would (the key read off the
    page, as a phone scans it; the recovery codes passed), or type the app's code."""
    import pyotp

    from app.models import User
    from tests.factories import LIVE, next_code

    page.wait_for_load_state("domcontentloaded")
    if "/login/enrol" in page.url:
        page.fill("#code", pyotp.TOTP(page.locator("#enrol-secret").inner_text()).now())
        page.click("button[type=submit]")
        page.click("#continue")
    elif "/login/code" in page.url:
        with LIVE["app"].app_context():
            code = next_code(db.session.scalar(db.select(User).where(User.username == username)))
            db.session.remove()
        page.fill("#code", code)
        page.click("button[type=submit]")


WIDTHS = (390, 1280)


@pytest.fixture(params=WIDTHS, ids=[f"{w}px" for w in WIDTHS])
def page(request, chromium, live_server):
    """A page of a phone (390 px) or an office PC (1280 px) with no outside network."""
    width = request.param
    options = {"viewport": {"width": width, "height": 844 if width < 600 else 900}, "locale": "vi-VN"}
    if width < 600:
        options.update(device_scale_factor=2, is_mobile=True, has_touch=True)
    page = guarded_page(chromium, live_server, **options)
    page.width = width
    yield page
    page.context.close()


def log_in_as_province(page, live_server, province: str = "46") -> None:
    """Sign in a new provincial officer of the live server in the browser, second factor and all."""
    import uuid

    from app.services.accounts import create_officer
    from tests.factories import PASSWORD

    username = f"tinh.{uuid.uuid4().hex[:8]}"
    with live_server.app_context():
        create_officer(username, "province", province, PASSWORD)
        db.session.commit()
        db.session.remove()
    sign_in(page, live_server.config["LIVE_URL"], username)


def sign_in(page, base: str, username: str) -> None:
    """Sign an officer in through the login page, second factor and all, and land on their pages."""
    import re

    from tests.factories import PASSWORD

    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    pass_second_factor(page, username)
    page.wait_for_url(re.compile(r"/officer/"))
