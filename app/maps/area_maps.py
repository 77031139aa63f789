"""The area maps' data: counts per area, what each popup links to, the public map's table.

The boundaries come from their own cacheable files (app/maps/boundary_files.py);
counts depend on who asks and on the filters, so they come inline with each
page — the public's shared for a few minutes (app/services/map_counts.py).
"""

from __future__ import annotations

from flask import current_app, url_for
from flask_babel import gettext as _

from app.maps import builders
from app.maps.boundary_files import file_url
from app.queries.map_layers import heat_cells, heat_cells_by_category, petition_points
from app.services import aggregates, map_counts
from app.services.map_counts import MapCounts
from app.text import fold

HEAT_CELL_DEG = 0.005  # ~550 m: the heatmap shows places, never a single house
CATEGORY_HEAT_CELL_DEG = 0.01


# ---------------------------------------------------------------- counts


def _per_1000(n: int | None, population: int | None) -> float | None:
    return round(1000 * n / population, 2) if n is not None and population else None


def counts_of(rows, public: bool) -> dict[str, tuple[int | None, float | None]]:
    """code → (count, per 1,000): for the public, a count under the threshold is None (absent here)."""
    counts = {}
    for code, _name, _parent, n, population in rows:
        shown = aggregates.public_count(n) if public else n
        if public and shown is None:
            continue  # absent: "fewer than the threshold", like a 0
        counts[code] = (shown, _per_1000(shown, population))
    return counts


def province_counts(province_rows, commune_rows, public: bool) -> dict:
    """Per province: for the public, the sum of its communes' shown counts (so no hidden count can be
    worked out by subtracting), itself hidden under the threshold; for officers, its own count."""
    if not public:
        return counts_of(province_rows, public=False)
    sums: dict[str, int] = {}
    for _code, _name, parent, n, _population in commune_rows:
        shown = aggregates.public_count(n)
        if shown is not None:
            sums[parent] = sums.get(parent, 0) + shown
    return counts_of(
        [(code, name, parent, sums.get(code, 0), population) for code, name, parent, _n, population in province_rows],
        public=True,
    )


# ---------------------------------------------------------------- maps


def _links(public: bool, province=None) -> dict[str, list[tuple[str, str]]]:
    """Per level, what an area's popup links to; {code} and {parent} are filled in by the page.
    On a province's public map its communes do not link to the page itself."""
    code, parent = "__code__", "__parent__"

    def fill(url: str) -> str:
        return url.replace(code, "{code}").replace(parent, "{parent}")

    if public:
        return {
            "province": [(_("Xem các xã, phường của tỉnh"), fill(url_for("maps.public_map", province=code)))],
            "commune": [
                (_("Kết quả giải quyết của xã (bảng điểm)"), fill(url_for("maps.scorecard", code=code))),
            ]
            + (
                []
                if province is not None
                else [(_("Phóng to tỉnh, thành phố này"), fill(url_for("maps.public_map", province=parent)))]
            ),
        }
    return {
        "province": [
            (_("Bản đồ tỉnh, thành phố"), fill(url_for("maps.officer_map", province=code))),
            (_("Báo cáo của tỉnh, thành phố"), fill(url_for("maps.report", province=code))),
        ],
        "commune": [
            (_("Bản đồ các thôn của xã"), fill(url_for("maps.officer_map", province=parent, commune=code))),
            (_("Báo cáo của tỉnh, thành phố"), fill(url_for("maps.report", province=parent))),
            (_("Kết quả giải quyết của xã (bảng điểm)"), fill(url_for("maps.scorecard", code=code))),
        ],
        "village": [(_("Hộp kiến nghị của thôn"), fill(url_for("officer.inbox_page", village=code)))],
    }


