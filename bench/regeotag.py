"""Re-geotagging every stored petition after a boundary change, vs the raw spatial join.

The portal's path is `spatial.regeotag` (what `flask geodata regeotag --all`
runs); the baseline is a bare UPDATE … FROM … ST_Covers of the same rows.
Both run inside a transaction that is rolled back, so the prepared data
stays as it is. To make every row move, the petitions' village is first
cleared in that same transaction.
"""

from __future__ import annotations

import time

from sqlalchemy import text

from app import create_app, spatial
from app.extensions import db
from bench import data

RAW_JOIN = text(
    """UPDATE petitions p SET village_id = v.id, commune_id = v.parent_id
       FROM areas v WHERE v.generation_id = :g AND v.level = 'village' AND ST_Covers(v.geom, p.location)"""
)


def run(table) -> None:
    print("Re-geotag: every stored petition into the current boundaries…", flush=True)
    url = data.national()
    data.petitions(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        generation = db.session.execute(text("SELECT id FROM generations WHERE is_current")).scalar_one()
        portal_rows, portal_s = _timed(lambda: spatial.regeotag(generation, open_only=False))
        raw_rows, raw_s = _timed(lambda: db.session.execute(RAW_JOIN, {"g": generation}).rowcount)
    table.add(
        f"re-geotag {portal_rows:,} petitions (portal path)",
        portal_rows / portal_s,
        "rows/s",
        baseline=raw_rows / raw_s,
        goal="≥ 0.7 of the raw join",
        met=(portal_rows / portal_s) >= 0.7 * raw_rows / raw_s,
    )


def _timed(update) -> tuple[int, float]:
    db.session.execute(text("SET LOCAL max_parallel_workers_per_gather = 2"))
    db.session.execute(text("UPDATE petitions SET village_id = NULL WHERE location IS NOT NULL"))
    started = time.perf_counter()
    rows = update()
    seconds = time.perf_counter() - started
    db.session.rollback()
    return rows, seconds
