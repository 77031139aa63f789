"""Answers and rejection reasons provincial staff write once for their officers to reuse.

A template belongs to a province (central staff's belong to none and serve
every province), to one category or all, and to one action: the answer to
the citizen (resolve) or the reason for not taking a petition up (reject).
Its text may name the petition's fields in braces (see app/services/answer_templates.py).
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import DateTime, ForeignKey, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db

TEMPLATE_ACTIONS = {"resolve": _l("Trả lời công dân"), "reject": _l("Lý do không thụ lý")}


class AnswerTemplate(db.Model):
    __tablename__ = "answer_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    category_code: Mapped[str | None] = mapped_column(ForeignKey("categories.code"))
    action: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
