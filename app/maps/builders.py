"""Map builders: plain data in, HTML out — no database; their own labels through gettext.

folium's defaults load Leaflet, jQuery, Bootstrap and Font Awesome from CDNs;
every builder here replaces them with the portal's own copies (the URLs
come in `assets`), so the maps work with no internet. Every citizen string
put into a popup is escaped here.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import folium
from branca.element import Element, Html
from flask_babel import gettext as _
from folium.plugins import HeatMap, MarkerCluster
from folium.template import Template

STATUS_COLOURS = {
    "received": "#1a5fb4",
    "accepted": "#8a4b00",
    "in_progress": "#c64600",
    "forwarded": "#6b3fa0",
    "resolved": "#2e7d32",
    "rejected": "#5a5a60",
    "merged": "#5a5a60",
}
# Sequential reds for counts (ColorBrewer Reds, 6 classes), light to dark.
SHADES = ["#fee5d9", "#fcbba1", "#fc9272", "#fb6a4a", "#de2d26", "#a50f15"]
VIETNAM_BOUNDS = [[8.2, 102.1], [23.4, 109.5]]
_INLINE = re.compile(r"<(script|style)>(.*?)</\1>", re.S)  # an inline block of folium's page header


@dataclass(frozen=True)
class RenderedMap:
    """The parts a page places: in <head> (links, and `style` in a <style>), the map, and `script` in a <script>.

    header and body hold no inline <script> or <style>: the page's
    Content-Security-Policy runs only the two blocks the template gives its nonce.
    """

    header: str
    style: str
    body: str
    script: str


def _new_map(
    assets: dict, tiles: str, attribution: str, bounds=None, height: str = "70vh", canvas: bool = True
) -> folium.Map:
    m = folium.Map(tiles=None, control_scale=True, height=height, prefer_canvas=canvas)
    m.options["maxZoom"] = 18  # without a tile layer Leaflet has no zoom limit, which clustering needs
    m.default_js = [("leaflet", assets["leaflet.js"])]
    m.default_css = [("leaflet_css", assets["leaflet.css"])]
    if tiles:
        folium.TileLayer(tiles=tiles, attr=attribution or " ", name=_("Nền bản đồ"), control=False).add_to(m)
    if bounds:
        m.fit_bounds(bounds)
    return m


def _render(m: folium.Map) -> RenderedMap:
    root = m.get_root()
    root.render()
    header = root.header.render()
    # folium's page-level settings would override the portal's page: its own
    # charset and a viewport that forbids zooming, and a full-height body.
    header = re.sub(r"<meta[^>]*>", "", header)
    header = re.sub(r"<style>\s*html, body \{.*?\}\s*</style>", "", header, flags=re.S)
    # folium's own CSS and settings (no citizen text) move to the nonced blocks.
    styles = [text for tag, text in _INLINE.findall(header) if tag == "style"]
    scripts = [text for tag, text in _INLINE.findall(header) if tag == "script"]
    header = re.sub(r"\n\s*\n", "\n", _INLINE.sub("", header))
    return RenderedMap(header, "\n".join(styles), root.html.render(), "\n".join([*scripts, root.script.render()]))


def _shade(value: float, breaks: list[float]) -> str:
    for index, upper in enumerate(breaks):
        if value <= upper:
            return SHADES[index]
    return SHADES[-1]


def _breaks(values: list[float]) -> list[float]:
    """Six classes by quantile of the non-zero values (0 gets its own lightest class)."""
    positive = sorted(v for v in values if v)
    if not positive:
        return [0.0] * len(SHADES)
    cuts = [
        positive[min(len(positive) - 1, round(len(positive) * q / (len(SHADES) - 1)))] for q in range(1, len(SHADES))
    ]
    return [0.0, *cuts]


def _legend(title: str, breaks: list[float], unit: str) -> Element:
    rows, seen = [], set()
    for index, colour in enumerate(SHADES):
        low = 0 if index == 0 else breaks[index - 1]
        high = breaks[index]
        if index and float(low).is_integer() and float(high).is_integer():
            low = low + 1  # counts: "1 – 17", then "18 – 22"
        label = "0" if index == 0 else (f"{low:g}" if low >= high else f"{low:g} – {high:g}")
        if label in seen or (index and (breaks[index] == 0 or low > high)):
            continue  # classes that collapse (few distinct counts) are shown once
        seen.add(label)
        rows.append(f'<div><span class="swatch" style="background:{colour}"></span>{html.escape(label)}</div>')
    return Element(
        f'<div class="map-legend" role="img" aria-label="{html.escape(title)}">'
        f"<strong>{html.escape(title)}</strong><br><small>{html.escape(unit)}</small>{''.join(rows)}</div>"
    )


def choropleth_layer(collection: dict, name: str, value: str, show: bool = True) -> tuple[folium.GeoJson, list]:
    """A GeoJSON layer shaded by a property (count or per_1000), and its class breaks."""
    values = [f["properties"].get(value) or 0 for f in collection["features"]]
    breaks = _breaks(values)
    layer = folium.GeoJson(
        collection,
        name=name,
        show=show,
        style_function=lambda f: {
            "fillColor": _shade(f["properties"].get(value) or 0, breaks),
            "color": "#5a5a60",
            "weight": 0.6,
            "fillOpacity": 0.75,
        },
        highlight_function=lambda f: {"weight": 2, "color": "#1d1d1f"},
        tooltip=folium.GeoJsonTooltip(
            fields=["name", "count", "per_1000"], aliases=["", _("Số kiến nghị"), _("Trên 1.000 dân")], localize=True
        )
        if collection["features"]
        else None,
    )
    return layer, breaks


def area_map(
    assets: dict,
    collection: dict,
    *,
    tiles: str = "",
    attribution: str = "",
    title: str,
    per_capita: bool = True,
    heat: str | None = None,
    heat_by_category: dict | None = None,
    bounds=None,
    coarser: dict | None = None,
) -> RenderedMap:
    """Areas shaded by their petition counts (and per 1,000 residents), with optional heat layers.

    coarser: the same counts for the level above (provinces under a national commune map).
    """
    m = _new_map(assets, tiles, attribution, bounds or _bounds_of(collection))
    layer, breaks = choropleth_layer(collection, _("Số kiến nghị"), "count")
    layer.add_to(m)
    if coarser is not None:
        choropleth_layer(coarser, _("Theo tỉnh, thành phố"), "count", show=False)[0].add_to(m)
    if per_capita:
        choropleth_layer(collection, _("Trên 1.000 dân"), "per_1000", show=False)[0].add_to(m)
    if heat:
        _heat(assets, heat, _("Mật độ kiến nghị (heatmap)"), show=True).add_to(m)
    for category, cells in (heat_by_category or {}).items():
        _heat(assets, cells, _("Lĩnh vực: %(category)s", category=category), show=False).add_to(m)
    m.get_root().html.add_child(_legend(title, breaks, _("số kiến nghị")))
    folium.LayerControl(collapsed=False).add_to(m)
    return _render(m)


class _HeatLayer(HeatMap):
    """folium's heat layer fed with the JSON text PostGIS made (numbers only), not rebuilt point by point."""

    _template = Template(
        """{% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.heatLayer({{ this.cells_json }}, {{ this.options|tojavascript }});
        {% endmacro %}"""
    )

    def __init__(self, cells_json: str, **options):
        super().__init__([], **options)
        self.cells_json = cells_json


