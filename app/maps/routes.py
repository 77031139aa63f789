"""Maps, reports and exports. Officers' routes count only their scope (app/services/aggregates.py)."""

from __future__ import annotations

from flask import abort, current_app, redirect, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app import params
from app.extensions import db
from app.maps import area_maps, boundary_files, bp
from app.maps.forms import MapFilterForm
from app.models.petition import STATUS_NAMES
from app.queries.areas import area_by_code
from app.queries.exports import export_rows
from app.queries.report_stats import count, on_time_share, summary
from app.queries.selection import Selection
from app.services import aggregates, categories, export_jobs, exports, map_counts, workflow
from app.standby import reads_standby
from app.storage import current_storage


def _assets() -> dict:
    static = lambda path: url_for("static", filename=path)  # noqa: E731
    return {
        "leaflet.js": static("vendor/leaflet/leaflet.js"),
        "leaflet.css": static("vendor/leaflet/leaflet.css"),
        "leaflet-heat.js": static("vendor/leaflet.heat/leaflet-heat.js"),
        "markercluster.js": static("vendor/leaflet.markercluster/leaflet.markercluster.js"),
        "markercluster.css": static("vendor/leaflet.markercluster/MarkerCluster.css"),
        "markercluster.default.css": static("vendor/leaflet.markercluster/MarkerCluster.Default.css"),
        "area-map.js": static("js/area-map.js"),
    }


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
@reads_standby
def officer_map():
    """The officer's map: a commune's petitions, a province's heatmap and choropleth, or the country."""
    form = _form()
    province = _area(params.single(request.args, "province"), "province")
    sel = aggregates.selection_from_args(current_user, request.args)
    names = dict(categories.choices())
    if current_user.role == "commune":
        rendered = _commune_markers(sel, current_user.area, names)
        title = current_user.area.full_name
    else:
        province = province or (current_user.area if current_user.role == "province" else None)
        commune = _area(params.single(request.args, "commune"), "commune")
        if commune is not None and (province is None or commune.parent_id != province.id):
            abort(404)
        rendered, title = _area_map(sel, province, commune, names)
    return render_template("maps/officer_map.html", map=rendered, form=form, title=title)


def _commune_markers(sel, commune, names):
    """A commune's villages and its petitions as markers, each linking to the officer's petition page."""
    return area_maps.markers_map(sel, commune, names, STATUS_NAMES, assets=_assets())


def _area_map(sel, province, commune, names):
    """An officer's area map (the country, a province or a commune's villages) and its title."""
    rendered = area_maps.area_map(sel, province, commune, names, assets=_assets())
    title = commune.full_name if commune else (province.full_name if province else _("Toàn quốc"))
    return rendered, title


SORTS = ("name", "count", "per_1000")


@bp.get("/map")
@reads_standby
def public_map():
    """What each commune raises: aggregates only, small counts hidden; without JavaScript a table."""
    form = _form()
    province = _area(params.single(request.args, "province"), "province")
    sort = params.parse_choice(request.args, "sort", SORTS) or "name"
    direction = params.parse_choice(request.args, "dir", ("asc", "desc")) or ("asc" if sort == "name" else "desc")
    args = request.args.copy()
    args.poplist("status")  # the public map counts every status
    sel = aggregates.selection_from_args(None, args)
    generation, _name, edition = boundary_files.current()
    counts = map_counts.public(sel, province, f"{generation}.{edition}")  # the map and its table share them
    rendered = area_maps.area_map(
        sel, province, None, {}, counts=counts, public=True, element_id="public-map", assets=_assets()
    )
    rows = area_maps.public_table(counts, province, sort, direction == "desc")
    return render_template(
        "maps/public_map.html",
        map=rendered,
        form=form,
        province=province,
        rows=rows,
        sort=sort,
        direction=direction,
        filters=params.kept(request.args, ("category", "since", "until", "week")),
        min_count=aggregates.PUBLIC_MIN_COUNT,
    )


@bp.get("/scorecard/<code>")
@reads_standby
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
@reads_standby
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
@reads_standby
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
