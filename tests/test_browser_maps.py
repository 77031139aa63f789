"""The maps in a real headless Chromium, on a phone (390 px) and a desktop (1280 px), with no outside network.

Names and counts on hover and tap, the measure and its legend, the legend
folded on a phone, labels that do not overlap, the public map as a table
without JavaScript, picker-placed petitions marked approximate. Screenshots
are kept in test-artifacts/maps/ for a person to look at.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import text

from app.extensions import db
from tests.conftest import ARTIFACTS, guarded_page, sign_in
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser
SHOTS = ARTIFACTS / "maps"
WIDTHS = {"phone": 390, "desktop": 1280}


@pytest.fixture(scope="module")
def places(live_server):
    """Two communes of province 46: a busy one (7 published petitions) and a quiet one (2); officers."""
    from app.redis_conn import redis
    from app.services import map_counts, workflow
    from app.services.accounts import create_officer
    from app.services.petitions import Submission, by_code, submit

    SHOTS.mkdir(parents=True, exist_ok=True)
    with live_server.app_context():
        busy, quiet = db.session.execute(
            text("SELECT code FROM areas WHERE level = 'commune' ORDER BY code OFFSET 10 LIMIT 2")
        ).scalars()
        villages = db.session.execute(
            text(
                "SELECT v.code, ST_X(v.label_point), ST_Y(v.label_point) FROM areas v JOIN areas c "
                "ON c.id = v.parent_id WHERE c.code = :c ORDER BY v.code"
            ),
            {"c": busy},
        ).all()
        commune_officer, _ = create_officer("ban.do.xa", "commune", busy, PASSWORD)
        create_officer("ban.do.tinh", "province", "46", PASSWORD)
        for i in range(7):
            _code, lon, lat = villages[i % len(villages)]
            made = submit(
                Submission(
                    title=f"Đường hỏng số {i}",
                    body="Mặt đường bong tróc, xe máy hay ngã.",
                    category="roads",
                    lon=lon,
                    lat=lat,
                    location_source="gps",
                    publishable=True,
                )
            )
            workflow.act(by_code(made.tracking_code), "accept", commune_officer)
        for _ in range(2):
            made = submit(
                Submission(title="Rác ven đường", body="Rác tồn đọng.", category="environment", chosen_code=quiet)
            )
        placed = submit(  # with the pickers only: a village, no point
            Submission(
                title="Cống tắc ở thôn",
                body="Cống tắc lâu ngày.",
                category="environment",
                chosen_code=villages[-1][0],
            )
        )
        db.session.commit()
        for key in redis().scan_iter(map_counts.KEY_PREFIX + "*"):  # counts other tests' pages had shared
            redis().delete(key)
        names = dict(
            db.session.execute(
                text("SELECT code, unit_type || ' ' || name FROM areas WHERE code IN (:a, :b)"), {"a": busy, "b": quiet}
            ).all()
        )
        approximate_village = villages[-1]
        placed_title = by_code(placed.tracking_code).title
        db.session.remove()
    return {
        "busy": busy,
        "quiet": quiet,
        "names": names,
        "village": approximate_village,
        "placed_title": placed_title,
    }


def published_in(live_server, code: str) -> int:
    from app.models.petition import published_sql

    with live_server.app_context():
        n = db.session.execute(
            text(
                "SELECT count(*) FROM petitions p JOIN areas c ON c.id = p.commune_id "
                f"WHERE c.code = :c AND {published_sql()}"
            ),
            {"c": code},
        ).scalar()
        db.session.remove()
        return n


def all_in(live_server, code: str) -> int:
    with live_server.app_context():
        n = db.session.execute(
            text("SELECT count(*) FROM petitions p JOIN areas c ON c.id = p.commune_id WHERE c.code = :c"), {"c": code}
        ).scalar()
        db.session.remove()
        return n


@pytest.fixture(params=list(WIDTHS))
def device(request, chromium, live_server):
    """A page at phone or desktop width (touch on the phone), recording any outside request."""
    name = request.param
    options = {"viewport": {"width": WIDTHS[name], "height": 844 if name == "phone" else 900}, "locale": "vi-VN"}
    if name == "phone":
        options.update(is_mobile=True, has_touch=True, device_scale_factor=2)
    page = guarded_page(chromium, live_server, **options)
    page.device = name
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    yield page
    page.context.close()


def wait_for_map(page, element_id: str):
    expect(page.locator(f"#{element_id}")).to_have_attribute("data-loaded", "1", timeout=15_000)
    page.wait_for_timeout(300)


def area_point(page, element_id: str, code: str) -> tuple[float, float]:
    """Where on the screen an area's label point is (inside the area), after bringing it into view."""
    page.locator(f"#{element_id}").evaluate("e => e.scrollIntoView({block: 'start'})")
    found = page.evaluate(
        """([id, code]) => {
            const m = window.portalMaps[id];
            for (const layer of m.layers) for (const path of layer.features) {
                if (path.feature.properties.code === code) {
                    const at = path.feature.properties.label;
                    if (!m.map.getBounds().pad(-0.1).contains(at)) m.map.setView(at, m.map.getZoom(), {animate: false});
                    const p = m.map.latLngToContainerPoint(at);
                    return [p.x, p.y];
                }
            }
            return null;
        }""",
        [element_id, code],
    )
    assert found, f"{code} is not on the map"
    box = page.locator(f"#{element_id}").bounding_box()
    return box["x"] + found[0], box["y"] + found[1]


