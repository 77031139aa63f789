"""The synthetic national geography: counts, codes, determinism and topology.

No database: these tests only call the generator. The full national run is
made once for the module.
"""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict

import numpy as np
import pytest
import shapely

from app.geodata import synth
from app.geodata.features import CODE_LENGTH

SLICE = "46"


@pytest.fixture(scope="module")
def national():
    return synth.generate()


@pytest.fixture(scope="module")
def by_level(national):
    levels = defaultdict(list)
    for f in national:
        levels[f.level].append(f)
    return levels


@pytest.fixture(scope="module")
def province_slice():
    return synth.generate(province=SLICE)


def _key(features):
    return [
        (f.level, f.code, f.name, f.unit_type, f.parent_code, f.population, f.source, shapely.to_wkb(f.geometry))
        for f in features
    ]


def test_national_counts(by_level):
    assert {level: len(fs) for level, fs in by_level.items()} == {"province": 34, "commune": 3321, "village": 90508}


def test_order_is_provinces_communes_villages(national):
    levels = [f.level for f in national]
    assert levels == sorted(levels, key=("province", "commune", "village").index)
    for level in ("province", "commune", "village"):
        codes = [f.code for f in national if f.level == level]
        assert codes == sorted(codes)


def test_real_provinces(by_level):
    provinces = {f.code: f for f in by_level["province"]}
    assert provinces["46"].name == "Huế"
    assert provinces["79"].name == "Hồ Chí Minh"
    cities = {c for c, f in provinces.items() if f.unit_type == "Thành phố"}
    assert cities == {"01", "31", "46", "48", "79", "92"}
    assert {f.unit_type for f in provinces.values()} == {"Thành phố", "Tỉnh"}
    communes = Counter(f.parent_code for f in by_level["commune"])
    assert communes["46"] == 40 and communes["79"] == 168 and communes["12"] == 38


def test_commune_unit_types(by_level):
    types = Counter(f.unit_type for f in by_level["commune"])
    assert types == {"Xã": 2611, "Phường": 697, "Đặc khu": 13}


def test_island_special_zones(by_level):
    zones = {f.name: f for f in by_level["commune"] if f.unit_type == "Đặc khu"}
    assert len(zones) == 13
    assert {"Hoàng Sa", "Trường Sa", "Phú Quốc", "Côn Đảo", "Vân Đồn"} <= set(zones)
    assert zones["Hoàng Sa"].parent_code == "48" and zones["Trường Sa"].parent_code == "56"
    assert len(zones["Hoàng Sa"].geometry.geoms) >= 3
    assert len(zones["Trường Sa"].geometry.geoms) >= 3
    minx, miny, maxx, maxy = zones["Trường Sa"].geometry.bounds
    assert 111.5 < minx and maxx < 115 and 8 < miny and maxy < 12
    land = shapely.union_all([f.geometry for f in by_level["commune"] if f.unit_type != "Đặc khu"])
    for zone in zones.values():
        assert not zone.geometry.intersects(land), zone.name


def test_codes(national, by_level):
    codes = [f.code for f in national]
    assert len(set(codes)) == len(codes)
    for f in national:
        assert len(f.code) == CODE_LENGTH[f.level] and f.code.isdigit(), f
    communes = by_level["commune"]
    assert [f.parent_code for f in communes] == sorted(f.parent_code for f in communes)


def test_parents(by_level):
    provinces = {f.code for f in by_level["province"]}
    communes = {f.code for f in by_level["commune"]}
    assert all(f.parent_code is None for f in by_level["province"])
    assert all(f.parent_code in provinces for f in by_level["commune"])
    for f in by_level["village"]:
        assert f.parent_code in communes and f.code[:5] == f.parent_code


def test_names(by_level):
    for f in by_level["province"] + by_level["commune"] + by_level["village"]:
        assert f.name and f.name == unicodedata.normalize("NFC", f.name)
        assert not f.name.startswith(f.unit_type + " ")
    for level in ("commune", "village"):
        names = Counter((f.parent_code, f.name) for f in by_level[level])
        assert max(names.values()) == 1, level


