"""Petition categories (configurable in the categories table), cached per process."""

from __future__ import annotations

import time

from flask_babel import get_locale
from sqlalchemy import select

from app.extensions import db
from app.models import Category

_TTL_S = 300
_cache: dict = {"at": float("-inf"), "rows": []}  # never loaded (see deadlines._cache)


def active() -> list[Category]:
    """Active categories in display order; the cached list serves when the database is down."""
    if time.monotonic() - _cache["at"] > _TTL_S or not _cache["rows"]:
        rows = db.session.scalars(select(Category).where(Category.active).order_by(Category.position)).all()
        _cache.update(at=time.monotonic(), rows=[(c.code, c.name_vi, c.name_en) for c in rows])
    return _cache["rows"]


def choices() -> list[tuple[str, str]]:
    english = str(get_locale()) == "en"
    return [(code, name_en if english else name_vi) for code, name_vi, name_en in active()]


def name(code: str) -> str:
    return dict(choices()).get(code, code)


def vietnamese_names() -> dict[str, str]:
    """Every category's Vietnamese name by code, retired ones too (old petitions keep their category)."""
    return dict(db.session.execute(select(Category.code, Category.name_vi)).all())
