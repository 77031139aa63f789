"""Every geographic query of the portal, named after the question it answers.

Geotagging itself runs inside PostgreSQL as the functions ``geotag(lon, lat,
near_m)`` and ``place(lon, lat, chosen_id, near_m)`` (created by the
migrations), so that a petition is geotagged in the same statement that
inserts it: a lookup costs ~0.05 ms in the database and several times that
as a separate round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import select, text

from app.extensions import db
from app.models import Area, Generation
from app.models.petition import OPEN_STATUSES, published_sql

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
    public_id: str
    placed: Placed


def insert_placed_petition(values: dict, near_m: float) -> InsertedPetition | None:
    """Insert a petition geotagged in the same statement, and return where it was placed.

    values holds the petition's columns, plus lon and lat (None when it has
    no point) and actor_label (who filed it, for the audit row written in the
    same statement). Returns None when a unique key (idempotency key or
    tracking code) is taken: one round trip whatever happens.
    """
    columns = tuple(name for name in values if name not in ("lon", "lat", "actor_label"))
    # The busiest statement of the portal goes to the driver as it is: no
    # SQL compiled or cache key computed per citizen's submission.
    row = (
        db.session.connection().exec_driver_sql(insert_placed_sql(columns), {**values, "near_m": near_m}).one_or_none()
    )
    if row is None:
        return None
    placed = Placed(_ref(row, "v"), _ref(row, "c"), _ref(row, "p"), row.method, row.distance_m, row.disagrees)
    return InsertedPetition(row.id, row.tracking_code, row.public_id, placed)


@cache
def insert_placed_sql(columns: tuple[str, ...]) -> str:
    """The statement of insert_placed_petition for these columns, with the driver's %(name)s parameters."""
    return f"""WITH g AS (SELECT * FROM place(%(lon)s, %(lat)s, CAST(%(chosen_area_id)s AS integer), %(near_m)s)),
                ins AS (
                  INSERT INTO petitions ({", ".join(columns)}, location, village_id, commune_id, province_id,
                                         assigned_area_id, geotag_method, geotag_distance_m, geotag_disagrees)
                  SELECT {", ".join(f"%({name})s" for name in columns)},
                         CASE WHEN %(lon)s IS NOT NULL THEN ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) END,
                         g.village_id, g.commune_id, g.province_id, coalesce(g.commune_id, g.province_id),
                         g.method, g.distance_m, g.disagrees
                  FROM g
                  ON CONFLICT DO NOTHING
                  RETURNING id, tracking_code, public_id, village_id, commune_id, province_id, status, filed_by_id,
                            geotag_method, geotag_distance_m, geotag_disagrees),
                audit AS (
                  INSERT INTO audit_events (actor_id, actor_label, petition_id, action, to_status, data)
                  SELECT filed_by_id, %(actor_label)s, id, 'received', status,
                         jsonb_build_object('channel', CAST(%(channel)s AS text), 'geotag', geotag_method)
                  FROM ins)
                SELECT ins.id, ins.tracking_code, ins.public_id, ins.geotag_method AS method,
                       ins.geotag_distance_m AS distance_m, ins.geotag_disagrees AS disagrees,
                       {_REF_COLUMNS.format(a="v")}, {_REF_COLUMNS.format(a="c")}, {_REF_COLUMNS.format(a="p")}
                FROM ins
                LEFT JOIN areas v ON v.id = ins.village_id
                LEFT JOIN areas c ON c.id = ins.commune_id
                LEFT JOIN areas p ON p.id = ins.province_id"""


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


def _drawn_shape(level: str) -> tuple[str, str]:
    """Where a drawn boundary comes from: (join, geometry expression).

    Provinces and communes use the shapes simplified at import (area_shapes,
    :detail coarse or fine), whose neighbours still meet; villages, drawn one
    commune at a time, are simplified on the fly (about 20 m).
    """
    if level == "village":
        return "", "ST_SimplifyPreserveTopology(a.geom, 0.0002)"
    return "JOIN area_shapes s ON s.area_id = a.id AND s.detail = :detail", "s.geom"


