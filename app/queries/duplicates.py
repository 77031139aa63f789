"""Which petitions may be the same one: nearby, same category, recent, similar text.

Raw SQL so the GiST index of the points and pg_trgm answer in one statement.
"""

from __future__ import annotations

from sqlalchemy import text

from app.extensions import db
from app.models.petition import OPEN_STATUSES


def similar_open_petitions(lon: float, lat: float, category: str, radius_m: float, days: int, limit: int = 5):
    """Open petitions of a category whose public point lies within radius_m of a point, recent, nearest first.

    Distances are to the public point (its village's label point, else the
    point snapped to ~100 m), never to the exact one: an anonymous caller
    moving the query point about learns nothing finer than the published
    view. The exact points only pre-filter on their GiST index, with a margin
    of a village's size.
    """
    return db.session.execute(
        text(
            """SELECT p.id, ST_Distance(pub::geography, pt::geography) AS distance_m
               FROM petitions p
               LEFT JOIN areas v ON v.id = p.village_id
               CROSS JOIN ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS pt
               CROSS JOIN LATERAL (SELECT coalesce(v.label_point, ST_SnapToGrid(p.location, 0.001)) AS pub) AS shown
               WHERE p.category_code = :category AND p.status = ANY(:open)
                 AND p.created_at > now() - make_interval(days => :days)
                 AND ST_DWithin(p.location, pt, (:radius_m + :margin_m) / (111000 * cos(radians(least(abs(:lat), 80)))))
                 AND ST_DWithin(pub::geography, pt::geography, :radius_m)
               ORDER BY distance_m, p.id LIMIT :limit"""
        ),
        {
            "lon": lon,
            "lat": lat,
            "category": category,
            "radius_m": radius_m,
            "margin_m": SIMILAR_MARGIN_M,
            "days": days,
            "limit": limit,
            "open": list(OPEN_STATUSES),
        },
    ).all()


# How far a petition's exact point may lie from its public point (its village's label point).
SIMILAR_MARGIN_M = 5000.0


def similar_nearby_ids(petition_id: int, radius_m: float, days: int, min_similarity: float, limit: int = 5):
    """Possible duplicates of a petition: same category, within radius_m, recent, similar text (pg_trgm)."""
    return db.session.execute(
        text(
            """SELECT o.id, similarity(fold(o.title || ' ' || o.body), fold(p.title || ' ' || p.body)) AS score
               FROM petitions p JOIN petitions o
                 ON o.id <> p.id AND o.category_code = p.category_code AND o.merged_into_id IS NULL
                AND o.created_at > p.created_at - make_interval(days => :days)
                -- the degree box lets the GiST index of the points answer; geography measures
                AND ST_DWithin(o.location, p.location,
                               :radius_m / (111000 * cos(radians(least(abs(ST_Y(p.location)), 80)))))
                AND ST_DWithin(o.location::geography, p.location::geography, :radius_m)
               WHERE p.id = :id
                 AND similarity(fold(o.title || ' ' || o.body), fold(p.title || ' ' || p.body)) >= :min_similarity
               ORDER BY score DESC LIMIT :limit"""
        ),
        {"id": petition_id, "radius_m": radius_m, "days": days, "min_similarity": min_similarity, "limit": limit},
    ).all()
