"""Every geographic query of the portal, named after the question it answers.

Geotagging itself runs inside PostgreSQL as the functions ``geotag(lon, lat,
near_m)`` and ``place(lon, lat, chosen_id, near_m)`` (created by the
migrations), so that a petition is geotagged in the same statement that
inserts it: a lookup costs ~0.05 ms in the database and several times that
as a separate round trip.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, text

from app.extensions import db
from app.models import Area, Generation
from app.models.petition import OPEN_STATUSES

_REF_COLUMNS = "{a}.code AS {a}_code, {a}.name AS {a}_name, {a}.unit_type AS {a}_unit_type"

_CURRENT_AREA_ID = (
    "(SELECT a.id FROM areas a JOIN generations ge ON ge.id = a.generation_id AND ge.is_current WHERE a.code = :chosen)"
)

_PLACE_SQL = text(
    f"""
    SELECT g.method, g.distance_m, g.disagrees,
           {_REF_COLUMNS.format(a="v")}, {_REF_COLUMNS.format(a="c")}, {_REF_COLUMNS.format(a="p")}
    FROM place(:lon, :lat, {_CURRENT_AREA_ID}, :near_m) AS g
    LEFT JOIN areas v ON v.id = g.village_id
    LEFT JOIN areas c ON c.id = g.commune_id
    LEFT JOIN areas p ON p.id = g.province_id
    """
)


@dataclass(frozen=True)
class AreaRef:
    code: str
    name: str
    unit_type: str

    def as_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "unit_type": self.unit_type}


@dataclass(frozen=True)
class Placed:
    village: AreaRef | None
    commune: AreaRef | None
    province: AreaRef | None
    method: str  # inside | nearest | chosen | unlocated
    distance_m: float | None
    disagrees: bool  # the point lies outside the area the citizen picked


def _ref(row, prefix: str) -> AreaRef | None:
    code = getattr(row, f"{prefix}_code")
    if code is None:
        return None
    return AreaRef(code, getattr(row, f"{prefix}_name"), getattr(row, f"{prefix}_unit_type"))


def place(lon: float | None, lat: float | None, chosen: str | None, near_m: float) -> Placed:
    """Place a point and/or a picked area code in the current generation (see place() in SQL)."""
    row = db.session.execute(_PLACE_SQL, {"lon": lon, "lat": lat, "chosen": chosen, "near_m": near_m}).one()
    return Placed(_ref(row, "v"), _ref(row, "c"), _ref(row, "p"), row.method, row.distance_m, row.disagrees)


@dataclass(frozen=True)
class InsertedPetition:
    id: int
    tracking_code: str
    placed: Placed


def insert_placed_petition(values: dict, near_m: float) -> InsertedPetition | None:
    """Insert a petition geotagged in the same statement, and return where it was placed.

    values holds the petition's columns, plus lon and lat (None when it has
    no point) and actor_label (who filed it, for the audit row written in the
    same statement). Returns None when a unique key (idempotency key or
    tracking code) is taken: one round trip whatever happens.
    """
    columns = [name for name in values if name not in ("lon", "lat", "actor_label")]
    row = db.session.execute(
        text(
            f"""WITH g AS (SELECT * FROM place(:lon, :lat, CAST(:chosen_area_id AS integer), :near_m)),
                ins AS (
                  INSERT INTO petitions ({", ".join(columns)}, location, village_id, commune_id, province_id,
                                         assigned_area_id, geotag_method, geotag_distance_m, geotag_disagrees)
                  SELECT {", ".join(f":{name}" for name in columns)},
                         CASE WHEN :lon IS NOT NULL THEN ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) END,
                         g.village_id, g.commune_id, g.province_id, coalesce(g.commune_id, g.province_id),
                         g.method, g.distance_m, g.disagrees
                  FROM g
                  ON CONFLICT DO NOTHING
                  RETURNING id, tracking_code, village_id, commune_id, province_id, status, filed_by_id,
                            geotag_method, geotag_distance_m, geotag_disagrees),
                audit AS (
                  INSERT INTO audit_events (actor_id, actor_label, petition_id, action, to_status, data)
                  SELECT filed_by_id, :actor_label, id, 'received', status,
                         jsonb_build_object('channel', CAST(:channel AS text), 'geotag', geotag_method)
                  FROM ins)
                SELECT ins.id, ins.tracking_code, ins.geotag_method AS method, ins.geotag_distance_m AS distance_m,
                       ins.geotag_disagrees AS disagrees,
                       {_REF_COLUMNS.format(a="v")}, {_REF_COLUMNS.format(a="c")}, {_REF_COLUMNS.format(a="p")}
                FROM ins
                LEFT JOIN areas v ON v.id = ins.village_id
                LEFT JOIN areas c ON c.id = ins.commune_id
                LEFT JOIN areas p ON p.id = ins.province_id"""
        ),
        {**values, "near_m": near_m},
    ).one_or_none()
    if row is None:
        return None
    placed = Placed(_ref(row, "v"), _ref(row, "c"), _ref(row, "p"), row.method, row.distance_m, row.disagrees)
    return InsertedPetition(row.id, row.tracking_code, placed)


def similar_open_petitions(lon: float, lat: float, category: str, radius_m: float, days: int, limit: int = 5):
    """Open petitions of a category within radius_m of a point, filed in the last days, nearest first."""
    return db.session.execute(
        text(
            """SELECT p.id, ST_Distance(p.location::geography, pt::geography) AS distance_m
               FROM petitions p, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS pt
               WHERE p.category_code = :category AND p.status = ANY(:open)
                 AND p.created_at > now() - make_interval(days => :days)
                 AND ST_DWithin(p.location, pt, :radius_m / (111000 * cos(radians(least(abs(:lat), 80)))))
                 AND ST_DWithin(p.location::geography, pt::geography, :radius_m)
               ORDER BY distance_m LIMIT :limit"""
        ),
        {
            "lon": lon,
            "lat": lat,
            "category": category,
            "radius_m": radius_m,
            "days": days,
            "limit": limit,
            "open": list(OPEN_STATUSES),
        },
    ).all()


# Simplification tolerance (degrees) of boundaries drawn for a picker map,
# by the level drawn: about 1 km for provinces, 100 m for communes, 20 m for villages.
_TOLERANCE = {"province": 0.01, "commune": 0.001, "village": 0.0002}


def boundaries(parent: Area | None) -> dict:
    """Children of an area (provinces when none) as a GeoJSON FeatureCollection, simplified."""
    level = "province" if parent is None else {"province": "commune", "commune": "village"}.get(parent.level)
    if level is None:
        return {"type": "FeatureCollection", "features": []}
    where = "a.level = 'province'" if parent is None else "a.parent_id = :parent"
    collection = db.session.execute(
        text(
            f"""SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
                   json_build_object('type', 'Feature',
                     'properties', json_build_object('code', a.code, 'name', a.name, 'unit_type', a.unit_type),
                     'geometry', ST_AsGeoJSON(ST_SimplifyPreserveTopology(a.geom, :tolerance), 5)::json)
                   ORDER BY a.code), '[]'::json))
                FROM areas a JOIN generations ge ON ge.id = a.generation_id AND ge.is_current
                WHERE {where}"""
        ),
        {"parent": parent.id if parent else None, "tolerance": _TOLERANCE[level]},
    ).scalar_one()
    return collection


def current_generation() -> Generation | None:
    """Return the boundary generation that geotagging uses."""
    return db.session.scalar(select(Generation).where(Generation.is_current))


def area_by_code(code: str) -> Area | None:
    """Return the area of the current generation with this code."""
    return db.session.scalar(
        select(Area)
        .join(Generation, Area.generation_id == Generation.id)
        .where(Generation.is_current, Area.code == code)
    )


def ancestors(area: Area) -> list[Area]:
    """Return the area's parents, nearest first."""
    chain = []
    parent = area.parent
    while parent is not None:
        chain.append(parent)
        parent = parent.parent
    return chain


