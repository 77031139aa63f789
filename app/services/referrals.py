"""Referrals to state agencies: sent through the agency's channel, answered back into the petition.

A referral to a listed agency is sent by a job (send): by e-mail with a
signed, expiring reply link; to an Open311 endpoint as POST requests, whose
answer the sweeper polls (poll_open311); or as a signed webhook carrying the
reply link. The agency's officer opens the link without an account and
answers, with a file if he likes; the answer lands in the petition's history
for the Front officer to review and publish to the citizen (the resolve
action). A referral to an agency by name only is a record, as before.
"""

from __future__ import annotations

import json
import logging
import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from app import senders, signing
from app.extensions import db
from app.models import Agency, Notice, Petition, Referral, User
from app.senders._http import call
from app.services import notices, outbox, workflow
from app.services.workdays import VIETNAM

log = logging.getLogger("portal.referrals")
SALT = "referral-reply"


class LinkInvalid(Exception):
    """A reply link that was not made by the portal, or was revoked."""


class LinkExpired(Exception):
    """A reply link older than REPLY_LINK_DAYS."""


def agencies_for(petition: Petition) -> list[Agency]:
    """The active agencies that serve the petition's place: its commune, its province, or the whole country."""
    areas = [a for a in (petition.commune_id, petition.province_id) if a]
    query = (
        select(Agency)
        .where(Agency.active, or_(Agency.area_id.is_(None), Agency.area_id.in_(areas)))
        .order_by(Agency.name)
    )
    if not current_app.config["SMTP_URL"]:
        query = query.where(Agency.channel != "email")  # e-mail is off: it could not reach them
    return list(db.session.scalars(query))


def queue_sending(referral: Referral) -> int | None:
    """Give the referral to a listed agency its reply link and queue its sending; the outbox id."""
    agency = referral.agency_row
    if agency is None or agency.channel == "none":
        return None
    referral.link_nonce = secrets.token_hex(8)
    referral.send_status = "pending"
    return outbox.add("send_referral", referral.id).id


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def reply_url(referral: Referral) -> str:
    token = _serializer().dumps({"r": referral.id, "n": referral.link_nonce})
    return f"{current_app.config['PORTAL_URL']}/agency/reply/{token}"


def from_link(token: str) -> Referral:
    """The referral a reply link opens; LinkExpired or LinkInvalid.

    A link is valid until REPLY_LINK_DAYS after the referral's due date, and
    while its agency is active and its nonce unchanged.
    """
    try:
        data, issued = _serializer().loads(token, return_timestamp=True)
    except BadSignature:
        raise LinkInvalid from None
    referral_id = data.get("r") if isinstance(data, dict) else None
    referral = db.session.get(Referral, referral_id) if isinstance(referral_id, int) and referral_id < 2**63 else None
    if referral is None or not referral.link_nonce or data.get("n") != referral.link_nonce:
        raise LinkInvalid
    if referral.agency_row is None or not referral.agency_row.active:
        raise LinkInvalid
    valid_until = referral.due_on + timedelta(days=current_app.config["REPLY_LINK_DAYS"])
    if datetime.now(UTC).date() > valid_until or issued.date() > valid_until:
        raise LinkExpired
    return referral


def what_is_sent(referral: Referral) -> dict:
    """The petition as an agency receives it: the redacted text, its place, never the citizen's contact."""
    petition = db.session.get(Petition, referral.petition_id)
    place = ", ".join(a.name for a in (petition.village, petition.commune, petition.province) if a is not None)
    return {
        "reference": petition.reference,
        "title": petition.shown_title,
        "body": petition.shown_body,
        "category": petition.category.name_vi,
        "place": place,
        "due_on": referral.due_on.isoformat(),
        "reply_url": reply_url(referral),
        "point": petition.point,
    }