def show_area(page, element_id: str, code: str, name: str) -> str:
    """Hover (desktop) or tap (phone) an area; the text that appears (tooltip or popup)."""
    x, y = area_point(page, element_id, code)
    if page.device == "phone":
        page.touchscreen.tap(x, y)
        shown = page.locator(f"#{element_id} .leaflet-popup-content", has_text=name)
    else:
        page.mouse.move(x, y)
        page.mouse.move(x + 1, y + 1)
        shown = page.locator(f"#{element_id} .leaflet-tooltip", has_text=name)
    expect(shown).to_be_visible()
    return shown.inner_text()


def test_the_public_map_names_a_commune_and_its_count_on_hover_or_tap(device, live_server, places):
    base = live_server.config["LIVE_URL"]
    page = device
    page.goto(f"{base}/map?province=46")
    wait_for_map(page, "public-map")
    busy, quiet = places["busy"], places["quiet"]
    shown = show_area(page, "public-map", busy, places["names"][busy])
    assert places["names"][busy] in shown
    assert f"Số kiến nghị: {published_in(live_server, busy)}" in shown
    page.screenshot(path=str(SHOTS / f"public-province-{page.device}.png"))
    if page.device == "phone":  # the popup links to the commune's scorecard
        expect(page.locator(".leaflet-popup-content a").first).to_have_attribute("href", f"/scorecard/{busy}")
        page.evaluate("window.portalMaps['public-map'].map.closePopup()")
        # Gone before the next tap: a popup still fading out would take the tap on its scorecard link.
        expect(page.locator("#public-map .leaflet-popup")).to_have_count(0)
    shown = show_area(page, "public-map", quiet, places["names"][quiet])
    assert places["names"][quiet] in shown and "Số kiến nghị: dưới 5" in shown  # 2 petitions: hidden
    labels = page.locator("#public-map .area-label span")
    assert labels.count() > 3  # communes named at the province's zoom
    assert page.outside_requests == [] and page.errors == []


