"""A citizen on a phone, in a real headless Chromium, with no outside network."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.extensions import db
from app.models import Petition
from tests.conftest import ARTIFACTS, pass_second_factor
from tests.factories import jpeg

pytestmark = pytest.mark.browser
XSS_TITLE = "<img src=x onerror=alert(1)>"
# Characters that act inside JavaScript strings and template literals: `, ${…} and \ must stay text too.
MAP_XSS_TITLE = XSS_TITLE + " ${alert(2)} ` \\"


def fill_the_problem(page, title: str) -> None:
    page.fill("#title", title)
    page.fill("#body", "Cống ở đầu thôn bị tắc, nước thải tràn ra đường mỗi khi mưa.")
    page.select_option("#category", "environment")


def petitions_titled(app, title: str) -> list[Petition]:
    with app.app_context():
        found = db.session.scalars(select(Petition).where(Petition.title == title)).all()
        for petition in found:
            _ = petition.village, petition.commune, petition.photos  # load before the session closes
        db.session.remove()
        return found


def test_a_citizen_sends_a_petition_from_a_phone_with_the_map_and_a_photo(phone, live_server, tmp_path):
    base = live_server.config["LIVE_URL"]
    photo = tmp_path / "cong.jpg"
    photo.write_bytes(jpeg(size=(1200, 900)))
    page = phone
    page.goto(f"{base}/petitions/new")
    fill_the_problem(page, "Cống thoát nước bị tắc")

    page.click("#show-map")
    # the boundaries are the base layer (SVG paths, or a canvas on phones)
    expect(page.locator("#map .leaflet-overlay-pane :is(path, canvas)").first).to_be_visible()
    page.locator("#map").click()  # a tap in the middle of the map, inside the province
    expect(page.locator("#place-result")).to_contain_text(re.compile(r"(Xã|Phường) "))
    assert page.input_value("#location_source") == "map"

    page.set_input_files("#photos", str(photo))
    page.check("#anonymous-y")
    page.check("#consent")
    page.screenshot(path=str(ARTIFACTS / "petition-form-phone.png"), full_page=True)
    page.click("#submit")

    page.wait_for_url(re.compile(r"/petitions/[^/?]+\?new=1$"))
    code = page.locator("#tracking-code").inner_text().strip()
    assert re.fullmatch(r"[2-9A-Z]{3}-[2-9A-Z]{3}-[2-9A-Z]{3}", code)
    page.screenshot(path=str(ARTIFACTS / "petition-sent-phone.png"), full_page=True)

    page.goto(f"{base}/petitions/{code}")
    expect(page.locator("#petition-status")).to_have_text("Đã tiếp nhận")
    [petition] = petitions_titled(live_server, "Cống thoát nước bị tắc")
    assert petition.display_code == code
    assert petition.location_source == "map" and petition.geotag_method == "inside"
    assert petition.commune is not None and petition.commune.name in page.locator("#petition-place").inner_text()
    assert len(petition.photos) == 1
    assert page.outside_requests == []


def test_a_petition_sent_while_offline_is_kept_and_sent_once_when_back_online(phone, live_server):
    base = live_server.config["LIVE_URL"]
    page = phone
    page.goto(f"{base}/petitions/new")
    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== undefined")
    fill_the_problem(page, "Mất điện cả thôn ba ngày")
    page.select_option("#province", "46")
    page.check("#anonymous-y")
    page.check("#consent")

    page.context.set_offline(True)
    page.click("#submit")
    expect(page.locator("#form-status")).to_contain_text("Mất kết nối mạng")
    assert petitions_titled(live_server, "Mất điện cả thôn ba ngày") == []

    page.context.set_offline(False)
    expect(page.locator("#form-status")).to_contain_text(re.compile(r"Mã theo dõi: [2-9A-Z]{3}-"), timeout=15_000)
    page.reload()  # a later visit must not send it again
    page.wait_for_timeout(1500)
    sent = petitions_titled(live_server, "Mất điện cả thôn ba ngày")
    assert len(sent) == 1
    assert sent[0].geotag_method == "chosen"
    assert page.outside_requests == []


def test_a_title_with_markup_stays_text_in_a_real_browser(phone, live_server):
    base = live_server.config["LIVE_URL"]
    page = phone
    page.goto(f"{base}/petitions/new")
    fill_the_problem(page, "<img src=x onerror=alert(1)>")
    page.select_option("#province", "46")
    page.check("#anonymous-y")
    page.check("#consent")
    page.click("#submit")
    page.wait_for_url(re.compile(r"\?new=1$"))
    expect(page.locator(".petition-title")).to_have_text("<img src=x onerror=alert(1)>")
    assert page.dialogs == []


def test_the_form_page_at_desktop_width(chromium, live_server):
    page = chromium.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{live_server.config['LIVE_URL']}/petitions/new")
    expect(page.locator("#use-location")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "petition-form-desktop.png"), full_page=True)
    page.close()


def test_the_form_script_speaks_english_on_the_english_page(phone, live_server):
    phone.goto(f"{live_server.config['LIVE_URL']}/petitions/new?lang=en")
    search = phone.locator("#area-search")
    expect(search).to_have_attribute("placeholder", "Search provinces and cities…")
    search.fill("zzzz")
    expect(phone.locator("#area-search + .hint")).to_have_text("No place found.")
    phone.screenshot(path=str(ARTIFACTS / "petition-form-english-phone.png"), full_page=True)


def test_an_officer_accepts_and_answers_and_the_citizen_sees_the_answer(chromium, live_server):
    from sqlalchemy import text

    from app.models.petition import format_reference
    from app.services.accounts import create_officer
    from app.services.petitions import Submission, submit
    from tests.factories import PASSWORD

    with live_server.app_context():
        code = db.session.execute(text("SELECT code FROM areas WHERE level = 'commune' ORDER BY code LIMIT 1")).scalar()
        user, _ = create_officer("can.bo.xa", "commune", code, PASSWORD)
        other = submit(
            Submission(
                title="Rác thải đổ trộm ven sông",
                body="Rác tồn đọng nhiều tuần.",
                category="environment",
                chosen_code=code,
            )
        )
        mine = submit(
            Submission(
                title="Đường ngập khi mưa lớn",
                body="Nước ngập sâu 50 cm ở đầu thôn.",
                category="roads",
                chosen_code=code,
            )
        )
        db.session.commit()
        db.session.remove()
    base = live_server.config["LIVE_URL"]
    page = chromium.new_page(viewport={"width": 1280, "height": 800})
    page.goto(f"{base}/login")
    page.fill("#username", "can.bo.xa")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_contain_text("Hộp kiến nghị")

    page.fill("#q", "duong ngap")  # no diacritics: still found
    page.click("#filters button[type=submit]")
    expect(page.locator("#inbox tbody tr")).to_have_count(1)
    # Officers see the petition's reference, never the citizen's tracking code.
    expect(page.locator("#inbox")).to_contain_text(format_reference(mine.public_id))
    expect(page.locator("#inbox")).not_to_contain_text(format_reference(other.public_id))
    expect(page.locator("#inbox")).not_to_contain_text(mine.display_code)
    page.screenshot(path=str(ARTIFACTS / "officer-inbox-desktop.png"), full_page=True)

    page.click(f"text={format_reference(mine.public_id)}")
    page.click("summary:has-text('Thụ lý')")
    page.click("form[data-action=accept] button[type=submit]")
    expect(page.locator("#petition-status")).to_have_text("Đã thụ lý")
    page.click("summary:has-text('Trả lời công dân')")
    page.fill("form[data-action=resolve] textarea[name=answer]", "UBND xã đã khơi thông cống thoát nước đầu thôn.")
    page.click("form[data-action=resolve] button[type=submit]")
    expect(page.locator("#petition-status")).to_have_text("Đã trả lời")
    expect(page.locator("#history")).to_contain_text("Trả lời công dân → Đã trả lời")
    page.screenshot(path=str(ARTIFACTS / "officer-petition-desktop.png"), full_page=True)

    citizen = chromium.new_page(viewport={"width": 360, "height": 740})
    citizen.goto(f"{base}/petitions/{mine.display_code}")
    expect(citizen.locator("#petition-status")).to_have_text("Đã trả lời")
    expect(citizen.locator(".answer-body")).to_have_text("UBND xã đã khơi thông cống thoát nước đầu thôn.")
    citizen.screenshot(path=str(ARTIFACTS / "status-answered-phone.png"), full_page=True)
    page.close()
    citizen.close()


def test_provincial_staff_see_the_province_map_and_report_with_layers_and_legend(desktop, live_server):
    from sqlalchemy import text

    from app.services.accounts import create_officer
    from app.services.petitions import Submission, submit
    from tests.factories import PASSWORD

    with live_server.app_context():
        create_officer("can.bo.tinh", "province", "46", PASSWORD)
        points = db.session.execute(
            text(
                "SELECT ST_X(label_point), ST_Y(label_point) FROM areas WHERE level = 'village' ORDER BY code LIMIT 60"
            )
        ).all()
        for i, (lon, lat) in enumerate(points):
            submit(
                Submission(
                    title=f"Kiến nghị thử {i}",
                    body="Nội dung kiến nghị thử nghiệm.",
                    category=("roads", "environment", "healthcare")[i % 3],
                    lon=lon,
                    lat=lat,
                    location_source="gps",
                )
            )
        db.session.commit()
        in_province = db.session.execute(
            text("SELECT count(*) FROM petitions p JOIN areas a ON a.id = p.province_id WHERE a.code = '46'")
        ).scalar()
        db.session.remove()
    base = live_server.config["LIVE_URL"]
    page = desktop
    page.goto(f"{base}/login")
    page.fill("#username", "can.bo.tinh")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    pass_second_factor(page, "can.bo.tinh")

    page.goto(f"{base}/officer/map")
    expect(page.locator(".leaflet-container")).to_be_visible()
    expect(page.locator(".map-measure")).to_contain_text("Số kiến nghị")
    layers = page.locator(".leaflet-control-layers")
    expect(layers).to_contain_text("Mật độ kiến nghị (heatmap)")
    expect(layers).to_contain_text("Lĩnh vực: Giao thông, hạ tầng")
    expect(page.locator(".map-legend")).to_contain_text("Kiến nghị — Thành phố Huế")
    expect(page.locator("canvas.leaflet-heatmap-layer")).to_have_count(1)  # the heat layer drew
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "province-map-desktop.png"), full_page=True)

    page.locator("#week").fill("1")  # the week slider: last week's map
    expect(page).to_have_url(re.compile(r"week=1"))
    expect(page.locator("#week-label")).to_have_text("cách đây 1 tuần")
    expect(page.locator(".leaflet-container")).to_be_visible()

    page.goto(f"{base}/officer/report")
    expect(page.locator("#kpi-received")).to_have_text(str(in_province))  # the same count as the database
    expect(page.locator(".report .leaflet-container")).to_be_visible()
    expect(page.locator("#by-category")).to_contain_text("Giao thông, hạ tầng")
    page.screenshot(path=str(ARTIFACTS / "province-report-desktop.png"), full_page=True)
    page.pdf(path=str(ARTIFACTS / "province-report-a4.pdf"), format="A4", print_background=True)
    assert page.outside_requests == []


def test_the_commune_map_shows_markers_whose_popups_keep_markup_as_text(desktop, live_server):
    from sqlalchemy import text

    from app.services.accounts import create_officer
    from app.services.petitions import Submission, submit
    from tests.factories import PASSWORD

    with live_server.app_context():
        code, lon, lat = db.session.execute(
            text(
                "SELECT c.code, ST_X(v.label_point), ST_Y(v.label_point) "
                "FROM areas v JOIN areas c ON c.id = v.parent_id "
                "WHERE v.level = 'village' ORDER BY c.code DESC, v.code LIMIT 1"
            )
        ).one()
        create_officer("can.bo.ban.do", "commune", code, PASSWORD)
        submit(
            Submission(
                title=MAP_XSS_TITLE,
                body="Tiêu đề có mã HTML để thử.",
                category="roads",
                lon=lon,
                lat=lat,
                location_source="gps",
            )
        )
        db.session.commit()
        db.session.remove()
    base = live_server.config["LIVE_URL"]
    page = desktop
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/login")
    page.fill("#username", "can.bo.ban.do")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{base}/officer/map")
    expect(page.locator("#area-map")).to_have_attribute("data-loaded", "1")  # boundaries fetched, view set
    marker = page.locator("#officer-map path.leaflet-interactive, #officer-map .marker-cluster").last
    expect(marker).to_be_visible()
    marker.click(force=True)
    while page.locator(".leaflet-popup-content").count() == 0 and page.locator(".marker-cluster").count():
        page.locator(".marker-cluster").first.click()  # zoom into the cluster until the marker stands alone
        page.wait_for_timeout(400)
        page.locator("#officer-map path.leaflet-interactive").last.click(force=True)
    expect(page.locator(".leaflet-popup-content strong")).to_have_text(MAP_XSS_TITLE)
    assert page.dialogs == [] and errors == [] and page.outside_requests == []

    page.goto(f"{base}/officer/")
    page.click("#inbox tbody tr a >> nth=0")
    expect(page.locator("#petition-map path").first).to_be_visible()  # the village boundary and the point
    assert errors == []


# Collects what the page's Content-Security-Policy refused, before any page script runs.
CSP_WATCH = """
window.cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || ''));
}, true);
"""


def watch_the_policy(page) -> list[str]:
    """Record CSP refusals reported in the console and by securitypolicyviolation events."""
    console = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda e: console.append(str(e)))
    page.add_init_script(CSP_WATCH)
    return console


def refused(page, console: list[str]) -> list[str]:
    return console + page.evaluate("window.cspViolations")


def test_the_form_status_page_and_maps_run_under_the_content_security_policy(phone, desktop, live_server):
    from sqlalchemy import text

    from app.services.accounts import create_officer
    from app.services.petitions import Submission, by_code, submit
    from tests.factories import PASSWORD

    with live_server.app_context():
        code, lon, lat = db.session.execute(
            text(
                "SELECT c.code, ST_X(v.label_point), ST_Y(v.label_point) "
                "FROM areas v JOIN areas c ON c.id = v.parent_id "
                "WHERE v.level = 'village' ORDER BY c.code, v.code LIMIT 1"
            )
        ).one()
        create_officer("can.bo.csp", "commune", code, PASSWORD)
        result = submit(
            Submission(
                title="Đèn đường hỏng trước chợ",
                body="Cả đoạn đường tối om từ tháng trước.",
                category="roads",
                lon=lon,
                lat=lat,
                location_source="gps",
            )
        )
        tracking = by_code(result.tracking_code).display_code
        db.session.commit()
        db.session.remove()
    base = live_server.config["LIVE_URL"]

    page = phone
    page.set_viewport_size({"width": 390, "height": 844})
    console = watch_the_policy(page)
    page.goto(f"{base}/petitions/new")
    page.click("#show-map")  # Leaflet loaded by the form's own script
    expect(page.locator("#map .leaflet-overlay-pane :is(path, canvas)").first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "csp-petition-form-390.png"), full_page=True)
    assert refused(page, console) == []

    page.goto(f"{base}/petitions/{tracking}")
    expect(page.locator("#petition-status")).to_have_text("Đã tiếp nhận")
    assert refused(page, console) == []

    page.goto(f"{base}/map?province=46")
    expect(page.locator("#public-map .leaflet-overlay-pane canvas").first).to_be_visible()  # the communes drew
    assert page.locator("#public-map").bounding_box()["height"] > 300  # maps.css, a file the policy allows
    # the legend's colours, set by the map's script (the legend is drawn again as the counts arrive)
    swatch = page.locator("#public-map .map-legend .swatch").first
    expect(swatch).to_have_css("background-color", re.compile(r"rgb"))
    expect(swatch).not_to_have_css("background-color", "rgba(0, 0, 0, 0)")
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / "csp-public-map-390.png"), full_page=True)
    page.click("#map-filters-fold summary")  # on a phone the filters are folded under "Lọc"
    page.locator("#week").fill("2")  # the slider's handlers, now in map-filters.js
    expect(page).to_have_url(re.compile(r"week=2"))
    expect(page.locator("#week-label")).to_have_text("cách đây 2 tuần")
    assert refused(page, console) == [] and page.outside_requests == []

    office = desktop
    console = watch_the_policy(office)
    office.goto(f"{base}/login")
    office.fill("#username", "can.bo.csp")
    office.fill("#password", PASSWORD)
    office.click("button[type=submit]")
    office.goto(f"{base}/officer/map")
    expect(office.locator("#officer-map .leaflet-overlay-pane path").first).to_be_visible()  # village boundaries
    marker = office.locator("#officer-map path.leaflet-interactive, #officer-map .marker-cluster").last
    expect(marker).to_be_visible()
    office.goto(f"{base}/officer/report")
    expect(office.locator(".report .leaflet-overlay-pane :is(path, canvas)").first).to_be_visible()
    office.goto(f"{base}/officer/")
    office.click("#inbox tbody tr a >> nth=0")
    expect(office.locator("#petition-map path").first).to_be_visible()  # the petition page's own small map
    assert refused(office, console) == [] and office.outside_requests == []
