"""The report on screen and on A4, the scorecards and their way in from the home page, in headless Chromium."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from app.extensions import db
from tests.conftest import ARTIFACTS, WIDTHS, guarded_page, log_in_as_province

pytestmark = pytest.mark.browser


def petitions_in_commune(live_server, commune: str, count: int, category: str = "roads", channel: str = "web") -> None:
    """Petitions placed by the picker in the commune's first village, filed over the last weeks."""
    from app.services.petitions import Submission, submit

    with live_server.app_context():
        village = db.session.execute(
            text("SELECT min(code) FROM areas WHERE level = 'village' AND code LIKE :c"), {"c": commune + "%"}
        ).scalar()
        now = datetime.now(UTC)
        for i in range(count):
            result = submit(
                Submission(
                    title=f"Kiến nghị {i}",
                    body="Nội dung kiến nghị thử nghiệm.",
                    category=category,
                    chosen_code=village,
                    channel=channel,
                )
            )
            db.session.execute(
                text("UPDATE petitions SET created_at = :t WHERE tracking_code = :c"),
                {"t": now - timedelta(days=3 * i + 1), "c": result.tracking_code},
            )
        db.session.commit()
        db.session.remove()


def test_the_report_on_screen_and_printed_on_a4(page, live_server, tmp_path):
    petitions_in_commune(live_server, "17600", 12)  # Phường Phong Hòa
    log_in_as_province(page, live_server)
    page.goto(f"{live_server.config['LIVE_URL']}/officer/report")
    chart = page.locator("#trend-chart")
    expect(chart).to_be_visible()
    expect(chart.locator(".x-axis text").first).to_have_text(re.compile(r"^\d\d/\d\d$"))
    expect(chart.locator("title").first).to_have_text("Số kiến nghị nhận mỗi tuần (giờ Việt Nam)")
    expect(page.locator("#top-villages")).to_contain_text("— Phường Phong Hòa")
    # The chart's labels stay readable: at least 9 CSS pixels high, on a phone too (the chart scrolls sideways).
    assert chart.locator(".x-axis text").first.bounding_box()["height"] >= 9
    page.screenshot(path=str(ARTIFACTS / f"report-{page.width}.png"), full_page=True)

    if page.width == 1280:
        pdf = ARTIFACTS / "report-a4.pdf"
        page.pdf(path=str(pdf), format="A4", print_background=True)
        assert pdf.read_bytes().startswith(b"%PDF")
        page.emulate_media(media="print")
        expect(page.locator(".site-header")).to_be_hidden()
        expect(page.locator("#trend-chart")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "report-print.png"), full_page=True)
    assert page.outside_requests == []


def test_a_citizen_finds_a_commune_s_scorecard_from_the_home_page_without_javascript(chromium, live_server):
    petitions_in_commune(live_server, "17600", 6, channel="web")
    petitions_in_commune(live_server, "17600", 5, channel="paper")
    base = live_server.config["LIVE_URL"]
    for width in WIDTHS:
        page = guarded_page(chromium, live_server, viewport={"width": width, "height": 844}, java_script_enabled=False)
        page.goto(base + "/")
        expect(page.locator("#home-map")).to_be_visible()
        expect(page.locator("#home-map")).to_have_attribute("href", "/map")
        expect(page.locator(".site-footer")).to_contain_text("Kết quả của các xã, phường")
        page.screenshot(path=str(ARTIFACTS / f"home-{width}.png"), full_page=True)

        page.click("#home-scorecards")
        expect(page.locator("#provinces")).to_contain_text("Thành phố Huế")
        page.fill("#q", "phong hoa")
        page.press("#q", "Enter")
        results = page.locator("#search-results li")
        expect(results.first).to_contain_text("Phường Phong Hòa")
        expect(results.first).to_contain_text("Thành phố Huế")
        page.screenshot(path=str(ARTIFACTS / f"scorecard-search-{width}.png"), full_page=True)

        results.first.locator("a").click()
        expect(page.locator("h1")).to_have_text("Phường Phong Hòa")
        expect(page.locator("#comparability")).to_contain_text("Số kiến nghị không đo mức độ vấn đề của địa bàn.")
        expect(page.locator("#channels")).to_contain_text("Đơn giấy")
        page.screenshot(path=str(ARTIFACTS / f"scorecard-{width}.png"), full_page=True)

        page.click("text=Thành phố Huế >> nth=0")  # the breadcrumb: the province's list
        expect(page.locator("#communes")).to_contain_text("Phường Phong Hòa")
        page.screenshot(path=str(ARTIFACTS / f"scorecards-province-{width}.png"), full_page=True)
        assert page.outside_requests == []
        page.context.close()
