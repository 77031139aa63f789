"""The area maps' data: boundary files under cacheable URLs, counts per area, what each popup links to.

Boundaries are served once per boundary generation, level and detail from
`/geo/<generation>/<edition>/<level>/<parent code|all>-<detail>.json`: the
same bytes for every viewer (geometry, codes, names, label points; no
count), cached by browsers and proxies for a year (`immutable`) with an
ETag. The edition changes when the generation's areas are written again,
so a re-import gets new URLs. Only the current generation is served: an old
or unknown one, edition or parent is a 404 (JSON). Counts depend on who
asks and on the filters, so they come inline with each page.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from threading import Lock

from flask import abort, current_app, g, request, url_for
from flask_babel import gettext as _

from app.maps import bp, builders, geo
from app.queries.areas import boundary_edition, boundary_rows, current_generation
from app.queries.map_layers import area_counts, heat_cells, heat_cells_by_category, petition_points
from app.services import aggregates
from app.text import fold

HEAT_CELL_DEG = 0.005  # ~550 m: the heatmap shows places, never a single house
CATEGORY_HEAT_CELL_DEG = 0.01
CACHE_FOREVER = "public, max-age=31536000, immutable"
_FILE_NAME = re.compile(r"(all|[0-9]{2,8})-(coarse|fine)")
# Which files exist: the provinces of the country; a province's communes (and the country's, coarse); a
# commune's villages.
_SHAPES = {("province", "all"), ("commune", "all"), ("commune", "parent"), ("village", "parent")}


class _Files:
    """The boundary files a process has made, newest used kept (a national file is about 1 MB)."""

    def __init__(self, size: int = 96):
        self.size, self.files, self.lock = size, OrderedDict(), Lock()

    def get(self, key, make):
        with self.lock:
            if key in self.files:
                self.files.move_to_end(key)
                return self.files[key]
        made = make()
        with self.lock:
            self.files[key] = made
            while len(self.files) > self.size:
                self.files.popitem(last=False)
        return made


_files = _Files()


@bp.get("/geo/<generation>/<edition>/<any(province, commune, village):level>/<name>.json")
def boundary_file(generation: str, edition: str, level: str, name: str):
    """A boundary file: one level's areas (a parent's children, or all) at one detail; no counts."""
    current = _current()
    match = _FILE_NAME.fullmatch(name)
    if current is None or (generation, edition) != (current[1], current[2]) or match is None:
        abort(404)
    parent, detail = match.groups()
    if (level, "all" if parent == "all" else "parent") not in _SHAPES or (level == "village" and detail != "fine"):
        abort(404)
    key = (current[0], edition, level, parent, detail)

    def make():
        rows = boundary_rows(current[0], level, None if parent == "all" else parent, detail)
        return None if rows is None else geo.encode(rows, detail)

    made = _files.get(key, make)
    if made is None:
        abort(404)
    response = current_app.response_class(made.body, mimetype="application/json")
    response.set_etag(made.etag)
    response.headers["Cache-Control"] = CACHE_FOREVER
    return response.make_conditional(request)


def _current() -> tuple[int, str, str] | None:
    """The current generation (id, name) and its edition, once per request."""
    if "boundary_generation" not in g:
        found = current_generation()
        g.boundary_generation = (*found, str(boundary_edition(found[0]))) if found else None
    return g.boundary_generation


def file_url(level: str, parent: str, detail: str) -> str:
    """Where a boundary file of the current generation is served."""
    _id, name, edition = _current()
    return url_for("maps.boundary_file", generation=name, edition=edition, level=level, name=f"{parent}-{detail}")


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


def _links(public: bool) -> dict[str, list[tuple[str, str]]]:
    """Per level, what an area's popup links to; {code} and {parent} are filled in by the page."""
    code, parent = "__code__", "__parent__"

    def fill(url: str) -> str:
        return url.replace(code, "{code}").replace(parent, "{parent}")

    if public:
        return {
            "province": [(_("Xem các xã, phường của tỉnh"), fill(url_for("maps.public_map", province=code)))],
            "commune": [
                (_("Kết quả giải quyết của xã (bảng điểm)"), fill(url_for("maps.scorecard", code=code))),
                (_("Phóng to tỉnh, thành phố này"), fill(url_for("maps.public_map", province=parent))),
            ],
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


def area_map(sel, province, commune, names, *, public: bool = False, element_id: str = "area-map", assets: dict):
    """The map of the country (provinces, then communes as one zooms in), a province's communes or a
    commune's villages, shaded by the selection's counts; heat at province and commune zooms only."""
    base = file_url("province", "all", "coarse")
    provinces = area_counts("province", None, sel)
    if commune is not None:
        villages = area_counts("village", commune.id, sel)
        layers = [
            builders.AreaLayer(
                "village",
                {commune.code: file_url("village", commune.code, "fine")},
                counts_of(villages, public),
                labels_from=11,
            ),
        ]
        focus = commune.code
    elif province is not None:
        communes = area_counts("commune", province.id, sel)
        layers = [
            builders.AreaLayer(
                "commune",
                {province.code: file_url("commune", province.code, "fine")},
                counts_of(communes, public),
                labels_from=8,
            ),
        ]
        focus = province.code
    else:
        communes = area_counts("commune", None, sel)
        layers = [
            builders.AreaLayer(
                "province",
                {"all": base},
                province_counts(provinces, communes, public),
                to_zoom=builders.COMMUNES_FROM - 1,
            ),
            builders.AreaLayer(
                "commune",
                {code: file_url("commune", code, "fine") for code, *_ in provinces},
                counts_of(communes, public),
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
        links=_links(public),
        hidden_under=aggregates.PUBLIC_MIN_COUNT if public else None,
        heat=heat,
        heat_by_category=by_category,
        focus=focus,
        **tiles(),
    )


def markers_map(sel, commune, names, status_names, *, assets: dict, element_id: str = "area-map"):
    """A commune's named villages and its petitions as markers linking to the officer's petition page."""
    villages = area_counts("village", commune.id, sel)
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


def public_table(sel, province, sort: str, descending: bool) -> list[dict]:
    """The public map as a table: a province's communes, or the country's provinces (their shown sums).

    Rows: code, name, count and per_1000 (None when hidden), link (the commune's scorecard, the province's
    map); sorted by name, count or per_1000, hidden counts below every shown one.
    """
    if province is not None:
        rows = area_counts("commune", province.id, sel)
        counts = counts_of(rows, public=True)
        link = lambda code: url_for("maps.scorecard", code=code)  # noqa: E731
    else:
        rows = area_counts("province", None, sel)
        counts = province_counts(rows, area_counts("commune", None, sel), public=True)
        link = lambda code: url_for("maps.public_map", province=code)  # noqa: E731
    table = [
        {
            "code": code,
            "name": name,
            "count": counts.get(code, (None, None))[0],
            "per_1000": counts.get(code, (None, None))[1],
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
