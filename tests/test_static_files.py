"""Static files under content-hashed names cached for a year, the service worker's copies, the icon."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path
from urllib.parse import urljoin

from flask import Flask
from PIL import Image

from app import static_files
from tests.factories import log_in, officer

STATIC = Path(__file__).resolve().parent.parent / "static"
HASHED = re.compile(r"^/static/(?P<stem>.+)\.(?P<digest>[0-9a-f]{12})(?P<ext>\.[A-Za-z0-9]+)?$")
YEAR = "public, max-age=31536000, immutable"


def static_urls(html: str) -> list[str]:
    """Every /static/… address a page names (links, scripts, data attributes)."""
    return sorted(set(re.findall(r'"(/static/[^"?#]+)"', html)))


def sha256_12(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def plain_file(url: str) -> Path:
    match = HASHED.match(url)
    return STATIC / (match["stem"] + (match["ext"] or ""))


def test_pages_name_static_files_by_digest_and_those_are_cached_for_a_year(client):
    urls = static_urls(client.get("/petitions/new").get_data(as_text=True))
    assert len(urls) >= 5
    for url in urls:
        match = HASHED.match(url)
        assert match, f"{url} has no digest in its name"
        plain = plain_file(url)
        assert match["digest"] == sha256_12(plain), url  # the digest is the file's own content
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == YEAR, url
        assert response.data == plain.read_bytes(), url


def test_a_plain_name_or_a_wrong_digest_is_served_with_a_short_cache_only(client):
    plain = client.get("/static/css/portal.css")
    assert plain.status_code == 200 and plain.data == (STATIC / "css" / "portal.css").read_bytes()
    assert plain.headers["Cache-Control"] == "public, max-age=600"
    stale = client.get("/static/css/portal.000000000000.css")
    assert stale.status_code == 200 and stale.headers["Cache-Control"] == "public, max-age=600"
    assert client.get("/static/css/nothing.0123456789ab.css").status_code == 404


def test_leaflet_s_stylesheet_finds_its_images_under_its_hashed_name(app_ctx, client):
    log_in(client, officer("province", "46"))
    page = client.get("/officer/map").get_data(as_text=True)
    css_url = next(u for u in static_urls(page) if u.endswith(".css") and "/leaflet/leaflet." in u)
    css = client.get(css_url).get_data(as_text=True)
    images = re.findall(r"url\((images/[^)]+)\)", css)
    assert len(images) >= 3
    for image in images:
        response = client.get(urljoin(css_url, image))
        assert response.status_code == 200 and response.mimetype == "image/png", image


def test_a_file_changed_under_a_running_portal_loses_its_year_long_cache(tmp_path):
    (tmp_path / "app.js").write_text("var version = 1;")
    app = Flask(__name__, static_folder=str(tmp_path), static_url_path="/static")
    static_files.init_app(app)
    with app.test_request_context():
        from flask import url_for

        first = url_for("static", filename="app.js")
    client = app.test_client()
    assert client.get(first).headers["Cache-Control"] == YEAR
    (tmp_path / "app.js").write_text("var version = 22;")  # a deploy in place, the portal still running
    changed = client.get(first)
    assert changed.data == b"var version = 22;" and changed.headers["Cache-Control"] == "public, max-age=600"
    with app.test_request_context():
        second = url_for("static", filename="app.js")
    assert second != first and HASHED.match(second)["digest"] == sha256_12(tmp_path / "app.js")
    assert client.get(second).headers["Cache-Control"] == YEAR


def test_the_service_worker_caches_the_hashed_addresses_the_form_asks_for(client):
    page = client.get("/petitions/new").get_data(as_text=True)
    sw = client.get("/sw.js")
    assert sw.status_code == 200 and sw.headers["Cache-Control"] == "no-cache"
    script = sw.get_data(as_text=True)
    known = re.match(r"self\.STATIC_URLS = (\{.*?\});\n", script)
    assert known
    import json

    addresses = json.loads(known.group(1))
    for url in static_urls(page):
        assert url in addresses.values(), url
    for name in ("css/portal.css", "css/petition.css", "js/petition-form.js", "js/outbox.js"):
        assert f"staticUrl('{name}')" in script and HASHED.match(addresses[name]), name


# --- the icon ---


def test_favicon_ico_is_the_portal_s_icon_and_pages_name_it(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")
    assert icon.headers["Cache-Control"] == "public, max-age=86400"
    image = Image.open(io.BytesIO(icon.data))
    assert image.format == "ICO" and {(16, 16), (32, 32)} <= set(image.ico.sizes())

    page = client.get("/").get_data(as_text=True)
    tags = re.findall(r'<link rel="icon"[^>]*>', page)
    assert len(tags) == 2
    for tag in tags:
        response = client.get(re.search(r'href="([^"]+)"', tag).group(1))
        assert response.status_code == 200 and response.headers["Cache-Control"] == YEAR
        kind = re.search(r'type="([^"]+)"', tag)
        if kind:
            assert kind.group(1) == response.mimetype == "image/svg+xml" and b"<svg" in response.data
        else:
            assert response.data == icon.data


# --- in a browser ---


def test_a_browser_gets_compressed_files_keeps_them_and_the_offline_cache_holds_the_hashed_ones(
    chromium, phone, live_server
):
    page = phone
    base = live_server.config["LIVE_URL"]
    page.goto(f"{base}/petitions/new")
    cached = page.evaluate(
        """async () => {
            await navigator.serviceWorker.ready;
            const name = (await caches.keys()).find((k) => k.startsWith('portal-static-'));
            return (await (await caches.open(name)).keys()).map((r) => new URL(r.url).pathname);
        }"""
    )
    named = static_urls(page.content())
    for wanted in ("petition-form", "outbox", "petition."):
        url = next(u for u in named if wanted in u)
        assert HASHED.match(url) and url in cached, url  # the offline form has what the page asks for
    sizes = page.evaluate(
        """() => performance.getEntriesByType('resource')
            .filter((e) => e.name.includes('/static/css/'))
            .map((e) => [e.encodedBodySize, e.decodedBodySize])"""
    )
    assert sizes and all(0 < encoded < decoded for encoded, decoded in sizes)  # sent compressed

    # Another browser with no service worker; not routed, since routing turns the browser's HTTP cache off.
    context = chromium.new_context()
    try:
        office = context.new_page()
        asked = []
        office.on("request", lambda request: asked.append(request.url))
        office.goto(f"{base}/map")
        office.wait_for_load_state("networkidle")  # what the map's script asks for after "load" is kept too
        office.goto(f"{base}/map")  # the repeat view
        office.wait_for_load_state("networkidle")
        again = office.evaluate(
            """() => performance.getEntriesByType('resource')
                .filter((e) => e.name.includes('/static/'))
                .map((e) => [e.name, e.transferSize])"""
        )
        assert all(url.startswith(base) for url in asked)  # nothing from outside the portal
    finally:
        context.close()
    assert again and [(url, size) for url, size in again if size] == []  # nothing fetched again
