"""Village lists uploaded by provinces and communes: read, checked line by line, applied in one transaction.

Against the real PostGIS, on the mini geography (province 99: commune 99001
with three point villages, commune 99002 with a surveyed village and two
point villages) and the slice (province 46).
"""

from __future__ import annotations

import io
import json

import openpyxl
import pytest
import shapely
from sqlalchemy import text

from app.extensions import db
from app.geodata.importer import import_features
from app.models import Area, AuditEvent, Petition, VillageChange
from app.services import village_lists
from app.services.village_files import FileRefused, read_list, read_shapes, write_csv, write_xlsx
from app.services.village_lists import ListRefused
from tests.factories import mini_geography, officer, petition_in

HEADING = "Mã xã,Tên xã,Mã thôn,Tên thôn,Loại,Vĩ độ,Kinh độ,Dân số\n"


@pytest.fixture
def mini(app_ctx):
    import_features(mini_geography(), "2025")
    return officer("province", "99")


def csv_bytes(body: str, bom: bool = False) -> bytes:
    data = (HEADING + body).encode("utf-8")
    return b"\xef\xbb\xbf" + data if bom else data


def villages(commune_code: str) -> dict[str, tuple]:
    """The commune's register: name → (code, unit type, population, has a shape)."""
    rows = db.session.execute(
        text(
            """SELECT v.unit_type || ' ' || v.name, v.code, v.unit_type, v.population, v.geom IS NOT NULL
               FROM areas v JOIN areas c ON c.id = v.parent_id
               WHERE c.code = :c AND v.level = 'village' AND v.retired_at IS NULL"""
        ),
        {"c": commune_code},
    ).all()
    return {r[0]: tuple(r[1:]) for r in rows}


def tiling(commune_code: str) -> tuple[float, float, float]:
    """(commune area, sum of its villages' areas, area of their union), in square degrees."""
    return db.session.execute(
        text(
            """SELECT ST_Area(c.geom), sum(ST_Area(v.geom)), ST_Area(ST_Union(v.geom))
               FROM areas c JOIN areas v ON v.parent_id = c.id AND v.level = 'village' AND v.retired_at IS NULL
               WHERE c.code = :c GROUP BY c.geom"""
        ),
        {"c": commune_code},
    ).one()


def upload(user, body: str, filename: str = "thon.csv", shapes=None, bom=False):
    lines = read_list(filename, csv_bytes(body, bom))
    return village_lists.keep(user, filename, lines, shapes or [])


def preview(user, body: str, **kwargs):
    kept = upload(user, body, **kwargs)
    return kept, village_lists.replan(kept)


def test_a_clean_list_adds_renames_moves_and_removes_and_the_commune_is_tiled_after(mini):
    before_other = villages("99002")
    kept, plan = preview(
        mini,
        "99001,,99001001,Ba,Thôn,20.05,105.03,1100\n"  # renamed from "3", population changed
        "99001,,,Đông,Thôn,20.16,105.08,2000\n"  # matched by name, moved
        "99001,,,Tân Lập,Thôn,20.02,105.09,650\n",  # new; "Thôn 13" is left out: removed
    )
    steps = {s.line: s for s in plan.steps}
    assert plan.problems == 0
    assert steps[2].actions == ["renamed", "population"] and steps[2].detail == "Thôn 3 → Thôn Ba"
    assert steps[3].actions == ["moved"]
    assert steps[4].actions == ["added"]
    removed = [s for s in plan.steps if s.line is None]
    assert [(s.village, s.actions) for s in removed] == [("Thôn 13", ["removed"])]
    assert villages("99001")["Thôn 3"][0] == "99001001"  # nothing written by the preview

    village_lists.apply(kept, mini)
    after = villages("99001")
    assert set(after) == {"Thôn Ba", "Thôn Đông", "Thôn Tân Lập"}
    assert after["Thôn Ba"] == ("99001001", "Thôn", 1100, True)
    assert after["Thôn Tân Lập"][0] == "99001004"  # a new code, never the removed village's
    commune, total, union = tiling("99001")
    assert total == pytest.approx(commune, rel=1e-9) and union == pytest.approx(commune, rel=1e-9)  # no gap, no overlap
    assert villages("99002") == before_other  # a commune the list does not name is left as it was
    actions = db.session.execute(text("SELECT action FROM village_changes WHERE upload_id = :u"), {"u": kept.id})
    assert sorted(actions.scalars()) == ["added", "moved", "population", "removed", "renamed"]
    assert kept.status == "applied"


