"""When a petition is due in its status: the deadline rules and the holiday
calendar (both tables, editable), counted in working days. Cached per process."""

from __future__ import annotations

import time
from datetime import datetime

from sqlalchemy import select

from app.extensions import db
from app.models import DeadlineRule, Holiday
from app.services import workdays

_TTL_S = 300
# Never loaded: the monotonic clock counts from boot, so 0.0 could be less than _TTL_S ago.
_cache: dict = {"at": float("-inf"), "rules": {}, "holidays": frozenset()}


def _load() -> dict:
    if time.monotonic() - _cache["at"] > _TTL_S:
        rules = {(r.status, r.category_code): r.working_days for r in db.session.scalars(select(DeadlineRule))}
        holidays = frozenset(db.session.scalars(select(Holiday.day)))
        _cache.update(at=time.monotonic(), rules=rules, holidays=holidays)
    return _cache


def due(status: str, category: str, since: datetime) -> datetime | None:
    """The end of the last working day a petition may stay in this status, or None (no deadline)."""
    loaded = _load()
    days = loaded["rules"].get((status, category), loaded["rules"].get((status, None)))
    if days is None:
        return None
    return workdays.add_working_days(since, days, loaded["holidays"])
