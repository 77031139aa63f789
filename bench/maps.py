"""Maps, the report and an export at national scale (1,000,000 petitions stored).

Through the Flask test client, logged in as a provincial officer of the
busiest province and as central staff: the province map page (choropleth,
heatmap, a heat layer per category), the national commune choropleth, the
provincial report page and a CSV export of the province. Each is timed
(median of RUNS; the export once) and weighed in bytes; the baseline beside
the province map is the raw SQL of its aggregates, measured in the same run.
"""

from __future__ import annotations

import re
import statistics
import time

from sqlalchemy import text

from app import create_app
from app.extensions import db
from app.geodata import shapes
from app.services import accounts
from bench import data

RUNS = 5
PASSWORD = "bench-maps-password"
BUSIEST = text(
    """SELECT a.id, a.code FROM petitions p JOIN areas a ON a.id = p.province_id
       GROUP BY a.id ORDER BY count(*) DESC LIMIT 1"""
)
RAW_AGGREGATES = text(
    """SELECT (SELECT count(*) FROM (SELECT commune_id, count(*) FROM petitions WHERE province_id = :p
                                     GROUP BY 1) c),
              (SELECT count(*) FROM (SELECT floor(ST_X(location) / 0.005), floor(ST_Y(location) / 0.005), count(*)
                                     FROM petitions WHERE province_id = :p AND location IS NOT NULL
                                     GROUP BY 1, 2) h)"""
)


def run(table) -> None:
    print("Maps and reports: a province and the country among 1,000,000 petitions…", flush=True)
    url = data.national()  # with the 1,000,000 petitions
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "LOGIN_LIMIT": "1000 per minute",
            "LOGIN_ACCOUNT_LIMIT": "1000 per minute",
            "EXPORT_SYNC_MAX": 10_000_000,
        }
    )
    with app.app_context():
        if not db.session.execute(text("SELECT EXISTS (SELECT 1 FROM area_shapes)")).scalar():
            shapes.rebuild(db.session.execute(text("SELECT id FROM generations WHERE is_current")).scalar_one())
        province_id, province_code = db.session.execute(BUSIEST).one()
        for username, role, area in (("bench.tinh", "province", province_code), ("bench.tw", "central", None)):
            if db.session.execute(text("SELECT 1 FROM users WHERE username = :u"), {"u": username}).scalar() is None:
                accounts.create_officer(username, role, area, PASSWORD)
        db.session.commit()
        raw = _median(lambda: db.session.execute(RAW_AGGREGATES, {"p": province_id}).all())
        db.session.remove()

    province = _client(app, "bench.tinh")
    seconds, size = _page(province, "/officer/map")
    table.add(
        "province map page (1 M petitions): build time",
        seconds * 1000,
        "ms",
        baseline=raw * 1000,
        goal="< 1000 ms",
        met=seconds < 1,
    )
    table.add("province map page: size", size / 1e6, "MB", goal="< 1.5 MB", met=size < 1.5e6)
    seconds, size = _page(province, "/officer/report")
    table.add("provincial report page: time", seconds * 1000, "ms")  # its own queries differ: no baseline
    seconds, size = _page(province, "/officer/export.csv", runs=1)
    table.add(f"CSV export of the province ({size / 1e6:.0f} MB): time", seconds, "s")
    country = _client(app, "bench.tw")
    seconds, size = _page(country, "/officer/map", runs=3)
    table.add("national commune choropleth page: size", size / 1e6, "MB", goal="< 3 MB", met=size < 3e6)
    table.add("national commune choropleth page: build time", seconds * 1000, "ms")


def _client(app, username: str):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"csrf_token": token, "username": username, "password": PASSWORD})
    assert response.status_code == 302, "the benchmark officer could not log in"
    return client


def _page(client, url: str, runs: int = RUNS) -> tuple[float, int]:
    samples, size = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        body = response.get_data()
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, f"{url} answered {response.status_code}"
        size = len(body)
    return statistics.median(samples), size


def _median(call, runs: int = RUNS) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)