def test_names_on_the_map_never_overlap(device, live_server, places):
    page = device
    page.goto(f"{live_server.config['LIVE_URL']}/map?province=46")
    wait_for_map(page, "public-map")
    for zoom in (9, 10, 11):
        page.evaluate("z => window.portalMaps['public-map'].map.setZoom(z, {animate: false})", zoom)
        page.wait_for_timeout(200)
        rects = page.eval_on_selector_all(
            "#public-map .area-label span",
            "ss => ss.map(s => { const r = s.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })",
        )
        assert rects, zoom
        for i, a in enumerate(rects):
            for b in rects[i + 1 :]:
                assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], f"labels overlap at zoom {zoom}"


def test_the_measure_is_one_choice_and_the_legend_follows_it(device, live_server, places):
    page = device
    page.goto(f"{live_server.config['LIVE_URL']}/map?province=46")
    wait_for_map(page, "public-map")
    legend = page.locator("#public-map details.map-legend")
    if page.device == "phone":
        expect(legend).not_to_have_attribute("open", "")  # folded on a phone: the map stays visible
        legend.locator("summary").click()
    expect(legend).to_have_attribute("open", "")
    expect(legend.locator("summary")).to_have_text("Chú giải: Số kiến nghị")
    by_count = legend.locator(".map-legend-body").inner_text()
    radios = page.locator("#public-map .map-measure input[type=radio]")
    expect(radios).to_have_count(2)
    page.locator("#public-map .map-measure label", has_text="Trên 1.000 dân").click()
    expect(legend.locator("summary")).to_have_text("Chú giải: Trên 1.000 dân")
    assert radios.nth(0).is_checked() is False and radios.nth(1).is_checked()
    by_capita = legend.locator(".map-legend-body").inner_text()
    assert "kiến nghị trên 1.000 dân" in by_capita and by_capita != by_count
    page.screenshot(path=str(SHOTS / f"public-per-1000-{page.device}.png"))


def test_the_national_public_map_shows_provinces_without_heat(device, live_server, places):
    page = device
    page.goto(f"{live_server.config['LIVE_URL']}/map")
    wait_for_map(page, "public-map")
    expect(page.locator("#public-map .area-label-province span").first).to_be_visible()
    assert page.locator("#public-map .area-label-commune").count() == 0  # the country's zoom: provinces only
    assert page.locator("canvas.leaflet-heatmap-layer").count() == 0
    page.screenshot(path=str(SHOTS / f"public-national-{page.device}.png"))
    assert page.outside_requests == [] and page.errors == []


def test_without_javascript_the_public_map_is_a_sortable_table(chromium, live_server, places):
    busy, quiet = places["busy"], places["quiet"]
    for name, width in WIDTHS.items():
        context = chromium.new_context(java_script_enabled=False, viewport={"width": width, "height": 900})
        page = context.new_page()
        page.goto(f"{live_server.config['LIVE_URL']}/map?province=46")
        table = page.locator("#area-table")
        expect(table).to_be_visible()
        expect(table.locator(f"tr[data-code='{busy}'] td").nth(1)).to_have_text(str(published_in(live_server, busy)))
        expect(table.locator(f"tr[data-code='{quiet}'] td").nth(1)).to_have_text("dưới 5")
        table.locator("th a", has_text="Số kiến nghị").click()
        expect(page).to_have_url(re.compile(r"sort=count&dir=desc"))
        expect(page.locator("#area-table tbody tr").first).to_have_attribute("data-code", busy)
        page.screenshot(path=str(SHOTS / f"public-no-js-{name}.png"), full_page=True)
        context.close()


def test_the_provincial_officer_sees_each_commune_s_name_and_count(device, live_server, places):
    base = live_server.config["LIVE_URL"]
    page = device
    sign_in(page, base, "ban.do.tinh")
    page.goto(f"{base}/officer/map")
    wait_for_map(page, "area-map")
    quiet = places["quiet"]
    shown = show_area(page, "area-map", quiet, places["names"][quiet])
    assert places["names"][quiet] in shown and f"Số kiến nghị: {all_in(live_server, quiet)}" in shown  # not hidden
    if page.device == "phone":
        links = page.locator(".leaflet-popup-content a")
        expect(links.first).to_have_attribute("href", re.compile(rf"/officer/map\?.*commune={quiet}"))
        expect(page.locator(".leaflet-popup-content")).to_contain_text("Kết quả giải quyết của xã")
    expect(page.locator("canvas.leaflet-heatmap-layer")).to_have_count(1)  # heat at the province's zoom
    page.screenshot(path=str(SHOTS / f"officer-province-{page.device}.png"))
    assert page.outside_requests == [] and page.errors == []


