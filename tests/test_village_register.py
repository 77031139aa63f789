"""The village register's pages and its changes: rename, merge, split, history, export, progress; scope.

Through the portal's routes as officers use them, on the real PostGIS with
the mini geography (province 99) beside the slice (province 46).
"""

from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import text

from app.extensions import db
from app.geodata.importer import import_features
from app.models import AuditEvent, Petition, VillageChange
from app.services import village_register
from tests.factories import csrf_token, log_in, mini_geography, officer, petition_in

HEADING = "Mã xã,Tên xã,Mã thôn,Tên thôn,Loại,Vĩ độ,Kinh độ,Dân số\n"


@pytest.fixture
def province(client, app_ctx):
    import_features(mini_geography(), "2025")
    user = officer("province", "99")
    log_in(client, user)
    return user


def post(client, path: str, data: dict, files: dict | None = None):
    data = {"csrf_token": csrf_token(client, "/officer/villages/"), **data}
    for name, (filename, content) in (files or {}).items():
        data[name] = (io.BytesIO(content), filename)
    return client.post(path, data=data, content_type="multipart/form-data" if files else None)


def register_of(commune: str) -> list[str]:
    return list(
        db.session.execute(
            text(
                """SELECT v.unit_type || ' ' || v.name FROM areas v JOIN areas c ON c.id = v.parent_id
                   WHERE c.code = :c AND v.level = 'village' AND v.retired_at IS NULL ORDER BY v.code"""
            ),
            {"c": commune},
        ).scalars()
    )


def test_upload_preview_apply_through_the_pages(client, province):
    body = HEADING + "99001,,,3,Thôn,20.05,105.03,\n99001,,,Đông,Thôn,20.15,105.07,\n99001,,,Mới,Bản,20.02,105.09,\n"
    response = post(client, "/officer/villages/upload", {}, {"file": ("thon.csv", body.encode())})
    assert response.status_code == 303
    preview = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Bỏ khỏi sổ" in preview and "Thôn 13" in preview and "Bản Mới" in preview
    assert register_of("99001") == ["Thôn 3", "Thôn Đông", "Thôn 13"]  # nothing yet
    applied = post(client, response.headers["Location"] + "/apply", {})
    assert applied.status_code == 303
    page = client.get(applied.headers["Location"]).get_data(as_text=True)
    assert "Đã áp dụng danh sách: 2 thay đổi ở 1 xã" in page, page[page.index("<main") :][:1500]
    assert register_of("99001") == ["Thôn 3", "Thôn Đông", "Bản Mới"]


def test_a_bad_line_shows_its_number_and_offers_no_apply(client, province):
    body = HEADING + "99001,,,3,Thôn,20.05,105.03,\n99001,,,Mới,Thôn,,,nhiều\n"
    response = post(client, "/officer/villages/upload", {}, {"file": ("thon.csv", body.encode())})
    preview = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="line-3"' in preview and "Dân số «nhiều» không phải là một số nguyên." in preview
    assert 'id="apply"' not in preview and "1 lỗi: chưa có gì được ghi" in preview
    refused = post(client, response.headers["Location"] + "/apply", {})
    assert refused.status_code == 303 and register_of("99001") == ["Thôn 3", "Thôn Đông", "Thôn 13"]


def test_a_file_that_is_no_list_is_refused_with_a_message(client, province):
    response = post(client, "/officer/villages/upload", {}, {"file": ("thon.pdf", b"%PDF-1.4")})
    assert response.status_code == 303
    assert "Chỉ nhận tệp CSV hoặc Excel" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_another_province_s_officer_cannot_see_or_apply_an_upload(client, province):
    body = HEADING + "99001,,,3,Thôn,20.05,105.03,\n"
    location = post(client, "/officer/villages/upload", {}, {"file": ("thon.csv", body.encode())}).headers["Location"]
    client.delete_cookie("session")
    log_in(client, officer("province", "46"))
    assert client.get(location).status_code == 404
    assert post(client, location + "/apply", {}).status_code == 404
    assert client.get("/officer/villages/?commune=99001").status_code == 404
    assert post(client, "/officer/villages/99001001/rename", {"name": "X", "unit_type": "Thôn"}).status_code == 303
    assert register_of("99001")[0] == "Thôn 3"  # refused: not their village


def test_a_commune_officer_uploads_only_when_the_province_allows_and_only_their_commune(client, province):
    post(client, "/officer/villages/settings", {})  # unchecked: not allowed
    client.delete_cookie("session")
    log_in(client, officer("commune", "99001"))
    body = HEADING + "99001,,,3,Thôn,20.05,105.03,\n99002,,,Mới,Thôn,20.15,105.15,\n"
    assert post(client, "/officer/villages/upload", {}, {"file": ("t.csv", body.encode())}).status_code == 403
    db.session.execute(
        text("UPDATE village_register_settings SET communes_may_upload = true")  # as the province would
    )
    response = post(client, "/officer/villages/upload", {}, {"file": ("t.csv", body.encode())})
    preview = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Xã 99002 không phải xã của bạn." in preview


