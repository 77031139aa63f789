"""Answer templates: provincial (and central) staff keep them; every officer uses them on a petition's page."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.extensions import db
from app.models import AnswerTemplate
from app.models.answer_template import TEMPLATE_ACTIONS
from app.officer import bp
from app.services import answer_templates, categories


class TemplateForm(FlaskForm):
    name = StringField(
        _l("Tên mẫu"),
        validators=[DataRequired(_l("Hãy đặt tên mẫu.")), Length(max=120, message=_l("Tên mẫu quá dài."))],
    )
    action = SelectField(_l("Dùng cho"), choices=list(TEMPLATE_ACTIONS.items()))
    category = SelectField(_l("Lĩnh vực"), validate_choice=False)
    body = TextAreaField(
        _l("Nội dung"),
        validators=[DataRequired(_l("Hãy viết nội dung mẫu.")), Length(max=8000, message=_l("Nội dung mẫu quá dài."))],
    )


def _form(template: AnswerTemplate | None = None) -> TemplateForm:
    form = TemplateForm(obj=None)
    form.category.choices = [("", _("— Mọi lĩnh vực —")), *categories.choices()]
    if template is not None and not form.is_submitted():
        form.name.data, form.action.data, form.body.data = template.name, template.action, template.body
        form.category.data = template.category_code or ""
    return form


def _editors_only() -> None:
    if not answer_templates.may_edit(current_user):
        abort(403)


def _page(form: TemplateForm, template: AnswerTemplate | None, status: int = 200):
    rows = db.session.scalars(answer_templates.editable_by(current_user).order_by(AnswerTemplate.name)).all()
    return render_template(
        "officer/answer_templates.html",
        form=form,
        template=template,
        templates=rows,
        actions=TEMPLATE_ACTIONS,
        fields=answer_templates.FIELDS,
        category_names=dict(categories.choices()),
    ), status


@bp.route("/answer-templates", methods=["GET", "POST"])
def answer_template_list():
    """List the templates the officer keeps, and add one."""
    _editors_only()
    form = _form()
    if form.validate_on_submit():
        return _saved(None, form)
    return _page(form, None, 422 if form.is_submitted() else 200)


@bp.route("/answer-templates/<int:template_id>", methods=["GET", "POST"])
def answer_template_edit(template_id: int):
    """Change one of the officer's templates."""
    _editors_only()
    template = db.session.scalar(answer_templates.editable_by(current_user).where(AnswerTemplate.id == template_id))
    if template is None:
        abort(404)
    form = _form(template)
    if form.validate_on_submit():
        return _saved(template, form)
    return _page(form, template, 422 if form.is_submitted() else 200)


@bp.post("/answer-templates/<int:template_id>/delete")
def answer_template_delete(template_id: int):
    """Delete one of the officer's templates."""
    _editors_only()
    if not FlaskForm().validate_on_submit():
        abort(400)
    template = db.session.scalar(answer_templates.editable_by(current_user).where(AnswerTemplate.id == template_id))
    if template is None:
        abort(404)
    db.session.delete(template)
    db.session.commit()
    flash(_("Đã xóa mẫu."), "success")
    return redirect(url_for(".answer_template_list"), 303)


def _saved(template: AnswerTemplate | None, form: TemplateForm):
    try:
        answer_templates.save(
            current_user,
            template,
            name=form.name.data,
            body=form.body.data,
            action=form.action.data,
            category=form.category.data or "",
        )
    except answer_templates.TemplateError as refused:
        db.session.rollback()
        flash(str(refused.args[0]), "error")
        return _page(form, template, 422)
    db.session.commit()
    flash(_("Đã lưu mẫu."), "success")
    return redirect(url_for(".answer_template_list"), 303)
