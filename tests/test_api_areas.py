"""/api/v1/locate and /api/v1/areas, as the form and partners use them (/healthz: test_observability.py)."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.geodata.importer import import_features
from tests.factories import mini_geography


@pytest.fixture
def mini(app_ctx):
    import_features(mini_geography(), "mini", make_current=True)
    db.session.flush()


def test_locate_returns_village_commune_province_and_method(client, mini):
    response = client.get("/api/v1/locate?lat=20.049&lon=105.031")
    assert response.status_code == 200
    assert response.json == {
        "village": {"code": "99001001", "name": "3", "unit_type": "Thôn"},
        "commune": {"code": "99001", "name": "Tây Sơn", "unit_type": "Xã"},
        "province": {"code": "99", "name": "Thử Nghiệm", "unit_type": "Tỉnh"},
        "method": "inside",
        "distance_m": None,
        "disagrees_with_choice": False,
    }


def test_locate_off_the_coast_gives_the_distance(client, mini):
    body = client.get("/api/v1/locate?lat=20.15&lon=105.205").json
    assert body["method"] == "nearest"
    assert 500 < body["distance_m"] < 545


def test_locate_at_sea_answers_unlocated_with_nulls(client, mini):
    body = client.get("/api/v1/locate?lat=20.1&lon=105.5").json
    assert body["method"] == "unlocated"
    assert body["village"] is None and body["commune"] is None and body["province"] is None


@pytest.mark.parametrize(
    "query, code",
    [
        ("lat=abc&lon=105", "invalid_coordinates"),
        ("lat=NaN&lon=105", "invalid_coordinates"),
        ("lat=21", "missing_coordinates"),
        ("", "missing_coordinates"),
        ("lat=95&lon=105", "out_of_range"),
        ("lat=13.75&lon=100.5", "outside_vietnam"),
    ],
)
def test_locate_refuses_bad_input_with_a_json_error(client, query, code):
    response = client.get(f"/api/v1/locate?{query}")
    assert response.status_code == 400
    assert response.json["error"]["code"] == code
    assert response.json["error"]["message"]


def test_area_detail_has_its_parent_chain(client, mini):
    body = client.get("/api/v1/areas/99001002").json
    assert (body["code"], body["name"], body["unit_type"], body["level"]) == ("99001002", "Đông", "Thôn", "village")
    assert body["full_name"] == "Thôn Đông"
    assert body["geom_source"] == "derived"
    assert body["label_point"] == {"lat": 20.15, "lon": 105.07}
    assert [p["code"] for p in body["parents"]] == ["99001", "99"]


def test_unknown_area_is_a_json_404(client, mini):
    response = client.get("/api/v1/areas/00000")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


def test_children_are_listed_in_natural_order(client, mini):
    body = client.get("/api/v1/areas?parent=99001").json
    assert [a["name"] for a in body["areas"]] == ["3", "13", "Đông"]
    body = client.get("/api/v1/areas?parent=99002").json
    assert [a["name"] for a in body["areas"]] == ["1", "2", "10"]


def test_children_search_ignores_diacritics_and_case(client, mini):
    names = lambda q: [a["code"] for a in client.get(f"/api/v1/areas?parent=99001&q={q}").json["areas"]]  # noqa: E731
    assert names("thon 3") == ["99001001"]
    assert names("THÔN 3") == ["99001001"]
    assert names("dong") == ["99001002"]
    assert names("1") == ["99001003"]
    assert names("không có") == []


def test_without_a_parent_the_provinces_are_listed(client, mini):
    body = client.get("/api/v1/areas").json
    assert [a["code"] for a in body["areas"]] == ["99"]


def test_children_of_an_unknown_parent_is_a_json_404(client, mini):
    assert client.get("/api/v1/areas?parent=12345").status_code == 404


def test_search_wildcards_are_taken_literally(client, mini):
    assert client.get("/api/v1/areas?parent=99001&q=%25").json["areas"] == []
    assert client.get("/api/v1/areas?parent=99001&q=_").json["areas"] == []


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/areas?parent=%00",
        "/api/v1/areas/46%00",
        "/api/v1/boundaries?parent=%00",
        "/api/v1/locate?lat=16%00&lon=107",
    ],
)
def test_a_nul_byte_is_refused_with_a_json_error_not_a_500(client, url):
    response = client.get(url)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "bad_request"
