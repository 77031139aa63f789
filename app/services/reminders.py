"""Overdue petitions: remind the inbox's officers and escalate to the province,
once per deadline; referrals whose due date passed without a reply get "no reply"."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import and_, select

from app.extensions import db
from app.models import Petition, Referral, User
from app.models.petition import OPEN_STATUSES
from app.services import notices, workflow


def run(now: datetime | None = None) -> dict[str, int]:
    """One pass; safe to run twice (each deadline is escalated once)."""
    now = now or datetime.now(UTC)
    escalated = 0
    overdue = db.session.scalars(
        select(Petition).where(Petition.status.in_(OPEN_STATUSES), Petition.due_at < now).limit(5000)
    )
    for petition in overdue:
        kind = f"overdue:{petition.status}:{petition.due_at.isoformat()}"
        if notices.already_sent(petition.id, kind):
            continue
        inbox = db.session.scalars(select(User).where(User.area_id == petition.assigned_area_id, User.active)).all()
        province = db.session.scalars(
            select(User).where(User.role == "province", User.area_id == petition.province_id, User.active)
        ).all()
        body = f"Kiến nghị {petition.display_code} quá hạn xử lý ({petition.status_name})."
        notices.notify_officers(petition, inbox + province, kind, body)
        workflow.record(
            petition,
            None,
            "escalated",
            data={"due_at": petition.due_at.isoformat(), "to_province": petition.province_id},
        )
        escalated += 1
    silent = db.session.scalars(
        select(Referral).where(
            and_(Referral.reply.is_(None), Referral.no_reply_at.is_(None), Referral.due_on < now.date())
        )
    ).all()
    for referral in silent:
        referral.no_reply_at = now
        petition = db.session.get(Petition, referral.petition_id)
        workflow.record(
            petition, None, "referral_no_reply", data={"agency": referral.agency, "due_on": referral.due_on.isoformat()}
        )
    return {"escalated": escalated, "no_reply": len(silent)}
