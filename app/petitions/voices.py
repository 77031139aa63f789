"""'Add my voice': a citizen stands behind a published petition, named by its public identifier.

The voter cookie is a long-lived random token set on the first voice; it is
what makes a voice count once per device (the server keeps only its keyed
hash). Rate limited per client address and per petition: see app/limits.py.
"""

from __future__ import annotations

from flask import abort, current_app, jsonify, render_template, request
from flask_babel import gettext as _

from app.errors import error_response, wants_json
from app.petitions import bp
from app.petitions.forms import SupportForm
from app.services import publication, voices

VOTER_COOKIE = "voter"
VOTER_COOKIE_DAYS = 400  # the longest a browser keeps a cookie; renewed by each voice


@bp.post("/p/<public_id>/support")
def support(public_id: str):
    """Add one more citizen's voice to a published, open petition — once per device."""
    petition = voices.target(public_id)
    if petition is None or not publication.is_published(petition):
        abort(404)  # an unpublished petition is not found: the public identifier grants nothing
    form = SupportForm()
    if not form.validate_on_submit():
        return error_response(422, "invalid", _("Không thể thêm ý kiến cho kiến nghị này."))
    token = request.cookies.get(VOTER_COOKIE)
    if not voices.valid_device_token(token):
        token = voices.new_device_token()
    try:
        voice = voices.add(petition, form.idempotency_key.data, voices.source_of(token, request.remote_addr))
    except voices.Closed:
        return error_response(422, "closed", _("Kiến nghị này đã khép lại, không nhận thêm ý kiến."))
    except voices.KeyReused:
        return error_response(422, "invalid", _("Không thể thêm ý kiến cho kiến nghị này."))
    except voices.NotPublished:
        abort(404)
    message = (
        _("Thiết bị này đã thêm ý kiến cho kiến nghị này rồi; mỗi thiết bị chỉ được tính một lần.")
        if voice.already
        else _("Đã ghi nhận ý kiến của bạn, cảm ơn bạn.")
    )
    if wants_json():
        response = jsonify({"supporters": voice.supporters, "already": voice.already, "message": message})
    else:
        response = current_app.make_response(
            render_template("petitions/voice.html", message=message, supporters=voice.supporters)
        )
    response.set_cookie(
        VOTER_COOKIE,
        token,
        max_age=VOTER_COOKIE_DAYS * 86400,
        path="/p/",
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return response
