"""Answer templates: provincial staff keep them for their province, officers fill an answer or a
rejection reason from one, with the petition's details in place of their names."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.geodata.importer import import_features
from app.models import AnswerTemplate
from tests.factories import csrf_token, log_in, mini_geography, officer, petition_in, slice_communes

BODY = "Kính gửi công dân, về kiến nghị {ma_kien_nghi} «{tieu_de}» tại {xa}: {don_vi} đã làm việc với UBND. {khong_co}"


def add_template(client, **fields) -> None:
    data = {"csrf_token": csrf_token(client, "/officer/answer-templates"), "name": "Đã sửa xong", "action": "resolve",
            "category": "roads", "body": BODY, **fields}  # fmt: skip
    assert client.post("/officer/answer-templates", data=data).status_code == 303


def test_a_template_fills_an_answer_with_the_petition_s_details(client, app_ctx):
    commune = slice_communes(1)[0]
    log_in(client, officer("province", "46"))
    add_template(client)
    client.delete_cookie("session")
    petition = petition_in(commune, title="Đèn đường hỏng")
    clerk = officer("commune", commune)
    from app.services.workflow import act

    act(petition, "accept", clerk)
    log_in(client, clerk)
    page = client.get(f"/officer/petitions/{petition.id}").get_data(as_text=True)
    link = re.search(r'id="templates-resolve">[^<]*<a href="([^"]+)"', page).group(1)
    filled = html_lib.unescape(client.get(html_lib.unescape(link)).get_data(as_text=True))
    answer = re.search(r'<textarea id="answer-resolve"[^>]*>(.*?)</textarea>', filled, re.S).group(1)
    assert petition.reference in answer and "«Đèn đường hỏng»" in answer and "Phường Đại Đức" in answer
    assert "Ủy ban Mặt trận Tổ quốc Việt Nam Phường Đại Đức" in answer
    assert "{khong_co}" in answer  # a name the portal does not know stays as it was typed


def test_a_template_of_another_category_or_province_is_not_offered(client, app_ctx):
    import_features(mini_geography(), "2025")
    log_in(client, officer("province", "99"))
    add_template(client, name="Mẫu của tỉnh 99")
    client.delete_cookie("session")
    log_in(client, officer("province", "46"))
    add_template(client, name="Mẫu môi trường", category="environment")
    commune = slice_communes(1)[0]
    petition = petition_in(commune)  # roads, in province 46
    from app.services import answer_templates

    assert [t.name for t in answer_templates.for_petition(petition, "resolve")] == []


def test_a_province_s_staff_cannot_edit_another_province_s_template_and_commune_officers_none(client, app_ctx):
    import_features(mini_geography(), "2025")
    log_in(client, officer("province", "99"))
    add_template(client, name="Mẫu của tỉnh 99")
    theirs = db.session.scalars(select(AnswerTemplate)).one()
    client.delete_cookie("session")
    log_in(client, officer("province", "46"))
    assert client.get(f"/officer/answer-templates/{theirs.id}").status_code == 404
    assert "Mẫu của tỉnh 99" not in client.get("/officer/answer-templates").get_data(as_text=True)
    client.delete_cookie("session")
    log_in(client, officer("commune", slice_communes(1)[0]))
    assert client.get("/officer/answer-templates").status_code == 403


@pytest.mark.parametrize("fields, says", [({"name": ""}, "Hãy đặt tên mẫu"), ({"body": ""}, "Hãy viết nội dung mẫu")])
def test_a_template_without_a_name_or_text_is_refused_with_a_message(client, app_ctx, fields, says):
    log_in(client, officer("province", "46"))
    token = csrf_token(client, "/officer/answer-templates")
    data = {
        "csrf_token": token,
        "name": "Mẫu",
        "action": "reject",
        "category": "",
        "body": "Không thuộc thẩm quyền.",
        **fields,
    }
    response = client.post("/officer/answer-templates", data=data)
    assert response.status_code == 422 and says in response.get_data(as_text=True)


def test_templates_follow_the_province_of_the_inbox_holding_the_petition(client, app_ctx):
    from app.services import answer_templates
    from app.services.workflow import act

    import_features(mini_geography(), "2025")
    log_in(client, officer("province", "46"))
    add_template(client, name="Mẫu của tỉnh 46")
    client.delete_cookie("session")
    log_in(client, officer("province", "99"))
    add_template(client, name="Mẫu của tỉnh 99")
    petition = petition_in(slice_communes(1)[0])  # filed in 46
    act(petition, "forward", officer("central"), area_code="99001")  # central staff send it to province 99
    assert [t.name for t in answer_templates.for_petition(petition, "resolve")] == ["Mẫu của tỉnh 99"]
    of_46 = db.session.scalars(select(AnswerTemplate).where(AnswerTemplate.name == "Mẫu của tỉnh 46")).one()
    client.delete_cookie("session")
    clerk = officer("commune", "99001")
    act(petition, "accept", clerk)
    log_in(client, clerk)
    page = client.get(f"/officer/petitions/{petition.id}?use={of_46.id}").get_data(as_text=True)
    assert "đã làm việc với UBND" not in page  # another province's template is not filled, even by its id


def test_a_reason_template_longer_than_a_reason_may_be_is_refused(client, app_ctx):
    log_in(client, officer("province", "46"))
    token = csrf_token(client, "/officer/answer-templates")
    data = {"csrf_token": token, "name": "Quá dài", "action": "reject", "category": "", "body": "x" * 3500}
    response = client.post("/officer/answer-templates", data=data)
    assert response.status_code == 422 and "tối đa 3000 ký tự" in response.get_data(as_text=True)
