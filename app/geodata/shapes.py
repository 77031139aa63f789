"""Boundaries simplified for maps, per level of detail, with shared edges kept shared.

Simplifying polygon by polygon opens gaps and overlaps between neighbours;
shapely's coverage_simplify simplifies a whole coverage (the communes of a
province, the provinces of the country) so that neighbours still meet.
"""

from __future__ import annotations

from collections import defaultdict

import shapely
from sqlalchemy import text

from app.extensions import db
from app.queries.areas import new_boundary_edition

# Tolerance in degrees: coarse for national maps, fine for a province's map.
TOLERANCE = {"coarse": 0.01, "fine": 0.001}


def rebuild(generation_id: int) -> int:
    """(Re)make the simplified provinces and communes of a generation; return the shapes written."""
    rows = db.session.execute(
        text(
            """SELECT id, level, coalesce(parent_id, 0), ST_AsBinary(geom) FROM areas
               WHERE generation_id = :g AND level IN ('province', 'commune')"""
        ),
        {"g": generation_id},
    ).all()
    coverages = defaultdict(list)  # provinces together; the communes of each province together
    for area_id, level, parent, wkb in rows:
        coverages[(level, parent if level == "commune" else 0)].append((area_id, shapely.from_wkb(bytes(wkb))))
    db.session.execute(
        text("DELETE FROM area_shapes WHERE area_id IN (SELECT id FROM areas WHERE generation_id = :g)"),
        {"g": generation_id},
    )
    written = 0
    for members in coverages.values():
        ids = [area_id for area_id, _ in members]
        geoms = [geom for _, geom in members]
        for detail, tolerance in TOLERANCE.items():
            simple = shapely.coverage_simplify(geoms, tolerance)
            simple = [s if not s.is_empty else g.envelope for s, g in zip(simple, geoms, strict=True)]
            db.session.execute(
                text(
                    "INSERT INTO area_shapes (area_id, detail, geom) VALUES (:id, :detail, ST_GeomFromWKB(:wkb, 4326))"
                ),
                [{"id": i, "detail": detail, "wkb": shapely.to_wkb(s)} for i, s in zip(ids, simple, strict=True)],
            )
            written += len(ids)
    new_boundary_edition(generation_id)  # the maps' boundary files change with them
    return written