def test_the_removed_village_is_retired_not_deleted_and_a_new_point_stays_in_its_cell(mini):
    kept, _ = preview(mini, "99001,,,3,Thôn,20.05,105.03,\n99001,,,Đông,Thôn,20.15,105.07,\n")
    village_lists.apply(kept, mini)
    retired = db.session.execute(
        text("SELECT retired_at IS NOT NULL, geom IS NULL, successor_id FROM areas WHERE code = '99001003'")
    ).one()
    assert retired[0] and retired[1] and retired[2] is not None
    # geotagging the removed village's old point now lands in its successor
    placed = db.session.execute(text("SELECT village_id FROM geotag(105.05, 20.10)")).scalar()
    assert placed == retired[2]


@pytest.mark.parametrize(
    "line, expected",
    [
        ("99009,,,Mới,Thôn,,,", "Không có xã mã 99009."),
        ("17594,,,Mới,Thôn,,,", "Xã 17594 không thuộc tỉnh của bạn."),
        (",Không Có,,Mới,Thôn,,,", "Không có xã «Không Có» trong địa bàn của bạn."),
        ("99001,Đông Hải,,Mới,Thôn,,,", "Mã xã 99001 là Xã Tây Sơn, không phải «Đông Hải»."),
        ("99001,,,Mới,Thôn,20.1,105.15,", "Điểm (20.1, 105.15) nằm ngoài Xã Tây Sơn."),
        ("99001,,,Mới,Khu tập thể,,,", "Loại «Khu tập thể» không có trong danh mục."),
        ("99001,,,Mới,,,,", "Thiếu loại (Thôn, Bản, Tổ dân phố, Ấp, …)."),
        ("99001,,,Mới,Thôn,,,khoảng 500", "Dân số «khoảng 500» không phải là một số nguyên."),
        ("99001,,,Mới,Thôn,,,12.5", "Dân số «12.5» không phải là một số nguyên."),
        ("99001,,,Mới,Thôn,20.1,,", "Cần cả vĩ độ và kinh độ, hoặc bỏ trống cả hai."),
        ("99001,,,Mới,Thôn,20.1x,105.05,", "Vĩ độ, kinh độ phải là số (ví dụ 16.4637 và 107.5909)."),
        ("99001,,99002002,Mới,Thôn,,,", "Mã thôn 99002002 không có trong sổ của xã này."),
        ("99001,,,,Thôn,,,", "Thiếu tên thôn, tổ dân phố."),
        ("99001,,,=1+2,Thôn,,,", "Tên thôn, tổ dân phố không được bắt đầu bằng =, +, - hoặc @."),
    ],
)
def test_each_bad_line_is_refused_with_its_line_number_and_nothing_is_written(mini, line, expected):
    before = villages("99001")
    kept, plan = preview(mini, "99001,,,3,Thôn,20.05,105.03,\n" + line + "\n")
    refused = [s for s in plan.steps if s.problems]
    assert [(s.line, [str(p) for p in s.problems]) for s in refused] == [(3, [expected])]
    with pytest.raises(ListRefused):
        village_lists.apply(kept, mini)
    assert villages("99001") == before


def test_a_name_twice_in_one_commune_is_refused_on_the_second_line(mini):
    _, plan = preview(mini, "99001,,,Mới,Thôn,20.06,105.04,\n99001,,,3,Thôn,,,\n99001,,,mới,thôn,20.1,105.05,\n")
    refused = {s.line: [str(p) for p in s.problems] for s in plan.steps if s.problems}
    assert refused == {4: ["Tên này đã có ở dòng 2 (cùng xã)."]}