def test_rename_merge_and_split_are_audited_and_move_open_petitions(client, province):
    moving = petition_in("99001", lon=105.051, lat=20.101)  # in Thôn 13
    closed = petition_in("99001", lon=105.052, lat=20.102)
    db.session.execute(text("UPDATE petitions SET status = 'resolved' WHERE id = :id"), {"id": closed.id})
    thirteen = moving.village_id

    post(client, "/officer/villages/99001001/rename", {"name": "Ba", "unit_type": "Thôn"})
    assert register_of("99001") == ["Thôn Ba", "Thôn Đông", "Thôn 13"]
    confirm = post(client, "/officer/villages/99001003/merge", {"into": "99001002"})
    page = confirm.get_data(as_text=True)  # first the petitions that will move, nothing written
    assert confirm.status_code == 200 and moving.public_id in page and closed.public_id not in page
    assert register_of("99001") == ["Thôn Ba", "Thôn Đông", "Thôn 13"]
    response = post(client, "/officer/villages/99001003/merge", {"into": "99001002", "confirm": "1"})
    assert "1 kiến nghị đang mở chuyển sang" in client.get(response.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Petition, moving.id).village.name == "Đông"
    assert db.session.get(Petition, closed.id).village_id == thirteen  # closed: keeps its village
    assert db.session.query(AuditEvent).filter_by(petition_id=moving.id, action="replace").count() == 1

    # split a new village off Thôn Đông where the moved petition lies: it follows its point
    fields = {"name": "Đông Mới", "unit_type": "Thôn", "lat": "20.1", "lon": "105.05"}
    assert moving.public_id in post(client, "/officer/villages/99001002/split", fields).get_data(as_text=True)
    assert register_of("99001") == ["Thôn Ba", "Thôn Đông"]  # not yet
    response = post(client, "/officer/villages/99001002/split", {**fields, "confirm": "1"})
    assert "Đã tách thôn mới 99001004; 1 kiến nghị" in client.get(response.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Petition, moving.id).village.name == "Đông Mới"
    assert register_of("99001") == ["Thôn Ba", "Thôn Đông", "Thôn Đông Mới"]
    actions = [c.action for c in db.session.query(VillageChange).order_by(VillageChange.id)]
    assert actions == ["renamed", "merged", "split"]
    history = client.get("/officer/villages/history?commune=99001").get_data(as_text=True)
    assert history.count(f">{province.username}</td>") == 3 and "Thôn Ba" in history
    assert "Thôn 13 <small>(99001003)</small> → Thôn Đông" in history  # the merge names where it went


def test_a_rename_to_a_name_the_commune_has_is_refused(client, province):
    response = post(client, "/officer/villages/99001001/rename", {"name": "Đông", "unit_type": "thôn"})
    assert "Xã đã có Thôn Đông." in client.get(response.headers["Location"]).get_data(as_text=True)


def test_the_province_s_export_is_excel_in_the_upload_s_columns(client, province):
    response = client.get("/officer/villages/export.xlsx")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("Mã xã", "Tên xã", "Mã thôn", "Tên thôn", "Loại", "Vĩ độ", "Kinh độ", "Dân số")
    assert ("99001", "Xã Tây Sơn", "99001001", "3", "Thôn", 20.05, 105.03, 1000) in rows
    assert len(rows) == 1 + 6
    assert client.get("/officer/villages/export.csv?commune=17594").status_code == 404  # another province's


def test_progress_for_central_staff_only(client, province):
    body = HEADING + "99001,,,3,Thôn,20.05,105.03,\n99001,,,Đông,Thôn,20.15,105.07,\n99001,,,Chưa Đo,Thôn,,,\n"
    location = post(client, "/officer/villages/upload", {}, {"file": ("t.csv", body.encode())}).headers["Location"]
    post(client, location + "/apply", {})
    assert client.get("/officer/villages/progress").status_code == 403
    client.delete_cookie("session")
    log_in(client, officer("central"))
    page = client.get("/officer/villages/progress?province=99").get_data(as_text=True)
    assert "1/2 xã đã gửi danh sách." in page
    rows = {
        r.code: r for r in village_register.progress(db.session.query(village_register.Area).filter_by(code="99").one())
    }
    assert (rows["99001"].listed, rows["99001"].villages, rows["99001"].located) == (1, 3, 2)
    assert (rows["99002"].listed, rows["99002"].villages) == (0, 3)
    national = client.get("/officer/villages/progress").get_data(as_text=True)
    assert "Tỉnh Thử Nghiệm" in national


def test_a_split_point_outside_the_village_split_is_refused(client, province):
    response = post(
        client,
        "/officer/villages/99001002/split",
        {"name": "Mới", "unit_type": "Thôn", "lat": "20.052", "lon": "105.032"},
    )  # a point of Thôn 3, not of Thôn Đông
    assert "Điểm của thôn mới phải nằm trong thôn được tách." in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    assert register_of("99001") == ["Thôn 3", "Thôn Đông", "Thôn 13"]


@pytest.mark.parametrize("lat", ["nan", "inf", "1e999", "hai mươi"])
def test_a_split_at_no_number_is_refused_cleanly(client, province, lat):
    response = post(
        client, "/officer/villages/99001002/split", {"name": "Mới", "unit_type": "Thôn", "lat": lat, "lon": "105.07"}
    )
    assert response.status_code == 303
    assert register_of("99001") == ["Thôn 3", "Thôn Đông", "Thôn 13"]
