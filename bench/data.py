"""The benchmark database: the national synthetic geography, prepared once and reused."""

from __future__ import annotations

from flask_migrate import upgrade
from sqlalchemy import create_engine, make_url, text

from app import create_app
from app.extensions import db
from app.geodata import synth
from app.geodata.importer import import_features

BENCH_DB = "portal_bench"
NATIONAL_AREAS = 34 + 3321 + 90_508


def database(name: str, *, fresh: bool = False) -> str:
    """Create (or, fresh, re-create) a database beside the configured one; return its URL."""
    url = make_url(create_app().config["SQLALCHEMY_DATABASE_URI"])
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar()
        if fresh and exists:
            conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
        if fresh or not exists:
            conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def national() -> str:
    """The benchmark database with the national geography loaded (once)."""
    url = database(BENCH_DB)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        loaded = db.session.execute(text("SELECT count(*) FROM areas")).scalar_one()
        if loaded != NATIONAL_AREAS:
            print("Preparing the national synthetic geography (once)…", flush=True)
            import_features(synth.generate(2025), "2025")
            db.session.commit()
            db.session.execute(text("ANALYZE"))
            db.session.commit()
    return url
