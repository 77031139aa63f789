"""An agency answers a referral through its reply link, or its system sends a signed update."""

from __future__ import annotations

import json
import re

from flask import current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from app import signing
from app.agency import bp, files
from app.extensions import csrf, db
from app.models import Agency, Referral
from app.services import referrals

ANSWER_MIN, ANSWER_MAX = 10, 10000


class ReplyForm(FlaskForm):
    answer = TextAreaField(
        _l("Nội dung trả lời"),
        validators=[
            DataRequired(_l("Hãy viết nội dung trả lời.")),
            Length(ANSWER_MIN, ANSWER_MAX, _l("Nội dung trả lời dài từ 10 đến 10.000 ký tự.")),
        ],
    )
    responder = StringField(_l("Người trả lời, đơn vị (không bắt buộc)"), validators=[Length(max=200)])
    file = FileField(_l("Tệp đính kèm: PDF hoặc ảnh, tối đa 10 MB (không bắt buộc)"))


def _page(html: str, status: int = 200):
    """The reply link is in the address: no cache may keep the page."""
    response = current_app.make_response((html, status))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/reply/<token>", methods=["GET", "POST"])
def reply(token: str):
    """Show the referred petition to the agency's officer and take the agency's answer."""
    try:
        referral = referrals.from_link(token)
    except referrals.LinkExpired:
        return _page(render_template("agency/link_error.html", expired=True), 410)
    except referrals.LinkInvalid:
        return _page(render_template("agency/link_error.html", expired=False), 404)
    sent = referrals.what_is_sent(referral)
    if referral.reply is not None:
        return _page(render_template("agency/reply.html", sent=sent, referral=referral, form=None))
    form = ReplyForm()
    if form.validate_on_submit():
        stored = None
        upload = form.file.data
        if upload and getattr(upload, "filename", ""):
            try:
                stored = files.keep(referral, upload.filename, upload.read(files.MAX_BYTES + 1))
            except files.FileRefused as exc:
                form.file.errors = [str(exc)]
                return _page(render_template("agency/reply.html", sent=sent, referral=referral, form=form), 422)
        if referrals.record_reply(referral, form.answer.data.strip(), (form.responder.data or "").strip(), stored):
            db.session.commit()
        else:  # answered meanwhile (a second click): the first answer stands
            db.session.rollback()
            if stored:
                files.discard(stored[0])
        return redirect(url_for(".reply", token=token), code=303)
    status = 422 if form.is_submitted() else 200
    return _page(render_template("agency/reply.html", sent=sent, referral=referral, form=form), status)


def _refused(status: int, code: str, message: str):
    return jsonify({"error": {"code": code, "message": message}}), status


@bp.post("/updates")
@csrf.exempt  # a machine's call, authenticated by its signature instead
def updates():
    """Take an agency system's signed answer to a referral: {"referral_id", "answer", "answered_by"}."""
    agency_id = request.headers.get("X-Portal-Agency", "")
    agency = db.session.get(Agency, int(agency_id)) if re.fullmatch(r"[0-9]{1,9}", agency_id) else None
    body = request.get_data(cache=False)
    try:
        if agency is None or not agency.active or agency.channel != "webhook" or not agency.secret:
            # The same answer as a bad signature: which agency ids exist is nobody's business.
            raise signing.BadSignature("no webhook agency of X-Portal-Agency signed this")
        signing.verify(agency.secret, body, request.headers)
    except signing.BadSignature as exc:
        db.session.rollback()
        return _refused(401, "bad_signature", str(exc))
    try:
        update = json.loads(body)
        referral_id, answer = int(update["referral_id"]), str(update["answer"]).replace("\x00", "").strip()
    except (ValueError, KeyError, TypeError, OverflowError):
        db.session.commit()  # the signature is spent all the same
        return _refused(400, "bad_update", 'The body is JSON: {"referral_id": 1, "answer": "…", "answered_by": "…"}.')
    referral = db.session.get(Referral, referral_id) if 0 < referral_id < 2**63 else None
    if referral is None or referral.agency_id != agency.id:
        db.session.commit()
        return _refused(404, "no_such_referral", "This agency has no such referral.")
    if referral.reply is not None:
        db.session.commit()
        return _refused(409, "already_answered", "This referral was answered already.")
    if not ANSWER_MIN <= len(answer) <= ANSWER_MAX:
        db.session.commit()
        return _refused(400, "bad_answer", "The answer is 10 to 10,000 characters.")
    if not referrals.record_reply(referral, answer, str(update.get("answered_by") or agency.name)):
        db.session.commit()
        return _refused(409, "already_answered", "This referral was answered already.")
    db.session.commit()
    return jsonify({"status": "recorded", "referral_id": referral.id})