# The detail a picker map draws each level at: ~1 km for the country's provinces, ~100 m for a province's communes.
_PICKER_DETAIL = {"province": "coarse", "commune": "fine", "village": None}


def boundaries(parent: Area | None) -> dict:
    """Children of an area (provinces when none) as a GeoJSON FeatureCollection, simplified."""
    level = "province" if parent is None else {"province": "commune", "commune": "village"}.get(parent.level)
    if level is None:
        return {"type": "FeatureCollection", "features": []}
    where = "a.level = 'province'" if parent is None else "a.parent_id = :parent"
    shape_join, shape = _drawn_shape(level)
    collection = db.session.execute(
        text(
            f"""SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
                   json_build_object('type', 'Feature',
                     'properties', json_build_object('code', a.code, 'name', a.name, 'unit_type', a.unit_type),
                     'geometry', ST_AsGeoJSON({shape}, 5)::json)
                   ORDER BY a.code), '[]'::json))
                FROM areas a JOIN generations ge ON ge.id = a.generation_id AND ge.is_current
                {shape_join}
                WHERE {where}"""
        ),
        {"parent": parent.id if parent else None, "detail": _PICKER_DETAIL[level]},
    ).scalar_one()
    return collection


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


# --- Maps and reports: every aggregate is computed in PostGIS ----------------


@dataclass(frozen=True)
class Selection:
    """Which petitions a map or report counts; the inbox columns narrow to a scope (app/services/scope.py)."""

    assigned_province_id: int | None = None
    assigned_area_id: int | None = None
    category: str = ""
    status: str = ""
    since: datetime | None = None
    until: datetime | None = None
    published_only: bool = False  # the public's aggregates count only what it may read

    def where(self, alias: str = "p") -> tuple[str, dict]:
        clauses, params = ["TRUE"], {}
        if self.published_only:
            clauses.append(published_sql(alias))
        for column, value in (
            ("assigned_province_id", self.assigned_province_id),
            ("assigned_area_id", self.assigned_area_id),
            ("category_code", self.category or None),
            ("status", self.status or None),
        ):
            if value is not None:
                clauses.append(f"{alias}.{column} = :{column}")
                params[column] = value
        if self.since:
            clauses.append(f"{alias}.created_at >= :since")
            params["since"] = self.since
        if self.until:
            clauses.append(f"{alias}.created_at < :until")
            params["until"] = self.until
        return " AND ".join(clauses), params


_CHILD_COLUMN = {"province": "province_id", "commune": "commune_id", "village": "village_id"}


def choropleth(level: str, parent_id: int | None, selection: Selection, detail: str = "fine") -> dict:
    """Areas of a level (under a parent, or the whole country) with petition counts, as GeoJSON (see _drawn_shape)."""
    where, params = selection.where()
    column = _CHILD_COLUMN[level]
    shape_join, shape = _drawn_shape(level)
    area_filter = "a.parent_id = :parent" if parent_id else "a.level = :level"
    return db.session.execute(
        text(
            f"""SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
                  json_build_object('type', 'Feature',
                    'properties', json_build_object(
                      'code', a.code, 'name', a.unit_type || ' ' || a.name, 'count', coalesce(c.n, 0),
                      'per_1000', CASE WHEN a.population > 0
                                       THEN round(1000.0 * coalesce(c.n, 0) / a.population, 2) END),
                    'geometry', ST_AsGeoJSON({shape}, :digits)::json) ORDER BY a.code), '[]'::json))
                FROM areas a
                JOIN generations ge ON ge.id = a.generation_id AND ge.is_current
                {shape_join}
                LEFT JOIN (SELECT p.{column} AS id, count(*) AS n FROM petitions p WHERE {where} GROUP BY 1) c
                  ON c.id = a.id
                WHERE {area_filter} AND a.level = :level"""
        ),
        {**params, "parent": parent_id, "level": level, "detail": detail, "digits": 3 if detail == "coarse" else 4},
    ).scalar_one()


