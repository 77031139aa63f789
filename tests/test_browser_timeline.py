"""In a real Chromium at 390 px and 1280 px: the status page's timeline, and the form asking for a place."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, text

from app.extensions import db
from app.models import Petition
from tests.conftest import ARTIFACTS, guarded_page

pytestmark = pytest.mark.browser
ANSWER = "UBND phường đã sửa đèn chiếu sáng trên đường Lê Lợi ngày 6/12."
AGENCY = "Công ty Chiếu sáng đô thị Huế"
WIDTHS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}


@pytest.fixture(scope="module")
def artifacts() -> Path:
    return ARTIFACTS  # screenshots kept for people to look at


@pytest.fixture(scope="module")
def worked_petition(live_server) -> str:
    """A petition received, accepted, forwarded, accepted there, referred, answered: its tracking code."""
    from app.services import workflow
    from app.services.accounts import create_officer
    from app.services.petitions import Submission, by_code, submit
    from tests.factories import PASSWORD

    with live_server.app_context():
        first, second = db.session.execute(
            text("SELECT code FROM areas WHERE level = 'commune' ORDER BY code LIMIT 2")
        ).scalars()
        here, _ = create_officer("can.bo.dong.thoi.gian", "commune", first, PASSWORD)
        there, _ = create_officer("can.bo.nhan.chuyen", "commune", second, PASSWORD)
        result = submit(
            Submission(
                title="Đèn đường hỏng cả tháng",
                body="Đoạn đường trước trường tiểu học tối om từ đầu tháng, học sinh đi học về rất nguy hiểm.",
                category="roads",
                chosen_code=first,
            )
        )
        petition = by_code(result.tracking_code)
        workflow.act(petition, "accept", here, note="Ghi chú nội bộ không được lộ ra")
        workflow.act(petition, "forward", here, area_code=second)
        workflow.act(petition, "accept", there)
        workflow.act(petition, "refer", there, agency=AGENCY, due_on=date.today() + timedelta(days=14))
        workflow.act(petition, "resolve", there, answer=ANSWER)
        code = petition.display_code
        db.session.remove()
    return code


@pytest.mark.parametrize("size", WIDTHS)
def test_the_status_page_shows_the_timeline_readably(chromium, live_server, worked_petition, artifacts, size):
    page = guarded_page(chromium, live_server, viewport=WIDTHS[size], locale="vi-VN")
    page.goto(f"{live_server.config['LIVE_URL']}/petitions/{worked_petition}")
    steps = page.locator("ol#timeline > li")
    expect(steps).to_have_count(6)
    expect(steps.locator(".timeline-what")).to_have_text(
        [
            "Đã tiếp nhận",
            "Đã thụ lý",
            "Đã chuyển xử lý",
            "Đã thụ lý",
            "Đã chuyển đến cơ quan nhà nước",
            "Đã trả lời",
        ]
    )
    expect(steps.nth(1)).to_contain_text("Hạn giải quyết:")
    expect(steps.nth(2)).to_contain_text("Nơi nhận: Ủy ban Mặt trận Tổ quốc Việt Nam")
    expect(steps.nth(4)).to_contain_text(f"Cơ quan nhận: {AGENCY}")
    expect(steps.nth(5).locator(".answer-body")).to_have_text(ANSWER)
    expect(page.locator("#timeline")).not_to_contain_text("Ghi chú nội bộ")
    expect(page.locator("#timeline")).not_to_contain_text("can.bo.")
    expect(page.locator("#petition-handler")).to_contain_text("Ủy ban Mặt trận Tổ quốc Việt Nam")
    # Readable at this width: nothing wider than the screen, and each step's dot sits on the line.
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[size]["width"]
    line = page.locator("#timeline").bounding_box()
    for i in range(6):
        box = steps.nth(i).bounding_box()
        assert box["x"] >= line["x"] and box["x"] + box["width"] <= line["x"] + line["width"] + 1
    dot_left = page.evaluate(
        "() => { const li = document.querySelector('#timeline > li');"
        " const r = li.getBoundingClientRect(); const s = getComputedStyle(li, '::before');"
        " return r.left + parseFloat(s.left) + parseFloat(s.width) / 2; }"
    )
    assert abs(dot_left - (line["x"] + 1.5)) < 2  # the dot is centred on the 3 px line
    page.screenshot(path=str(artifacts / f"status-timeline-{WIDTHS[size]['width']}.png"), full_page=True)
    assert page.outside_requests == []
    page.context.close()


def test_the_form_asks_for_a_place_even_offline_and_keeps_the_text(chromium, live_server, artifacts):
    page = guarded_page(chromium, live_server, viewport=WIDTHS["phone"], locale="vi-VN")
    page.goto(f"{live_server.config['LIVE_URL']}/petitions/new")
    page.fill("#title", "Chưa chọn nơi xảy ra")
    page.fill("#body", "Cống ở đầu thôn bị tắc, nước thải tràn ra đường mỗi khi mưa.")
    page.select_option("#category", "environment")
    page.check("#anonymous-y")
    page.check("#consent")
    page.context.set_offline(True)  # not kept offline either: the server would refuse it later
    page.click("#submit")
    message = page.locator("#province ~ .field-error, .field:has(#province) .field-error")
    expect(message.first).to_contain_text("Hãy cho biết nơi xảy ra")
    expect(page.locator("#province")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#form-status")).not_to_contain_text("đã được lưu trên máy")
    expect(page.locator("#body")).to_have_value("Cống ở đầu thôn bị tắc, nước thải tràn ra đường mỗi khi mưa.")
    page.screenshot(path=str(artifacts / "form-no-place-390.png"), full_page=True)
    page.context.set_offline(False)
    page.select_option("#province", "46")
    page.click("#submit")
    page.wait_for_url("**/petitions/*?new=1")
    with live_server.app_context():
        [petition] = db.session.scalars(select(Petition).where(Petition.title == "Chưa chọn nơi xảy ra")).all()
        assert petition.province.code == "46" and petition.commune is None
        db.session.remove()
    expect(page.locator("#petition-handler")).to_contain_text("Chưa xác định được xã, phường")
    page.context.close()


STORE_OLD_RECORD = """async ([title, withPlace]) => {
  const form = document.getElementById('petition-form');
  const fields = [['csrf_token', form.elements.namedItem('csrf_token').value],
    ['idempotency_key', PetitionOutbox.uuid()], ['title', title],
    ['body', 'Nội dung kiến nghị lưu trên máy từ hôm mất mạng, chưa chọn nơi.'], ['category', 'roads'],
    ['anonymous', 'y'], ['consent', 'y'], ['action', 'submit']];
  if (withPlace) fields.push(['province', '46']);
  await PetitionOutbox.put({idempotency_key: fields[1][1], url: new URL('/petitions', location.href).href,
    fields, files: [], created_at: new Date().toISOString()});
}"""


def test_a_stored_petition_the_server_refuses_comes_back_with_its_message(chromium, live_server, artifacts):
    """A petition kept offline by an older page, without a place: refused when sent, shown, not lost."""
    page = guarded_page(chromium, live_server, viewport=WIDTHS["phone"], locale="vi-VN")
    base = live_server.config["LIVE_URL"]
    page.goto(f"{base}/petitions/new")
    page.wait_for_function("window.PetitionOutbox")
    page.fill("#title", "Kiến nghị đang viết dở")  # the citizen is writing another one
    page.evaluate(STORE_OLD_RECORD, ["Kiến nghị cũ chưa có nơi", False])
    page.evaluate("window.dispatchEvent(new Event('online'))")  # the network is back: the page sends what it kept
    expect(page.locator("#form-status")).to_contain_text("Kiến nghị “Kiến nghị cũ chưa có nơi”", timeout=10_000)
    expect(page.locator("#title")).to_have_value("Kiến nghị đang viết dở")  # what is being written stays
    page.fill("#title", "")
    page.goto(f"{base}/petitions/new")  # a free form: the refused petition comes back into it
    expect(page.locator("#title")).to_have_value("Kiến nghị cũ chưa có nơi", timeout=10_000)
    expect(page.locator("#body")).to_have_value("Nội dung kiến nghị lưu trên máy từ hôm mất mạng, chưa chọn nơi.")
    expect(page.locator(".field:has(#province) .field-error")).to_contain_text("Hãy cho biết nơi xảy ra")
    expect(page.locator("#form-status")).to_contain_text("chưa được nhận")
    page.screenshot(path=str(artifacts / "form-stored-refused-390.png"), full_page=True)
    left = page.evaluate("PetitionOutbox.all('outbox').then((r) => r.length)")
    assert left == 0  # taken out of the outbox once it is back in the form
    with live_server.app_context():
        assert db.session.scalars(select(Petition).where(Petition.title == "Kiến nghị cũ chưa có nơi")).all() == []
        db.session.remove()
    page.context.close()