def test_the_same_name_in_two_communes_is_fine(mini):
    _, plan = preview(mini, "99001,,,Mới,Thôn,20.05,105.03,\n99002,,,Mới,Thôn,20.15,105.15,\n")
    assert [s.problems for s in plan.steps if s.line] == [[], []]


def test_a_province_cannot_upload_for_another_and_central_staff_upload_nothing(app_ctx):
    import_features(mini_geography(), "2025")
    hue = officer("province", "46")
    _, plan = preview(hue, "99001,,,Mới,Thôn,20.05,105.03,\n")
    assert [str(p) for p in plan.steps[0].problems] == ["Xã 99001 không thuộc tỉnh của bạn."]
    with pytest.raises(ListRefused):
        village_lists.Scope.of(officer("central"))


def test_a_province_s_officer_cannot_open_another_province_s_upload(mini):
    kept = upload(mini, "99001,,,3,Thôn,20.05,105.03,\n")
    assert village_lists.upload_for(mini, kept.id) is kept
    assert village_lists.upload_for(officer("province", "46"), kept.id) is None
    assert village_lists.upload_for(officer("central"), kept.id) is None


def test_open_petitions_of_a_removed_village_move_to_the_village_now_covering_them_and_closed_ones_stay(mini):
    open_one = petition_in("99001", lon=105.045, lat=20.09)  # in Thôn 13, nearer Thôn 3 than Thôn Đông
    closed = petition_in("99001", lon=105.046, lat=20.091)
    db.session.execute(text("UPDATE petitions SET status = 'resolved' WHERE id = :id"), {"id": closed.id})
    thirteen = open_one.village_id
    kept, plan = preview(mini, "99001,,,3,Thôn,20.05,105.03,\n99001,,,Đông,Thôn,20.15,105.07,\n")
    assert [(m.petition_id, m.to_village.name) for m in plan.moves] == [(open_one.id, "3")]
    village_lists.apply(kept, mini)
    db.session.expire_all()
    assert db.session.get(Petition, open_one.id).village.name == "3"
    assert db.session.get(Petition, closed.id).village_id == thirteen  # filed and closed: keeps its village
    audit = db.session.query(AuditEvent).filter_by(petition_id=open_one.id, action="replace").one()
    assert audit.data["from_village"] == thirteen and audit.actor_label == mini.username


def test_applying_refuses_when_the_register_changed_since_the_preview(mini):
    kept = upload(mini, "99001,,,3,Thôn,20.05,105.03,\n99001,,,Đông,Thôn,20.15,105.07,\n99001,,,13,Thôn,20.1,105.05,\n")
    other = upload(mini, "99001,,,3,Thôn,20.05,105.03,\n99001,,,Đông,Thôn,20.15,105.07,\n")
    village_lists.apply(other, mini)  # removes Thôn 13 meanwhile
    with pytest.raises(ListRefused, match="đã thay đổi"):
        village_lists.apply(kept, mini)


def test_a_list_read_twice_is_applied_once(mini):
    kept = upload(mini, "99001,,,3,Thôn,20.05,105.03,\n")
    village_lists.apply(kept, mini)
    with pytest.raises(ListRefused):
        village_lists.apply(kept, mini)


def test_a_surveyed_polygon_from_the_companion_geojson_is_kept_and_the_points_tile_the_rest(mini):
    polygon = shapely.box(105.0, 20.0, 105.04, 20.04)
    shapes_file = json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "properties": {"ma_xa": "99001", "ten_thon": "Bến Đò"},
                    "geometry": shapely.geometry.mapping(polygon),
                }
            ],
        }
    ).encode()
    shapes = read_shapes(shapes_file)
    kept, plan = preview(
        mini, "99001,,,3,Thôn,20.05,105.03,\n99001,,,Đông,Thôn,20.15,105.07,\n99001,,,Bến Đò,Xóm,,,\n", shapes=shapes
    )
    assert plan.problems == 0
    village_lists.apply(kept, mini)
    ben_do = db.session.execute(
        text(
            "SELECT geom_source, ST_Equals(geom, ST_Multi(ST_GeomFromText(:w, 4326))) FROM areas WHERE name = 'Bến Đò'"
        ),
        {"w": polygon.wkt},
    ).one()
    assert ben_do == ("surveyed", True)
    commune, total, union = tiling("99001")
    assert total == pytest.approx(commune, rel=1e-9) and union == pytest.approx(commune, rel=1e-9)