# Petitions binned on a grid of cell_deg: integer cell indices while grouping (cheap),
# the cell's centre computed once per cell afterwards. The cells leave PostgreSQL
# as JSON text in the heat layer's own form, [[lat, lon, count], …]: tens of
# thousands of cells never become Python objects on their way into the page.
_HEAT_SQL = """SELECT {key}'[' || string_agg(concat(
                        '[', round(CAST((cy + 0.5) * :cell AS numeric), 5)::float8,
                        ',', round(CAST((cx + 0.5) * :cell AS numeric), 5)::float8, ',', n, ']'), ',') || ']'
               FROM (SELECT {key}floor(ST_X(p.location) / :cell)::int AS cx,
                            floor(ST_Y(p.location) / :cell)::int AS cy, count(*) AS n
                     FROM petitions p WHERE {where} AND p.location IS NOT NULL GROUP BY {group}) cells
               {outer_group}"""


def heat_cells(selection: Selection, cell_deg: float) -> str | None:
    """Petitions binned on a grid, as JSON text [[lat, lon, count], …] of cell centres (None when there are none).

    A heatmap's data without the points.
    """
    where, params = selection.where()
    sql = _HEAT_SQL.format(key="", where=where, group="cx, cy", outer_group="")
    return db.session.execute(text(sql), {**params, "cell": cell_deg}).scalar_one()


def heat_cells_by_category(selection: Selection, cell_deg: float) -> dict[str, str]:
    """heat_cells for every category at once (category code → JSON text), in one pass over the petitions."""
    where, params = selection.where()
    sql = _HEAT_SQL.format(
        key="category_code, ", where=where, group="category_code, cx, cy", outer_group="GROUP BY category_code"
    )
    return dict(db.session.execute(text(sql), {**params, "cell": cell_deg}).all())


def petition_points(selection: Selection, limit: int = 2000):
    """The newest petitions with a point (id, title, category, status, lon, lat) for markers."""
    where, params = selection.where()
    return db.session.execute(
        text(
            f"""SELECT p.id, coalesce(p.public_title, p.title) AS title, p.category_code,
                       p.status, ST_X(p.location) AS lon, ST_Y(p.location) AS lat
                FROM petitions p WHERE {where} AND p.location IS NOT NULL
                ORDER BY p.created_at DESC LIMIT :limit"""
        ),
        {**params, "limit": limit},
    ).all()


def counts_by(selection: Selection, column: str, limit: int | None = None) -> list[tuple]:
    """Petitions grouped by an area level or by category: (key, name, total, open, resolved, overdue).

    Largest first; limit keeps only the first rows.
    """
    where, params = selection.where()
    if column == "category_code":
        key, name, join = "p.category_code", "cat.name_vi", "JOIN categories cat ON cat.code = p.category_code"
    else:
        key, name, join = "a.code", "a.unit_type || ' ' || a.name", f"JOIN areas a ON a.id = p.{column}"
    return db.session.execute(
        text(
            f"""SELECT {key}, {name}, count(*),
                       count(*) FILTER (WHERE p.status = ANY(:open)),
                       count(*) FILTER (WHERE p.status = 'resolved'),
                       count(*) FILTER (WHERE p.status = ANY(:open) AND p.due_at < now())
                FROM petitions p {join} WHERE {where} GROUP BY 1, 2 ORDER BY 3 DESC, 1 LIMIT :limit"""
        ),
        {**params, "open": list(OPEN_STATUSES), "limit": limit},
    ).all()


def weekly_trend(selection: Selection) -> list[tuple]:
    """Petitions received per week (Vietnam time): (monday, count)."""
    where, params = selection.where()
    return db.session.execute(
        text(
            f"""SELECT date_trunc('week', p.created_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, count(*)
                FROM petitions p WHERE {where} GROUP BY 1 ORDER BY 1"""
        ),
        params,
    ).all()


