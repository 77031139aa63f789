"""What Open311 GeoReport v2 reads and writes, over the portal's own petitions.

Open311 knows two statuses: open (received, accepted, in progress,
forwarded) and closed (resolved, rejected, merged). Partners read only what
the public status page shows: never the citizen's name, phone, nor the
original text of a redacted petition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Area, Petition
from app.models.petition import OPEN_STATUSES, STATUS_NAMES
from app.services import categories
from app.text import fold

CLOSED_STATUSES = tuple(s for s in STATUS_NAMES if s not in OPEN_STATUSES)  # resolved, rejected, merged
STATUSES = {"open": OPEN_STATUSES, "closed": CLOSED_STATUSES}
MAX_REQUESTS = 1000  # GeoReport v2: 90 days or the first 1000 requests, whichever is smaller
DEFAULT_DAYS = 90


def open311_status(status: str) -> str:
    return "open" if status in OPEN_STATUSES else "closed"


def services() -> list[dict]:
    """The petition categories as Open311 services (names in Vietnamese)."""
    return [
        {
            "service_code": code,
            "service_name": name_vi,
            "description": f"Kiến nghị, phản ánh thuộc lĩnh vực {name_vi}.",
            "metadata": False,  # no extra attributes: a service definition lists none
            "type": "realtime",
            "keywords": ", ".join(dict.fromkeys([name_vi, fold(name_vi), name_en])),
            "group": "Kiến nghị, phản ánh",
        }
        for code, name_vi, name_en in categories.active()
    ]


def service_names() -> dict[str, str]:
    return {code: name_vi for code, name_vi, _ in categories.active()}


@dataclass
class RequestQuery:
    tracking_codes: list[str] | None = None  # overrides every other filter (the spec's rule)
    service_codes: list[str] | None = None
    start: datetime | None = None
    end: datetime | None = None
    statuses: tuple[str, ...] | None = None  # portal statuses
    limit: int = MAX_REQUESTS


def find(query: RequestQuery) -> list[Petition]:
    """Petitions matching an Open311 query, newest first, with what their answer needs loaded."""
    stmt = (
        select(Petition)
        .options(
            selectinload(Petition.village),
            selectinload(Petition.commune),
            selectinload(Petition.province),
            selectinload(Petition.photos),
            selectinload(Petition.answers),
        )
        .order_by(Petition.created_at.desc(), Petition.id.desc())
        .limit(query.limit)
    )
    if query.tracking_codes is not None:
        stmt = stmt.where(Petition.tracking_code.in_(query.tracking_codes))
    else:
        if query.service_codes:
            stmt = stmt.where(Petition.category_code.in_(query.service_codes))
        if query.start is not None:
            stmt = stmt.where(Petition.created_at >= query.start)
        if query.end is not None:
            stmt = stmt.where(Petition.created_at <= query.end)
        if query.statuses:
            stmt = stmt.where(Petition.status.in_(query.statuses))
    return list(db.session.scalars(stmt))


def areas_by_id(ids) -> dict[int, Area]:
    """Areas by id in one query (the inboxes that hold a page of petitions)."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {a.id: a for a in db.session.scalars(select(Area).where(Area.id.in_(wanted)))}
