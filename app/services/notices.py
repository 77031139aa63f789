"""Notices to citizens (e-mail, SMS, Zalo) and to officers (in the portal), behind one interface.

A citizen's notice is written once per kind and channel — one row for each
channel that is on (app/senders) and that the citizen can be reached on —
then delivered by its own job (deliver): sent, refused for good (failed,
with the reason), or retried with backoff through RQ until it is given up.
Receipts go by e-mail only (the form already shows the code, and an SMS for
every petition is a cost the Front has not chosen), but by SMS too to who
wrote by SMS; answers go on every channel. Officers' notices are recorded in
the portal, never sent.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app import senders
from app.extensions import db
from app.models import Notice, Petition, User
from app.models.workflow import masked_recipient
from app.services import alerts, notice_texts, outbox
from app.services.notice_texts import MASK

CITIZEN_CHANNELS = {"received": ("email",), "answered": ("email", "sms", "zalo")}
FAILED = ("failed", "gave_up")


class TryAgain(Exception):
    """The channel was away: the delivery job fails so that RQ runs it again after its backoff."""


def max_attempts() -> int:
    """The first attempt and RQ's retries (NOTICE_RETRY_S); after them a notice is given up."""
    return len(outbox.retry_intervals("deliver_notice")) + 1


def already_sent(petition_id: int, kind: str) -> bool:
    return (
        db.session.scalar(select(Notice.id).where(Notice.petition_id == petition_id, Notice.kind == kind).limit(1))
        is not None
    )


def _recipient(petition: Petition, channel: str) -> str | None:
    if channel == "email":
        return petition.contact_email
    return None if petition.is_anonymous else petition.contact_phone  # SMS, Zalo: the phone the citizen left


def notify_citizen(petition: Petition, kind: str) -> list[int]:
    """Write the citizen's notices of this kind (once) and queue their delivery; return the outbox ids."""
    if petition.contact_erased_at is not None or already_sent(petition.id, kind):
        return []
    channels = senders.configured()
    jobs = []
    wanted = CITIZEN_CHANNELS[notice_texts.base_kind(kind)]
    if petition.channel == "sms" and "sms" not in wanted:
        wanted = (*wanted, "sms")  # who wrote by SMS has no page open: the receipt and its code come by SMS
    for channel in wanted:
        recipient = _recipient(petition, channel)
        sender = channels.get(channel)
        if not recipient or sender is None or not sender.takes(notice_texts.base_kind(kind)):
            continue
        notice = Notice(petition_id=petition.id, channel=channel, recipient=recipient, kind=kind, body="")
        kept = notice_texts.render(notice, petition, secret=False)
        notice.subject, notice.body = kept.subject[:200], kept.text
        db.session.add(notice)
        db.session.flush()
        jobs.append(outbox.add("deliver_notice", notice.id).id)
    return jobs


def deliver(notice_id: int) -> bool:
    """Try to send one notice; True once it is settled (sent, failed, given up), False to be tried again."""
    notice = db.session.get(Notice, notice_id, with_for_update=True)
    if notice is None or notice.status != "pending":
        return True  # run twice, or settled meanwhile
    petition = db.session.get(Petition, notice.petition_id) if notice.petition_id else None
    notice.attempts += 1
    notice.last_attempt_at = datetime.now(UTC)
    sender = senders.configured().get(notice.channel)
    kind = notice_texts.base_kind(notice.kind)
    about_no_petition = kind in notice_texts.ABOUT_NO_PETITION  # an alert's confirmation, a digest
    to_the_citizen = kind in CITIZEN_CHANNELS
    if (
        sender is None
        or not notice.recipient.strip()  # erased with the citizen's contact (retention)
        or (petition is None and not about_no_petition)
        or (to_the_citizen and petition.contact_erased_at is not None)
    ):
        notice.status, notice.last_error = "gave_up", "the channel is off, or the citizen's contact was erased"
        return True
    if kind.startswith("alert") and not alerts.still_wanted(notice, petition):
        notice.status, notice.last_error = "gave_up", "the alert ended, or the petition is no longer published"
        return True
    try:
        notice.provider_id = sender.send(notice_texts.render(notice, petition))[:100] or None
    except senders.Refused as exc:
        notice.status, notice.last_error = "failed", _scrubbed(str(exc), notice, petition)
    except Exception as exc:  # noqa: BLE001  (Unavailable, or a fault of ours: counted, shown, retried)
        reason = str(exc) if isinstance(exc, senders.Unavailable) else f"{type(exc).__name__}: {exc}"
        notice.last_error = _scrubbed(reason, notice, petition)
        if notice.attempts >= max_attempts():
            notice.status = "gave_up"
    else:
        notice.status, notice.last_error, notice.delivered_at = "sent", None, datetime.now(UTC)
    return notice.status != "pending"


def _scrubbed(reason: str, notice: Notice, petition: Petition | None) -> str:
    """A channel's reason as it may be kept and shown: what servers echo back (the address, the
    message with its tracking code) masked."""
    code = petition.display_code if petition is not None else None
    for secret in {notice.recipient, senders.international(notice.recipient)}:
        reason = reason.replace(secret, masked_recipient(secret))
    if petition is not None:
        reason = reason.replace(code, MASK).replace(petition.tracking_code, MASK)
    return reason[:1000]


def failures(limit: int = 200) -> list[Notice]:
    """Notices that failed or were given up, newest first (the administrators' page)."""
    query = (
        select(Notice)
        .where(Notice.status.in_(FAILED))
        .options(joinedload(Notice.petition))
        .order_by(Notice.created_at.desc(), Notice.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(query))


def send_again(notice_id: int) -> int | None:
    """Put a failed or given-up notice back to pending with a new delivery job; its outbox id, or None."""
    notice = db.session.get(Notice, notice_id, with_for_update=True)
    if notice is None or notice.status not in FAILED:
        return None
    notice.status, notice.attempts = "pending", 0
    return outbox.add("deliver_notice", notice.id).id


def notify_officers(petition: Petition, officers: list[User], kind: str, body: str) -> None:
    """Record a notice for each officer, shown in the portal."""
    for officer in officers:
        db.session.add(
            Notice(
                petition_id=petition.id,
                user_id=officer.id,
                channel="portal",
                recipient=officer.username,
                body=body,
                kind=kind,
                status="recorded",
            )
        )
