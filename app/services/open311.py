"""What Open311 GeoReport v2 reads and writes, over the portal's own petitions.

Open311 knows two statuses: open (received, accepted, in progress,
forwarded) and closed (resolved, rejected, merged). Anonymous readers see
the published view only (app/services/publication.py); a partner's key may
carry a scope — an area, and whether it sees petitions not yet published —
but no read ever carries the citizen's name, phone, tracking code, nor the
original text of a redacted petition.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Area, Partner, Petition
from app.models.petition import OPEN_STATUSES, STATUS_NAMES
from app.services import categories, category_questions, publication, scope
from app.text import fold

CLOSED_STATUSES = tuple(s for s in STATUS_NAMES if s not in OPEN_STATUSES)  # resolved, rejected, merged
STATUSES = {"open": OPEN_STATUSES, "closed": CLOSED_STATUSES}
MAX_REQUESTS = 1000  # GeoReport v2: 90 days or the first 1000 requests, whichever is smaller
DEFAULT_DAYS = 90


def open311_status(status: str) -> str:
    return "open" if status in OPEN_STATUSES else "closed"


def services() -> list[dict]:
    """The petition categories as Open311 services (names in Vietnamese)."""
    asking = category_questions.asking()
    return [
        {
            "service_code": code,
            "service_name": name_vi,
            "description": f"Kiến nghị, phản ánh thuộc lĩnh vực {name_vi}.",
            "metadata": code in asking,  # the category asks more: its service definition lists attributes
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
    public_ids: list[str] | None = None  # overrides every other filter (the spec's rule)
    service_codes: list[str] | None = None
    start: datetime | None = None
    end: datetime | None = None
    statuses: tuple[str, ...] | None = None  # portal statuses
    limit: int = MAX_REQUESTS


def sees_unpublished(partner: Partner | None) -> bool:
    return partner is not None and partner.sees_unpublished


def readable_by(partner: Partner | None):
    """The condition on what a reader sees: the published view; a key that may see more, also its area's others.

    Those others are still only petitions their citizen allowed to publish,
    never one the citizen asked to keep for the Front's officers.
    """
    if not sees_unpublished(partner) or not partner.area_id:
        return publication.published()
    area = db.session.get(Area, partner.area_id)
    in_area = [getattr(Petition, column) == value for column, value in scope.criteria_for_area(area).items()]
    return or_(publication.published(), and_(Petition.publishable.is_(True), *in_area))


def find(query: RequestQuery, partner: Partner | None = None) -> list[Petition]:
    """Petitions matching an Open311 query that this reader may see, newest first, with their answer's needs loaded."""
    stmt = (
        select(Petition)
        .options(
            selectinload(Petition.village),
            selectinload(Petition.commune),
            selectinload(Petition.province),
            selectinload(Petition.photos),
            selectinload(Petition.answers),
        )
        .where(readable_by(partner))
        .order_by(Petition.created_at.desc(), Petition.id.desc())
        .limit(query.limit)
    )
    if query.public_ids is not None:
        stmt = stmt.where(Petition.public_id.in_(query.public_ids))
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
