"""Maps, reports and exports: counts equal the rows, scope holds, citizen text stays inert."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta

import pytest
import shapely
from sqlalchemy import select, text

from app.extensions import db
from app.geodata.importer import import_features
from app.models import AuditEvent
from app.queries.areas import area_by_code
from app.queries.map_layers import area_counts, heat_cells, heat_cells_by_category
from app.queries.report_stats import counts_by, summary, weekly_trend
from app.queries.selection import Selection
from tests.factories import log_in, mini_geography, officer, petition_in, slice_communes

XSS = "<img src=x onerror=alert(1)>"
FORMULA = "=cmd|' /C calc'!A0"


@pytest.fixture
def world(app_ctx):
    import_features(mini_geography(), "2025")  # province 99 beside 46
    a, b = slice_communes(2)
    at = dict(
        db.session.execute(
            text("SELECT code, ARRAY[ST_X(label_point), ST_Y(label_point)] FROM areas WHERE code IN (:a, :b)"),
            {"a": a, "b": b},
        ).all()
    )

    def point(code):
        return {"lon": at[code][0], "lat": at[code][1], "chosen_code": None, "location_source": "gps"}

    made = {
        "a_roads": [petition_in(a, **point(a)) for _ in range(3)],
        "a_water": [petition_in(a, category="power_water", title="Mất nước sinh hoạt", **point(a))],
        "b_xss": [petition_in(b, title=XSS, body=FORMULA + " và nội dung thêm", **point(b))],
        "other": [petition_in("99001")],
    }
    made["a_water"][0].created_at -= timedelta(days=60)
    db.session.flush()
    return {
        "a": a,
        "b": b,
        **made,
        "officer_a": officer("commune", a),
        "province_46": officer("province", "46"),
        "province_99": officer("province", "99"),
        "central": officer("central"),
    }


def feature_counts(rows) -> dict[str, int]:
    return {code: n for code, _name, _parent, n, _population in rows}


def map_config(page: str, element_id: str = "area-map") -> dict:
    """The settings a map page gives its script (data in a <script type="application/json"> block)."""
    found = re.search(rf'<script type="application/json" id="{element_id}-config">(.*?)</script>', page, re.S)
    assert found, f"no map settings for #{element_id}"
    return json.loads(found.group(1))


def test_commune_counts_on_the_map_equal_the_rows(world):
    province = area_by_code("46")
    counts = feature_counts(area_counts("commune", province.id, Selection(assigned_province_id=province.id)))
    expected = dict(
        db.session.execute(
            text(
                "SELECT c.code, count(p.id) FROM areas c LEFT JOIN petitions p ON p.commune_id = c.id "
                "WHERE c.parent_id = :p GROUP BY c.code"
            ),
            {"p": province.id},
        ).all()
    )
    assert counts == expected
    assert counts[world["a"]] == 4 and counts[world["b"]] == 1


def test_counts_by_category_and_period_equal_the_rows(world):
    province = area_by_code("46")
    sel = Selection(assigned_province_id=province.id)
    by_category = {row[0]: row[2] for row in counts_by(sel, "category_code")}
    assert by_category == {"roads": 4, "power_water": 1}
    recent = Selection(assigned_province_id=province.id, since=world["a_roads"][0].created_at - timedelta(days=1))
    assert summary(recent)["received"] == 4  # the 60-day-old one is outside the period
    assert sum(n for _, n in weekly_trend(sel)) == 5


def test_heat_cells_add_up_to_the_petitions_with_a_point(world, client):
    province = area_by_code("46")
    cells = json.loads(heat_cells(Selection(assigned_province_id=province.id), 0.005))
    assert all(8 < lat < 24 < 102 < lon < 110 for lat, lon, _ in cells)  # [lat, lon, n], as leaflet.heat reads
    with_point = db.session.execute(
        text("SELECT count(*) FROM petitions WHERE province_id = :p AND location IS NOT NULL"), {"p": province.id}
    ).scalar()
    assert sum(n for _, _, n in cells) == with_point
    by_category = heat_cells_by_category(Selection(assigned_province_id=province.id), 0.01)
    assert {code: sum(n for _, _, n in json.loads(cells)) for code, cells in by_category.items()} == dict(
        db.session.execute(
            text(
                "SELECT category_code, count(*) FROM petitions WHERE province_id = :p AND location IS NOT NULL "
                "GROUP BY 1"
            ),
            {"p": province.id},
        ).all()
    )


def test_a_provincial_officer_cannot_get_another_province_s_map_report_or_export(client, world):
    log_in(client, world["province_46"])
    for url in ("/officer/map?province=99", "/officer/report?province=99", "/officer/export.csv?province=99"):
        assert client.get(url).status_code == 404, url
    html = client.get("/officer/report").get_data(as_text=True)
    assert "Phường" in html or "Xã" in html
    exported = client.get("/officer/export.csv").get_data(as_text=True)
    assert world["other"][0].reference not in exported
    assert world["a_roads"][0].reference in exported


def test_a_commune_officer_s_map_and_export_hold_only_their_commune(client, world):
    log_in(client, world["officer_a"])
    page = client.get("/officer/map").get_data(as_text=True)
    titles = {m["title"] for m in map_config(page)["markers"]}
    assert titles == {"Đèn đường hỏng", "Mất nước sinh hoạt"}  # commune b's petition is not on it
    assert XSS not in page and "img src=x" not in page
    exported = list(csv.reader(io.StringIO(client.get("/officer/export.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert len(exported) == 1 + 4


def test_markup_in_a_title_is_escaped_in_the_map_popup(client, world):
    log_in(client, officer("commune", world["b"]))
    page = client.get("/officer/map").get_data(as_text=True)
    assert XSS not in page and "<img" not in page  # never markup in the page…
    assert [m["title"] for m in map_config(page)["markers"]] == [XSS]  # …only data the script sets as text


def test_csv_export_opens_in_excel_and_neutralises_formulas(client, world):
    log_in(client, world["province_46"])
    response = client.get("/officer/export.csv")
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode()) and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    bad = next(r for r in rows if r["Mã xã"] == world["b"])
    assert bad["Nội dung"].startswith("'=cmd|")
    assert bad["Tiêu đề"] == XSS  # text, as typed: a spreadsheet does not run markup
    assert "Họ tên người gửi" not in rows[0]


def test_personal_data_is_exported_only_on_request_by_roles_allowed_and_audited(client, world):
    log_in(client, world["province_46"])
    rows = list(csv.DictReader(io.StringIO(client.get("/officer/export.csv?contact=1").get_data().decode("utf-8-sig"))))
    assert {r["Điện thoại"] for r in rows} == {"0912345678"}
    audited = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "exported_contact")).all()
    assert [a.actor_id for a in audited] == [world["province_46"].id]


def test_central_staff_never_export_personal_data(client, world):
    log_in(client, world["central"])
    rows = list(csv.DictReader(io.StringIO(client.get("/officer/export.csv?contact=1").get_data().decode("utf-8-sig"))))
    assert rows and "Điện thoại" not in rows[0]


def test_geojson_export_has_a_point_per_petition(client, world):
    log_in(client, world["officer_a"])
    collection = json.loads(client.get("/officer/export.geojson").get_data(as_text=True))
    assert len(collection["features"]) == 4
    assert all("contact_phone" not in f["properties"] for f in collection["features"])


def test_the_public_map_shows_aggregates_only_and_hides_small_counts(client, world):
    page = client.get("/map?province=46").get_data(as_text=True)
    assert "Đèn đường hỏng" not in page and "img src=x" not in page and XSS not in page
    config = map_config(page, "public-map")
    assert [layer["counts"] for layer in config["layers"]] == [{}]  # 4 and 1 petitions: both under 5
    assert config["hiddenUnder"] == 5 and "markers" not in config and config["heat"] is None


def test_the_public_scorecard_of_a_commune(client, world):
    from app.services.workflow import act

    answered = world["a_roads"] + world["a_water"]
    for p in answered:
        act(p, "accept", world["officer_a"])
        act(p, "resolve", world["officer_a"], answer="Đã xử lý.")
    petition_in(world["a"])
    html = client.get(f"/scorecard/{world['a']}").get_data(as_text=True)
    assert re.search(r'id="received">5<', html) and re.search(r'id="resolved">4<', html)
    assert re.search(r'id="on-time">—<', html)  # four answers: too few to publish their timing
    fifth = petition_in(world["a"])
    act(fifth, "accept", world["officer_a"])
    act(fifth, "resolve", world["officer_a"], answer="Đã xử lý.")
    html = client.get(f"/scorecard/{world['a']}").get_data(as_text=True)
    assert re.search(r'id="resolved">5<', html) and re.search(r'id="on-time">100%<', html)


def test_maps_load_nothing_from_outside_the_portal(client, world):
    log_in(client, world["province_46"])
    for url in ("/officer/map", "/officer/report", "/map", "/map?province=46"):
        page = client.get(url).get_data(as_text=True)
        assert not re.search(r'(src|href)="(https?:)?//', page), url
        assert re.search(r'"/static/vendor/leaflet/leaflet\.[0-9a-f]{12}\.js"', page), url  # the portal's copy


def test_simplified_communes_still_share_their_edges(app_ctx):
    province = area_by_code("46")
    for detail in ("fine", "coarse"):
        shapes = [
            shapely.from_wkb(bytes(w))
            for w in db.session.execute(
                text(
                    "SELECT ST_AsBinary(s.geom) FROM area_shapes s JOIN areas a ON a.id = s.area_id "
                    "WHERE a.parent_id = :p AND s.detail = :d"
                ),
                {"p": province.id, "d": detail},
            ).scalars()
        ]
        assert len(shapes) == 40
        assert shapely.coverage_is_valid(shapes), detail


def test_a_large_export_is_built_by_a_job_with_progress_and_a_download_for_its_owner_only(
    app, client, world, monkeypatch
):
    from rq import SimpleWorker

    from app.redis_conn import redis

    monkeypatch.setitem(app.config, "EXPORT_SYNC_MAX", 2)
    log_in(client, world["province_46"])
    started = client.get("/officer/export.csv?category=roads")
    assert started.status_code == 303
    progress_url = started.headers["Location"]
    assert "<progress" in client.get(progress_url).get_data(as_text=True)

    SimpleWorker(["default"], connection=redis()).work(burst=True)
    page = client.get(progress_url).get_data(as_text=True)
    download = re.search(r'id="download" href="([^"]+)"', page).group(1)
    rows = list(csv.DictReader(io.StringIO(client.get(download).get_data().decode("utf-8-sig"))))
    roads_46 = db.session.execute(
        text(
            "SELECT count(*) FROM petitions p JOIN areas a ON a.id = p.province_id "
            "WHERE a.code = '46' AND p.category_code = 'roads'"
        )
    ).scalar()
    assert len(rows) == roads_46 == 4 and {r["Lĩnh vực"] for r in rows} == {"Giao thông, hạ tầng"}

    client.post("/logout", data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)})
    log_in(client, world["central"])
    assert client.get(progress_url).status_code == 404
    assert client.get(download).status_code == 404


def test_central_staff_see_the_country_by_commune_and_by_province(client, world):
    log_in(client, world["central"])
    page = client.get("/officer/map").get_data(as_text=True)
    provinces, communes = map_config(page)["layers"]
    assert (provinces["level"], communes["level"]) == ("province", "commune")
    assert {code: n for code, (n, _) in provinces["counts"].items()} == {"46": 5, "99": 1}
    assert {code: n for code, (n, _) in communes["counts"].items() if n} == {world["a"]: 4, world["b"]: 1, "99001": 1}
    assert provinces["toZoom"] < communes["fromZoom"]  # communes replace provinces as one zooms in
    assert feature_counts(area_counts("province", None, Selection())) == {"46": 5, "99": 1}


def test_the_report_s_top_villages_are_the_busiest_first(world):
    from app.services import aggregates

    province = area_by_code("46")
    expected = db.session.execute(
        text(
            "SELECT v.code, count(*) FROM petitions p JOIN areas v ON v.id = p.village_id "
            "WHERE p.province_id = :p GROUP BY v.code ORDER BY 2 DESC, 1"
        ),
        {"p": province.id},
    ).all()
    assert expected  # the world's petitions are placed in villages
    for level, sel in (
        ("province", Selection(assigned_province_id=province.id)),
        ("commune", Selection(assigned_area_id=area_by_code(world["a"]).id)),
    ):
        top = [(code, total) for code, _, total, *_ in aggregates.report(sel, level)["top_villages"]]
        assert top == [row for row in map(tuple, expected) if level == "province" or row[0].startswith(world["a"])][:10]


def boundary_urls(page: str) -> list[str]:
    config = map_config(page, "public-map") if 'id="public-map-config"' in page else map_config(page)
    return [config["base"], *(url for layer in config["layers"] for url in layer["files"].values())]


def test_boundaries_come_from_a_cacheable_url_without_counts(client, world):
    page = client.get("/map?province=46").get_data(as_text=True)
    base, communes = boundary_urls(page)
    assert re.fullmatch(r"/geo/2025/\d+/province/all-coarse\.json", base)
    assert communes == base.replace("province/all-coarse", "commune/46-fine")
    response = client.get(communes)
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    etag = response.headers["ETag"]
    again = client.get(communes, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    boundaries = response.get_json()
    features = boundaries["features"]
    expected = db.session.execute(
        text("SELECT code, unit_type || ' ' || name FROM areas WHERE parent_id = :p ORDER BY code"),
        {"p": area_by_code("46").id},
    ).all()
    assert [(f["properties"]["code"], f["properties"]["name"]) for f in features] == [tuple(r) for r in expected]
    assert all(set(f["properties"]) == {"code", "name", "label"} for f in features)  # no count, for anyone
    assert "count" not in response.get_data(as_text=True)
    # the same bytes for an officer, whatever the filters of the page that named them
    log_in(client, world["province_46"])
    assert client.get(communes).get_data() == response.get_data()
    assert boundary_urls(client.get("/officer/map?category=roads").get_data(as_text=True))[1] == communes


def test_a_boundary_file_decodes_to_the_areas_shapes(client, world):
    base = boundary_urls(client.get("/map?province=46").get_data(as_text=True))[1]
    file = client.get(base).get_json()
    (sx, sy), (tx, ty) = file["transform"]["scale"], file["transform"]["translate"]
    a = next(f for f in file["features"] if f["properties"]["code"] == world["a"])
    ring = a["geometry"]["coordinates"][0][0]
    points, x, y = [], 0, 0
    for dx, dy in zip(ring[::2], ring[1::2], strict=True):
        x, y = x + dx, y + dy
        points.append((tx + x * sx, ty + y * sy))
    drawn = shapely.Polygon(points)
    fine = shapely.from_wkb(
        bytes(
            db.session.execute(
                text(
                    "SELECT ST_AsBinary(s.geom) FROM area_shapes s JOIN areas a ON a.id = s.area_id "
                    "WHERE a.code = :c AND s.detail = 'fine'"
                ),
                {"c": world["a"]},
            ).scalar()
        )
    )
    assert drawn.symmetric_difference(fine).area < 0.01 * fine.area  # the same shape, to the grid
    lx, ly = a["properties"]["label"]
    assert fine.buffer(0.001).contains(shapely.Point(tx + lx * sx, ty + ly * sy))  # its label inside it


@pytest.mark.parametrize(
    "path",
    [
        "/geo/1990/1/province/all-coarse.json",  # a generation that is not the current one
        "/geo/2025/1/province/all-coarse.json",  # an edition that is not the current one
        "{current}/commune/00000-fine.json",  # no such province
        "{current}/village/all-fine.json",  # no such file
        "{current}/province/46-fine.json",
        "{current}/commune/46-medium.json",
    ],
)
def test_an_unknown_boundary_file_is_a_json_404(client, world, path):
    base = boundary_urls(client.get("/map").get_data(as_text=True))[0]
    current = base.rsplit("/", 2)[0]
    response = client.get(path.format(current=current))
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    assert "immutable" not in response.headers.get("Cache-Control", "")


def test_an_old_generation_s_boundaries_are_gone_once_a_new_one_is_current(client, world):
    old = boundary_urls(client.get("/map").get_data(as_text=True))[0]
    assert client.get(old).status_code == 200
    features = [f for f in mini_geography() if f.level == "province"]
    import_features(features, "2026", make_current=True)
    new = boundary_urls(client.get("/map").get_data(as_text=True))[0]
    assert new.startswith("/geo/2026/") and client.get(new).status_code == 200
    assert client.get(old).status_code == 404


def test_the_public_counts_hide_small_numbers_in_the_map_the_table_and_province_sums(client, world):
    for _ in range(2):  # commune a reaches 6 published petitions; b stays at 1
        world["a_roads"].append(petition_in(world["a"]))
    from app.services.workflow import act

    for p in world["a_roads"] + world["a_water"] + world["b_xss"]:
        act(p, "accept", officer("commune", p.commune.code))
    page = client.get("/map?province=46").get_data(as_text=True)
    [communes] = map_config(page, "public-map")["layers"]
    assert {code: n for code, (n, _) in communes["counts"].items()} == {world["a"]: 6}  # b: 1 is hidden
    row = re.search(rf'<tr data-code="{world["b"]}">(.*?)</tr>', page, re.S).group(1)
    assert "dưới 5" in row and ">1<" not in row
    national = client.get("/map").get_data(as_text=True)
    provinces, _communes = map_config(national, "public-map")["layers"]
    assert provinces["counts"]["46"][0] == 6  # the sum of what is shown: b's 1 cannot be worked out
    assert "99" not in provinces["counts"]  # province 99 has one petition, unpublished


def test_the_public_table_sorts_by_link_and_refuses_bad_sort_values(client, world):
    names = [
        r
        for r in re.findall(
            r'<tr data-code="(\d+)">', client.get("/map?province=46&sort=name&dir=desc").get_data(as_text=True)
        )
    ]
    ascending = re.findall(r'<tr data-code="(\d+)">', client.get("/map?province=46").get_data(as_text=True))
    assert names == list(reversed(ascending)) and len(names) == 40
    for bad in ("sort=population", "dir=sideways", "sort=name&sort=count"):
        response = client.get(f"/map?province=46&{bad}")
        assert response.status_code == 400 and 'role="alert"' in response.get_data(as_text=True)


def test_a_commune_officer_gets_only_their_commune_s_counts_and_boundaries(client, world):
    log_in(client, world["officer_a"])
    page = client.get(f"/officer/map?province=46&commune={world['b']}").get_data(as_text=True)
    config = map_config(page)
    [villages] = config["layers"]
    assert list(villages["files"]) == [world["a"]]  # its own villages, whatever the query asks
    a_villages = {
        code
        for (code,) in db.session.execute(
            text("SELECT v.code FROM areas v JOIN areas c ON c.id = v.parent_id WHERE c.code = :c"), {"c": world["a"]}
        )
    }
    assert set(villages["counts"]) == a_villages
    assert sum(n for n, _ in villages["counts"].values()) == 4
    log_in(client, world["province_46"])
    assert client.get(f"/officer/map?province=99&commune={world['b']}").status_code == 404


def test_a_petition_placed_only_by_its_village_is_on_the_commune_map_as_approximate(client, world):
    village, lon, lat = db.session.execute(
        text(
            "SELECT v.code, ST_X(v.label_point), ST_Y(v.label_point) FROM areas v JOIN areas c ON c.id = v.parent_id "
            "WHERE c.code = :c ORDER BY v.code LIMIT 1"
        ),
        {"c": world["a"]},
    ).one()
    placed = petition_in(village, title="Cống tắc, chọn thôn bằng danh sách")
    assert placed.location is None and placed.village.code == village
    log_in(client, world["officer_a"])
    markers = map_config(client.get("/officer/map").get_data(as_text=True))["markers"]
    [marker] = [m for m in markers if m["title"] == "Cống tắc, chọn thôn bằng danh sách"]
    assert marker["approximate"] is True and (marker["lon"], marker["lat"]) == (round(lon, 6), round(lat, 6))
    assert all(not m["approximate"] for m in markers if m is not marker)  # the others have their own point
