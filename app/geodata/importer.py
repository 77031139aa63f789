"""Import AreaFeatures into the hierarchy, in the caller's transaction.

Everything is checked before anything is written: a problem raises
GeodataError listing every bad feature, and the caller rolls back, so the
database stays as it was. Re-importing the same features changes nothing
(rows are upserted on generation + code and only rewritten when different).

Parents are linked by code when the feature names one, else by containment
of the child's interior point. Villages given as points get a derived
polygon: the Voronoi cell of the point, clipped to the commune minus any
surveyed villages, so the villages of a commune tile it exactly.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import MultiPoint, MultiPolygon
from sqlalchemy import text

from app.extensions import db
from app.geodata import shapes
from app.geodata.features import LEVELS, AreaFeature
from app.geodata.readers import GeodataError
from app.models.area import PARENT_LEVEL
from app.queries.areas import new_boundary_edition
from app.text import fold


@dataclass
class ImportReport:
    generation: str
    inserted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LEVELS, 0))
    updated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LEVELS, 0))
    unchanged: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LEVELS, 0))
    repaired: list[str] = field(default_factory=list)
    derived: int = 0


def import_features(
    features: list[AreaFeature], generation: str, *, make_current: bool = False, description: str = ""
) -> ImportReport:
    """Upsert features into a boundary generation; raise GeodataError if any is unusable."""
    report = ImportReport(generation)
    problems: list[str] = []
    features = _checked(features, report, problems)
    generation_id = _generation(generation, make_current, description)
    by_level = {level: [f for f in features if f.level == level] for level in LEVELS}
    _link_by_containment(by_level, generation_id, problems)
    rows = _rows(by_level, generation_id, report, problems)
    if problems:
        raise GeodataError(problems)
    _stage(rows)
    for level in LEVELS:
        _upsert(level, generation_id, report, problems)
        if problems:
            raise GeodataError(problems)
    if any(report.inserted[level] or report.updated[level] for level in ("province", "commune")):
        shapes.rebuild(generation_id)  # the maps' simplified boundaries follow
    if any(report.inserted[level] or report.updated[level] for level in LEVELS):
        new_boundary_edition(generation_id)  # new URLs for its boundary files
    # Fresh planner statistics. The generations table is too small for
    # autovacuum ever to analyse it; without them PostgreSQL re-plans every
    # geotag statement instead of keeping its plan (0.47 ms → 0.22 ms a geotag).
    db.session.execute(text("ANALYZE generations, areas"))
    return report


# --- checking ---------------------------------------------------------------


def _checked(features: list[AreaFeature], report: ImportReport, problems: list[str]) -> list[AreaFeature]:
    seen: dict[str, str] = {}
    level_of = {f.code: f.level for f in features}
    polygonal = [f for f in features if f.geometry.geom_type != "Point"]
    valid = shapely.is_valid(np.array([f.geometry for f in polygonal], dtype=object)) if polygonal else []
    for f, ok in zip(polygonal, valid):
        if not ok:
            reason = shapely.is_valid_reason(f.geometry)
            f.geometry = as_multipolygon(shapely.make_valid(f.geometry))
            if f.geometry.is_empty:
                problems.append(f"{f.source}: invalid geometry that cannot be repaired ({reason})")
            else:
                report.repaired.append(f"{f.source} ({f.level} {f.code}): repaired invalid geometry ({reason})")
    for f in features:
        if f.code in seen:
            problems.append(f"{f.source}: code {f.code} is used again (first at {seen[f.code]})")
        seen.setdefault(f.code, f.source)
        if f.level != "province" and level_of.get(f.parent_code, PARENT_LEVEL[f.level]) != PARENT_LEVEL[f.level]:
            problems.append(f"{f.source}: parent {f.parent_code} is not a {PARENT_LEVEL[f.level]}")
    return features


def as_multipolygon(geom) -> MultiPolygon:
    """Keep the polygonal parts of a geometry, as one MultiPolygon."""
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    polygons = []
    for part in parts:
        polygons.extend(shapely.get_parts(part) if part.geom_type == "MultiPolygon" else [part])
    polygons = [p for p in polygons if not p.is_empty and p.area > 0]
    return MultiPolygon(polygons)


# --- generation and parents -------------------------------------------------


def _generation(name: str, make_current: bool, description: str) -> int:
    session = db.session
    gen_id = session.execute(text("SELECT id FROM generations WHERE name = :n"), {"n": name}).scalar()
    if gen_id is None:
        gen_id = session.execute(
            text("INSERT INTO generations (name, description, is_current) VALUES (:n, :d, false) RETURNING id"),
            {"n": name, "d": description},
        ).scalar_one()
    has_current = session.execute(text("SELECT count(*) FROM generations WHERE is_current")).scalar_one()
    if make_current or not has_current:
        # Two statements: the unique index on the one current generation is checked row by row, so
        # one UPDATE flipping both rows fails whenever it reaches the new row first.
        session.execute(text("UPDATE generations SET is_current = false WHERE is_current AND id <> :g"), {"g": gen_id})
        session.execute(text("UPDATE generations SET is_current = true WHERE id = :g"), {"g": gen_id})
    return gen_id


def _db_geometries(generation_id: int, level: str, codes: list[str] | None = None) -> dict[str, object]:
    """Geometries of one level already in the generation, by code."""
    sql = "SELECT code, ST_AsBinary(geom) FROM areas WHERE generation_id = :g AND level = :l"
    params = {"g": generation_id, "l": level}
    if codes is not None:
        sql += " AND code = ANY(:codes)"
        params["codes"] = codes
    return {code: shapely.from_wkb(bytes(wkb)) for code, wkb in db.session.execute(text(sql), params)}


def _link_by_containment(by_level: dict[str, list[AreaFeature]], generation_id: int, problems: list[str]) -> None:
    for level in ("commune", "village"):
        orphans = [f for f in by_level[level] if not f.parent_code]
        if not orphans:
            continue
        parent_level = PARENT_LEVEL[level]
        parents = _db_geometries(generation_id, parent_level)
        parents.update({f.code: f.geometry for f in by_level[parent_level]})
        codes = sorted(parents)
        tree = shapely.STRtree([parents[c] for c in codes])
        points = [f.geometry if f.geometry.geom_type == "Point" else f.geometry.point_on_surface() for f in orphans]
        hits = defaultdict(list)
        for i, j in zip(*tree.query(points, predicate="covered_by")):
            hits[i].append(codes[j])
        for i, f in enumerate(orphans):
            if hits[i]:
                f.parent_code = min(hits[i])  # on a shared edge, the lowest code, every time
            else:
                problems.append(f"{f.source}: {level} {f.code} lies in no {parent_level}; give its parent code")


# --- rows -------------------------------------------------------------------


def _rows(by_level, generation_id: int, report: ImportReport, problems: list[str]) -> list[tuple]:
    rows = []
    for f in by_level["province"] + by_level["commune"]:
        rows.append(_row(f, as_multipolygon(f.geometry), f.geometry.point_on_surface(), "surveyed"))
    surveyed = [f for f in by_level["village"] if f.geometry.geom_type != "Point"]
    for f in surveyed:
        rows.append(_row(f, as_multipolygon(f.geometry), f.geometry.point_on_surface(), "surveyed"))
    points = [f for f in by_level["village"] if f.geometry.geom_type == "Point"]
    if points:
        derived_rows = _derived_villages(points, surveyed, by_level["commune"], generation_id, problems)
        report.derived = len(derived_rows)
        rows.extend(derived_rows)
    return rows


def _row(f: AreaFeature, geom, label_point, geom_source: str) -> tuple:
    return (
        f.level,
        f.code,
        f.name,
        f.unit_type,
        fold(f"{f.unit_type} {f.name}"),
        f.parent_code,
        shapely.to_wkb(shapely.set_srid(geom, 4326), hex=True, include_srid=True),
        shapely.to_wkb(shapely.set_srid(label_point, 4326), hex=True, include_srid=True),
        f.population,
        geom_source,
        f.source,
    )


def _derived_villages(points, surveyed, communes, generation_id: int, problems: list[str]) -> list[tuple]:
    """Rows for point villages, with their Voronoi cells clipped to the commune."""
    commune_codes = sorted({f.parent_code for f in points})
    commune_geoms = _db_geometries(generation_id, "commune", commune_codes)
    commune_geoms.update({f.code: f.geometry for f in communes})
    # Villages already stored in these communes take part too: a new point
    # re-shapes its neighbours' cells, a surveyed polygon is cut out.
    batch_codes = {f.code for f in points} | {f.code for f in surveyed}
    stored = db.session.execute(
        text("""SELECT v.code, v.name, v.unit_type, c.code, v.geom_source,
                       ST_AsBinary(v.geom), ST_AsBinary(v.label_point), v.population
                FROM areas v JOIN areas c ON c.id = v.parent_id
                WHERE v.generation_id = :g AND v.level = 'village' AND c.code = ANY(:codes)
                  AND v.retired_at IS NULL AND v.geom_source <> 'none'"""),
        {"g": generation_id, "codes": commune_codes},
    ).all()
    by_commune_points = defaultdict(list)
    by_commune_surveyed = defaultdict(list)
    for f in points:
        by_commune_points[f.parent_code].append(f)
    for f in surveyed:
        by_commune_surveyed[f.parent_code].append(f.geometry)
    for code, name, unit_type, parent, source, geom, point, population in stored:
        if code in batch_codes:
            continue
        if source == "derived":
            by_commune_points[parent].append(
                AreaFeature(
                    "village",
                    code,
                    name,
                    unit_type,
                    parent,
                    shapely.from_wkb(bytes(point)),
                    population,
                    f"stored village {code}",
                )
            )
        else:
            by_commune_surveyed[parent].append(shapely.from_wkb(bytes(geom)))
    rows = []
    for commune_code, villages in by_commune_points.items():
        region = commune_geoms.get(commune_code)
        if region is None:
            problems.extend(
                f"{f.source}: parent commune {commune_code} is not in this file or the database" for f in villages
            )
            continue
        if by_commune_surveyed[commune_code]:
            region = region.difference(shapely.union_all(by_commune_surveyed[commune_code]))
        for f, cell in zip(villages, derive_cells(region, [f.geometry for f in villages])):
            if cell.is_empty:
                problems.append(
                    f"{f.source}: village {f.code} gets no area "
                    "(its point is outside its commune or repeats another village's point)"
                )
            else:
                rows.append(_row(f, cell, f.geometry, "derived"))
    return rows


def derive_cells(region, points) -> list[MultiPolygon]:
    """Voronoi cells of the points clipped to the region, in the order of the points."""
    if len(points) == 1:
        return [as_multipolygon(region)]
    cells = shapely.voronoi_polygons(MultiPoint(points), extend_to=region, ordered=True)
    parts = list(shapely.get_parts(cells))
    if len(parts) != len(points):  # repeated points share one cell; the repeats get none
        unique = {}
        for i, p in enumerate(points):
            unique.setdefault((p.x, p.y), i)
        order = list(unique.values())
        cells = shapely.voronoi_polygons(MultiPoint([points[i] for i in order]), extend_to=region, ordered=True)
        parts = [MultiPolygon()] * len(points)
        for i, cell in zip(order, shapely.get_parts(cells)):
            parts[i] = cell
    return [as_multipolygon(c) if not c.is_empty else MultiPolygon() for c in shapely.intersection(parts, region)]


# --- writing ----------------------------------------------------------------

_STAGE_COLUMNS = (
    "level, code, name, unit_type, search_name, parent_code, geom, label_point, population, geom_source, source"
)


def _stage(rows: list[tuple]) -> None:
    """COPY the rows into a temporary table (100× faster than row inserts)."""
    session = db.session
    session.execute(
        text(
            """CREATE TEMP TABLE IF NOT EXISTS area_stage (
             level text, code text, name text, unit_type text, search_name text, parent_code text,
             geom geometry(MultiPolygon, 4326), label_point geometry(Point, 4326), population integer,
             geom_source text, source text) ON COMMIT DROP"""
        )
    )
    session.execute(text("TRUNCATE area_stage"))
    cursor = session.connection().connection.driver_connection.cursor()
    with cursor.copy(f"COPY area_stage ({_STAGE_COLUMNS}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _upsert(level: str, generation_id: int, report: ImportReport, problems: list[str]) -> None:
    session = db.session
    parent_level = PARENT_LEVEL.get(level)
    params = {"g": generation_id, "level": level, "parent_level": parent_level}
    if parent_level:
        missing = session.execute(
            text(
                """SELECT s.source, s.code, s.parent_code FROM area_stage s
               LEFT JOIN areas p ON p.generation_id = :g AND p.code = s.parent_code AND p.level = :parent_level
               WHERE s.level = :level AND p.id IS NULL ORDER BY s.code LIMIT 50"""
            ),
            params,
        ).all()
        problems.extend(
            f"{src}: {level} {code}'s parent {parent_level} {parent} is not in this file or the database"
            for src, code, parent in missing
        )
        if missing:
            return
    results = (
        session.execute(
            text(
                """INSERT INTO areas (generation_id, level, code, name, unit_type, search_name, parent_id,
                              geom, label_point, population, geom_source)
           SELECT :g, s.level, s.code, s.name, s.unit_type, s.search_name, p.id,
                  s.geom, s.label_point, s.population, s.geom_source
           FROM area_stage s
           LEFT JOIN areas p ON p.generation_id = :g AND p.code = s.parent_code AND p.level = :parent_level
           WHERE s.level = :level
           ON CONFLICT (generation_id, code) DO UPDATE SET
             level = EXCLUDED.level, name = EXCLUDED.name, unit_type = EXCLUDED.unit_type,
             search_name = EXCLUDED.search_name, parent_id = EXCLUDED.parent_id, geom = EXCLUDED.geom,
             label_point = EXCLUDED.label_point, population = EXCLUDED.population,
             geom_source = EXCLUDED.geom_source, retired_at = NULL, successor_id = NULL
           -- geometry "=" compares coordinates exactly (no costly topology test)
           -- a file that lists a village removed from the register (village_register) puts it back
           WHERE (areas.level, areas.name, areas.unit_type, areas.parent_id, areas.population,
                  areas.geom_source, areas.geom, areas.label_point)
                 IS DISTINCT FROM (EXCLUDED.level, EXCLUDED.name, EXCLUDED.unit_type, EXCLUDED.parent_id,
                                   EXCLUDED.population, EXCLUDED.geom_source, EXCLUDED.geom, EXCLUDED.label_point)
              OR areas.retired_at IS NOT NULL
           RETURNING (xmax = 0) AS inserted"""
            ),
            params,
        )
        .scalars()
        .all()
    )
    total = session.execute(text("SELECT count(*) FROM area_stage WHERE level = :level"), params).scalar_one()
    report.inserted[level] = sum(1 for r in results if r)
    report.updated[level] = len(results) - report.inserted[level]
    report.unchanged[level] = total - len(results)
