"""An officer's inbox: their petitions, filtered, counted, and paged by keyset.

Keyset pagination (WHERE (created_at, id) < cursor) reads one index range
per page however deep the officer goes, so the first and the hundredth page
cost the same with a million petitions stored.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, func, literal, tuple_
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import Area, Petition, User
from app.models.petition import OPEN_STATUSES
from app.services import areas, scope
from app.services.workdays import VIETNAM
from app.text import fold

METHODS = ("inside", "nearest", "chosen", "unlocated", "disagrees")
PAGE_SIZE = 50
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class InboxFilter:
    status: str = ""
    category: str = ""
    village: str = ""  # a village code
    since: date | None = None
    until: date | None = None
    overdue: bool = False
    method: str = ""  # one of METHODS
    unplaced: bool = False  # only petitions placed in no commune yet (a province's queue to place)
    mine: bool = False  # only the petitions assigned to the officer
    commune_id: int | None = None  # only one commune's (provincial and central staff pick it by name)
    q: str = ""
    sort: str = "newest"  # newest | urgent
    after: str = ""  # the keyset cursor of the previous page


@dataclass
class Page:
    petitions: list[Petition]
    next_cursor: str | None


def _filtered(user: User, f: InboxFilter) -> Select:
    query = scope.petitions_visible_to(user)
    if f.category:
        query = query.where(Petition.category_code == f.category)
    if f.village:
        query = query.join(Area, Area.id == Petition.village_id).where(Area.code == f.village)
    if f.since:
        query = query.where(Petition.created_at >= datetime.combine(f.since, time.min, VIETNAM))
    if f.until:
        query = query.where(Petition.created_at < datetime.combine(f.until + timedelta(days=1), time.min, VIETNAM))
    if f.overdue:
        query = query.where(Petition.status.in_(OPEN_STATUSES), Petition.due_at < func.now())
    if f.method == "disagrees":
        query = query.where(Petition.geotag_disagrees)
    elif f.method in METHODS:
        query = query.where(Petition.geotag_method == f.method)
    if f.unplaced:
        query = query.where(Petition.commune_id.is_(None))
    if f.mine:
        query = query.where(Petition.assignee_id == user.id)
    if f.commune_id is not None:
        query = query.where(Petition.commune_id == f.commune_id)
    if f.q.strip():
        # fold() is the indexed, diacritics-free form (see migration 0003).
        pattern = "%" + fold(f.q).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(func.fold(Petition.title + literal(" ") + Petition.body).like(pattern))
    return query


def commune_named(user: User, typed: str) -> tuple[int | None, list]:
    """The commune a provincial or central officer typed to narrow the inbox to (in their province), or
    the choices when the name is shared. The scope still applies: a commune outside it shows nothing."""
    if not typed:
        return None, []
    own = user.area if user.role == "province" else None
    try:
        return areas.pick(typed, ("commune",), province=own).id, []
    except areas.NotOneArea as several:
        return None, several.choices  # offered as links; the inbox stays unfiltered meanwhile


def counts(user: User, f: InboxFilter) -> dict[str, int]:
    """How many petitions of each status match the other filters."""
    base = (
        _filtered(user, replace(f, status=""))
        .with_only_columns(Petition.status, func.count())
        .group_by(Petition.status)
    )
    return dict(db.session.execute(base).all())


def unplaced_count(user: User, f: InboxFilter) -> int:
    """How many of the petitions matching the other filters have no commune yet (the queue to place).

    A query of its own, so that the counts per status stay an index-only scan
    of the inbox index (which holds no commune); the rows with no commune are
    few, and the commune index, which keeps NULLs, can find them.
    """
    query = _filtered(user, replace(f, status="", unplaced=True)).with_only_columns(func.count())
    return db.session.scalar(query)


def page(user: User, f: InboxFilter, size: int = PAGE_SIZE) -> Page:
    """One page of the inbox, newest or most urgent first."""
    query = _filtered(user, f)
    if f.status:
        query = query.where(Petition.status == f.status)
    if f.sort == "urgent":
        key = (func.coalesce(Petition.due_at, FAR_FUTURE), Petition.id)
        query = query.order_by(key[0], Petition.id)
        cursor = _decode(f.after)
        if cursor:
            query = query.where(tuple_(*key) > tuple_(literal(cursor[0]), literal(cursor[1])))
    else:
        key = (Petition.created_at, Petition.id)
        query = query.order_by(Petition.created_at.desc(), Petition.id.desc())
        cursor = _decode(f.after)
        if cursor:
            query = query.where(tuple_(*key) < tuple_(literal(cursor[0]), literal(cursor[1])))
    rows = list(
        db.session.scalars(
            query.options(selectinload(Petition.village), selectinload(Petition.commune)).limit(size + 1)
        )
    )
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = None
    if more:
        last = rows[-1]
        moment = (last.due_at or FAR_FUTURE) if f.sort == "urgent" else last.created_at
        next_cursor = _encode(moment, last.id)
    return Page(rows, next_cursor)


def _encode(moment: datetime, petition_id: int) -> str:
    return base64.urlsafe_b64encode(f"{moment.isoformat()}|{petition_id}".encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, int] | None:
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, petition_id = raw.split("|")
        return datetime.fromisoformat(moment), int(petition_id)
    except (ValueError, UnicodeDecodeError):
        return None  # a mangled cursor starts from the first page
