"""Areas as the pickers and partner systems see them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from geoalchemy2.shape import to_shape

from app.models import Area
from app.queries.areas import ancestors, area_by_code, children, communes_named, villages_named
from app.text import fold, natural_key


def summary(area: Area) -> dict:
    return {"code": area.code, "name": area.name, "unit_type": area.unit_type, "level": area.level}


def detail(area: Area) -> dict:
    """Describe an area with its label point, bounding box and parent chain (None for a village with no shape)."""
    point = to_shape(area.label_point) if area.label_point is not None else None
    bounds = to_shape(area.geom).bounds if area.geom is not None else None
    return {
        **summary(area),
        "full_name": area.full_name,
        "population": area.population,
        "geom_source": area.geom_source,
        "label_point": {"lat": round(point.y, 6), "lon": round(point.x, 6)} if point else None,
        "bbox": [round(v, 6) for v in bounds] if bounds else None,
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


# --- an area picked by its name (officers forwarding, re-placing) ---

CODE_IN_TEXT = re.compile(r"^\s*(\d{2}|\d{5}|\d{8})\s*$|\((\d{2}|\d{5}|\d{8})\)\s*$")
CHOICES_SHOWN = 10


@dataclass(frozen=True)
class Choice:
    code: str
    label: str  # "Phường Minh Trạch — Tỉnh Quảng Trị"


class NotOneArea(ValueError):
    """What was typed names no area, or several: the choices to pick from (none when nothing matched)."""

    def __init__(self, choices: list[Choice]):
        super().__init__("not one area")
        self.choices = choices


def label(area: Area) -> str:
    """An area with its parents, so that names that repeat tell apart: "Thôn 2 — Xã Phú Lộc — Thành phố Huế"."""
    return " — ".join(a.full_name for a in [area, *ancestors(area)])


def pick(typed: str, levels: tuple[str, ...], *, province: Area | None = None, communes: list[int] = ()) -> Area:
    """The area of these levels that an officer typed: its code, a choice's "(code)", or its name.

    Names ignore diacritics and case ("minh trach"). A name that matches one area (or exactly one
    by its whole name) is that area; otherwise NotOneArea lists the best matches to choose from.
    Names of communes and provinces are searched in `province` when given; of villages, only in
    `communes`. Who may use the area found is the caller's rule (the workflow's scope checks).
    """
    match = CODE_IN_TEXT.search(typed or "")
    if match:  # a code names one area wherever it is: the caller checks the officer may use it
        area = area_by_code(match.group(1) or match.group(2))
        if area is not None and area.level in levels:
            return area
        raise NotOneArea([])
    query = fold(typed or "")
    if len(query) < SEARCH_MIN_CHARS:
        raise NotOneArea([])
    found: list[Area] = []
    if "village" in levels:
        found += villages_named(query, list(communes), CHOICES_SHOWN + 1)
    if "commune" in levels:
        found += [c for c, _ in communes_named(query, province, CHOICES_SHOWN + 1)]
    if "province" in levels:
        found += [p for p in children(None, query) if province is None or p.id == province.id]
    exact = [a for a in found if query in (a.search_name, fold(a.full_name))]
    if len(found) == 1 or len(exact) == 1:
        return found[0] if len(found) == 1 else exact[0]
    raise NotOneArea([Choice(a.code, label(a)) for a in found[:CHOICES_SHOWN]])