def _email(referral: Referral, kind: str, body: str) -> int:
    """A notice to the agency's address (its delivery is a notice's: failures show to administrators)."""
    notice = Notice(
        petition_id=referral.petition_id,
        channel="email",
        recipient=referral.agency_row.address,
        kind=f"{kind}:{referral.id}",
        body=body,
        subject="Mặt trận Tổ quốc Việt Nam chuyển kiến nghị của công dân",
    )
    db.session.add(notice)
    db.session.flush()
    return outbox.add("deliver_notice", notice.id).id


def send(referral_id: int, event: str = "referral") -> tuple[bool, list[int]]:
    """Send a referral (or its reminder) through its agency's channel: (settled, outbox ids to hand over)."""
    referral = db.session.get(Referral, referral_id, with_for_update=True)
    if event == "referral.reminder":
        return True, ([] if referral is None or referral.reply is not None else _remind(referral))
    if referral is None or referral.send_status not in ("pending", "retrying"):
        return True, []
    agency = referral.agency_row
    if agency.channel == "email":
        referral.send_status = "sent"
        body = f"Chuyển kiến nghị đến {agency.name}; hạn trả lời {referral.due_on:%d/%m/%Y}."
        return True, [_email(referral, "referral", body)]
    timeout = current_app.config["NOTICE_TIMEOUT_S"]
    referral.send_attempts = (referral.send_attempts or 0) + 1
    try:
        if agency.channel == "open311":
            referral.external_id = _post_open311(agency, referral, timeout)
        else:
            _post_webhook(agency, referral, timeout)
    except senders.Refused as exc:
        referral.send_status, referral.send_error = "failed", str(exc)[:1000]
        return True, []
    except senders.Unavailable as exc:  # RQ tries again (NOTICE_RETRY_S), then it is given up
        referral.send_error = str(exc)[:1000]
        if agency.channel == "open311" and exc.maybe_received:
            # Open311 has no idempotency key: a second POST could file the request twice at the agency.
            referral.send_status = "failed"
            referral.send_error += " — the agency may have received it: check with it before referring again"
            return True, []
        given_up = referral.send_attempts > len(outbox.retry_intervals("send_referral"))
        referral.send_status = "gave_up" if given_up else "retrying"
        return given_up, []
    referral.send_status, referral.send_error = "sent", None
    return True, []


def _post_open311(agency: Agency, referral: Referral, timeout: float) -> str:
    sent = what_is_sent(referral)
    form = {
        "api_key": agency.secret,
        "service_code": agency.service_code,
        "description": f"{sent['title']}\n\n{sent['body']}\n\nMTTQ: {sent['reference']}; hạn {sent['due_on']}",
        "address_string": sent["place"],
    }
    if sent["point"]:
        form["long"], form["lat"] = sent["point"]
    answer = call("POST", f"{agency.address.rstrip('/')}/requests.json", "the agency's Open311", timeout, data=form)
    request_id = answer[0].get("service_request_id") if isinstance(answer, list) and answer else None
    if not request_id:
        raise senders.Refused(f"the agency's Open311 answered without a service_request_id: {str(answer)[:200]!r}")
    return str(request_id)[:100]


def _remind(referral: Referral) -> list[int]:
    """Remind the agency of the due date, by its channel: an e-mail, or a signed webhook (best effort)."""
    agency = referral.agency_row
    if agency.channel == "email":
        return [_email(referral, "referral_reminder", f"Nhắc {agency.name}: hạn trả lời {referral.due_on:%d/%m/%Y}.")]
    try:
        _post_webhook(agency, referral, current_app.config["NOTICE_TIMEOUT_S"], event="referral.reminder")
    except (senders.Refused, senders.Unavailable) as exc:
        log.warning("referral reminder not sent", extra={"referral_id": referral.id, "error": str(exc)[:200]})
    return []


