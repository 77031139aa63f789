"""Geotagging one point through the HTTP API (/api/v1/locate), beside the raw covering query.

In process through the Flask test client on the national geography: what a
phone's "use my location" or a partner system pays per point, less the network.
"""

from __future__ import annotations

import random

from sqlalchemy import text

from app import create_app
from app.extensions import db
from bench import data
from bench.geodata import median_ms

POINTS = 1000
RAW = text(
    "SELECT id FROM areas WHERE level = 'village' AND ST_Covers(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) "
    "ORDER BY code LIMIT 1"
)


def run(table) -> None:
    print("Locate: /api/v1/locate over the national geography…", flush=True)
    app = create_app({"SQLALCHEMY_DATABASE_URI": data.national()})
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
    table.add("geotag one point through GET /api/v1/locate (median)", api, "ms", baseline=raw)
