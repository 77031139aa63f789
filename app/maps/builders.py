"""Map builders: plain data in, HTML out — no database; their own labels through gettext.

A map is a container, its settings as JSON in a `<script type="application/json">`
block (data, never run; `<`, `>` and `&` escaped so no citizen string can close
it), and the portal's own scripts: vendored Leaflet and its plugins and
static/js/area-map.js, which draws everything. Boundaries are not in the page:
the settings name their cached files (app/maps/geo.py); the page carries only
what depends on the viewer — counts, heat cells, markers. Popups are built in
the browser with textContent, so a citizen's title is text wherever it goes.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import escape

STATUS_COLOURS = {
    "received": "#1a5fb4",
    "accepted": "#8a4b00",
    "in_progress": "#c64600",
    "forwarded": "#6b3fa0",
    "resolved": "#2e7d32",
    "rejected": "#5a5a60",
    "merged": "#5a5a60",
}
VIETNAM_BOUNDS = [[8.2, 102.1], [23.4, 109.5]]
# Zoom levels (Leaflet's): the national view is about 5–6, a province 8–9, a commune 11–12.
COMMUNES_FROM = 7  # on the national map, communes replace provinces from this zoom on
HEAT_FROM = 8  # heat only at province and commune zooms
HEAT_RADIUS_M = 2000  # a heat point's radius on the ground, whatever the zoom


@dataclass(frozen=True)
class RenderedMap:
    """The parts a page places: `header` in <head>, `body` where the map goes; `style` and `script` for
    nonced inline blocks (empty: the map needs none, its settings are data and its code a file)."""

    header: str
    style: str
    body: str
    script: str


@dataclass(frozen=True)
class AreaLayer:
    """One level of areas: its boundary files (by parent code, "all" for the whole level) and counts.

    counts: code → (count or None when hidden from the public, per 1,000 residents or None).
    from_zoom / to_zoom: the zooms at which it is drawn; labels_from: the zoom its names appear at.
    """

    level: str
    files: dict[str, str]
    counts: dict[str, tuple[int | None, float | None]] | None
    from_zoom: int = 0
    to_zoom: int = 19
    labels_from: int = 0
    shaded: bool = True


def _texts() -> dict:
    return {
        "count": _("Số kiến nghị"),
        "per_1000": _("Trên 1.000 dân"),
        "count_unit": _("kiến nghị"),
        "per_1000_unit": _("kiến nghị trên 1.000 dân"),
        "measure": _("Thước đo"),
        "legend": _("Chú giải"),
        "hidden": _("dưới %(n)s", n="{n}"),
        "hidden_legend": _("dưới %(n)s kiến nghị (không công bố số)", n="{n}"),
        "no_data": _("không có số dân"),
        "heat": _("Mật độ kiến nghị (heatmap)"),
        "approximate": _("vị trí gần đúng (theo thôn, tổ dân phố)"),
        "open": _("Mở kiến nghị"),
        "status": _("Trạng thái"),
        "loading": _("Đang tải ranh giới…"),
        "failed": _("Không tải được ranh giới. Vui lòng tải lại trang."),
    }


def area_map(
    assets: dict,
    *,
    element_id: str,
    title: str,
    base: str,
    layers: list[AreaLayer],
    links: dict[str, list[tuple[str, str]]],
    tiles: str = "",
    attribution: str = "",
    hidden_under: int | None = None,
    heat: str | None = None,
    heat_by_category: dict[str, str] | None = None,
    focus: str | None = None,
) -> RenderedMap:
    """Areas shaded by their counts (or per 1,000 residents), named, with tooltips, popups and optional heat.

    base: the file of the provinces (land, the national outline, their names); links: per level,
    (text, URL with {code} and {parent}) for the popups; hidden_under: the public's threshold under
    which a count is not shown; focus: the area whose bounds the map opens on (else the layers').
    """
    config = {
        "kind": "areas",
        "title": title,
        "base": base,
        "layers": [_layer(layer) for layer in layers],
        "links": {level: [{"text": t, "href": h} for t, h in items] for level, items in links.items()},
        "hiddenUnder": hidden_under,
        "focus": focus,
        "heat": _heat_config(heat, heat_by_category),
    }
    return _render(assets, element_id, config, tiles, attribution, heat=bool(heat))


def markers_map(
    assets: dict,
    *,
    element_id: str,
    title: str,
    base: str,
    villages: AreaLayer,
    points: list,
    category_names: dict,
    status_names: dict,
    link: callable,
    links: dict[str, list[tuple[str, str]]],
    tiles: str = "",
    attribution: str = "",
) -> RenderedMap:
    """A commune: its named villages and its petitions as clustered markers coloured by status.

    A petition placed only by its village (no point) stands at the village's label point, drawn
    hollow and dashed, its popup saying the place is approximate.
    """
    markers = [
        {
            "lat": round(p.lat, 6),
            "lon": round(p.lon, 6),
            "title": str(p.title),
            "category": str(category_names.get(p.category_code, p.category_code)),
            "status": str(status_names.get(p.status, p.status)),
            "colour": STATUS_COLOURS.get(p.status, "#1d1d1f"),
            "href": link(p),
            "approximate": bool(p.approximate),
        }
        for p in points
    ]
    config = {
        "kind": "markers",
        "title": title,
        "base": base,
        "layers": [_layer(villages)],
        "links": {level: [{"text": t, "href": h} for t, h in items] for level, items in links.items()},
        "markers": markers,
        "statuses": [
            {"name": str(status_names[s]), "colour": colour}
            for s, colour in STATUS_COLOURS.items()
            if s in status_names
        ],
    }
    return _render(assets, element_id, config, tiles, attribution, cluster=True)


def _layer(layer: AreaLayer) -> dict:
    return {
        "level": layer.level,
        "files": layer.files,
        "counts": {code: list(value) for code, value in layer.counts.items()} if layer.counts is not None else None,
        "fromZoom": layer.from_zoom,
        "toZoom": layer.to_zoom,
        "labelsFrom": layer.labels_from,
        "shaded": layer.shaded,
    }


def _heat_config(cells: str | None, by_category: dict[str, str] | None) -> dict | None:
    if not cells:
        return None
    return {
        "radiusMetres": HEAT_RADIUS_M,
        "fromZoom": HEAT_FROM,
        "layers": [{"name": _("Mật độ kiến nghị (heatmap)"), "cells": _Raw(cells), "show": True}]
        + [
            {"name": _("Lĩnh vực: %(category)s", category=name), "cells": _Raw(c), "show": False}
            for name, c in (by_category or {}).items()
        ],
    }


class _Raw(str):
    """JSON text made by PostGIS (numbers only), placed into the settings as it is."""


def _json(value) -> str:
    """The settings as JSON safe inside <script> (jinja's htmlsafe escaping), raw JSON texts kept as they are."""
    raws: list[str] = []

    def mark(node):
        if isinstance(node, _Raw):
            raws.append(node)
            return f"\x00raw{len(raws) - 1}\x00"
        if isinstance(node, dict):
            return {k: mark(v) for k, v in node.items()}
        if isinstance(node, list):
            return [mark(v) for v in node]
        return node

    text = str(htmlsafe_json_dumps(mark(value), separators=(",", ":"), ensure_ascii=False))
    for index, raw in enumerate(raws):
        text = text.replace(f'"\\u0000raw{index}\\u0000"', raw)
    return text


def _render(
    assets: dict, element_id: str, config: dict, tiles: str, attribution: str, heat=False, cluster=False
) -> RenderedMap:
    config = {
        **config,
        "tiles": {"url": tiles, "attribution": attribution or " "} if tiles else None,
        "bounds": VIETNAM_BOUNDS,
        "communesFrom": COMMUNES_FROM,
        "texts": _texts(),
    }
    styles = [assets["leaflet.css"], *([assets["markercluster.css"], assets["markercluster.default.css"]] * cluster)]
    scripts = [assets["leaflet.js"], *([assets["leaflet-heat.js"]] * heat), *([assets["markercluster.js"]] * cluster)]
    scripts.append(assets["area-map.js"])
    header = "\n".join(f'<link rel="stylesheet" href="{escape(href)}">' for href in styles)
    body = (
        f'<div class="area-map" id="{escape(element_id)}" data-config="{escape(element_id)}-config"></div>'
        f'<script type="application/json" id="{escape(element_id)}-config">{_json(config)}</script>'
        + "".join(f'<script src="{escape(src)}" defer></script>' for src in scripts)
    )
    return RenderedMap(header, "", body, "")
