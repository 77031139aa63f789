"""Operators keep the categories' questions and notices (`flask categories …`); the form and Open311 read them."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.extensions import db
from app.models import Category, CategoryQuestion
from app.services import category_questions

KINDS = ("list", "number", "yesno")
CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")


class QuestionRefused(ValueError):
    """A question or notice that cannot be kept as asked: the message says why."""


def _category(code: str) -> Category:
    category = db.session.get(Category, code)
    if category is None:
        raise QuestionRefused(f"no category {code!r}")
    return category


def add_question(
    category: str, code: str, kind: str, label: str, options: list[str], required: bool
) -> CategoryQuestion:
    """Add a question; a list's options are "key=label" pairs."""
    _category(category)
    if not CODE.fullmatch(code):
        raise QuestionRefused("a question's code is lowercase letters, digits and _, starting with a letter")
    if kind not in KINDS:
        raise QuestionRefused(f"a question's kind is one of {', '.join(KINDS)}")
    if not label.strip() or len(label) > 200:
        raise QuestionRefused("a question needs a label of at most 200 characters")
    pairs = [option.split("=", 1) for option in options]
    if kind == "list" and (len(pairs) < 2 or any(len(p) != 2 or not p[0].strip() or not p[1].strip() for p in pairs)):
        raise QuestionRefused('a list needs at least two options, each "key=label"')
    if kind != "list" and pairs:
        raise QuestionRefused("only a list has options")
    taken = select(CategoryQuestion.id).where(CategoryQuestion.category_code == category, CategoryQuestion.code == code)
    if db.session.scalar(taken) is not None:
        raise QuestionRefused(f"{category} already asks {code!r}")
    last = db.session.scalar(
        select(func.coalesce(func.max(CategoryQuestion.position), 0)).where(CategoryQuestion.category_code == category)
    )
    question = CategoryQuestion(
        category_code=category, code=code, kind=kind, label=label.strip(), required=required, position=last + 1,
        options=[[k.strip(), v.strip()] for k, v in pairs], active=True,
    )  # fmt: skip
    db.session.add(question)
    db.session.flush()
    category_questions.forget()
    return question


def retire_question(category: str, code: str) -> None:
    """Stop asking a question (the answers already kept stay with their petitions)."""
    question = db.session.scalar(
        select(CategoryQuestion).where(CategoryQuestion.category_code == category, CategoryQuestion.code == code)
    )
    if question is None:
        raise QuestionRefused(f"{category} asks no {code!r}")
    question.active = False
    category_questions.forget()


def set_notice(category: str, notice: str) -> None:
    """Show a notice with the category on the form (empty: none)."""
    _category(category).notice = notice.strip() or None
    category_questions.forget()
