"""The village register's pages: a commune's villages, uploading a list, its preview, history, export, progress."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm

from app import params
from app.extensions import db
from app.models import Area
from app.officer import bp
from app.queries.areas import area_by_code
from app.services import village_lists
from app.services import village_register as register
from app.services.village_files import FileRefused, read_list, read_shapes, write_csv, write_xlsx

ACTIONS = {
    "added": _l("Thêm"),
    "renamed": _l("Đổi tên"),
    "retyped": _l("Đổi loại"),
    "moved": _l("Đổi vị trí"),
    "population": _l("Đổi dân số"),
    "unchanged": _l("Không đổi"),
    "removed": _l("Bỏ khỏi sổ"),
    "merged": _l("Gộp"),
    "split": _l("Tách"),
}
SOURCES = {"derived": _l("Có điểm"), "surveyed": _l("Có ranh giới"), "none": _l("Chưa có vị trí")}


def _checked_form() -> None:
    if not FlaskForm().validate_on_submit():  # the CSRF token
        abort(400)


def _area(arg: str, level: str) -> Area | None:
    code = params.parse_text(request.args, arg, 8) or request.form.get(arg, "")[:8]
    if not code:
        return None
    area = area_by_code(code)
    if area is None or area.level != level or not register.may_read(current_user, area):
        abort(404)
    return area


def _province() -> Area | None:
    if current_user.role in ("province", "commune"):
        return current_user.area if current_user.role == "province" else current_user.area.parent
    return _area("province", "province")


@bp.get("/villages/")
def village_register():
    """A commune's villages (chosen among the officer's), with the upload form and the changes they may make."""
    province = _province()
    communes = register.communes_of(current_user, province)
    commune = _area("commune", "commune") or (communes[0] if current_user.role == "commune" else None)
    if commune is not None and province is not None and commune.parent_id != province.id:
        abort(404)
    villages = register.villages_of(commune) if commune else []
    may_upload = current_user.role == "province" or (
        current_user.role == "commune" and register.communes_may_upload(province.id)
    )
    return render_template(
        "officer/villages.html",
        province=province,
        communes=communes,
        commune=commune,
        villages=villages,
        may_edit=commune is not None and register.may_edit(current_user, commune),
        may_upload=may_upload,
        communes_may_upload=province is not None and register.communes_may_upload(province.id),
        unit_types=register.UNIT_TYPES,
        sources=SOURCES,
    )


@bp.post("/villages/upload")
def village_upload():
    """Read an uploaded list (and its polygons) and keep it for the preview; the register is not changed."""
    _checked_form()
    try:
        scope = village_lists.Scope.of(current_user)
    except village_lists.ListRefused:
        abort(403)
    if current_user.role == "commune" and not register.communes_may_upload(scope.province_id):
        abort(403)
    listed = request.files.get("file")
    if listed is None or not listed.filename:
        flash(_("Hãy chọn tệp danh sách (CSV hoặc Excel)."), "error")
        return redirect(url_for(".village_register"), 303)
    try:
        lines = read_list(listed.filename, listed.read())
        polygons = request.files.get("shapes")
        shapes = read_shapes(polygons.read()) if polygons is not None and polygons.filename else []
    except FileRefused as refused:
        flash(str(refused.args[0]), "error")
        return redirect(url_for(".village_register"), 303)
    upload = village_lists.keep(current_user, listed.filename, lines, shapes)
    db.session.commit()
    return redirect(url_for(".village_upload_preview", upload_id=upload.id), 303)


def _upload(upload_id: int):
    upload = village_lists.upload_for(current_user, upload_id)
    if upload is None:
        abort(404)
    return upload


@bp.get("/villages/uploads/<int:upload_id>")
def village_upload_preview(upload_id: int):
    """What applying the list would do, line by line, and every problem with its line number."""
    upload = _upload(upload_id)
    plan = village_lists.replan(upload) if upload.status == "pending" else None
    return render_template("officer/village_upload.html", upload=upload, plan=plan, actions=ACTIONS)


@bp.post("/villages/uploads/<int:upload_id>/apply")
def village_upload_apply(upload_id: int):
    """Apply the whole list in one transaction, or nothing of it."""
    _checked_form()
    upload = _upload(upload_id)
    try:
        village_lists.apply(upload, current_user)
    except (village_lists.ListRefused, register.RegisterRefused) as refused:
        db.session.rollback()
        flash(str(refused.args[0]), "error")
        return redirect(url_for(".village_upload_preview", upload_id=upload_id), 303)
    db.session.commit()
    summary = upload.summary
    flash(
        _(
            "Đã áp dụng danh sách: %(changes)s thay đổi ở %(communes)s xã, %(moved)s kiến nghị đang mở chuyển thôn.",
            changes=summary["changes"],
            communes=len(summary["communes"]),
            moved=summary["moved_petitions"],
        ),
        "success",
    )
    return redirect(url_for(".village_upload_preview", upload_id=upload_id), 303)


@bp.post("/villages/uploads/<int:upload_id>/discard")
def village_upload_discard(upload_id: int):
    _checked_form()
    village_lists.discard(_upload(upload_id))
    db.session.commit()
    flash(_("Đã huỷ danh sách; sổ thôn không thay đổi."), "success")
    return redirect(url_for(".village_register"), 303)


def _changed(action, *args):
    """Run a change of the register page; back to the commune's page with what happened."""
    _checked_form()
    try:
        result = action(current_user, *args)
    except register.RegisterRefused as refused:
        db.session.rollback()
        flash(str(refused.args[0]), "error")
        return None
    db.session.commit()
    return result


