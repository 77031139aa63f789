"""Loading boundaries: idempotent, all-or-nothing, repaired, linked, tiled."""

from __future__ import annotations

import json
import re

import pytest
from shapely.geometry import Point, Polygon, box
from sqlalchemy import text

from app.extensions import db
from app.geodata.features import AreaFeature
from app.geodata.importer import import_features
from app.geodata.readers import GeodataError, read_features
from tests.conftest import SLICE
from tests.factories import mini_geography


def count_areas() -> int:
    return db.session.execute(text("SELECT count(*) FROM areas")).scalar_one()


def write_collection(path, features: list[dict]) -> None:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")


def test_loading_the_slice_again_changes_nothing(app_ctx):
    before = count_areas()
    report = import_features(read_features(SLICE), "2025")
    assert count_areas() == before
    assert sum(report.inserted.values()) == 0
    assert sum(report.updated.values()) == 0
    assert sum(report.unchanged.values()) == before


def test_derived_villages_tile_each_commune_without_gaps_or_overlaps(app_ctx):
    rows = db.session.execute(
        text(
            """SELECT c.code, ST_Area(c.geom) AS commune, sum(ST_Area(v.geom)) AS villages,
                  ST_Area(ST_SymDifference(c.geom, ST_Union(v.geom))) AS mismatch
           FROM areas c JOIN areas v ON v.parent_id = c.id
           WHERE c.level = 'commune' GROUP BY c.id"""
        )
    ).all()
    assert len(rows) >= 2
    for code, commune, villages, mismatch in rows:
        # overlaps would make the sum exceed the commune; gaps leave a mismatch
        assert villages == pytest.approx(commune, rel=1e-9), code
        assert mismatch <= commune * 1e-9, code


def test_a_new_village_point_reshapes_its_neighbours(app_ctx):
    import_features(mini_geography(), "mini")
    import_features([AreaFeature("village", "99001004", "Mới", "Thôn", "99001", Point(105.09, 20.19))], "mini")
    total, commune = db.session.execute(
        text(
            """SELECT sum(ST_Area(v.geom)), ST_Area(c.geom) FROM areas c JOIN areas v ON v.parent_id = c.id
           WHERE c.code = '99001' AND c.generation_id = (SELECT id FROM generations WHERE name = 'mini')
           GROUP BY c.geom"""
        )
    ).one()
    assert total == pytest.approx(commune, rel=1e-9)


def test_a_file_with_bad_features_names_each_and_loads_nothing(app_ctx, tmp_path):
    before = count_areas()
    bad = tmp_path / "communes.geojson"
    write_collection(
        bad,
        [
            {
                "type": "Feature",
                "properties": {"code": "46001", "name": "Tốt"},
                "geometry": {"type": "Polygon", "coordinates": [[[107, 16], [107.1, 16], [107.1, 16.1], [107, 16]]]},
            },
            {
                "type": "Feature",
                "properties": {"code": "46002"},
                "geometry": {"type": "Polygon", "coordinates": [[[107, 16], [107.1, 16], [107.1, 16.1], [107, 16]]]},
            },
            {"type": "Feature", "properties": {"code": "46003", "name": "Không hình"}, "geometry": None},
            {
                "type": "Feature",
                "properties": {"code": "46004", "name": "Đường"},
                "geometry": {"type": "LineString", "coordinates": [[107, 16], [107.1, 16]]},
            },
        ],
    )
    with pytest.raises(GeodataError) as refused:
        read_features(bad)
    problems = refused.value.problems
    assert problems == [
        "communes.geojson, feature 2: the feature has no name",
        "communes.geojson, feature 3: the feature has no geometry",
        "communes.geojson, feature 4: a Polygon, MultiPolygon or Point is expected, not LineString",
    ]
    assert count_areas() == before


def test_a_commune_whose_parent_is_nowhere_rolls_everything_back(app_ctx):
    before = count_areas()
    features = [
        AreaFeature("province", "98", "Mới", "Tỉnh", None, box(106, 20, 106.1, 20.1), source="f, feature 1"),
        AreaFeature("commune", "98001", "Lạc", "Xã", "97", box(106, 20, 106.1, 20.1), source="f, feature 2"),
    ]
    with pytest.raises(GeodataError) as refused:
        import_features(features, "2025")
    db.session.rollback()
    assert refused.value.problems == [
        "f, feature 2: commune 98001's parent province 97 is not in this file or the database"
    ]
    assert count_areas() == before


