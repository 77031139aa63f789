"""Maps, reports and exports. Officers' routes count only their scope (app/services/aggregates.py)."""

from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import params
from app.extensions import db
from app.maps import bp, builders
from app.maps.forms import MapFilterForm
from app.models.petition import STATUS_NAMES
from app.queries.areas import area_by_code, boundaries
from app.queries.exports import export_rows
from app.queries.map_layers import choropleth, heat_cells, heat_cells_by_category, petition_points
from app.queries.report_stats import count, on_time_share, summary
from app.queries.selection import Selection
from app.services import aggregates, categories, export_jobs, exports, workflow
from app.storage import current_storage

HEAT_CELL_DEG = 0.005  # ~550 m: the heatmap shows places, never a single house
CATEGORY_HEAT_CELL_DEG = 0.01


def _assets() -> dict:
    static = lambda path: url_for("static", filename=path)  # noqa: E731
    return {
        "leaflet.js": static("vendor/leaflet/leaflet.js"),
        "leaflet.css": static("vendor/leaflet/leaflet.css"),
        "leaflet-heat.js": static("vendor/leaflet.heat/leaflet-heat.js"),
        "jquery.js": static("vendor/jquery/jquery.min.js"),
        "markercluster.js": static("vendor/leaflet.markercluster/leaflet.markercluster.js"),
        "markercluster.css": static("vendor/leaflet.markercluster/MarkerCluster.css"),
        "markercluster.default.css": static("vendor/leaflet.markercluster/MarkerCluster.Default.css"),
    }


def _tiles() -> dict:
    return {"tiles": current_app.config["TILE_URL"], "attribution": current_app.config["TILE_ATTRIBUTION"]}


def _form() -> MapFilterForm:
    form = MapFilterForm(request.args)
    form.category.choices = [("", _("— Mọi lĩnh vực —")), *categories.choices()]
    return form


def _area(code: str | None, level: str):
    if not code:
        return None
    area = area_by_code(code)
    if area is None or area.level != level:
        abort(404)
    return area


@bp.get("/officer/map")
@login_required
def officer_map():
    """The officer's map: a commune's petitions, a province's heatmap and choropleth, or the country."""
    form = _form()
    province = _area(params.single(request.args, "province"), "province")
    sel = aggregates.selection_from_args(current_user, request.args)
    names = dict(categories.choices())
    if current_user.role == "commune":
        rendered = _commune_markers(sel, current_user.area, names)
        title = f"{current_user.area.unit_type} {current_user.area.name}"
    else:
        province = province or (current_user.area if current_user.role == "province" else None)
        commune = _area(params.single(request.args, "commune"), "commune")
        if commune is not None and (province is None or commune.parent_id != province.id):
            abort(404)
        rendered, title = _area_map(sel, province, commune, names)
    return render_template("maps/officer_map.html", map=rendered, form=form, title=title)


def _commune_markers(sel, commune, names):
    """A commune's villages and its petitions as markers, each linking to the officer's petition page."""
    return builders.markers_map(
        _assets(),
        boundaries(commune),
        petition_points(sel),
        category_names=names,
        status_names=STATUS_NAMES,
        **_tiles(),
        link=lambda p: url_for("officer.petition", petition_id=p.id),
    )


def _area_map(sel, province, commune, names):
    coarser = None
    if commune is not None:  # one commune's villages
        collection = choropleth("village", commune.id, sel)
        title = f"{commune.unit_type} {commune.name}"
    elif province is not None:
        collection = choropleth("commune", province.id, sel, detail="fine")
        title = f"{province.unit_type} {province.name}"
    else:  # the country, by commune, with coarse shapes; provinces as a second layer
        collection = choropleth("commune", None, sel, detail="coarse")
        title = _("Toàn quốc")
        coarser = choropleth("province", None, sel, detail="coarse")
    heat = heat_cells(sel, HEAT_CELL_DEG if province else HEAT_CELL_DEG * 4)
    by_category = {}
    if province is not None and names:  # the report's map draws no category layers
        cells = heat_cells_by_category(sel, CATEGORY_HEAT_CELL_DEG)
        by_category = {name: cells[code] for code, name in names.items() if code in cells}
    rendered = builders.area_map(
        _assets(),
        collection,
        title=_("Kiến nghị — %(area)s", area=title),
        heat=heat,
        heat_by_category=by_category,
        coarser=coarser,
        per_capita=province is not None,  # the national map keeps one copy of 3,321 communes
        **_tiles(),
    )
    return rendered, title


