"""Which areas: by code, a parent's children, ancestors, and the boundaries drawn on maps.

Raw SQL for the boundaries, which leave PostGIS as GeoJSON text ready for the page.
"""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import Area, Generation


def drawn_shape(level: str) -> tuple[str, str]:
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
    shape_join, shape = drawn_shape(level)
    collection = db.session.execute(
        text(
            f"""SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
                   json_build_object('type', 'Feature',
                     'properties', json_build_object('code', a.code, 'name', a.name, 'unit_type', a.unit_type),
                     'geometry', ST_AsGeoJSON({shape}, 5)::json)
                   ORDER BY a.code), '[]'::json))
                FROM areas a JOIN generations ge ON ge.id = a.generation_id AND ge.is_current
                {shape_join}
                WHERE {where} AND a.geom IS NOT NULL"""
        ),
        {"parent": parent.id if parent else None, "detail": _PICKER_DETAIL[level]},
    ).scalar_one()
    return collection


def area_by_code(code: str) -> Area | None:
    """Return the area of the current generation with this code."""
    return db.session.scalar(
        select(Area)
        .join(Generation, Area.generation_id == Generation.id)
        .where(Generation.is_current, Area.code == code, Area.in_register)
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
        .where(Generation.is_current, Area.in_register)
        .order_by(Area.code)
        .limit(limit)
    )
    if parent is None:
        query = query.where(Area.level == "province")
    else:
        query = query.where(Area.parent_id == parent.id)
    if folded_query:
        query = query.where(Area.search_name.like(_containing(folded_query)))
    return list(db.session.scalars(query))


def _containing(folded_query: str) -> str:
    """A LIKE pattern for names holding the folded query, its wildcards taken literally."""
    escaped = folded_query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def communes_named(folded_query: str, province: Area | None = None, limit: int = 50) -> list[tuple[Area, Area]]:
    """Communes of the current boundaries whose folded name holds the query, with their province.

    Best match first: whole words before parts of words ("hoa" finds "Tân Hòa" before "Hoàng Sơn"),
    then where the query starts earliest in the name, then by name. The communes are reached
    through the current provinces (by the parent index), never by a scan of every area.
    """
    province_alias = aliased(Area)
    whole_words = (" " + Area.search_name + " ").like(_containing(f" {folded_query} "))
    query = (
        select(Area, province_alias)
        .join(province_alias, Area.parent_id == province_alias.id)
        .join(Generation, province_alias.generation_id == Generation.id)
        .where(Generation.is_current, province_alias.level == "province")
        .where(Area.search_name.like(_containing(folded_query)))
        .order_by(whole_words.desc(), func.strpos(Area.search_name, folded_query), Area.search_name, Area.code)
        .limit(limit)
    )
    if province is not None:
        query = query.where(province_alias.id == province.id)
    return [(commune, parent) for commune, parent in db.session.execute(query).all()]


def villages_named(folded_query: str, commune_ids: list[int], limit: int = 20) -> list[Area]:
    """Villages of these communes whose folded name holds the query, whole words first."""
    whole_words = (" " + Area.search_name + " ").like(_containing(f" {folded_query} "))
    query = (
        select(Area)
        .join(Generation, Area.generation_id == Generation.id)
        .where(Generation.is_current, Area.parent_id.in_(commune_ids), Area.level == "village", Area.in_register)
        .where(Area.search_name.like(_containing(folded_query)))
        .order_by(whole_words.desc(), func.strpos(Area.search_name, folded_query), Area.search_name, Area.code)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def area_outline(area_id: int | None, tolerance: float = 0.0001) -> dict | None:
    """One area's boundary as GeoJSON (lightly simplified), for a small map."""
    if area_id is None:
        return None
    return db.session.execute(
        text("SELECT ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, :t), 6)::json FROM areas WHERE id = :id"),
        {"id": area_id, "t": tolerance},
    ).scalar()


def current_generation() -> tuple[int, str, int] | None:
    """The current boundary generation: (id, name, edition); None before any geography is loaded."""
    row = db.session.execute(text("SELECT id, name, edition FROM generations WHERE is_current")).first()
    return (row.id, row.name, row.edition) if row else None


def new_boundary_edition(generation_id: int) -> None:
    """Give the generation a new edition: its areas or simplified shapes were just written.

    The boundary files' URLs carry it, so a re-import gets new URLs while an
    unchanged generation keeps its cached files. Milliseconds since the epoch
    (and always above the last one): a value never handed out before, even
    after a database is restored from a backup.
    """
    db.session.execute(
        text(
            """UPDATE generations
               SET edition = greatest(edition + 1, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
               WHERE id = :g"""
        ),
        {"g": generation_id},
    )


def area_codes(generation_id: int, level: str) -> frozenset[str]:
    """The codes of a level's areas in a generation (which boundary files can exist)."""
    return frozenset(
        db.session.execute(
            text("SELECT code FROM areas WHERE generation_id = :g AND level = :level"),
            {"g": generation_id, "level": level},
        ).scalars()
    )


def boundary_rows(generation_id: int, level: str, parent_code: str | None, detail: str) -> list | None:
    """The areas of a boundary file: (code, name, label lon, label lat, WKB of the drawn shape), by code.

    Children of parent_code (a province's communes, a commune's villages), or
    every area of the level with parent_code None. None when the parent is
    not an area of the level above in this generation. The label point is the
    area's own (ST_PointOnSurface of the shape when it has none).
    """
    shape_join, shape = drawn_shape(level)
    params = {"g": generation_id, "level": level, "detail": detail}
    where = "a.generation_id = :g AND a.level = :level AND a.geom IS NOT NULL"  # a village may have no shape
    if parent_code is not None:
        parent = db.session.execute(
            text("SELECT id FROM areas WHERE generation_id = :g AND code = :code AND level = :parent_level"),
            {"g": generation_id, "code": parent_code, "parent_level": _PARENT_LEVEL[level]},
        ).scalar()
        if parent is None:
            return None
        where += " AND a.parent_id = :parent"
        params["parent"] = parent
    return db.session.execute(
        text(
            f"""SELECT a.code, a.unit_type || ' ' || a.name AS name,
                       ST_X(coalesce(a.label_point, ST_PointOnSurface({shape}))) AS lon,
                       ST_Y(coalesce(a.label_point, ST_PointOnSurface({shape}))) AS lat,
                       ST_AsBinary({shape}) AS wkb
                FROM areas a {shape_join}
                WHERE {where} ORDER BY a.code"""
        ),
        params,
    ).all()


_PARENT_LEVEL = {"commune": "province", "village": "commune"}
