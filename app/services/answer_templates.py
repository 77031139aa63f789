"""Answer templates: which an officer may use on a petition, filled with its fields; who may edit them.

A template's text names the petition's fields in braces: {ma_kien_nghi}
(its reference), {tieu_de}, {linh_vuc}, {thon}, {xa}, {tinh}, {ngay_gui}
and {don_vi} (the Front committee holding it). Only these are filled (the
text is never a format string: braces of other words stay as they are).
Provincial staff edit their province's templates, central staff the
national ones; every officer uses those of the petition's province, and the
national ones, of its category or of all.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from app.extensions import db
from app.models import AnswerTemplate, Area, Petition, User
from app.services import categories
from app.services.workdays import VIETNAM

FIELDS = ("ma_kien_nghi", "tieu_de", "linh_vuc", "thon", "xa", "tinh", "ngay_gui", "don_vi")
_FIELD = re.compile(r"\{(" + "|".join(FIELDS) + r")\}")
NAME_MAX = 120
# Room left for the petition's details in the field the template fills (the answer: 10,000; the reason: 4,000).
BODY_MAX = {"resolve": 8000, "reject": 3000}


class TemplateError(ValueError):
    """A template that cannot be kept as asked: the message says why."""


def for_petition(petition: Petition, action: str) -> list[AnswerTemplate]:
    """The templates an officer may use on this petition for this action, the most particular first."""
    query = (
        select(AnswerTemplate)
        .where(
            AnswerTemplate.action == action,
            # The province of the inbox holding it (scope's rule), not where it was first filed.
            or_(AnswerTemplate.province_id.is_(None), AnswerTemplate.province_id == petition.assigned_province_id),
            or_(AnswerTemplate.category_code.is_(None), AnswerTemplate.category_code == petition.category_code),
        )
        .order_by(AnswerTemplate.category_code.is_(None), AnswerTemplate.province_id.is_(None), AnswerTemplate.name)
    )
    return list(db.session.scalars(query))


def fill(template: AnswerTemplate, petition: Petition) -> str:
    """The template's text with the petition's fields in place of their names."""
    inbox = db.session.get(Area, petition.assigned_area_id) if petition.assigned_area_id else None
    values = {
        "ma_kien_nghi": petition.reference,
        "tieu_de": petition.shown_title,
        "linh_vuc": categories.name(petition.category_code),
        "thon": petition.village.full_name if petition.village else "",
        "xa": petition.commune.full_name if petition.commune else "",
        "tinh": petition.province.full_name if petition.province else "",
        "ngay_gui": petition.created_at.astimezone(VIETNAM).strftime("%d/%m/%Y"),
        "don_vi": f"Ủy ban Mặt trận Tổ quốc Việt Nam {inbox.full_name}"
        if inbox
        else "Ủy ban Mặt trận Tổ quốc Việt Nam",
    }
    return _FIELD.sub(lambda m: str(values[m.group(1)]), template.body)


def editable_by(user: User):
    """The templates this officer may edit: a province's staff their province's, central staff the national ones."""
    if user.role == "province":
        return select(AnswerTemplate).where(AnswerTemplate.province_id == user.area_id)
    if user.role in ("central", "admin"):
        return select(AnswerTemplate).where(AnswerTemplate.province_id.is_(None))
    return select(AnswerTemplate).where(False)


def may_edit(user: User) -> bool:
    return user.role in ("province", "central", "admin")


def save(
    user: User, template: AnswerTemplate | None, *, name: str, body: str, action: str, category: str
) -> AnswerTemplate:
    """Create or change a template of the officer's own province (or the national ones)."""
    name, body = (name or "").strip(), (body or "").strip()
    if not may_edit(user):
        raise TemplateError(_l("Chỉ cán bộ tỉnh và trung ương soạn được mẫu."))
    if action not in BODY_MAX:
        raise TemplateError(_l("Hãy chọn mẫu dùng cho câu trả lời hay cho lý do không thụ lý."))
    if not name or len(name) > NAME_MAX or not body or len(body) > BODY_MAX[action]:
        raise TemplateError(
            _l(
                "Cần tên mẫu (tối đa %(name)d ký tự) và nội dung (tối đa %(body)d ký tự).",
                name=NAME_MAX,
                body=BODY_MAX[action],
            )
        )
    if category and category not in {code for code, _ in categories.choices()}:
        raise TemplateError(_l("Lĩnh vực không hợp lệ."))
    if template is None:
        template = AnswerTemplate(province_id=user.area_id if user.role == "province" else None)
        db.session.add(template)
    template.name, template.body, template.action, template.category_code = name, body, action, category or None
    template.updated_by_id, template.updated_at = user.id, datetime.now(UTC)
    db.session.flush()
    return template