def remind_due(days_before: int = 2) -> int:
    """Queue one reminder for each listed agency's referral due within days_before and not answered."""
    today = datetime.now(UTC).astimezone(VIETNAM).date()
    due = db.session.scalars(
        select(Referral)
        .join(Agency, Agency.id == Referral.agency_id)
        .where(
            Agency.channel.in_(("email", "webhook")),
            Referral.reply.is_(None),
            Referral.no_reply_at.is_(None),
            Referral.last_reminded_at.is_(None),
            Referral.send_status == "sent",
            Referral.due_on <= today + timedelta(days=days_before),
        )
        .with_for_update(skip_locked=True)
    ).all()
    for referral in due:
        referral.last_reminded_at = datetime.now(UTC)
        outbox.add("send_referral", referral.id, "referral.reminder")
    return len(due)


def _post_webhook(agency: Agency, referral: Referral, timeout: float, event: str = "referral") -> None:
    body = json.dumps({"event": event, "referral_id": referral.id, **what_is_sent(referral)}).encode()
    headers = {"Content-Type": "application/json", **signing.sign(agency.secret, body)}
    call("POST", agency.address, "the agency's webhook", timeout, data=body, headers=headers)


def record_reply(referral: Referral, answer: str, by: str, file: tuple[str, str] | None = None) -> bool:
    """Keep the agency's answer on the referral and in the petition's history; tell the inbox's officers.

    The referral's row is locked: of two answers at once (a double click, the link and the agency's
    system), the first is kept and False is returned for the other.
    """
    db.session.execute(select(Referral.id).where(Referral.id == referral.id).with_for_update())
    db.session.refresh(referral)
    if referral.reply is not None:
        return False
    answer, by = answer.replace("\x00", ""), by.replace("\x00", "")
    petition = db.session.get(Petition, referral.petition_id)
    referral.reply, referral.replied_at, referral.replied_by = answer, datetime.now(UTC), by[:200] or None
    if file is not None:
        referral.reply_file_key, referral.reply_file_name = file
    agency = referral.agency_row.name if referral.agency_row else referral.agency
    workflow.record(
        petition,
        None,
        "agency_replied",
        note=answer,
        data={"referral_id": referral.id, "agency": agency, "file": bool(file)},
        label=f"agency:{agency}"[:64],
    )
    officers = db.session.scalars(select(User).where(User.area_id == petition.assigned_area_id, User.active)).all()
    told = f"{agency} đã trả lời kiến nghị {petition.reference}."
    notices.notify_officers(petition, list(officers), f"agency_replied:{referral.id}", told)
    return True


def poll_open311(limit: int = 50) -> int:
    """Ask Open311 agencies about the referrals they have not answered; return how many answers came.

    No row is locked while an agency's server is asked; each answer is recorded and committed on
    its own, so one that cannot be stored does not hold up the others.
    """
    timeout = current_app.config["NOTICE_TIMEOUT_S"]
    waiting = db.session.execute(
        select(Referral.id, Agency.address, Referral.external_id)
        .join(Agency, Agency.id == Referral.agency_id)
        .where(Referral.external_id.is_not(None), Referral.reply.is_(None))
        .order_by(Referral.polled_at.asc().nulls_first())
        .limit(limit)
    ).all()
    db.session.execute(
        update(Referral).where(Referral.id.in_([row.id for row in waiting])).values(polled_at=func.now())
    )
    db.session.commit()
    answered = 0
    for referral_id, address, external_id in waiting:
        url = f"{address.rstrip('/')}/requests/{quote(external_id, safe='')}.json"
        try:
            answer = call("GET", url, "the agency's Open311", timeout)
        except (senders.Refused, senders.Unavailable) as exc:
            log.warning("open311 poll failed", extra={"referral_id": referral_id, "error": str(exc)[:200]})
            continue
        request = answer[0] if isinstance(answer, list) and answer and isinstance(answer[0], dict) else {}
        notes = str(request.get("status_notes") or "").replace("\x00", "").strip()
        if request.get("status") != "closed" or not notes:
            continue
        referral = db.session.get(Referral, referral_id)
        by = str(request.get("agency_responsible") or referral.agency)
        try:
            answered += record_reply(referral, notes[:10000], by)
            db.session.commit()
        except SQLAlchemyError:
            db.session.rollback()
            log.exception("open311 answer not stored", extra={"referral_id": referral_id})
    return answered
