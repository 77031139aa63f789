"""Every geographic query of the portal, named after the question it answers.

Geotagging itself runs inside PostgreSQL as the function ``geotag(lon, lat,
near_m)`` (created by the migrations), so that a petition can be geotagged in
the same statement that inserts it: a lookup costs ~0.05 ms in the database
and several times that as a separate round trip.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, text

from app.extensions import db
from app.models import Area, Generation

_REF_COLUMNS = "{a}.code AS {a}_code, {a}.name AS {a}_name, {a}.unit_type AS {a}_unit_type"

_LOCATE_SQL = text(
    f"""
    SELECT g.method, g.distance_m,
           {_REF_COLUMNS.format(a="v")}, {_REF_COLUMNS.format(a="c")}, {_REF_COLUMNS.format(a="p")}
    FROM geotag(:lon, :lat, :near_m) AS g
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
class Located:
    village: AreaRef | None
    commune: AreaRef | None
    province: AreaRef | None
    method: str  # inside | nearest | unlocated
    distance_m: float | None


def _ref(row, prefix: str) -> AreaRef | None:
    code = getattr(row, f"{prefix}_code")
    if code is None:
        return None
    return AreaRef(code, getattr(row, f"{prefix}_name"), getattr(row, f"{prefix}_unit_type"))


def area_at(lon: float, lat: float, near_m: float) -> Located:
    """Find the village, commune and province of a point (current generation)."""
    row = db.session.execute(_LOCATE_SQL, {"lon": lon, "lat": lat, "near_m": near_m}).one()
    return Located(_ref(row, "v"), _ref(row, "c"), _ref(row, "p"), row.method, row.distance_m)


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
