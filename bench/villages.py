"""The village register: applying a list to one commune (200 villages) and to a province (5,000 villages).

On each geography (the synthetic national one; the real provinces and
communes of ../shared/geodata with synthetic villages when present): the
commune with the largest area and the province with the most communes get a
list of new villages at random points (seeded), which replaces their
register. Timed: reading and checking the list (the preview), and applying
it (the preview again under the communes' locks, the cells re-derived, every
village written, the old ones retired, their open petitions moved, the
history rows). The baseline: re-deriving the same cells alone (shapely's
Voronoi clipped to each commune, as the importer does), nothing written.
Each run is rolled back: the benchmark database keeps its register.
"""

from __future__ import annotations

import time

import numpy as np
import shapely
from shapely.prepared import prep
from sqlalchemy import text

from app import create_app
from app.extensions import db
from app.geodata.importer import derive_cells
from app.services import village_lists
from app.services.village_files import read_list, write_csv
from app.services.village_register import commune_shape
from bench import realgeo

SEED = 18


def run(table) -> None:
    geographies = realgeo.geographies("Villages")
    for name, url in geographies:
        measure(table, name, url)


def measure(table, geography: str, url: str) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        commune = db.session.execute(
            text(
                """SELECT a.code, a.id FROM areas a JOIN generations ge ON ge.id = a.generation_id AND ge.is_current
                   WHERE a.level = 'commune' ORDER BY ST_Area(a.geom) DESC LIMIT 1"""
            )
        ).one()
        province = db.session.execute(
            text(
                """SELECT p.code, p.id, count(*) AS communes FROM areas p JOIN areas c ON c.parent_id = p.id
                   JOIN generations ge ON ge.id = p.generation_id AND ge.is_current
                   WHERE p.level = 'province' GROUP BY p.id ORDER BY count(*) DESC LIMIT 1"""
            )
        ).one()
        one = _timed(f"{geography}: 200 villages to commune {commune.code}", [(commune.code, commune.id, 200)])
        _add(table, geography, f"one commune ({commune.code}, the largest), 200 villages", one)
        communes = db.session.execute(
            text("SELECT code, id, ST_Area(geom) FROM areas WHERE parent_id = :p ORDER BY code"), {"p": province.id}
        ).all()
        total = sum(c[2] for c in communes)
        spread = [(c[0], c[1], max(1, round(5000 * c[2] / total))) for c in communes]
        many = _timed(f"{geography}: {sum(s[2] for s in spread):,} villages to province {province.code}", spread)
        _add(
            table,
            geography,
            f"a province ({province.code}, {province.communes} communes), {many['villages']:,} villages",
            many,
        )
        db.session.remove()


def _timed(label: str, communes: list[tuple[str, int, int]]) -> dict:
    """Preview and apply a list of new villages for these communes; the cells alone as the baseline. Rolled back."""
    print(f"Villages: {label}…", flush=True)
    rng = np.random.default_rng(SEED)
    rows, points = [], {}
    for code, commune_id, count in communes:
        region = commune_shape(commune_id)
        made = shapely.get_parts(shapely.points(_inside(region, count, rng)))
        points[commune_id] = (region, list(made))
        for i, p in enumerate(made, start=1):
            rows.append(
                {
                    "commune_code": code,
                    "village_name": f"Mới {i}",
                    "unit_type": "Thôn",
                    "lat": p.y,
                    "lon": p.x,
                    "population": 500 + i,
                }
            )
    body = write_csv(rows)
    connection = db.session.connection()
    try:
        started = time.perf_counter()
        for region, pts in points.values():
            derive_cells(region, pts)
        derive_s = time.perf_counter() - started
        started = time.perf_counter()
        lines = read_list("bench.csv", body)
        upload = village_lists.keep(None, "bench.csv", lines, [], label="bench")
        preview_s = time.perf_counter() - started
        assert upload.summary["problems"] == 0, upload.summary
        started = time.perf_counter()
        result = village_lists.apply(upload, None, label="bench")
        db.session.flush()
        apply_s = time.perf_counter() - started
        counts = result.counts()
    finally:
        db.session.rollback()
        connection.close()
    print(
        f"  {len(rows):,} villages: preview {preview_s:.2f} s, apply {apply_s:.2f} s; cells alone {derive_s:.2f} s, "
        f"({counts.get('removed', 0):,} villages removed, "
        f"{counts.get('moved_petitions', 0):,} open petitions moved)",
        flush=True,
    )
    return {
        "villages": len(rows),
        "preview": preview_s,
        "apply": apply_s,
        "derive": derive_s,
        "removed": counts.get("removed", 0),
        "moved": counts.get("moved_petitions", 0),
    }


def _inside(region, count: int, rng) -> np.ndarray:
    """count random points inside the region (rejection sampling in its bounds)."""
    west, south, east, north = region.bounds
    prepared = prep(region)
    found = []
    while len(found) < count:  # rounded as the list writes them (6 decimals), then tested
        xs = np.round(rng.uniform(west, east, count * 4), 6)
        ys = np.round(rng.uniform(south, north, count * 4), 6)
        found.extend((x, y) for x, y in zip(xs, ys) if prepared.contains(shapely.Point(x, y)))
    return np.array(found[:count])


def _add(table, geography: str, what: str, t: dict) -> None:
    table.add(f"village list preview: {what}, {geography} geography", t["preview"], "s")
    table.add(
        f"village list applied: {what} ({t['removed']:,} replaced, {t['moved']:,} open petitions moved), {geography}",
        t["apply"],
        "s",
        baseline=t["derive"],
    )
