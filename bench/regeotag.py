"""Re-geotagging petitions after a boundary change, vs the raw spatial join.

The portal's path is `app.queries.regeotag` (what `flask geodata regeotag --all`
runs); the baseline is a bare UPDATE … FROM … ST_Covers of the same rows.
Both run on the same SLICE of the stored petitions (their village cleared
first, so every row moves), inside a transaction that is rolled back, so the
prepared data stays as it is. A slice, because each such UPDATE rewrites
every index of the petitions table (the trigram index among them): four
passes over all 1,000,000 rows would take most of the suite's 15 minutes.
"""

from __future__ import annotations

import time

from sqlalchemy import text

from app import create_app
from app.extensions import db
from app.queries.regeotag import regeotag
from bench import data

SLICE = 100_000
RAW_JOIN = text(
    """UPDATE petitions p SET village_id = v.id, commune_id = v.parent_id
       FROM areas v WHERE v.generation_id = :g AND v.level = 'village' AND ST_Covers(v.geom, p.location)
         AND p.village_id IS NULL"""
)


def run(table) -> None:
    print(f"Re-geotag: {SLICE:,} stored petitions into the current boundaries…", flush=True)
    url = data.national()  # with the 1,000,000 petitions
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        generation = db.session.execute(text("SELECT id FROM generations WHERE is_current")).scalar_one()
        portal_rows, portal_s = _timed(lambda: regeotag(generation, open_only=False))
        raw_rows, raw_s = _timed(lambda: db.session.execute(RAW_JOIN, {"g": generation}).rowcount)
    portal, raw = portal_rows / portal_s, raw_rows / raw_s
    table.add(
        f"re-geotag {portal_rows:,} petitions (portal path)",
        portal,
        "rows/s",
        baseline=raw,
        goal="≥ 0.7 of the raw join",
        met=portal >= 0.7 * raw,
    )


def _timed(update) -> tuple[int, float]:
    db.session.execute(
        text(
            "UPDATE petitions SET village_id = NULL WHERE id IN (SELECT id FROM petitions WHERE location IS NOT NULL "
            "ORDER BY id LIMIT :n)"
        ),
        {"n": SLICE},
    )
    started = time.perf_counter()
    rows = update()
    seconds = time.perf_counter() - started
    db.session.rollback()
    return rows, seconds