def children(parent: Area | None, folded_query: str = "", limit: int = 500) -> list[Area]:
    """List the children of an area (provinces when none), filtered by folded name."""
    query = (
        select(Area)
        .join(Generation, Area.generation_id == Generation.id)
        .where(Generation.is_current)
        .order_by(Area.code)
        .limit(limit)
    )
    if parent is None:
        query = query.where(Area.level == "province")
    else:
        query = query.where(Area.parent_id == parent.id)
    if folded_query:
        escaped = folded_query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Area.search_name.like(f"%{escaped}%"))
    return list(db.session.scalars(query))


def area_outline(area_id: int | None, tolerance: float = 0.0001) -> dict | None:
    """One area's boundary as GeoJSON (lightly simplified), for a small map."""
    if area_id is None:
        return None
    return db.session.execute(
        text("SELECT ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, :t), 6)::json FROM areas WHERE id = :id"),
        {"id": area_id, "t": tolerance},
    ).scalar()


def similar_nearby_ids(petition_id: int, radius_m: float, days: int, min_similarity: float, limit: int = 5):
    """Possible duplicates of a petition: same category, within radius_m, recent, similar text (pg_trgm)."""
    return db.session.execute(
        text(
            """SELECT o.id, similarity(fold(o.title || ' ' || o.body), fold(p.title || ' ' || p.body)) AS score
               FROM petitions p JOIN petitions o
                 ON o.id <> p.id AND o.category_code = p.category_code AND o.merged_into_id IS NULL
                AND o.created_at > p.created_at - make_interval(days => :days)
                AND ST_DWithin(o.location::geography, p.location::geography, :radius_m)
               WHERE p.id = :id
                 AND similarity(fold(o.title || ' ' || o.body), fold(p.title || ' ' || p.body)) >= :min_similarity
               ORDER BY score DESC LIMIT :limit"""
        ),
        {"id": petition_id, "radius_m": radius_m, "days": days, "min_similarity": min_similarity, "limit": limit},
    ).all()
