"""In a real Chromium at a phone's width: an officer forwards a petition by typing the commune's name."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from tests.conftest import ARTIFACTS, guarded_page

pytestmark = pytest.mark.browser


def test_an_officer_on_a_phone_forwards_a_petition_by_typing_the_commune_s_name(chromium, live_server):
    from app.models import Area, Petition
    from app.services.accounts import create_officer
    from tests.factories import PASSWORD, petition_in

    with live_server.app_context():
        commune = db.session.scalar(select(Area.code).where(Area.level == "commune").order_by(Area.code).offset(5))
        create_officer("can.bo.chuyen.dt", "commune", commune, PASSWORD)
        petition = petition_in(commune, title="Rác thải đổ trộm bên đường")
        petition_id = petition.id
        db.session.commit()
        db.session.remove()
    base = live_server.config["LIVE_URL"]
    page = guarded_page(
        chromium, live_server, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="vi-VN"
    )
    page.goto(f"{base}/login")
    page.fill("#username", "can.bo.chuyen.dt")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/officer"))
    page.goto(f"{base}/officer/petitions/{petition_id}")
    page.click("details:has(form[data-action=forward]) > summary")
    page.fill("#area-forward", "hoa")  # shared by three communes: the page asks which
    page.click("form[data-action=forward] button[type=submit]")
    expect(page.locator("#area-forward-choices")).to_contain_text("Phường Phong Hòa — Thành phố Huế")
    page.screenshot(path=str(ARTIFACTS / "officer-forward-choices-390.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.fill("#area-forward-choices ~ textarea, form[data-action=forward] textarea[name=note]", "Thuộc địa bàn phường")
    page.locator("#area-forward-choices label", has_text="Phường Phong Hòa").click()
    page.click("form[data-action=forward] button[type=submit]")
    page.wait_for_url(re.compile(r"/officer/$"))  # out of this commune's inbox
    expect(page.locator("[role=status]")).to_contain_text("Đã chuyển xử lý")
    page.screenshot(path=str(ARTIFACTS / "officer-forwarded-390.png"), full_page=True)
    with live_server.app_context():
        inbox = db.session.get(Area, db.session.get(Petition, petition_id).assigned_area_id)
        assert inbox.name == "Phong Hòa"
        db.session.remove()
    assert page.outside_requests == []
    page.context.close()
