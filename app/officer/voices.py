"""Bursts of voices flagged to officers: the list, a flag's preview, invalidate or keep.

Flags are found through the officer's scope (app/services/voice_flags.py):
a flag on a petition outside it is not found (404). Provincial and central
staff decide; a commune officer of the petition's inbox may only look (403
on a decision).
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import InputRequired, NumberRange

from app.officer import bp
from app.services import voice_flags


class InvalidateForm(FlaskForm):
    """What the officer previewed: invalidating applies to exactly that batch."""

    voices = IntegerField(validators=[InputRequired(), NumberRange(min=0, max=2**31 - 1)])
    upto = IntegerField(validators=[InputRequired(), NumberRange(min=0, max=2**63 - 1)])


def _flag(flag_id: int):
    return voice_flags.flag_for(current_user, flag_id) or abort(404)


def _deciding(flag_id: int):
    flag = _flag(flag_id)
    if not voice_flags.may_decide(current_user):
        abort(403)
    return flag


@bp.get("/voices")
def voices():
    """List the open bursts of voices on the officer's petitions."""
    return render_template("officer/voices.html", flags=voice_flags.open_flags(current_user))


@bp.get("/voices/<int:flag_id>")
def voice_flag(flag_id: int):
    """Preview a flagged burst: how many voices, when, the supporters before and after."""
    return _preview_page(_flag(flag_id))


def _preview_page(flag, form: InvalidateForm | None = None, status: int = 200):
    preview = voice_flags.preview(flag)
    form = form or InvalidateForm(data={"voices": preview.voices, "upto": preview.upto})
    return render_template(
        "officer/voices_flag.html", preview=preview, form=form, may_decide=voice_flags.may_decide(current_user)
    ), status


@bp.post("/voices/<int:flag_id>/invalidate")
def invalidate_voices(flag_id: int):
    """Stop counting the previewed batch; supporters drop by as many; one audit row."""
    flag = _deciding(flag_id)
    form = InvalidateForm()
    if not form.validate_on_submit():
        return _preview_page(flag, status=422)
    try:
        count = voice_flags.invalidate(flag, current_user, voices=form.voices.data, upto=form.upto.data)
    except voice_flags.BatchChanged:
        flash(_("Đợt ý kiến này đã thay đổi từ khi bạn xem. Hãy xem lại trước khi quyết định."), "error")
        return _preview_page(_flag(flag_id), status=409)
    flash(_("Đã hủy %(count)s ý kiến ủng hộ.", count=count), "success")
    return redirect(url_for(".voice_flag", flag_id=flag_id), 303)


@bp.post("/voices/<int:flag_id>/dismiss")
def dismiss_voices(flag_id: int):
    """Keep the batch's voices: the burst was genuine."""
    flag = _deciding(flag_id)
    form = FlaskForm()
    if not form.validate_on_submit():
        return _preview_page(flag, status=422)
    try:
        voice_flags.dismiss(flag, current_user)
    except voice_flags.BatchChanged:
        flash(_("Đợt ý kiến này đã được xử lý."), "error")
        return _preview_page(_flag(flag_id), status=409)
    flash(_("Đã giữ các ý kiến ủng hộ này."), "success")
    return redirect(url_for(".voice_flag", flag_id=flag_id), 303)
