"""The citizen's status page says who handles the petition and shows its timeline; the public page a shorter one."""

from __future__ import annotations

import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Area, Petition
from app.services import workflow
from tests.factories import csrf_token, officer, slice_communes, submit_petition

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
NOTE = "Ghi chú nội bộ: gọi lại cho ông Tư"
ANSWER = "UBND xã đã nạo vét cống thoát nước đầu thôn ngày 5/12."
AGENCY = "Sở Xây dựng thành phố Huế"


def text(markup: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", markup).split())


def timeline_of(html: str) -> list[str]:
    """The steps of the page's timeline, each as its text with spaces collapsed."""
    ol = re.search(r'<ol class="timeline" id="timeline">(.*?)</ol>', html, re.S).group(1)
    return [text(item) for item in re.findall(r"<li\b.*?</li>", ol, re.S)]


def steps_named(html: str) -> list[str]:
    """What happened at each step of the timeline, in order."""
    ol = re.search(r'<ol class="timeline" id="timeline">(.*?)</ol>', html, re.S).group(1)
    return re.findall(r'<strong class="timeline-what">([^<]*)</strong>', ol)


def shown(when) -> str:
    return when.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")


@pytest.fixture
def communes(app_ctx):
    codes = slice_communes(2)
    return [db.session.scalars(select(Area).where(Area.code == code)).one() for code in codes]


@pytest.fixture
def filed(client, communes):
    """A citizen's petition placed in the first commune, and its status page's address."""
    response = submit_petition(client, headers={"Accept": "application/json"}, commune=communes[0].code)
    assert response.status_code == 201
    petition = db.session.scalars(select(Petition)).one()
    return petition, response.json["status_url"]


def test_after_accept_forward_refer_answer_and_rating_the_status_page_lists_each_step(client, communes, filed):
    petition, url = filed
    first, second = communes
    here = officer("commune", first.code, username="nguyen.van.tu")
    there = officer("commune", second.code, username="tran.thi.nam")
    for who in (here, there):
        who.full_name = "Họ Tên Cán Bộ " + who.username
    workflow.act(petition, "accept", here, note=NOTE)
    accepted_due = petition.due_at
    workflow.record(petition, here, "viewed_contact")
    workflow.act(petition, "forward", here, note=NOTE, area_code=second.code)
    workflow.act(petition, "accept", there)
    due_on = date.today() + timedelta(days=20)
    workflow.act(petition, "refer", there, note=NOTE, agency=AGENCY, due_on=due_on)
    workflow.act(petition, "redact", there, note=NOTE, public_title="Cống tắc ở đầu thôn")
    workflow.act(petition, "resolve", there, note=NOTE, answer=ANSWER)
    token = csrf_token(client)
    assert client.post(f"{url}/rating", data={"csrf_token": token, "satisfied": "y"}).status_code == 303

    html = client.get(url).get_data(as_text=True)
    steps = timeline_of(html)
    assert steps_named(html) == [
        "Đã tiếp nhận",
        "Đã thụ lý",
        "Đã chuyển xử lý",
        "Đã thụ lý",
        "Đã chuyển đến cơ quan nhà nước",
        "Đã trả lời",
        "Công dân đánh giá câu trả lời",
    ]
    assert steps[5].endswith(ANSWER) and steps[6].endswith("Hài lòng")
    assert f"Hạn giải quyết: {shown(accepted_due)}" in steps[1]
    assert shown(accepted_due).endswith("23:59")  # the end of a working day, Vietnam time
    assert f"Nơi nhận: Ủy ban Mặt trận Tổ quốc Việt Nam {second.unit_type.lower()} {second.name}" in steps[2]
    assert f"Cơ quan nhận: {AGENCY} Hạn cơ quan trả lời: {due_on.strftime('%d/%m/%Y')}" in steps[4]
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d\+07:00">', html)
    # Nothing of the officers: no note, no name, no account, no view of the contact, no redaction.
    for hidden in (NOTE, "nguyen.van.tu", "tran.thi.nam", "Họ Tên Cán Bộ", "Xem thông tin liên hệ", "Biên tập"):
        assert hidden not in html, hidden
    assert html.count(ANSWER) == 1  # the answer once, in its step


def test_the_current_step_carries_the_live_deadline_and_says_when_it_is_overdue(client, communes, filed):
    petition, url = filed
    steps = timeline_of(client.get(url).get_data(as_text=True))
    assert len(steps) == 1 and f"Hạn xem xét thụ lý: {shown(petition.due_at)}" in steps[0]
    assert "bước hiện tại" in steps[0] and "Quá hạn" not in steps[0]
    petition.due_at = petition.created_at - timedelta(days=1)
    db.session.flush()
    html = client.get(url).get_data(as_text=True)
    assert 'aria-current="step"' in html and "Quá hạn" in timeline_of(html)[0]


def test_the_public_page_shows_status_steps_by_day_without_the_answer_text_or_the_rating(client, communes, filed):
    petition, url = filed
    here = officer("commune", communes[0].code)
    workflow.act(petition, "accept", here, note=NOTE)
    workflow.act(petition, "start", here)
    html = client.get(f"/p/{petition.public_id}").get_data(as_text=True)
    steps = timeline_of(html)
    assert steps_named(html) == ["Đã tiếp nhận", "Đã thụ lý", "Bắt đầu giải quyết"]
    assert "bước hiện tại" in steps[2] and "Hạn giải quyết" in steps[2]
    assert all(re.match(r"\d\d/\d\d/\d{4} [^\d]", s) for s in steps)  # a day, no hour
    assert NOTE not in html and here.username not in html
    workflow.act(petition, "resolve", here, answer=ANSWER)
    token = csrf_token(client)
    assert client.post(f"{url}/rating", data={"csrf_token": token, "satisfied": "y"}).status_code == 303
    html = client.get(f"/p/{petition.public_id}").get_data(as_text=True)
    steps = timeline_of(html)
    assert steps_named(html)[-1] == "Đã trả lời" and not any(ANSWER in s for s in steps)
    assert "Công dân đánh giá câu trả lời" not in steps_named(html)
    assert ANSWER in html  # the published answer, in its own section


def test_the_status_page_names_the_committee_the_scope_rule_gives_the_petition(client, communes, filed):
    petition, url = filed
    commune = communes[0]
    html = client.get(url).get_data(as_text=True)
    handler = re.search(r'<dd id="petition-handler">(.*?)</dd>', html, re.S).group(1)
    assert f"Ủy ban Mặt trận Tổ quốc Việt Nam {commune.unit_type.lower()} {commune.name}" in handler
    workflow.act(petition, "forward", officer("commune", commune.code), area_code="46")  # sent up to the province
    province = commune.parent
    handler = re.search(r'<dd id="petition-handler">(.*?)</dd>', client.get(url).get_data(as_text=True), re.S)
    assert f"{province.unit_type.lower()} {province.name}" in handler.group(1)
    assert "Chưa xác định được xã" not in handler.group(1)  # it has its commune; the province has it on purpose


def test_a_petition_placed_in_a_province_only_is_said_to_be_with_the_province(client):
    submit_petition(client, province="46")
    petition = db.session.scalars(select(Petition)).one()
    html = client.get(f"/petitions/{petition.display_code}").get_data(as_text=True)
    handler = re.search(r'<dd id="petition-handler">(.*?)</dd>', html, re.S).group(1)
    assert "Ủy ban Mặt trận Tổ quốc Việt Nam thành phố Huế" in handler
    assert "Chưa xác định được xã, phường; cán bộ tỉnh sẽ xác định nơi và chuyển về xã." in handler
    english = client.get(f"/petitions/{petition.display_code}?lang=en").get_data(as_text=True)
    assert "Vietnam Fatherland Front Committee of thành phố Huế" in english


def test_a_petition_in_no_inbox_is_said_to_be_with_central_staff(client, filed):
    petition, url = filed
    petition.assigned_area_id = None  # as petitions sent with no place before the place rule
    db.session.flush()
    html = client.get(url).get_data(as_text=True)
    handler = re.search(r'<dd id="petition-handler">(.*?)</dd>', html, re.S).group(1)
    assert "Ủy ban Trung ương Mặt trận Tổ quốc Việt Nam" in handler
    assert "chuyển về tỉnh" not in html
