"""Bytes on the wire for a citizen's phone: the public map and the petition form, first view and repeat view.

Debian's Chromium (Playwright) opens each page from the portal served over HTTP
on the national data (the geography and 1,000,000 petitions), waits until the
network is idle, and adds up what crossed the wire (the Performance API's
transferSize: headers and bodies of the page and of everything its scripts
fetched). The first view starts with an empty cache; the repeat view opens the
page again in the same browser, which keeps what the portal let it keep. The
baseline is the first view from the same portal with COMPRESS_RESPONSES off.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

from sqlalchemy import text
from werkzeug.serving import make_server

from app import create_app
from app.extensions import db
from app.geodata import shapes
from bench import data

CHROMIUM = "/usr/bin/chromium"
TRANSFERRED = """() => {
    const entries = [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')];
    return entries.reduce((sum, e) => sum + e.transferSize, 0);
}"""


def run(table) -> None:
    print("Bytes on the wire: the public map and the form, first and repeat view…", flush=True)
    url = data.national()
    province = _prepare(url)
    with _served(url, compress=True) as compressed, _served(url, compress=False) as plain:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            try:
                for label, path in (
                    ("public map, the country", "/map"),
                    (f"public map, province {province}", f"/map?province={province}"),
                    ("petition form", "/petitions/new"),
                ):
                    raw_first, _ = _views(browser, plain + path)
                    first, repeat = _views(browser, compressed + path)
                    table.add(f"{label}: first view on the wire", first / 1000, "kB", baseline=raw_first / 1000)
                    table.add(f"{label}: repeat view on the wire", repeat / 1000, "kB", baseline=first / 1000)
            finally:
                browser.close()


def _views(browser, url: str) -> tuple[int, int]:
    """Bytes transferred for the first view (empty cache) and the repeat view (same browser) of a page."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, locale="vi-VN")
    try:
        page = context.new_page()
        page.goto(url, wait_until="networkidle")
        first = page.evaluate(TRANSFERRED)
        page.goto(url, wait_until="networkidle")
        repeat = page.evaluate(TRANSFERRED)
        return first, repeat
    finally:
        context.close()


@contextmanager
def _served(url: str, compress: bool):
    """The portal on the benchmark database, over HTTP on a free port, from a thread."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "COMPRESS_RESPONSES": compress})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        with app.app_context():
            db.engine.dispose()


def _prepare(url: str) -> str:
    """The maps' simplified boundaries (built once, as the maps benchmark does); the busiest province's code."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        if not db.session.execute(text("SELECT EXISTS (SELECT 1 FROM area_shapes)")).scalar():
            shapes.rebuild(db.session.execute(text("SELECT id FROM generations WHERE is_current")).scalar_one())
            db.session.commit()
        code = db.session.execute(
            text(
                """SELECT a.code FROM petitions p JOIN areas a ON a.id = p.province_id
                   GROUP BY a.code ORDER BY count(*) DESC LIMIT 1"""
            )
        ).scalar_one()
        db.engine.dispose()
    return code