def test_a_polygon_that_matches_no_line_is_reported(mini):
    shapes = read_shapes(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"ma_thon": "99001999"},
                        "geometry": shapely.geometry.mapping(shapely.box(105.0, 20.0, 105.01, 20.01)),
                    }
                ],
            }
        ).encode()
    )
    _, plan = preview(mini, "99001,,,3,Thôn,20.05,105.03,\n", shapes=shapes)
    assert [str(p) for p in plan.shape_problems] == ["Vùng thứ 1 của tệp ranh giới không khớp dòng nào của danh sách."]


def test_a_village_listed_without_a_point_is_named_but_draws_no_cell(mini):
    kept, plan = preview(
        mini, "99001,,,3,Thôn,20.05,105.03,\n99001,,,Đông,Thôn,20.15,105.07,\n99001,,,Chưa Đo,Thôn,,,\n"
    )
    village_lists.apply(kept, mini)
    assert villages("99001")["Thôn Chưa Đo"][3] is False
    from app.services import areas

    commune = db.session.query(Area).filter_by(code="99001").one()
    assert "Chưa Đo" in [a["name"] for a in areas.listing(commune)]


# --- files ------------------------------------------------------------------------------


def test_csv_with_and_without_bom_and_semicolons_read_the_same_vietnamese():
    body = "99001,Tây Sơn,,Đồng Tâm,Tổ dân phố,20.05,105.03,1.234\n"
    plain = read_list("a.csv", (HEADING + body).encode())
    bom = read_list("a.csv", b"\xef\xbb\xbf" + (HEADING + body).encode())
    semicolons = read_list("a.csv", (HEADING + body).replace(",", ";").encode())
    assert plain == bom == semicolons
    assert plain[0].number == 2 and plain[0].values["village_name"] == "Đồng Tâm"


def test_excel_s_own_xlsx_with_numbers_as_numbers(app_ctx):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Mã xã", "Tên thôn", "Loại", "Vĩ độ", "Kinh độ", "Dân số"])
    sheet.append([4, "Bản Phố Mới", "Bản", 20.05, 105.03, 1200.0])  # a code typed as a number loses its 0s
    sheet.append([])
    sheet.append(["99001", "Xóm Chợ", "xom", None, None, None])
    out = io.BytesIO()
    book.save(out)
    lines = read_list("danh sach.xlsx", out.getvalue())
    assert [(x.number, x.values["commune_code"], x.values["village_name"], x.values["population"]) for x in lines] == [
        (2, "4", "Bản Phố Mới", "1200"),
        (4, "99001", "Xóm Chợ", ""),
    ]


def test_a_file_that_is_not_a_list_is_refused_with_a_reason():
    with pytest.raises(FileRefused, match="UTF-8"):
        read_list("a.csv", (HEADING + "99001,,,Đồng,Thôn,,,\n").encode("utf-16"))  # Excel's "Unicode text"
    with pytest.raises(FileRefused, match="tiêu đề"):
        read_list("a.csv", b"a,b,c\n1,2,3\n")
    with pytest.raises(FileRefused, match="Excel"):
        read_list("a.xlsx", b"PK\x03\x04 not really a workbook")
    with pytest.raises(FileRefused, match="CSV"):
        read_list("a.pdf", b"%PDF-1.4")


def test_the_export_reads_back_as_an_unchanged_list(mini):
    from app.services import village_register

    communes = db.session.query(Area).filter(Area.code.in_(["99001", "99002"])).all()
    rows = village_register.register_rows(communes)
    for data, name in ((write_csv(rows), "so.csv"), (write_xlsx(rows), "so.xlsx")):
        lines = read_list(name, data)
        plan = village_lists.plan(lines, [], village_lists.Scope.of(mini))
        assert plan.problems == 0
        assert {a for s in plan.steps for a in s.actions} == {"unchanged"}, name
    assert db.session.query(VillageChange).count() == 0


