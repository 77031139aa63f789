"""Security headers at the public edge: every response, a nonce per request, only nonced inline code runs."""

from __future__ import annotations

import re

import pytest

from app import create_app
from app.security_headers import tile_source
from tests.factories import log_in, officer, petition_in, slice_communes


@pytest.fixture
def pages(client):
    """One URL of every kind of page, with a petition whose status page is the citizen's."""
    commune = slice_communes(1)[0]
    petition = petition_in(commune)
    return {
        "home": "/",
        "form": "/petitions/new",
        "status": f"/petitions/{petition.display_code}",
        "public map": "/map",
        "province map": "/map?province=46",
        "scorecard": f"/scorecard/{commune}",
        "login": "/login",
        "api": f"/api/areas/{commune}",
        "open311": "/open311/v2/services.json",
        "static": "/static/css/portal.css",
        "service worker": "/sw.js",
        "not found": "/no-such-page",
    }


def policy(response) -> dict[str, list[str]]:
    """The Content-Security-Policy of a response, directive → sources."""
    header = response.headers["Content-Security-Policy"]
    return {name: sources for name, *sources in (part.split() for part in header.split(";") if part.strip())}


def nonce_of(response) -> str:
    [source] = [s for s in policy(response)["script-src"] if s.startswith("'nonce-")]
    return source[len("'nonce-") : -1]


def inline_blocks(page: str) -> list[str]:
    """Opening tags of the page's inline <script> (no src) and <style> elements."""
    tags = re.findall(r"<(?:script|style)\b[^>]*>", page)
    return [tag for tag in tags if " src=" not in tag]


def test_every_kind_of_response_carries_the_security_headers(client, pages):
    for kind, url in pages.items():
        response = client.get(url)
        assert response.status_code in (200, 404), (kind, response.status_code)
        assert response.headers["X-Frame-Options"] == "DENY", kind
        assert response.headers["X-Content-Type-Options"] == "nosniff", kind
        assert response.headers["Referrer-Policy"] == "same-origin", kind
        csp = policy(response)
        assert csp["default-src"] == ["'self'"], kind
        assert csp["frame-ancestors"] == ["'none'"], kind
        assert csp["object-src"] == ["'none'"], kind
        assert csp["base-uri"] == csp["form-action"] == csp["connect-src"] == csp["worker-src"] == ["'self'"], kind
        assert csp["img-src"] == ["'self'", "data:", "blob:"], kind  # no TILE_URL in the tests


def test_scripts_run_only_from_the_portal_or_with_the_request_s_nonce(client, pages):
    csp = policy(client.get(pages["form"]))
    assert csp["script-src"][0] == "'self'" and len(csp["script-src"]) == 2
    assert not {"'unsafe-inline'", "'unsafe-eval'", "'strict-dynamic'"} & {*csp["script-src"], *csp["style-src"]}
    assert csp["style-src"][0] == "'self'" and csp["style-src"][1].startswith("'nonce-")
    assert "Strict-Transport-Security" not in client.get("/", headers={"X-Forwarded-Proto": "https"}).headers


def test_the_nonce_is_new_on_every_request(client, pages):
    nonces = {nonce_of(client.get(url)) for url in (pages["public map"], pages["public map"], pages["home"])}
    assert len(nonces) == 3
    assert all(len(n) >= 22 for n in nonces)


def test_every_inline_script_and_style_carries_the_page_s_nonce(client, pages):
    log_in(client, officer("province", "46"))
    urls = [pages[k] for k in ("home", "form", "status", "public map", "province map", "scorecard")]
    urls += ["/officer/", "/officer/map", "/officer/report", "/petitions/new?lang=en"]
    blocks = 0
    for url in urls:
        response = client.get(url)
        page = response.get_data(as_text=True)
        nonce = nonce_of(response)
        for tag in inline_blocks(page):
            blocks += 1
            assert f'nonce="{nonce}"' in tag or 'type="application/json"' in tag, (url, tag)
        assert not re.search(r"<[^>]+\son[a-z]+\s*=", page), url  # no inline event handlers: CSP blocks them
        assert "javascript:" not in page, url
    assert blocks >= 6  # the map pages' script and style, at least


def test_a_commune_map_s_markers_are_data_and_its_code_a_file(client):
    commune = slice_communes(1)[0]
    petition_in(commune, title="<script>alert(1)</script>")
    log_in(client, officer("commune", commune))
    response = client.get("/officer/map")
    page = response.get_data(as_text=True)
    assert "<script>alert(1)" not in page and "</script><" not in page.split("area-map-config")[1].split("</script>")[0]
    inline = [tag for tag in inline_blocks(page) if tag.startswith("<script")]
    assert inline == ['<script type="application/json" id="area-map-config">']  # data only, never run
    assert re.search(r'<script src="/static/js/area-map[^"]*\.js" defer>', page)


def test_the_tile_server_s_host_may_serve_images(app):
    tiled = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": app.config["REDIS_URL"],
            "TILE_URL": "https://tiles.example/{z}/{x}/{y}.png",
        }
    )
    response = tiled.test_client().get("/static/css/portal.css")
    assert policy(response)["img-src"] == ["'self'", "data:", "blob:", "https://tiles.example"]


def test_tile_sources_name_subdomains_ports_and_the_portal_itself():
    assert tile_source("https://{s}.tile.example.org/{z}/{x}/{y}.png") == "https://*.tile.example.org"
    assert tile_source("http://tiles.local:8080/{z}/{x}/{y}.png?key=k") == "http://tiles.local:8080"
    assert tile_source("/tiles/{z}/{x}/{y}.png") is None
    assert tile_source("") is None
    with pytest.raises(ValueError):
        tile_source("https://tiles.example; script-src *")


def test_hsts_only_when_the_session_cookie_is_https_only(app):
    secure = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": app.config["REDIS_URL"],
            "SESSION_COOKIE_SECURE": True,
        }
    )
    response = secure.test_client().get("/static/css/portal.css", base_url="https://portal.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert response.status_code == 200  # never a redirect: TLS ends at nginx
    plain = secure.test_client().get("/static/css/portal.css")
    assert plain.status_code == 200 and "Strict-Transport-Security" not in plain.headers


def test_the_session_cookie_keeps_the_portal_s_settings(client):
    response = client.get("/login")
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_an_officer_s_session_cookie_never_rides_on_a_response_shared_caches_keep(client, app_ctx):
    from tests.test_maps import boundary_urls

    log_in(client, officer("province", "46"))
    boundaries = boundary_urls(client.get("/map?province=46").get_data(as_text=True))[1]
    stylesheet = re.search(r'href="(/static/css/portal\.[0-9a-f]{12}\.css)"', client.get("/").get_data(as_text=True))[1]
    for url in (boundaries, stylesheet, "/static/css/portal.css", "/favicon.ico"):
        response = client.get(url)
        assert response.status_code == 200 and "public" in response.headers["Cache-Control"], url
        assert "Set-Cookie" not in response.headers, url
        assert "Cookie" not in response.headers.get("Vary", ""), url
    # a private page still refreshes the officer's session (its idle timeout counts from here)
    inbox = client.get("/officer/")
    assert inbox.status_code == 200 and "session=" in inbox.headers["Set-Cookie"]


def test_the_json_api_is_stateless_even_for_a_signed_in_officer(client, app_ctx):
    log_in(client, officer("province", "46"))
    response = client.get("/api/v1/locate?lat=16.4637&lon=107.5909")
    assert response.status_code == 200 and response.json["province"]["code"] == "46"
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")
    # the officer's pages still carry and refresh the session
    assert "session=" in client.get("/officer/").headers["Set-Cookie"]
