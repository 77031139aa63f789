"""The benchmark database: the national synthetic geography, prepared once and reused."""

from __future__ import annotations

import psycopg
from flask_migrate import upgrade
from sqlalchemy import create_engine, make_url, text

from app import create_app
from app.extensions import db
from app.geodata import synth
from app.geodata.importer import import_features
from bench import petition_data

BENCH_DB = "portal_bench"
NATIONAL_AREAS = 34 + 3321 + 90_508
PETITIONS = petition_data.N


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
    """The benchmark database: the national geography and 1,000,000 petitions (both prepared once).

    Every benchmark on it sees the same data, whichever ran first.
    """
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
    petitions(url)
    return url


def petitions(url: str) -> None:
    """Make sure the benchmark database holds exactly the 1,000,000 generated petitions (prepared once).

    See bench/petition_data.py for how they are spread; they are loaded with
    COPY, with their audit rows and answers, in one transaction.
    """
    dsn = psycopg_dsn(url)
    with psycopg.connect(dsn) as conn:
        query = "SELECT count(*), count(accepted_at) FROM petitions WHERE channel = %s"
        count, accepted = conn.execute(query, (petition_data.CHANNEL,)).fetchone()
    if count == PETITIONS and accepted:
        return
    if count:
        why = f"not the expected {PETITIONS:,}" if count != PETITIONS else "made before they carried publication"
        print(f"Removing {count:,} generated petitions ({why})…", flush=True)
        petition_data.delete(dsn, "channel = %s", (petition_data.CHANNEL,))
    print(f"Preparing {PETITIONS:,} generated petitions (once)…", flush=True)
    loaded = petition_data.load(dsn, PETITIONS)
    copy_s = loaded.steps["COPY petitions"]
    print(
        f"  loaded {loaded.petitions:,} petitions ({loaded.events:,} audit rows, {loaded.answers:,} answers) "
        f"in {loaded.seconds:.1f} s, {loaded.petitions / loaded.seconds:,.0f} petitions/s overall; "
        f"COPY of the petitions alone {copy_s:.1f} s ({loaded.petitions / copy_s:,.0f} rows/s)",
        flush=True,
    )
    print("  " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in loaded.steps.items()), flush=True)


def delete_petitions(url: str, where: str, params: tuple = ()) -> int:
    """Delete petitions a benchmark made, with their audit rows (see petition_data.delete)."""
    return petition_data.delete(psycopg_dsn(url), where, params)


def psycopg_dsn(url: str) -> str:
    """The SQLAlchemy URL as a libpq connection string for psycopg."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