@bp.get("/map")
def public_map():
    """What each commune raises: aggregates only — no points, no text, small counts hidden."""
    form = _form()
    province = _area(params.single(request.args, "province"), "province")
    args = request.args.copy()
    args.poplist("status")  # the public map counts every status
    sel = aggregates.selection_from_args(None, args)
    if province is not None:
        collection = choropleth("commune", province.id, sel, detail="fine")
    else:
        collection = choropleth("commune", None, sel, detail="coarse")
    rendered = builders.area_map(
        _assets(),
        aggregates.public_collection(collection),
        title=_("Kiến nghị theo xã, phường"),
        per_capita=True,
        **_tiles(),
    )
    return render_template(
        "maps/public_map.html", map=rendered, form=form, province=province, min_count=aggregates.PUBLIC_MIN_COUNT
    )


@bp.get("/scorecard/<code>")
def scorecard(code: str):
    """A commune's public scorecard: answered on time, median days to answer, satisfaction."""
    commune = _area(code, "commune")
    sel = Selection(assigned_area_id=commune.id)
    return render_template(
        "maps/scorecard.html",
        commune=commune,
        summary=summary(sel),
        on_time=on_time_share(sel),
        channels=aggregates.public_channels(sel),
        min_count=aggregates.PUBLIC_MIN_COUNT,
    )


@bp.get("/officer/report")
@login_required
def report():
    """A provincial (or commune, or national) report for a period, printable on A4."""
    form = _form()
    province = _area(params.single(request.args, "province"), "province")
    sel = aggregates.selection_from_args(current_user, request.args)
    if current_user.role == "commune":
        level, area = "commune", current_user.area
    elif current_user.role == "province" or province is not None:
        level, area = "province", province or current_user.area
    else:
        level, area = "country", None
    numbers = aggregates.report(sel, level)
    names = dict(categories.choices())
    if level == "commune":
        rendered = _commune_markers(sel, area, names)
    else:
        rendered, _ = _area_map(sel, area, None, {})
    return render_template(
        "maps/report.html",
        form=form,
        area=area,
        level=level,
        numbers=numbers,
        map=rendered,
        period=aggregates.period_from_args(request.args),
        filters=params.kept(request.args, aggregates.FILTERS),
    )


@bp.get("/officer/export.<fmt>")
@login_required
def export(fmt: str):
    """Export the selection as CSV or GeoJSON; personal data only for roles that may see it (audited).

    A large selection is built by an RQ job; the officer follows its progress and downloads the file.
    """
    if fmt not in exports.FORMATS:
        abort(404)
    sel = aggregates.selection_from_args(current_user, request.args)
    with_contact = params.parse_flag(request.args, "contact") and current_user.sees_personal_data
    filters = params.kept(request.args, aggregates.FILTERS)
    if with_contact:
        workflow.record(None, current_user, "exported_contact", data={"filters": filters})
        db.session.commit()
    if count(sel) > current_app.config["EXPORT_SYNC_MAX"]:
        job = export_jobs.start(current_user.id, filters, fmt, with_contact)
        return redirect(url_for(".export_progress", job_id=job.id), 303)
    chunks = exports.chunks(fmt, export_rows(sel, with_contact), with_contact)
    return _download(stream_with_context(chunks), fmt)


def _download(body, fmt: str):
    response = current_app.response_class(body, mimetype=exports.FORMATS[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="kien-nghi.{fmt}"'
    return response


@bp.get("/officer/exports/<job_id>")
@login_required
def export_progress(job_id: str):
    """How far a large export has come; the download link once it is ready."""
    job = export_jobs.find(job_id, current_user.id) or abort(404)
    return render_template("maps/export_progress.html", job=job)


@bp.get("/officer/exports/<job_id>/file")
@login_required
def export_file(job_id: str):
    """Download a finished export (only its owner may)."""
    job = export_jobs.find(job_id, current_user.id) or abort(404)
    if job.key is None:
        abort(404)
    return _download(current_storage().get(job.key), job.fmt)
