"""What the portal sent out, for administrators: notices that failed (and sending one again), the webhooks' log."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from app.extensions import db
from app.models.workflow import NOTICE_STATUS_NAMES, masked_recipient
from app.officer import bp
from app.services import notices, outbox, webhooks


def _administrators_only() -> None:
    if current_user.role != "admin":
        abort(403)


@bp.get("/notices")
def failed_notices():
    """List the notices that failed or were given up, with the reason."""
    _administrators_only()
    return render_template("officer/notices.html", failed=notices.failures(), form=FlaskForm(), masked=masked_recipient)


@bp.post("/notices/<int:notice_id>/send-again")
def send_notice_again(notice_id: int):
    """Put a failed notice back in the queue."""
    _administrators_only()
    if not FlaskForm().validate_on_submit():
        abort(400)
    job = notices.send_again(notice_id)
    if job is None:
        abort(404)
    db.session.commit()
    outbox.hand_over([job])
    flash(_("Đã đưa thông báo vào hàng đợi gửi lại."), "success")
    return redirect(url_for(".failed_notices"))


@bp.get("/webhooks")
def webhook_log():
    """List the latest deliveries to partners' webhooks, with their answers."""
    _administrators_only()
    return render_template(
        "officer/webhooks.html", deliveries=webhooks.log(limit=200), status_names=NOTICE_STATUS_NAMES
    )
