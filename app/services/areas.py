"""Areas as the pickers and partner systems see them."""

from __future__ import annotations

from geoalchemy2.shape import to_shape

from app.models import Area
from app.queries.areas import ancestors, children, communes_named
from app.text import fold, natural_key


def summary(area: Area) -> dict:
    return {"code": area.code, "name": area.name, "unit_type": area.unit_type, "level": area.level}


def detail(area: Area) -> dict:
    """Describe an area with its label point, bounding box and parent chain."""
    point = to_shape(area.label_point)
    west, south, east, north = to_shape(area.geom).bounds
    return {
        **summary(area),
        "full_name": area.full_name,
        "population": area.population,
        "geom_source": area.geom_source,
        "label_point": {"lat": round(point.y, 6), "lon": round(point.x, 6)},
        "bbox": [round(v, 6) for v in (west, south, east, north)],
        "parents": [summary(parent) for parent in ancestors(area)],
    }


def listing(parent: Area | None, query: str = "") -> list[dict]:
    """List children by name, "Thôn 2" before "Thôn 10"; the query ignores diacritics."""
    found = children(parent, fold(query))
    found.sort(key=lambda a: (natural_key(a.unit_type), natural_key(a.name)))
    return [summary(a) for a in found]


SEARCH_MIN_CHARS = 2  # a shorter query would name nearly every commune
SEARCH_RESULTS = 50


def find_communes(query: str, province: Area | None = None) -> tuple[list[dict], bool]:
    """Communes whose name holds the query, diacritics ignored ("phong hoa" finds "Phường Phong Hòa").

    Each with its province (names repeat across provinces); best match first. Also whether more
    communes matched than are listed.
    """
    found = communes_named(fold(query), province, SEARCH_RESULTS + 1)
    return [{**summary(c), "province": summary(p)} for c, p in found[:SEARCH_RESULTS]], len(found) > SEARCH_RESULTS


def by_name(parent: Area | None) -> list[dict]:
    """The children of an area (the provinces when none) in the order of their names, "Hòa" with "Hoà"."""
    found = children(parent)
    found.sort(key=lambda a: (natural_key(a.name), natural_key(a.unit_type)))
    return [summary(a) for a in found]