def _heat(assets: dict, cells_json: str, name: str, show: bool) -> folium.FeatureGroup:
    group = folium.FeatureGroup(name=name, show=show)
    heat = _HeatLayer(cells_json, radius=14, blur=18, min_opacity=0.3)
    heat.default_js = [("leaflet-heat.js", assets["leaflet-heat.js"])]
    heat.add_to(group)
    return group


def markers_map(
    assets: dict,
    boundaries: dict,
    points: list,
    *,
    tiles: str = "",
    attribution: str = "",
    category_names: dict,
    status_names: dict,
    link: callable,
) -> RenderedMap:
    """A commune: its villages' boundaries and its petitions as clustered markers coloured by status."""
    m = _new_map(assets, tiles, attribution, _bounds_of(boundaries), canvas=False)  # markers to tap: SVG
    m.default_js = [*m.default_js, ("jquery", assets["jquery.js"])]  # folium builds popups with jQuery
    folium.GeoJson(
        boundaries,
        name=_("Thôn, tổ dân phố"),
        style_function=lambda f: {"color": "#b3161b", "weight": 1, "fillOpacity": 0.04},
        tooltip=folium.GeoJsonTooltip(fields=["name"], aliases=[""]) if boundaries["features"] else None,
    ).add_to(m)
    cluster = MarkerCluster(name=_("Kiến nghị"))
    cluster.default_js = [("markerclusterjs", assets["markercluster.js"])]
    cluster.default_css = [
        ("markerclustercss", assets["markercluster.css"]),
        ("markerclusterdefaultcss", assets["markercluster.default.css"]),
    ]
    for p in points:
        popup = (  # every citizen string escaped: a title is never markup
            f"<strong>{_popup_text(p.title)}</strong><br>"
            f"{_popup_text(category_names.get(p.category_code, p.category_code))} · "
            f"{_popup_text(status_names.get(p.status, p.status))}<br>"
            f'<a href="{_popup_text(link(p))}" target="_top">{_popup_text(_("Mở kiến nghị"))}</a>'
        )
        folium.CircleMarker(
            [p.lat, p.lon],
            radius=7,
            color=STATUS_COLOURS.get(p.status, "#1d1d1f"),
            fill=True,
            fill_opacity=0.9,
            popup=folium.Popup(Html(popup, script=True), max_width=260),
        ).add_to(cluster)
    cluster.add_to(m)
    legend = "".join(
        f'<div><span class="swatch round" style="background:{colour}"></span>{html.escape(str(status_names[s]))}</div>'
        for s, colour in STATUS_COLOURS.items()
        if s in status_names
    )
    heading = html.escape(_("Trạng thái"))
    m.get_root().html.add_child(Element(f'<div class="map-legend"><strong>{heading}</strong>{legend}</div>'))
    folium.LayerControl(collapsed=False).add_to(m)
    return _render(m)


def _popup_text(value) -> str:
    """Text for a marker popup: HTML-escaped, and inert in the JavaScript template literal
    (`…`) folium writes the popup into, where `, ${ and \\ would still act."""
    escaped = html.escape(str(value))
    return escaped.replace("\\", "&#92;").replace("`", "&#96;").replace("$", "&#36;")


def _bounds_of(collection: dict):
    xs, ys = [], []

    def walk(coords):
        if coords and isinstance(coords[0], (int, float)):
            xs.append(coords[0])
            ys.append(coords[1])
        else:
            for c in coords:
                walk(c)

    for feature in collection.get("features", []):
        if feature.get("geometry"):
            walk(feature["geometry"]["coordinates"])
    if not xs:
        return VIETNAM_BOUNDS
    return [[min(ys), min(xs)], [max(ys), max(xs)]]
