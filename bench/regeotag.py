"""Re-geotagging all 1,000,000 stored petitions, vs the best set-based placement of their points.

The portal's path is `regeotag` (what `flask geodata regeotag --all` runs),
over every stored petition, into the villages of the current generation: the
petitions stored in a village that does not cover their point (the generated
"nearest" ones, as after a boundary was re-drawn) move, the rest stay. It
runs in a transaction that is rolled back, so the prepared data stays as it
is.

The floor is the best set-based placement of the same points into the same
villages, measured in the same run: a parallel nested loop with the villages
outer (each polygon prepared once) probing a GiST index on the points, the
points stored in geohash order so that one village's probes read neighbouring
pages (a copy of (id, location) of the petitions, prepared once). It only
counts; the portal must also write the petitions that move.
"""

from __future__ import annotations

import time

from sqlalchemy import text

from app import create_app
from app.extensions import db
from app.queries.regeotag import PLACEMENT_SETTINGS, regeotag, set_local
from bench import data

POINTS = "bench_regeotag_points"
FLOOR = text(
    f"""SELECT count(*) FROM areas v JOIN {POINTS} p ON ST_Covers(v.geom, p.location)
        WHERE v.generation_id = :g AND v.level = 'village'"""
)


def run(table) -> None:
    url = data.national()  # with the 1,000,000 petitions
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        located = _points()
        _warm()
        generation = db.session.execute(text("SELECT id FROM generations WHERE is_current")).scalar_one()
        print(f"Re-geotag: all {located:,} located petitions into the current boundaries…", flush=True)
        floor_rows, floor_s = _floor(generation)
        started = time.perf_counter()
        moved = regeotag(generation, open_only=False)
        portal_s = time.perf_counter() - started
        db.session.rollback()
        floor_again, floor_again_s = _floor(generation)  # the machine is noisy: the floor before and after
    floor_s = min(floor_s, floor_again_s)
    print(
        f"  floor: {floor_rows:,} points placed in {floor_s:.2f} s; portal: {located:,} placed, {moved:,} moved, "
        f"in {portal_s:.2f} s",
        flush=True,
    )
    portal, floor = located / portal_s, floor_rows / floor_s
    table.add(
        f"re-geotag all {located:,} petitions ({moved:,} moved), portal path; {portal_s:.1f} s vs {floor_s:.1f} s",
        portal,
        "rows/s",
        baseline=floor,
        goal="≥ 0.5 of the set-based placement",
        met=portal >= 0.5 * floor,
    )


def _floor(generation: int) -> tuple[int, float]:
    set_local(PLACEMENT_SETTINGS)  # the planner's hand pushed to the plan above, as the portal's placement is
    plan = "\n".join(db.session.execute(text(f"EXPLAIN {FLOOR.text}"), {"g": generation}).scalars())
    started = time.perf_counter()
    rows = db.session.execute(FLOOR, {"g": generation}).scalar_one()
    seconds = time.perf_counter() - started
    db.session.rollback()
    if "Parallel" not in plan or "Nested Loop" not in plan or f"Index Scan using {POINTS}_location" not in plan:
        print(f"  (the floor's plan is not the parallel nested loop probing the points)\n{plan}", flush=True)
    return rows, seconds


def _warm() -> None:
    """Read the petitions table and its indexes into shared buffers, as on a database that has been running.

    The benchmark's PostgreSQL starts afresh each run; the first pass over a
    cold cache would otherwise double the portal's time (33–35 s against
    17 s), which a running server does not pay.
    """
    db.session.execute(text("CREATE EXTENSION IF NOT EXISTS pg_prewarm"))
    pages = db.session.execute(
        text(
            """SELECT sum(pg_prewarm(oid)) FROM pg_class
               WHERE oid = 'petitions'::regclass
                  OR oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = 'petitions'::regclass)"""
        )
    ).scalar_one()
    db.session.commit()
    print(f"  {pages * 8 / 1024:,.0f} MB of the petitions table and its indexes read into shared buffers", flush=True)


def _points() -> int:
    """The petitions' points in geohash order, with a GiST index (prepared once); return how many."""
    located = db.session.execute(text("SELECT count(*) FROM petitions WHERE location IS NOT NULL")).scalar_one()
    exists = db.session.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": POINTS}).scalar_one()
    if exists and db.session.execute(text(f"SELECT count(*) FROM {POINTS}")).scalar_one() == located:
        return located
    print("  preparing the points in geohash order (once)…", flush=True)
    db.session.execute(text(f"DROP TABLE IF EXISTS {POINTS}"))
    db.session.execute(
        text(
            f"""CREATE TABLE {POINTS} AS SELECT id, location FROM petitions WHERE location IS NOT NULL
                ORDER BY ST_GeoHash(location)"""
        )
    )
    db.session.execute(text(f"CREATE INDEX {POINTS}_location ON {POINTS} USING gist (location)"))
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f"VACUUM (ANALYZE) {POINTS}"))
    return located
