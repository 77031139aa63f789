"""Query parameters, one set of rules for every route: what a date, a number, a choice, a flag and a text may be.

A malformed value of a parameter the portal reads is a clear 400 (a
Vietnamese page, JSON under /api/; Open311 turns it into its error list),
never a silent "no filter" and never a 500. Numbers and dates are ASCII
digits only ("²", "١٢" and "５" are digits to Python, not to a query
string); dates lie in MIN_DATE..MAX_DATE, so a day added or a time zone
applied never leaves the calendar; a name given twice is refused rather
than read one way by a form and another by a service.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date

from flask import Flask
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter

MIN_DATE = date(2000, 1, 1)
MAX_DATE = date(2099, 12, 31)
BIGINT_MAX = 2**63 - 1  # PostgreSQL's bigint: the largest id a path can name
TRUE, FALSE = ("1", "y", "on", "true"), ("0", "n", "off", "false")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_INTEGER = re.compile(r"-?[0-9]{1,18}")


class BadParam(ValueError):
    """A query parameter that breaks its rule; the message says which and how (for the user)."""

    def __init__(self, name: str, message: str, code: str = "bad_parameter"):
        super().__init__(message)
        self.name, self.message, self.code = name, message, code


def single(args: Mapping[str, str], name: str) -> str:
    """The one value of a parameter, stripped ("" when absent); BadParam when it is given twice."""
    values = args.getlist(name) if hasattr(args, "getlist") else ([args[name]] if name in args else [])
    if len(values) > 1:
        raise BadParam(name, _("Tham số %(name)s chỉ được gửi một lần.", name=name))
    return values[0].strip() if values else ""


def parse_date(args: Mapping[str, str], name: str) -> date | None:
    """A day as year-month-day (2026-11-22) within MIN_DATE..MAX_DATE; None when absent."""
    raw = single(args, name)
    if not raw:
        return None
    try:
        value = date.fromisoformat(raw) if _ISO_DATE.fullmatch(raw) else None
    except ValueError:
        value = None
    if value is None or not MIN_DATE <= value <= MAX_DATE:
        raise BadParam(name, date_message(name))
    return value


def date_message(name: str) -> str:
    return _(
        "%(name)s phải là một ngày dạng năm-tháng-ngày, ví dụ 2026-11-22, từ %(first)s đến %(last)s.",
        name=name,
        first=MIN_DATE.isoformat(),
        last=MAX_DATE.isoformat(),
    )


def parse_int(args: Mapping[str, str], name: str, low: int, high: int) -> int | None:
    """A whole number in ASCII digits within low..high; None when absent."""
    raw = single(args, name)
    if not raw:
        return None
    if not _INTEGER.fullmatch(raw) or not low <= int(raw) <= high:
        raise BadParam(name, _("%(name)s phải là số nguyên từ %(low)s đến %(high)s.", name=name, low=low, high=high))
    return int(raw)


def parse_choice(args: Mapping[str, str], name: str, choices: Iterable[str], code: str = "bad_parameter") -> str:
    """One of the choices ("" when absent)."""
    raw, allowed = single(args, name), list(choices)
    if raw and raw not in allowed:
        if len(allowed) <= 8:
            message = _(
                "%(name)s không nhận giá trị này; dùng một trong: %(choices)s.", name=name, choices=", ".join(allowed)
            )
        else:
            message = _("%(name)s không nhận giá trị này.", name=name)
        raise BadParam(name, message, code)
    return raw


def parse_flag(args: Mapping[str, str], name: str) -> bool:
    """A yes/no switch: 1, y, on, true or 0, n, off, false (absent is no)."""
    raw = single(args, name).lower()
    if raw and raw not in TRUE + FALSE:
        raise BadParam(name, _("%(name)s chỉ nhận 1 (có) hoặc 0 (không).", name=name))
    return raw in TRUE


def parse_text(args: Mapping[str, str], name: str, max_length: int, code: str = "bad_parameter") -> str:
    """A free text of at most max_length characters ("" when absent)."""
    raw = single(args, name)
    if len(raw) > max_length:
        raise BadParam(name, _("%(name)s dài quá %(max)s ký tự.", name=name, max=max_length), code)
    return raw


def kept(args: Mapping[str, str], names: Iterable[str]) -> dict[str, str]:
    """The parameters among names that a link to the same page carries on (never url_for's own, like _method)."""
    return {name: args[name] for name in names if args.get(name)}


class IdConverter(IntegerConverter):
    """<int:…> in a path: ASCII digits up to PostgreSQL's bigint, else the page is not found (404)."""

    regex = r"[0-9]{1,19}"

    def __init__(self, map, fixed_digits=0, min=None, max=BIGINT_MAX, signed=False):  # noqa: A002 (werkzeug's names)
        super().__init__(map, fixed_digits, min, BIGINT_MAX if max is None else max, signed)


def init_app(app: Flask) -> None:
    """Bound <int:…> path arguments; call before the blueprints are registered."""
    app.url_map.converters["int"] = IdConverter
