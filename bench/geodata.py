"""Loading the national synthetic geography, and geotagging one point over it."""

from __future__ import annotations

import random
import statistics
import time

from flask_migrate import upgrade
from sqlalchemy import text

from app import create_app
from app.extensions import db
from app.geodata import synth
from app.geodata.importer import import_features
from app.services.geotag import geotag
from bench import data

POINTS = 3000


def run(table) -> None:
    print("Geography: loading the national synthetic geography into a fresh database…", flush=True)
    url = data.database("bench_geodata_load", fresh=True)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        features = synth.generate(2025)
        generated = time.perf_counter() - started
        import_features(features, "2025")
        db.session.commit()
        loaded = time.perf_counter() - started  # the importer analyses the tables it wrote
        table.add("synthetic geography: generate", generated, "s")
        table.add(
            "synthetic geography: generate + load (34/3,321/90,508)", loaded, "s", goal="< 120 s", met=loaded < 120
        )

        rng = random.Random(7)
        villages = db.session.execute(
            text("SELECT ST_X(label_point), ST_Y(label_point) FROM areas WHERE level = 'village'")
        ).all()
        points = [
            (x + rng.uniform(-0.002, 0.002), y + rng.uniform(-0.002, 0.002)) for x, y in rng.sample(villages, POINTS)
        ]

        service = median_ms(points, lambda lon, lat: geotag(lon, lat))
        raw_sql = text(
            "SELECT id FROM areas WHERE level = 'village' AND ST_Covers(geom, "
            "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) ORDER BY code LIMIT 1"
        )
        raw = median_ms(points, lambda lon, lat: db.session.execute(raw_sql, {"lon": lon, "lat": lat}).all())
        table.add(
            "geotag one point, service (median)",
            service,
            "ms",
            baseline=raw,
            goal="< 5 ms, ≤ 1.5× raw",
            met=service < 5 and service <= 1.5 * raw,
        )
        batch = text(
            "SELECT count(g.*) FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) AS p(x, y), "
            "LATERAL geotag(p.x, p.y) g"
        )
        params = {"xs": [p[0] for p in points], "ys": [p[1] for p in points]}
        db.session.execute(batch, params)
        started = time.perf_counter()
        db.session.execute(batch, params)
        table.add(
            "geotag one point, inside PostgreSQL (mean of a batch)",
            (time.perf_counter() - started) * 1000 / POINTS,
            "ms",
        )


def median_ms(points, call, warmup: int = 200) -> float:
    """Median milliseconds of call(lon, lat) over the points, after a warm-up."""
    for lon, lat in points[:warmup]:  # warm the caches and the plans
        call(lon, lat)
    samples = []
    for lon, lat in points:
        started = time.perf_counter()
        call(lon, lat)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)
