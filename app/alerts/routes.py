"""Ask for an area alert, confirm it, end it. Confirming and ending take a press of a button (a POST):
mail scanners that open every link in a message change nothing."""

from __future__ import annotations

from flask import abort, current_app, render_template
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from app.alerts import bp
from app.extensions import db
from app.petitions.forms import normalize_email
from app.services import alerts, areas, categories, outbox


class AlertForm(FlaskForm):
    email = StringField(
        _l("Thư điện tử"), validators=[DataRequired(_l("Hãy nhập địa chỉ thư điện tử.")), Length(max=254)]
    )
    area = StringField(
        _l("Xã, phường hoặc tỉnh, thành phố (gõ tên)"),
        validators=[DataRequired(_l("Hãy gõ tên xã, phường hoặc tỉnh.")), Length(max=200, message=_l("Tên quá dài."))],
    )
    categories = SelectMultipleField(
        _l("Lĩnh vực (không chọn: mọi lĩnh vực)"), widget=ListWidget(prefix_label=False), option_widget=CheckboxInput()
    )
    frequency = RadioField(
        _l("Khi nào"),
        choices=[("now", _l("Ngay khi có kiến nghị mới")), ("daily", _l("Mỗi ngày một thư"))],
        default="now",
    )


def _email_on() -> None:
    if not current_app.config["SMTP_URL"]:
        abort(404)  # alerts go by e-mail: with e-mail off there are none


@bp.route("", methods=["GET", "POST"])
def subscribe():  # rate limited per client: see app/limits.py
    """Ask for the new published petitions of an area by e-mail."""
    _email_on()
    form = AlertForm()
    form.categories.choices = categories.choices()
    choices, error, asked = [], None, None
    if form.validate_on_submit():
        email = normalize_email(form.email.data)
        try:
            area = areas.pick(form.area.data, ("commune", "province"))
        except areas.NotOneArea as found:
            area, choices = None, found.choices
            error = _l("Có nhiều nơi trùng tên: hãy chọn một.") if choices else _l("Không tìm thấy nơi nào có tên này.")
        if email is None:
            error = _l("Địa chỉ thư điện tử không đúng, ví dụ ten@example.vn.")
        elif area is not None:
            mailed = alerts.subscribe(email, area, form.categories.data or [], form.frequency.data)
            db.session.commit()
            outbox.hand_over([mailed] if mailed else [])
            asked = email  # the same answer whether or not the address may get another confirmation
    status = 200 if error is None and not (form.is_submitted() and form.errors) else 422
    html = render_template("alerts/subscribe.html", form=form, choices=choices, error=error, asked=asked)
    return html, status


def _by_token(token: str):
    sub = alerts.by_token(token)
    if sub is None:
        abort(404)
    return sub


def _by_link(token: str, change, template: str):
    """An alert's link: the page with a button; pressing it (a POST) changes the alert."""
    sub = _by_token(token)
    form = FlaskForm()
    if form.validate_on_submit():
        change(sub)
        db.session.commit()
    return render_template(template, sub=sub, form=form), 200


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str):
    """Confirm an alert from the link mailed to its address (a button, so that a scanner confirms nothing)."""
    return _by_link(token, alerts.confirm, "alerts/confirm.html")


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe(token: str):
    """End an alert from the link in any of its mails."""
    return _by_link(token, alerts.unsubscribe, "alerts/unsubscribe.html")
