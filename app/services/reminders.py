"""Overdue petitions: remind the inbox's officers and escalate to the province,
once per deadline; referrals whose due date passed without a reply get "no reply";
agencies are reminded through their channel two days before a referral is due."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import and_, select, text

from app.extensions import db
from app.models import Petition, Referral, User
from app.models.petition import OPEN_STATUSES
from app.services import notices, referrals, workflow

# One escalation per petition, status and deadline: the key its audit row carries.
_KEY = "'overdue:' || p.status || ':' || floor(extract(epoch FROM p.due_at))::bigint"


def run(now: datetime | None = None, batch: int = 5000) -> dict[str, int]:
    """One pass; safe to run twice (each deadline is escalated once), a batch at a time."""
    now = now or datetime.now(UTC)
    # The ones not yet escalated are chosen in the query, so a backlog larger
    # than a batch is worked through run after run.
    rows = db.session.execute(
        text(
            f"""SELECT p.id, {_KEY} AS key FROM petitions p
                WHERE p.status = ANY(:open) AND p.due_at < :now
                  AND NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.petition_id = p.id
                                  AND e.action = 'escalated' AND e.data ->> 'key' = {_KEY})
                ORDER BY p.due_at LIMIT :batch"""
        ),
        {"open": list(OPEN_STATUSES), "now": now, "batch": batch},
    ).all()
    officers = _Officers()
    petitions = _by_id(petition_id for petition_id, _ in rows)
    for petition_id, key in rows:
        petition = petitions[petition_id]
        body = f"Kiến nghị {petition.reference} quá hạn xử lý ({petition.status_name})."
        # The assignee first: the inbox's officers together only when it is assigned to no one active.
        assignee = workflow.current_assignee(petition)
        inbox = [assignee] if assignee is not None else officers.of_area(petition.assigned_area_id)
        told = inbox + [u for u in officers.of_province(petition.assigned_province_id) if u not in inbox]
        notices.notify_officers(petition, told, key, body)
        workflow.record(
            petition,
            None,
            "escalated",
            data={"key": key, "due_at": petition.due_at.isoformat(), "to_province": petition.assigned_province_id},
        )
    escalated = len(rows)
    silent = db.session.scalars(
        select(Referral).where(
            and_(Referral.reply.is_(None), Referral.no_reply_at.is_(None), Referral.due_on < now.date())
        )
    ).all()
    referred = _by_id(referral.petition_id for referral in silent)
    for referral in silent:
        referral.no_reply_at = now
        workflow.record(
            referred[referral.petition_id],
            None,
            "referral_no_reply",
            data={"agency": referral.agency, "due_on": referral.due_on.isoformat()},
        )
    reminded = referrals.remind_due()  # agencies reminded through their own channel before the due date
    return {"escalated": escalated, "no_reply": len(silent), "agencies_reminded": reminded}


def _by_id(ids) -> dict[int, Petition]:
    """The petitions of a batch, loaded in one query."""
    return {p.id: p for p in db.session.scalars(select(Petition).where(Petition.id.in_(list(ids))))}


class _Officers:
    """Active officers by area, looked up once per area in a pass."""

    def __init__(self) -> None:
        self._cache: dict[tuple, list[User]] = {}

    def _get(self, key: tuple, query) -> list[User]:
        if key not in self._cache:
            self._cache[key] = list(db.session.scalars(query))
        return self._cache[key]

    def of_area(self, area_id: int | None) -> list[User]:
        return self._get(("area", area_id), select(User).where(User.area_id == area_id, User.active))

    def of_province(self, province_id: int | None) -> list[User]:
        return self._get(
            ("province", province_id),
            select(User).where(User.role == "province", User.area_id == province_id, User.active),
        )