def _back(code: str):
    return redirect(url_for(".village_register", commune=code[:5]), 303)


@bp.post("/villages/<code>/rename")
def village_rename(code: str):
    if _changed(register.rename, code, request.form.get("name", ""), request.form.get("unit_type", "")) is not None:
        flash(_("Đã đổi tên."), "success")
    return _back(code)


@bp.post("/villages/<code>/merge")
def village_merge(code: str):
    """Merge a village into another: first the petitions that will move, then, confirmed, the merge."""
    into = request.form.get("into", "")
    confirmed = request.form.get("confirm") == "1"
    done = _changed(register.merge, code, into, confirmed)
    if done is None:
        return _back(code)
    if not confirmed:
        return _confirm(code, _("Gộp thôn, tổ dân phố"), done, {"into": into})
    flash(_("Đã gộp; %(n)s kiến nghị đang mở chuyển sang thôn được gộp vào.", n=done.moved), "success")
    return _back(code)


@bp.post("/villages/<code>/split")
def village_split(code: str):
    """Split a new village off one: first the petitions that will move, then, confirmed, the split."""
    try:
        lat, lon = float(request.form.get("lat", "")), float(request.form.get("lon", ""))
    except ValueError:
        flash(_("Vĩ độ, kinh độ phải là số (ví dụ 16.4637 và 107.5909)."), "error")
        return _back(code)
    name, unit = request.form.get("name", ""), request.form.get("unit_type", "")
    confirmed = request.form.get("confirm") == "1"
    done = _changed(register.split, code, name, unit, lat, lon, confirmed)
    if done is None:
        return _back(code)
    if not confirmed:
        fields = {"name": name, "unit_type": unit, "lat": request.form["lat"], "lon": request.form["lon"]}
        return _confirm(code, _("Tách thôn, tổ dân phố"), done, fields)
    flash(_("Đã tách thôn mới %(code)s; %(n)s kiến nghị đang mở chuyển sang.", code=done.code, n=done.moved), "success")
    return _back(code)


def _confirm(code: str, title: str, proposal, fields: dict):
    """The change and the open petitions it moves, for the officer to confirm (nothing written yet)."""
    db.session.rollback()
    return render_template(
        "officer/village_confirm.html",
        title=title,
        proposal=proposal,
        action=request.path,
        fields=fields,
        back=url_for(".village_register", commune=code[:5]),
    )


@bp.post("/villages/settings")
def village_settings():
    """Whether the province's communes may upload their own lists (provincial staff)."""
    if _changed(register.set_communes_may_upload, request.form.get("communes_may_upload") == "1") is not None:
        flash(_("Đã lưu."), "success")
    return redirect(url_for(".village_register"), 303)


@bp.get("/villages/export.csv", defaults={"fmt": "csv"})
@bp.get("/villages/export.xlsx", defaults={"fmt": "xlsx"})
def village_export(fmt: str):
    """The register of a commune, or of the whole province, in the columns an upload takes."""
    commune = _area("commune", "commune")
    communes = [commune] if commune else register.communes_of(current_user, _province())
    if not communes:
        abort(404)
    rows = register.register_rows(communes)
    name = f"so-thon-{(commune or _province() or communes[0]).code}.{fmt}"
    if fmt == "csv":
        body, mimetype = write_csv(rows), "text/csv; charset=utf-8"
    else:
        body, mimetype = write_xlsx(rows), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/villages/history")
def village_history():
    """Every change of the register of a commune (or of the officer's communes): who, when, which upload."""
    commune = _area("commune", "commune")
    communes = [commune] if commune else register.communes_of(current_user, _province())
    return render_template(
        "officer/village_history.html", commune=commune, changes=register.history(communes), actions=ACTIONS
    )


@bp.get("/villages/progress")
def village_progress():
    """Central staff: per province (or per commune of one), lists uploaded, villages, with a point, last update."""
    if current_user.role not in ("central", "admin"):
        abort(403)
    province = _area("province", "province")
    return render_template("officer/village_progress.html", province=province, rows=register.progress(province))