def summary(selection: Selection) -> dict:
    """Received, accepted, resolved, rejected, open overdue, and median days to resolve."""
    where, params = selection.where()
    row = db.session.execute(
        text(
            f"""SELECT count(*) AS received,
                       count(*) FILTER (WHERE p.status NOT IN ('received', 'rejected', 'forwarded')) AS accepted,
                       count(*) FILTER (WHERE p.status = 'resolved') AS resolved,
                       count(*) FILTER (WHERE p.status = 'rejected') AS rejected,
                       count(*) FILTER (WHERE p.status = ANY(:open) AND p.due_at < now()) AS overdue,
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM p.status_changed_at
                         - p.created_at) / 86400) FILTER (WHERE p.status = 'resolved') AS median_days,
                       avg(CASE WHEN p.satisfied THEN 1.0 WHEN NOT p.satisfied THEN 0.0 END) AS satisfaction
                FROM petitions p WHERE {where}"""
        ),
        {**params, "open": list(OPEN_STATUSES)},
    ).one()
    return dict(row._mapping)


def on_time_share(selection: Selection) -> float | None:
    """Of the answers given, the share given before the deadline (from the audit trail)."""
    where, params = selection.where()
    return db.session.execute(
        text(
            f"""SELECT avg(CASE WHEN (e.data ->> 'on_time')::boolean THEN 1.0 ELSE 0.0 END)
                FROM audit_events e JOIN petitions p ON p.id = e.petition_id
                WHERE e.action = 'resolve' AND {where}"""
        ),
        params,
    ).scalar()


def export_rows(selection: Selection, with_contact: bool, batch: int = 2000):
    """The selected petitions for an export, streamed from a server-side cursor, newest first."""
    where, params = selection.where()
    contact = ", p.contact_name, p.contact_phone" if with_contact else ""
    result = db.session.execute(
        text(
            f"""SELECT p.public_id AS reference, p.created_at, p.status, p.category_code,
                       coalesce(p.public_title, p.title) AS title, coalesce(p.public_body, p.body) AS body,
                       v.code AS village_code, v.unit_type || ' ' || v.name AS village,
                       c.code AS commune_code, c.unit_type || ' ' || c.name AS commune,
                       pr.code AS province_code, pr.unit_type || ' ' || pr.name AS province,
                       p.geotag_method, ST_X(p.location) AS lon, ST_Y(p.location) AS lat, p.supporters,
                       p.due_at, p.channel{contact}
                FROM petitions p
                LEFT JOIN areas v ON v.id = p.village_id LEFT JOIN areas c ON c.id = p.commune_id
                LEFT JOIN areas pr ON pr.id = p.province_id
                WHERE {where} ORDER BY p.created_at DESC, p.id DESC"""
        ).execution_options(yield_per=batch),
        params,
    )
    yield from result.mappings()


def count(selection: Selection) -> int:
    where, params = selection.where()
    return db.session.execute(text(f"SELECT count(*) FROM petitions p WHERE {where}"), params).scalar_one()


def regeotag(generation_id: int, open_only: bool = True) -> int:
    """Place petitions in the areas of another boundary generation; return how many moved.

    One UPDATE joined on the villages' polygons: the planner loops over the
    villages and probes the GiST index of the petition points, so a million
    petitions take seconds, not the minutes of a point-by-point lookup.
    Petitions without a point, or outside every village, keep their areas.
    """
    only_open = "AND p.status = ANY(:open)" if open_only else ""
    return db.session.execute(
        text(
            f"""UPDATE petitions p
                SET village_id = v.id, commune_id = v.parent_id, province_id = c.parent_id,
                    assigned_area_id = CASE WHEN p.assigned_area_id = p.commune_id THEN v.parent_id
                                            WHEN p.assigned_area_id = p.province_id THEN c.parent_id
                                            ELSE p.assigned_area_id END
                FROM areas v JOIN areas c ON c.id = v.parent_id
                WHERE v.generation_id = :g AND v.level = 'village' AND ST_Covers(v.geom, p.location)
                  AND p.village_id IS DISTINCT FROM v.id {only_open}"""
        ),
        {"g": generation_id, "open": list(OPEN_STATUSES)},
    ).rowcount