# --- the command line ------------------------------------------------------------------


def test_the_command_line_reports_line_by_line_and_fails_writing_nothing_on_a_refused_line(app_ctx, runner, tmp_path):
    import_features(mini_geography(), "2025")
    bad = tmp_path / "thon.csv"
    bad.write_bytes(csv_bytes("99001,,,3,Thôn,20.05,105.03,\n99001,,,Mới,Thôn,21.0,105.05,\n"))
    result = runner.invoke(args=["villages", "import", str(bad)])
    assert result.exit_code == 1
    assert "line 2\tok\tXã Tây Sơn\tThôn 3\t99001001\tkhông đổi" in result.output
    assert "line 3\tREFUSED\tXã Tây Sơn\tThôn Mới\t\tĐiểm (21.0, 105.05) nằm ngoài Xã Tây Sơn." in result.output
    assert villages("99001").keys() == {"Thôn 3", "Thôn Đông", "Thôn 13"}

    good = tmp_path / "thon.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["Mã xã", "Tên thôn", "Loại", "Vĩ độ", "Kinh độ"])
    for row in (["99001", "3", "Thôn", 20.05, 105.03], ["99001", "Đông", "Thôn", 20.15, 105.07]):
        book.active.append(row)
    book.save(good)
    dry = runner.invoke(args=["villages", "import", "--dry-run", str(good)])
    assert dry.exit_code == 0 and "not listed\tok\tXã Tây Sơn\tThôn 13\t99001003\tbỏ khỏi sổ" in dry.output
    assert "Thôn 13" in villages("99001")
    applied = runner.invoke(args=["villages", "import", str(good)])
    assert applied.exit_code == 0, applied.output
    assert villages("99001").keys() == {"Thôn 3", "Thôn Đông"}
    assert db.session.query(VillageChange).filter_by(actor_label="operator", action="removed").count() == 1


def test_a_point_another_village_of_the_commune_already_has_is_refused(mini):
    _, plan = preview(
        mini, "99001,,,3,Thôn,20.05,105.03,\n99001,,,Đông,Thôn,20.15,105.07,\n99001,,,Mới,Thôn,20.05,105.03,\n"
    )
    refused = {s.line: [str(p) for p in s.problems] for s in plan.steps if s.problems}
    assert refused == {4: ["Điểm này trùng điểm của Thôn 3 (dòng 2)."]}


def test_a_village_without_a_shape_is_never_the_one_a_point_is_geotagged_to(mini):
    kept, plan = preview(mini, "99001,,,Chưa Đo,Thôn,,,\n")  # the commune's only village now: no point
    assert plan.problems == 0
    village_lists.apply(kept, mini)
    placed = db.session.execute(text("SELECT village_id, commune_id FROM geotag(105.05, 20.10)")).one()
    commune = db.session.query(Area).filter_by(code="99001").one()
    assert placed == (None, commune.id)  # the commune, and no village rather than a shapeless one


def test_the_export_never_hands_excel_a_formula(mini):
    from app.services import village_register

    db.session.execute(text("UPDATE areas SET name = '=HYPERLINK(\"http://x\")' WHERE code = '99001001'"))
    commune = db.session.query(Area).filter_by(code="99001").one()
    rows = village_register.register_rows([commune])
    assert "'=HYPERLINK" in write_csv(rows).decode("utf-8-sig")
    sheet = openpyxl.load_workbook(io.BytesIO(write_xlsx(rows))).worksheets[0]
    names = [row[3] for row in sheet.iter_rows(values_only=True)]
    assert '\'=HYPERLINK("http://x")' in names


# --- what a careless or hostile file must not do ---------------------------------------------


