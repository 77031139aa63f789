"""The real 2025 boundary files, when ../shared/geodata has them (skipped otherwise)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from app.extensions import db
from app.geodata.importer import import_features
from app.geodata.readers import read_features

SHARED = Path(__file__).resolve().parents[2] / "shared" / "geodata"
PROVINCES = SHARED / "provinces_34_2025.geojson"
COMMUNES = SHARED / "communes_3321_2025.geojson"

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(not COMMUNES.is_file(), reason="real boundary files not present"),
]


@pytest.fixture
def real(app_ctx):
    """The 34 provinces and 3,321 communes loaded as generation real-2025 (rolled back after)."""
    report = import_features(read_features(PROVINCES) + read_features(COMMUNES), "real-2025")
    gen = db.session.execute(text("SELECT id FROM generations WHERE name = 'real-2025'")).scalar_one()
    return report, gen


def place(gen: int, lon: float, lat: float):
    return db.session.execute(
        text(
            """SELECT c.code, c.unit_type || ' ' || c.name, p.code, g.method
           FROM geotag(:lon, :lat, 2000, :gen) g
           LEFT JOIN areas c ON c.id = g.commune_id LEFT JOIN areas p ON p.id = g.province_id"""
        ),
        {"lon": lon, "lat": lat, "gen": gen},
    ).one()


def test_real_files_load_with_every_commune_under_its_province(real):
    report, gen = real
    assert report.inserted["province"] == 34
    assert report.inserted["commune"] == 3321
    counts = dict(
        db.session.execute(
            text(
                """SELECT unit_type, count(*) FROM areas WHERE generation_id = :g AND level = 'commune'
           AND parent_id IS NOT NULL GROUP BY 1"""
            ),
            {"g": gen},
        ).all()
    )
    assert counts["Xã"] == 2611 and counts["Phường"] == 697 and counts["Đặc khu"] == 13


def test_real_points_land_in_the_right_commune(real):
    _, gen = real
    assert place(gen, 105.8345, 21.0368)[:3] == ("00004", "Phường Ba Đình", "01")
    assert place(gen, 107.5786, 16.4637)[:3] == ("19753", "Phường Phú Xuân", "46")
    assert place(gen, 111.92, 8.645)[:3] == ("22736", "Đặc khu Trường Sa", "56")


def test_a_point_beside_a_hoang_sa_island_goes_to_hoang_sa(real):
    _, gen = real
    lon, lat = db.session.execute(
        text(
            """SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(ST_GeometryN(geom, 1)) AS p
           FROM areas WHERE generation_id = :g AND code = '20333') s"""
        ),
        {"g": gen},
    ).one()
    assert place(gen, lon, lat)[0] == "20333"
    edge_lon = db.session.execute(
        text("SELECT ST_XMax(ST_GeometryN(geom, 1)) FROM areas WHERE generation_id = :g AND code = '20333'"), {"g": gen}
    ).scalar_one()
    off_shore = place(gen, edge_lon + 0.005, lat)  # ~0.5 km east of that island's eastern tip, at sea
    assert (off_shore[0], off_shore[3]) == ("20333", "nearest")
