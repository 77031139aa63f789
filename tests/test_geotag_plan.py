"""The geotag statements join areas by their keys: the planner knows geotag() and place() return one row."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from app.extensions import db
from app.geodata.importer import import_features
from app.geodata.readers import read_features
from app.queries.geotag import PLACE_SQL, insert_placed_sql
from tests.test_realdata import COMMUNES, PROVINCES

GEOTAG_SIGNATURE = "geotag(double precision, double precision, double precision, integer)"
PLACE_SIGNATURE = "place(double precision, double precision, integer, double precision)"
HANOI = {"lon": 105.8345, "lat": 21.0368}

SUBMIT_VALUES = {
    "idempotency_key": None,
    "tracking_code": "PLAN0000",
    "channel": "web",
    "title": "Đèn đường hỏng",
    "body": "Đèn đường trước nhà văn hoá hỏng đã một tuần.",
    "category_code": "roads",
    "status": "received",
    "chosen_area_id": None,
    "is_anonymous": True,
    "consent_at": datetime(2026, 12, 1, tzinfo=UTC),
}


@pytest.fixture
def real_current(app_ctx):
    """The real provinces and communes as the current generation, as `flask geodata load --make-current` leaves them."""
    import_features(read_features(PROVINCES) + read_features(COMMUNES), "real-2025", make_current=True)


def explain(sql: str, params: dict) -> dict:
    """The plan of a statement with the driver's parameters, as EXPLAIN (FORMAT JSON) gives it."""
    return db.session.connection().exec_driver_sql(f"EXPLAIN (FORMAT JSON) {sql}", params).scalar_one()[0]["Plan"]


def nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def locate_plan() -> dict:
    return explain(PLACE_SQL, {**HANOI, "chosen": None, "near_m": 2000.0})


def submit_plan() -> dict:
    columns = tuple(SUBMIT_VALUES)
    return explain(insert_placed_sql(columns), {**SUBMIT_VALUES, **HANOI, "near_m": 2000.0, "actor_label": "citizen"})


def assert_areas_joined_by_key(plan: dict) -> None:
    scans = [(n["Node Type"], n.get("Index Name")) for n in nodes(plan) if n.get("Relation Name") == "areas"]
    assert scans and all(kind != "Seq Scan" for kind, _ in scans), scans
    functions = [n for n in nodes(plan) if n["Node Type"] == "Function Scan"]
    estimates = [(n["Function Name"], n["Plan Rows"]) for n in functions]
    assert functions and all(rows == 1 for _, rows in estimates), estimates


def test_the_planner_expects_one_row_from_geotag_and_place(app_ctx):
    rows = dict(
        db.session.execute(text("SELECT proname, prorows FROM pg_proc WHERE proname IN ('geotag', 'place')")).all()
    )
    assert rows == {"geotag": 1, "place": 1}


@pytest.mark.parametrize("statement", [locate_plan, submit_plan], ids=["locate", "submit"])
@pytest.mark.realdata
@pytest.mark.skipif(not COMMUNES.is_file(), reason="real boundary files not present")
def test_the_geotag_statements_join_the_real_communes_by_key(real_current, statement):
    assert_areas_joined_by_key(statement())


@pytest.mark.parametrize("statement", [locate_plan, submit_plan], ids=["locate", "submit"])
@pytest.mark.realdata
@pytest.mark.skipif(not COMMUNES.is_file(), reason="real boundary files not present")
def test_the_default_thousand_row_guess_fails_the_plan_check(real_current, statement):
    # What the test above guards: PostgreSQL's defaults for a set-returning function, as before migration 0013.
    # (Whether the planner then scans areas depends on their statistics; the estimate itself always shows.)
    for signature in (GEOTAG_SIGNATURE, PLACE_SIGNATURE):
        db.session.execute(text(f"ALTER FUNCTION {signature} ROWS 1000 COST 100"))
    with pytest.raises(AssertionError):
        assert_areas_joined_by_key(statement())


# Re-geotagging (flask geodata regeotag): the placement of every stored point into the new villages.


@pytest.fixture
def statistics_restored(app):
    """After the test's rollback: the petitions' statistics of what the other tests see (an ANALYZE is not undone),
    and the rolled-back rows' space reclaimed now rather than whenever autovacuum comes."""
    yield
    with app.app_context(), db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) petitions"))


@pytest.fixture
def many_points(statistics_restored, app_ctx):
    """80,000 petitions at random points of the slice's province, and the planner's statistics of them."""
    from app.services.petitions import Submission, submit

    submit(Submission(title="Đèn đường hỏng", body="Cả đoạn đường tối om.", category="roads", lon=107.58, lat=16.46))
    columns = [
        c
        for c in db.session.execute(
            text("SELECT column_name FROM information_schema.columns WHERE table_name = 'petitions'")
        ).scalars()
        if c not in ("id", "tracking_code", "public_id", "idempotency_key", "location")
    ]
    listed = ", ".join(columns)
    db.session.execute(text("SELECT setseed(0.17)"))  # the same points, and so the same statistics, every run
    db.session.execute(
        text(
            f"""INSERT INTO petitions (tracking_code, location, {listed})
                SELECT 'PLAN' || g, ST_SetSRID(ST_MakePoint(107.0 + random() * 1.0, 15.9 + random() * 0.8), 4326),
                       {listed}
                FROM generate_series(1, 80000) g, (SELECT * FROM petitions ORDER BY id DESC LIMIT 1) t"""
        )
    )
    db.session.execute(text("ANALYZE petitions"))


def regeotag_plan() -> dict:
    from app.queries.regeotag import PLACEMENT_SETTINGS, PLACEMENT_SQL, set_local

    set_local(PLACEMENT_SETTINGS)
    generation = db.session.execute(text("SELECT id FROM generations WHERE is_current")).scalar_one()
    sql = PLACEMENT_SQL.format(only_open="").replace(":g", "%(g)s")
    return explain(sql, {"g": generation})


def test_regeotag_probes_the_points_index_with_the_villages_outer(many_points):
    plan = regeotag_plan()
    loops = [n for n in nodes(plan) if n["Node Type"] == "Nested Loop"]
    assert loops, plan
    points = [n for n in nodes(plan) if n.get("Relation Name") == "petitions"]
    assert [(n["Node Type"], n.get("Index Name")) for n in points] == [("Index Scan", "petitions_location")], points
    # the petitions are probed inside the loop (its inner side), not read once outer
    assert any(n.get("Relation Name") == "petitions" for n in nodes(loops[0]["Plans"][1])), plan
