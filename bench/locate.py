"""Geotagging over HTTP: GET /api/v1/locate beside a bare endpoint calling the same SQL geotag().

On each geography (the synthetic national one; the real provinces and
communes of ../shared/geodata with synthetic villages when present): both
under gunicorn with the same workers, loaded by wrk with the same
connections, rotating over two random interior points of every commune,
alternated twice in one run. Also, on the synthetic geography, the median
of one point in process (Flask test client) beside the raw covering query.
"""

from __future__ import annotations

import random

from sqlalchemy import create_engine, text

from app import create_app
from app.extensions import db
from bench import data, realgeo
from bench.geodata import median_ms
from bench.submit import gunicorn, wrk

POINTS = 1000
WORKERS = 2
CONNECTIONS = 16
SECONDS = 10
ROUNDS = 2
GOAL = 0.8
RAW = text(
    "SELECT id FROM areas WHERE level = 'village' AND ST_Covers(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) "
    "ORDER BY code LIMIT 1"
)
# Two random points inside every commune of the current generation, the same ones every run.
INTERIOR = text(
    """SELECT ST_X(d.geom), ST_Y(d.geom) FROM areas a
       CROSS JOIN LATERAL ST_Dump(ST_GeneratePoints(a.geom, 2, a.id)) d
       WHERE a.level = 'commune' AND a.generation_id = (SELECT id FROM generations WHERE is_current)
       ORDER BY a.code, d.path"""
)

# Each wrk thread starts at its own place in the list and walks it round.
LUA = """
local queries = {%(queries)s}
local threads = 0
local i = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function init(args)
  i = tid * math.floor(#queries / 2)
end
request = function()
  i = i %% #queries + 1
  return wrk.format("GET", "%(path)s?" .. queries[i], {["Accept"] = "application/json"})
end
"""


def run(table) -> None:
    geographies = realgeo.geographies("Locate")
    for name, url in geographies:
        over_http(table, name, url)
    in_process(table, geographies[0][1])


def over_http(table, geography: str, url: str) -> None:
    """Requests per second of the portal's locate and of the bare geotag(), same workers, same run."""
    print(f"Locate: /api/v1/locate vs bare geotag() over the {geography} geography, gunicorn and wrk…", flush=True)
    engine = create_engine(url)
    with engine.connect() as conn:
        points = conn.execute(INTERIOR).all()
    engine.dispose()
    queries = ",".join(f'"lat={y:.6f}&lon={x:.6f}"' for x, y in points)
    env = {"DATABASE_URL": url.replace("postgresql+psycopg://", "postgresql://"), "SECRET_KEY": "bench"}
    bare_env = {"BARE_DATABASE_URL": data.psycopg_dsn(url)}
    portal, bare = [], []
    for _ in range(ROUNDS):
        with gunicorn("wsgi:app", 5084, env, workers=WORKERS) as base:
            portal.append(wrk(base, LUA % {"queries": queries, "path": "/api/v1/locate"}, CONNECTIONS, SECONDS))
        with gunicorn("bench.bare_app:app", 5085, bare_env, workers=WORKERS) as base:
            bare.append(wrk(base, LUA % {"queries": queries, "path": "/bare/locate"}, CONNECTIONS, SECONDS))
    ratios = [p["rps"] / b["rps"] for p, b in zip(portal, bare)]
    rps = [p["rps"] for p in portal]
    bare_rps = [b["rps"] for b in bare]
    print(
        f"  {len(points):,} points; portal {' / '.join(f'{r:,.0f}' for r in rps)} req/s, "
        f"bare {' / '.join(f'{r:,.0f}' for r in bare_rps)} req/s, ratios {' / '.join(f'{r:.2f}' for r in ratios)}",
        flush=True,
    )
    where = f"{geography} geography, {len(points):,} points, gunicorn {WORKERS} workers, wrk {CONNECTIONS} connections"
    table.add(
        f"locate: GET /api/v1/locate req/s ({where})",
        min(rps),
        "req/s",
        baseline=min(bare_rps),
        goal=f"≥ {GOAL} of bare geotag()",
        met=min(ratios) >= GOAL,
    )
    table.add(
        f"locate: p50 latency ({geography})", max(p["p50"] for p in portal), "ms", baseline=max(b["p50"] for b in bare)
    )
    table.add(
        f"locate: p99 latency ({geography})", max(p["p99"] for p in portal), "ms", baseline=max(b["p99"] for b in bare)
    )


def in_process(table, url: str) -> None:
    """One point's median through the Flask test client, beside the raw covering query (synthetic)."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    rng = random.Random(11)
    with app.app_context():
        villages = db.session.execute(
            text("SELECT ST_X(label_point), ST_Y(label_point) FROM areas WHERE level = 'village'")
        ).all()
        points = [
            (x + rng.uniform(-0.002, 0.002), y + rng.uniform(-0.002, 0.002)) for x, y in rng.sample(villages, POINTS)
        ]
        raw = median_ms(points, lambda lon, lat: db.session.execute(RAW, {"lon": lon, "lat": lat}).all())
        db.session.remove()
    client = app.test_client()

    def http(lon, lat):
        response = client.get(f"/api/v1/locate?lat={lat:.6f}&lon={lon:.6f}")
        assert response.status_code == 200

    api = median_ms(points, http)
    table.add("geotag one point through GET /api/v1/locate (median, in process, synthetic)", api, "ms", baseline=raw)
