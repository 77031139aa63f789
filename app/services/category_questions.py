"""What a category asks beyond a petition: its questions, their answers checked once for every way in.

The web form and Open311 (a service definition's attributes, a partner's
`attribute[code]`) hand the raw answers here; a required question left
unanswered, a number that is not one, a choice not offered are each refused
with the question named. The answers are kept with the petition by code:
"yes"/"no" for a yes/no, the number, the key of the choice.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.models import Category, CategoryQuestion

NUMBER_MAX = 1e9
YES_NO = [("yes", _l("Có")), ("no", _l("Không"))]


_TTL_S = 300
# Read once a while per process, as the categories are (the form is the busiest page); "never loaded" at start.
_cache: dict = {"at": float("-inf"), "asking": {}, "notices": {}}


@dataclass(frozen=True)
class Question:
    code: str
    kind: str  # list | number | yesno
    label: str
    options: tuple
    required: bool


def _load() -> dict:
    if time.monotonic() - _cache["at"] > _TTL_S:
        try:
            asking: dict[str, list[Question]] = {}
            query = select(CategoryQuestion).where(CategoryQuestion.active)
            for q in db.session.scalars(query.order_by(CategoryQuestion.position, CategoryQuestion.id)):
                question = Question(q.code, q.kind, q.label, tuple(tuple(o) for o in q.options), q.required)
                asking.setdefault(q.category_code, []).append(question)
            found = select(Category.code, Category.notice).where(Category.notice.is_not(None))
            notices_by_code = dict(db.session.execute(found).all())
        except OperationalError:
            db.session.rollback()  # the database is away: the form still shows, with what was known
            return _cache
        _cache.update(at=time.monotonic(), asking=asking, notices=notices_by_code)
    return _cache


def forget() -> None:
    """Read the questions and notices again at the next use (in this process; others within _TTL_S)."""
    _cache["at"] = float("-inf")


def of(category: str) -> list[Question]:
    return _load()["asking"].get(category, [])


def asking() -> dict[str, list[Question]]:
    """Every category that asks something, with its questions (for the form)."""
    return _load()["asking"]


def notices() -> dict[str, str]:
    """The notice each category shows on the form, by code."""
    return _load()["notices"]


def choices_of(question: Question) -> list[tuple[str, str]]:
    return [(str(k), str(v)) for k, v in question.options] if question.kind == "list" else list(YES_NO)


def check(category: str, raw: Callable[[str], str | None]) -> tuple[dict, dict[str, str]]:
    """The answers to the category's questions read with raw(code), and the problems by question code."""
    answers: dict = {}
    problems: dict[str, str] = {}
    for question in of(category):
        value = (raw(question.code) or "").strip()
        if not value:
            if question.required:
                problems[question.code] = str(_l("Hãy trả lời: %(label)s", label=question.label))
            continue
        if question.kind == "number":
            try:
                number = float(value.replace(",", "."))
            except ValueError:
                number = math.nan
            if not math.isfinite(number) or abs(number) > NUMBER_MAX:
                problems[question.code] = str(_l("«%(label)s» cần một con số.", label=question.label))
                continue
            answers[question.code] = int(number) if number.is_integer() else number
        else:
            keys = [key for key, _ in choices_of(question)]
            if value not in keys:
                problems[question.code] = str(_l("«%(label)s»: hãy chọn một trong các ý đã cho.", label=question.label))
                continue
            answers[question.code] = value
    return answers, problems


def from_mapping(values: Mapping[str, str], prefix: str, suffix: str = "") -> Callable[[str], str | None]:
    """Read answers named prefix + code + suffix: "q_danger_now" (the form), "attribute[danger_now]" (Open311)."""
    return lambda code: values.get(f"{prefix}{code}{suffix}")


def shown(category: str, answers: dict | None) -> list[tuple[str, str]]:
    """The answers as an officer reads them: (question, answer)."""
    rows = []
    for question in of(category):
        if answers and question.code in answers:
            value = answers[question.code]
            label = dict(choices_of(question)).get(str(value), str(value)) if question.kind != "number" else str(value)
            rows.append((question.label, label))
    return rows


def as_open311_attributes(category: str) -> list[dict]:
    """The category's questions as GeoReport v2 service definition attributes."""
    datatypes = {"list": "singlevaluelist", "yesno": "singlevaluelist", "number": "number"}
    return [
        {
            "variable": True,
            "code": q.code,
            "datatype": datatypes[q.kind],
            "required": q.required,
            "datatype_description": None,
            "order": position,
            "description": q.label,
            "values": [{"key": k, "name": str(v)} for k, v in choices_of(q)] if q.kind != "number" else [],
        }
        for position, q in enumerate(of(category), start=1)
    ]