def test_a_line_naming_a_village_by_its_old_name_beside_the_line_with_its_code_adds_a_village(mini):
    kept, plan = preview(
        mini,
        "99001,,,Đông,Xóm,20.17,105.08,\n"  # the name of 99001002, with another type: a new village
        "99001,,99001002,Đông,Thôn,20.15,105.07,\n"
        "99001,,,3,Thôn,20.05,105.03,\n99001,,,13,Thôn,20.10,105.05,\n",
    )
    assert [s.actions for s in plan.steps] == [["added"], ["unchanged"], ["unchanged"], ["unchanged"]]
    village_lists.apply(kept, mini)
    assert set(villages("99001")) == {"Xóm Đông", "Thôn Đông", "Thôn 3", "Thôn 13"}
    commune, total, union = tiling("99001")
    assert total == pytest.approx(commune, rel=1e-9) and union == pytest.approx(commune, rel=1e-9)


def test_two_lines_with_one_village_code_are_refused(mini):
    _, plan = preview(mini, "99001,,99001002,Đông,Thôn,20.15,105.07,\n99001,,99001002,Tây,Thôn,20.16,105.08,\n")
    assert [[str(p) for p in s.problems] for s in plan.steps if s.line] == [[], ["Mã thôn này đã có ở dòng 2."]]


def test_a_boundary_file_listing_a_removed_village_puts_it_back(mini):
    kept, _ = preview(mini, "99001,,,3,Thôn,20.05,105.03,\n99001,,,Đông,Thôn,20.15,105.07,\n")
    village_lists.apply(kept, mini)
    assert "Thôn 13" not in villages("99001")
    import_features(mini_geography(), "2025")
    assert villages("99001")["Thôn 13"][0] == "99001003"
    assert db.session.execute(text("SELECT village_id FROM geotag(105.05, 20.10)")).scalar() == (
        db.session.query(Area).filter_by(code="99001003").one().id
    )


def test_a_commune_officer_cannot_apply_once_the_province_withdraws_its_permission(mini):
    from app.models import VillageRegisterSetting

    province_id = db.session.query(Area).filter_by(code="99").one().id
    db.session.add(VillageRegisterSetting(province_id=province_id, communes_may_upload=True))
    commune_officer = officer("commune", "99001")
    kept = upload(commune_officer, "99001,,,3,Thôn,20.05,105.03,\n")
    db.session.get(VillageRegisterSetting, province_id).communes_may_upload = False
    with pytest.raises(ListRefused, match="chưa cho phép"):
        village_lists.apply(kept, commune_officer)
    assert "Thôn 13" in villages("99001")


@pytest.mark.parametrize("population", ["²", "9" * 5000, "-5", "1e6"])
def test_a_population_that_is_no_whole_number_is_refused_not_a_crash(mini, population):
    _, plan = preview(mini, f"99001,,,3,Thôn,20.05,105.03,{population}\n")
    shown = population if len(population) < 40 else population[:40] + "…"
    assert [str(p) for p in plan.steps[0].problems] == [f"Dân số «{shown}» không phải là một số nguyên."]


def test_a_csv_with_a_giant_cell_or_nul_bytes_is_read_or_refused_cleanly(mini):
    with pytest.raises(FileRefused, match="quá dài"):
        read_list("a.csv", csv_bytes('99001,,,"' + "x" * 200_000 + '",Thôn,,,\n'))
    kept, plan = preview(mini, "99001,,,Thôn\x00 3,Thôn,20.05,105.03,\n")  # kept in JSONB: no NUL
    assert plan.steps[0].village == "Thôn 3" and kept.id  # "Thôn\x003": the NUL gone, the type read off


def test_geojson_with_nan_or_infinite_coordinates_is_refused():
    nan = b'{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":'
    for coordinates in (b"NaN", b"1e999"):
        data = (
            nan + b'{"type":"Polygon","coordinates":[[[105,20],[105.1,20],[105.1,' + coordinates + b"],[105,20]]]}}]}"
        )
        with pytest.raises(FileRefused, match="GeoJSON"):
            read_shapes(data)


