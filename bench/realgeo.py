"""The real geography's benchmark database: the 34 provinces and 3,321 communes of ../shared/geodata.

Loaded through the portal's own importer (as `flask geodata load` does),
plus synthetic villages placed inside the real communes by the portal's
village generator and given as points, so the importer derives their
Voronoi cells as it does for an operator's file. Prepared once in the
database portal_real of the benchmark cluster and reused; absent when
../shared/geodata is not there.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import shapely
from flask_migrate import upgrade
from sqlalchemy import text

from app import create_app
from app.extensions import db
from app.geodata import synth
from app.geodata.importer import import_features
from app.geodata.readers import read_features
from bench import data

REAL_DB = "portal_real"
GEODATA = Path(__file__).resolve().parent.parent.parent / "shared" / "geodata"
FILES = ("provinces_34_2025.geojson", "communes_3321_2025.geojson")
GENERATION = "2025-real"
SEED = 2025
VILLAGES = 90_000  # about as many as the synthetic geography's 90,508, spread like them
SPECIAL_ZONE_VILLAGES = 4  # island special zones (Đặc khu): a few each


def available() -> bool:
    return all((GEODATA / name).is_file() for name in FILES)


def label() -> str:
    return "real (34 / 3,321 + synthetic villages)"


def real() -> str | None:
    """The real geography's benchmark database URL (prepared once), or None without ../shared/geodata."""
    if not available():
        return None
    url = data.database(REAL_DB)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        counts = dict(db.session.execute(text("SELECT level, count(*) FROM areas GROUP BY level")).all())
        if counts.get("province") == 34 and counts.get("commune") == 3321 and counts.get("village"):
            return url
        print("Preparing the real geography with synthetic villages (once)…", flush=True)
        started = time.perf_counter()
        features = [f for name in FILES for f in read_features(GEODATA / name)]
        read_s = time.perf_counter() - started
        villages = synthetic_villages([f for f in features if f.level == "commune"])
        made_s = time.perf_counter() - started - read_s
        report = import_features(features + villages, GENERATION, make_current=True)
        db.session.commit()
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        total = time.perf_counter() - started
        print(
            f"  read {len(features):,} areas in {read_s:.1f} s, placed {len(villages):,} villages in {made_s:.1f} s, "
            f"imported ({report.derived:,} village cells derived) in {total - read_s - made_s:.1f} s",
            flush=True,
        )
    return url


def geographies(module: str) -> list[tuple[str, str]]:
    """(name, database URL) of each geography a benchmark runs on: the synthetic one, and the real one if here."""
    found = [("synthetic", data.national())]
    url = real()
    if url:
        found.append(("real", url))
    else:
        print(f"{module}: no {GEODATA}; the real geography is left out.", flush=True)
    return found


def synthetic_villages(communes) -> list:
    """Village points inside each real commune, named and typed by the synthetic generator."""
    rng = np.random.default_rng(SEED)
    land = [c for c in communes if c.unit_type != "Đặc khu"]
    raw = np.array([31.0 if c.unit_type.lower() == "xã" else 17.0 for c in land]) * rng.uniform(0.6, 1.5, len(land))
    total = VILLAGES - SPECIAL_ZONE_VILLAGES * (len(communes) - len(land))
    counts = np.clip(np.round(raw * total / raw.sum()), 10, 60).astype(int)
    wanted = {c.code: int(k) for c, k in zip(land, counts)}
    villages = []
    for c in communes:
        geometry = shapely.make_valid(c.geometry)
        one = synth._Commune(c.code, c.name, c.unit_type, c.parent_code, geometry)
        one.villages = wanted.get(c.code, SPECIAL_ZONE_VILLAGES)
        villages.extend(synth._villages(one, SEED, "bench real communes"))
    return villages
