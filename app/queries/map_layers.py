"""What a map shows: areas coloured by their petitions, heat cells, markers.

Every aggregate is computed in PostGIS and leaves it as JSON text, never as
one Python object per petition.
"""

from __future__ import annotations

from sqlalchemy import text

from app.extensions import db
from app.queries.selection import Selection

_CHILD_COLUMN = {"province": "province_id", "commune": "commune_id", "village": "village_id"}


def area_counts(level: str, parent_id: int | None, selection: Selection | None) -> list:
    """Areas of a level (under a parent, or the whole country) with their petition counts, by code.

    Rows of (code, name, parent_code, count, population): no geometry — the
    boundaries come from their own cached files (app/maps/geo.py). With no
    selection the areas alone, every count 0 (nothing is counted).
    """
    area_filter = "a.parent_id = :parent" if parent_id else "TRUE"
    counted, params = "", {}
    if selection is not None:
        where, params = selection.where()
        counted = f"""LEFT JOIN (SELECT p.{_CHILD_COLUMN[level]} AS id, count(*) AS n FROM petitions p
                                 WHERE {where} GROUP BY 1) c ON c.id = a.id"""
    return db.session.execute(
        text(
            f"""SELECT a.code, a.unit_type || ' ' || a.name AS name, pa.code AS parent_code,
                       {"coalesce(c.n, 0)" if counted else "0"} AS count, a.population
                FROM areas a
                JOIN generations ge ON ge.id = a.generation_id AND ge.is_current
                LEFT JOIN areas pa ON pa.id = a.parent_id
                {counted}
                WHERE {area_filter} AND a.level = :level AND a.retired_at IS NULL
                ORDER BY a.code"""
        ),
        {**params, "parent": parent_id, "level": level},
    ).all()


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
    """The newest petitions for markers: (id, title, category, status, lon, lat, approximate).

    A petition without a point but placed in a village (by the pickers) stands
    at its village's label point, with approximate true.
    """
    where, params = selection.where()
    return db.session.execute(
        text(
            f"""SELECT p.id, coalesce(p.public_title, p.title) AS title, p.category_code, p.status,
                       ST_X(coalesce(p.location, v.label_point)) AS lon,
                       ST_Y(coalesce(p.location, v.label_point)) AS lat,
                       p.location IS NULL AS approximate
                FROM petitions p LEFT JOIN areas v ON v.id = p.village_id
                WHERE {where} AND (p.location IS NOT NULL OR v.label_point IS NOT NULL)
                ORDER BY p.created_at DESC LIMIT :limit"""
        ),
        {**params, "limit": limit},
    ).all()