def test_a_polygon_for_a_line_with_an_unknown_commune_is_no_crash(mini):
    polygon = {"type": "Polygon", "coordinates": [[[105.0, 20.0], [105.01, 20.0], [105.01, 20.01], [105.0, 20.0]]]}
    shapes = read_shapes(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [{"type": "Feature", "properties": {"ma_thon": "99001001"}, "geometry": polygon}],
            }
        ).encode()
    )
    _, plan = preview(mini, "88888,,99001001,3,Thôn,,,\n", shapes=shapes)
    assert [str(p) for p in plan.steps[0].problems] == ["Không có xã mã 88888."]


def test_overlapping_polygons_and_a_point_inside_a_polygon_are_refused(mini):
    def feature(name, box):
        return {
            "type": "Feature",
            "properties": {"ma_xa": "99001", "ten_thon": name},
            "geometry": shapely.geometry.mapping(shapely.box(*box)),
        }

    shapes = read_shapes(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [feature("A", (105.0, 20.0, 105.04, 20.04)), feature("B", (105.03, 20.03, 105.06, 20.06))],
            }
        ).encode()
    )
    _, plan = preview(mini, "99001,,,A,Xóm,,,\n99001,,,B,Xóm,,,\n99001,,,3,Thôn,20.02,105.02,\n", shapes=shapes)
    refused = {s.line: [str(p) for p in s.problems] for s in plan.steps if s.problems}
    assert refused == {
        3: ["Ranh giới chồng lên ranh giới của Xóm A (dòng 2)."],
        4: ["Điểm nằm trong ranh giới đã đo của Xóm A (dòng 2)."],
    }


def test_the_sweeper_moves_an_open_petition_left_in_a_retired_village_to_its_successor(mini):
    from app.services import village_register

    kept, _ = preview(mini, "99001,,,3,Thôn,20.05,105.03,\n99001,,,Đông,Thôn,20.15,105.07,\n")
    village_lists.apply(kept, mini)
    retired = db.session.query(Area).filter_by(code="99001003").one()
    late = petition_in("99001")  # placed by hand in the village as it was being removed
    db.session.execute(text("UPDATE petitions SET village_id = :v WHERE id = :id"), {"v": retired.id, "id": late.id})
    assert village_register.follow_retired() == 1
    db.session.expire_all()
    assert db.session.get(Petition, late.id).village_id == retired.successor_id
    assert village_register.follow_retired() == 0


def test_an_office_suite_s_own_xlsx_shared_strings_and_all(mini):
    """tests/data/so-thon-calc.xlsx was saved by LibreOffice Calc as "Excel 2007-365" from a typed list."""
    from pathlib import Path

    data = (Path(__file__).parent / "data" / "so-thon-calc.xlsx").read_bytes()
    lines = read_list("so-thon-calc.xlsx", data)
    assert [(x.number, x.values["village_name"], x.values["lat"], x.values["population"]) for x in lines] == [
        (2, "Thượng Đoạn", "20.05", "1250"),
        (3, "Đồng Tâm", "20.15", "980"),
        (4, "Bản Phố Mới", "20.1", ""),
    ]
    plan = village_lists.plan(lines, [], village_lists.Scope.of(mini))
    assert [(s.line, s.village, s.actions) for s in plan.steps] == [
        (2, "Thôn Thượng Đoạn", ["renamed", "population"]),
        (3, "Tổ dân phố Đồng Tâm", ["added"]),
        (4, "Bản Phố Mới", ["added"]),  # "Bản" read as the type, "Phố Mới" as the name
        (None, "Thôn Đông", ["removed"]),
        (None, "Thôn 13", ["removed"]),
    ]


def test_a_name_written_with_its_type_is_the_same_village(mini):
    _, plan = preview(mini, ",Tây Sơn,,Thôn 3,,20.05,105.03,\n99001,,,thôn Đông,Thôn,20.15,105.07,\n")
    assert [(s.line, s.village, s.actions) for s in plan.steps if s.line] == [
        (2, "Thôn 3", ["unchanged"]),
        (3, "Thôn Đông", ["unchanged"]),
    ]