def test_an_invalid_polygon_is_repaired_and_reported(app_ctx):
    bowtie = Polygon([(106, 20), (106.1, 20.1), (106.1, 20), (106, 20.1), (106, 20)])
    report = import_features([AreaFeature("province", "98", "Nơ", "Tỉnh", None, bowtie, source="f, feature 1")], "x")
    assert len(report.repaired) == 1 and "f, feature 1 (province 98)" in report.repaired[0]
    valid, area = db.session.execute(text("SELECT ST_IsValid(geom), ST_Area(geom) FROM areas WHERE code = '98'")).one()
    assert valid and area == pytest.approx(0.005, rel=1e-6)


def test_children_without_parent_codes_are_linked_by_containment(app_ctx):
    features = [f for f in mini_geography()]
    for f in features:
        if f.level != "province":
            f.parent_code = None
    import_features(features, "mini")
    pairs = dict(
        db.session.execute(
            text(
                """SELECT a.code, p.code FROM areas a JOIN areas p ON p.id = a.parent_id
           WHERE a.generation_id = (SELECT id FROM generations WHERE name = 'mini')"""
            )
        ).all()
    )
    assert pairs["99001"] == "99" and pairs["99002"] == "99"
    assert pairs["99001002"] == "99001" and pairs["99002001"] == "99002"


def test_a_new_generation_loads_beside_the_current_one(app_ctx):
    import_features(mini_geography(), "2026")
    current = db.session.execute(text("SELECT name FROM generations WHERE is_current")).scalar_one()
    assert current == "2025"
    import_features(mini_geography(), "2026", make_current=True)
    current = db.session.execute(text("SELECT name FROM generations WHERE is_current")).scalar_one()
    assert current == "2026"


def test_cli_load_reports_a_bad_file_and_exits_nonzero(runner, tmp_path):
    bad = tmp_path / "broken.geojson"
    bad.write_text("{ not json", encoding="utf-8")
    result = runner.invoke(args=["geodata", "load", str(bad)])
    assert result.exit_code == 1
    assert "Nothing was loaded" in result.output
    assert "broken.geojson: not valid GeoJSON" in result.output


def test_cli_load_dry_run_writes_nothing(runner, tmp_path):
    from app.geodata.readers import write_geojson

    path = tmp_path / "mini.geojson"
    write_geojson(mini_geography(), path)
    before = count_areas()
    result = runner.invoke(args=["geodata", "load", "--generation", "mini", "--dry-run", str(path)])
    assert result.exit_code == 0, result.output
    assert "Dry run: nothing was written." in result.output
    assert re.search(r"village\s+6 new", result.output)
    assert count_areas() == before


def test_a_geopackage_loads_like_geojson(app_ctx, tmp_path):
    import numpy as np
    import pyogrio.raw
    import shapely

    features = mini_geography()
    path = tmp_path / "mini.gpkg"
    pyogrio.raw.write(
        path,
        geometry=np.array([shapely.to_wkb(f.geometry) for f in features], dtype=object),
        field_data=[
            np.array([f.code for f in features]),
            np.array([f.name for f in features]),
            np.array([f.unit_type for f in features]),
            np.array([f.parent_code or "" for f in features]),
        ],
        fields=["code", "name", "unit_type", "parent_code"],
        geometry_type="Unknown",
        crs="EPSG:4326",
        driver="GPKG",
    )
    read = read_features(path)
    assert [(f.level, f.code, f.name, f.unit_type, f.parent_code) for f in read] == [
        (f.level, f.code, f.name, f.unit_type, f.parent_code) for f in features
    ]
    report = import_features(read, "from-gpkg")
    assert (report.inserted["province"], report.inserted["commune"], report.inserted["village"]) == (1, 2, 6)


def test_a_file_in_another_projection_is_refused_by_name(app_ctx, tmp_path):
    bad = tmp_path / "utm.geojson"
    bad.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32648"}},
                "features": [],
            }
        ),
        encoding="utf-8",
    )
    with pytest.raises(GeodataError) as refused:
        read_features(bad)
    assert refused.value.problems == [
        f"{bad}: coordinates must be WGS84 longitude/latitude, not urn:ogc:def:crs:EPSG::32648"
    ]


def test_a_load_leaves_the_planner_statistics_of_what_it_wrote(app_ctx):
    # Without them PostgreSQL re-plans every geotag statement: the generations
    # table is too small for autovacuum ever to analyse it.
    import_features(mini_geography(), "2031")
    estimated = dict(
        db.session.execute(
            text("SELECT relname, reltuples FROM pg_class WHERE relname IN ('generations', 'areas')")
        ).all()
    )
    actual = db.session.execute(text("SELECT (SELECT count(*) FROM generations), (SELECT count(*) FROM areas)")).one()
    assert estimated == {"generations": actual[0], "areas": actual[1]}