def area_map(
    sel,
    province,
    commune,
    names,
    *,
    counts: MapCounts | None = None,
    public: bool = False,
    element_id: str = "area-map",
    assets: dict,
):
    """The map of the country (provinces, then communes as one zooms in), a province's communes or a
    commune's villages, shaded by the selection's counts (counted here unless given); heat at province
    and commune zooms only."""
    counts = counts or map_counts.of(sel, province, commune, public=public)
    base = file_url("province", "all", "coarse")
    if commune is not None:
        layers = [
            builders.AreaLayer(
                "village",
                {commune.code: file_url("village", commune.code, "fine")},
                counts_of(counts.villages, public),
                labels_from=11,
            ),
        ]
        focus = commune.code
    elif province is not None:
        layers = [
            builders.AreaLayer(
                "commune",
                {province.code: file_url("commune", province.code, "fine")},
                counts_of(counts.communes, public),
                labels_from=8,
            ),
        ]
        focus = province.code
    else:
        layers = [
            builders.AreaLayer(
                "province",
                {"all": base},
                province_counts(counts.provinces, counts.communes, public),
                to_zoom=builders.COMMUNES_FROM - 1,
            ),
            builders.AreaLayer(
                "commune",
                {code: file_url("commune", code, "fine") for code, *_ in counts.provinces},
                counts_of(counts.communes, public),
                from_zoom=builders.COMMUNES_FROM,
                labels_from=9,
            ),
        ]
        focus = None
    heat, by_category = None, {}
    if province is not None and not public:  # heat means something at province and commune zooms only
        heat = heat_cells(sel, HEAT_CELL_DEG)
        if names:
            cells = heat_cells_by_category(sel, CATEGORY_HEAT_CELL_DEG)
            by_category = {name: cells[code] for code, name in names.items() if code in cells}
    return builders.area_map(
        assets,
        element_id=element_id,
        title=_("Kiến nghị — %(area)s", area=_area_name(province, commune)),
        base=base,
        layers=layers,
        links=_links(public, province),
        hidden_under=aggregates.PUBLIC_MIN_COUNT if public else None,
        heat=heat,
        heat_by_category=by_category,
        focus=focus,
        **tiles(),
    )


def markers_map(sel, commune, names, status_names, *, assets: dict, element_id: str = "area-map"):
    """A commune's named villages and its petitions as markers linking to the officer's petition page."""
    villages = map_counts.of(sel, None, commune).villages
    return builders.markers_map(
        assets,
        element_id=element_id,
        title=_("Kiến nghị — %(area)s", area=commune.full_name),
        base=file_url("province", "all", "coarse"),
        villages=builders.AreaLayer(
            "village",
            {commune.code: file_url("village", commune.code, "fine")},
            counts_of(villages, False),
            labels_from=11,
            shaded=False,
        ),
        points=petition_points(sel),
        category_names=names,
        status_names=status_names,
        link=lambda p: url_for("officer.petition", petition_id=p.id),
        links=_links(False),
        **tiles(),
    )


def tiles() -> dict:
    return {"tiles": current_app.config["TILE_URL"], "attribution": current_app.config["TILE_ATTRIBUTION"]}


def _area_name(province, commune) -> str:
    if commune is not None:
        return commune.full_name
    return province.full_name if province is not None else _("Toàn quốc")


def public_table(counts: MapCounts, province, sort: str, descending: bool) -> list[dict]:
    """The public map as a table: a province's communes, or the country's provinces (their shown sums).

    Rows: code, name, count and per_1000 (None when hidden), link (the commune's scorecard, the province's
    map); sorted by name, count or per_1000, hidden counts below every shown one. From the same counts as
    the map above it.
    """
    if province is not None:
        rows = counts.communes
        shown = counts_of(rows, public=True)
        link = lambda code: url_for("maps.scorecard", code=code)  # noqa: E731
    else:
        rows = counts.provinces
        shown = province_counts(rows, counts.communes, public=True)
        link = lambda code: url_for("maps.public_map", province=code)  # noqa: E731
    table = [
        {
            "code": code,
            "name": name,
            "count": shown.get(code, (None, None))[0],
            "per_1000": shown.get(code, (None, None))[1],
            "link": link(code),
        }
        for code, name, *_ in rows
    ]
    if sort == "name":
        table.sort(key=lambda r: fold(r["name"]), reverse=descending)
    else:
        table.sort(key=lambda r: fold(r["name"]))
        table.sort(key=lambda r: -1 if r[sort] is None else r[sort], reverse=descending)
    return table