def test_a_picker_placed_petition_is_on_the_commune_map_marked_approximate(device, live_server, places):
    base = live_server.config["LIVE_URL"]
    page = device
    sign_in(page, base, "ban.do.xa")
    page.goto(f"{base}/officer/map")
    wait_for_map(page, "area-map")
    page.screenshot(path=str(SHOTS / f"officer-commune-{page.device}.png"))
    _code, lon, lat = places["village"]
    page.evaluate("([y, x]) => window.portalMaps['area-map'].map.setView([y, x], 18, {animate: false})", [lat, lon])
    page.wait_for_timeout(400)
    marker = page.locator("#area-map path.marker-approximate")
    expect(marker.first).to_be_visible()
    marker.first.click(force=True)
    popup = page.locator(".leaflet-popup-content")
    expect(popup).to_contain_text(places["placed_title"])
    expect(popup).to_contain_text("vị trí gần đúng")
    page.screenshot(path=str(SHOTS / f"officer-commune-approximate-{page.device}.png"))
    assert page.outside_requests == [] and page.errors == []


def test_on_a_phone_the_public_map_starts_on_the_first_screen_and_its_popup_can_be_closed(
    chromium, live_server, places
):
    base = live_server.config["LIVE_URL"]
    page = guarded_page(chromium, live_server, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page.device = "phone"
    page.goto(f"{base}/map?province=46")
    wait_for_map(page, "public-map")
    assert page.locator("#public-map").bounding_box()["y"] < 844 - 200  # filters folded, the map on screen
    expect(page.locator("#map-filters")).to_be_hidden()
    page.click("#map-filters-fold > summary")
    expect(page.locator("#map-filters")).to_be_visible()  # one tap away
    busy = places["busy"]
    show_area(page, "public-map", busy, places["names"][busy])
    close = page.locator("#public-map .leaflet-popup-close-button")
    expect(close).to_be_visible()
    # Once the popup has faded in and the map has panned it clear (Leaflet animates both), a tap
    # on the close button's centre reaches the button.
    on_top = page.wait_for_function(
        """() => {
             const button = document.querySelector('#public-map .leaflet-popup-close-button');
             const r = button.getBoundingClientRect();
             return !!document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2)
               ?.closest('.leaflet-popup-close-button');
           }""",
        timeout=5000,
    )
    page.screenshot(path=str(SHOTS / "public-popup-phone.png"))
    assert on_top.json_value(), "something covers the popup's close button"
    assert "Phóng to tỉnh, thành phố này" not in page.locator(".leaflet-popup-content").inner_text()  # the page itself
    page.context.close()


def test_the_zero_class_is_not_the_colour_of_the_next(chromium, live_server, places):
    base = live_server.config["LIVE_URL"]
    page = guarded_page(chromium, live_server, viewport={"width": 1280, "height": 900})
    sign_in(page, base, "ban.do.tinh")
    page.goto(f"{base}/officer/map")
    wait_for_map(page, "area-map")
    swatches = page.locator("#area-map .map-legend-row .swatch")
    assert page.locator("#area-map .map-legend-row").first.inner_text().strip() == "0"
    zero, first = (swatches.nth(i).evaluate("e => getComputedStyle(e).backgroundColor") for i in (0, 1))
    rgb = [int(v) for v in re.findall(r"\d+", zero)[:3]]
    assert zero != first and max(rgb) - min(rgb) < 12  # a neutral grey, not a pale red
    page.context.close()