def test_geometries_valid_and_on_grid(by_level):
    for level in ("province", "commune"):
        geoms = np.array([f.geometry for f in by_level[level]])
        assert set(shapely.get_type_id(geoms)) == {6}, level
        assert shapely.is_valid(geoms).all(), level
        xy = shapely.get_coordinates(geoms)
        assert np.array_equal(np.round(xy, 6), xy), level
    points = np.array([f.geometry for f in by_level["village"]])
    assert set(shapely.get_type_id(points)) == {0}
    xy = shapely.get_coordinates(points)
    assert np.array_equal(np.round(xy, 6), xy)


def test_within_vietnam(national):
    minx, miny, maxx, maxy = shapely.total_bounds(np.array([f.geometry for f in national]))
    assert 102 <= minx and maxx <= 118 and 6.5 <= miny and maxy <= 23.6


def test_villages_inside_their_commune(by_level):
    villages = defaultdict(list)
    for v in by_level["village"]:
        villages[v.parent_code].append((v.geometry.x, v.geometry.y))
    for c in by_level["commune"]:
        xy = np.array(villages[c.code])
        assert len(xy), c.code
        assert shapely.contains_xy(c.geometry, xy[:, 0], xy[:, 1]).all(), c.code
        assert len(np.unique(xy, axis=0)) == len(xy), c.code


def test_village_counts_and_types(by_level):
    per_commune = Counter(v.parent_code for v in by_level["village"])
    for c in by_level["commune"]:
        if c.unit_type != "Đặc khu":
            assert 10 <= per_commune[c.code] <= 60, c.code
    types = Counter(v.unit_type for v in by_level["village"])
    assert {"Thôn", "Xóm", "Bản", "Ấp", "Tổ dân phố", "Khu phố", "Buôn", "Làng"} <= set(types)


def test_population_adds_up(by_level):
    villages = Counter()
    for v in by_level["village"]:
        assert 200 <= v.population <= 6000
        villages[v.parent_code] += v.population
    communes = Counter()
    for c in by_level["commune"]:
        assert c.population == villages[c.code]
        communes[c.parent_code] += c.population
    for p in by_level["province"]:
        assert p.population == communes[p.code]


def test_communes_tile_their_province(by_level):
    communes = defaultdict(list)
    for c in by_level["commune"]:
        communes[c.parent_code].append(c.geometry)
    for p in by_level["province"]:
        parts = np.array(communes[p.code])
        area = p.geometry.area
        assert abs(shapely.area(parts).sum() - area) <= 1e-6 * area, p.code
        union = shapely.union_all(parts)
        assert union.difference(p.geometry).area <= 1e-9 * area, p.code
        assert p.geometry.difference(union).area <= 1e-9 * area, p.code


def test_mainland_provinces_are_one_piece(by_level):
    zones = defaultdict(int)
    for c in by_level["commune"]:
        if c.unit_type == "Đặc khu":
            zones[c.parent_code] += len(c.geometry.geoms)
    for p in by_level["province"]:
        assert len(p.geometry.geoms) == 1 + zones[p.code], p.code


def test_exact_coverages(by_level):
    for level in ("province", "commune"):
        geoms = shapely.GeometryCollection([f.geometry for f in by_level[level]])
        assert shapely.coverage_is_valid(geoms), level


def test_province_slice_equals_the_national_run(national, province_slice):
    communes = {f.code for f in national if f.level == "commune" and f.parent_code == SLICE}
    expected = [f for f in national if f.code == SLICE or f.code in communes or f.parent_code in communes]
    assert _key(province_slice) == _key(expected)


def test_deterministic(province_slice):
    assert _key(synth.generate(2025, province=SLICE)) == _key(province_slice)
    other = synth.generate(7, province=SLICE)
    assert [shapely.to_wkb(f.geometry) for f in other] != [shapely.to_wkb(f.geometry) for f in province_slice]
    assert {f.source for f in province_slice} == {"synth seed=2025"}


def test_unknown_province():
    with pytest.raises(ValueError):
        synth.generate(province="99")
