"""Partners' webhooks: an event on a petition in a partner's scope is POSTed to it, signed.

A partner is told about a petition it sent whose citizen allowed
publication, about a published petition in its area (the whole country when
it has none), and, when its key sees unpublished petitions, about the
publishable ones of its area — never about one the citizen asked to keep
private. Each delivery is a row (the delivery log) and a job; the body is
signed (app/signing.py), retried by RQ NOTICE_RETRY_S apart while the
partner's server is away, then given up. The body carries identifiers and
statuses, and the answer once published; the rest is one Open311 GET away.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime

import requests
from flask import current_app
from sqlalchemy import select

from app import signing
from app.extensions import db
from app.models import Area, Partner, Petition, WebhookDelivery, WebhookSubscription
from app.models.webhook import EVENTS
from app.services import open311, outbox, publication
from app.services.open311 import open311_status
from app.services.workdays import VIETNAM


class WebhookError(ValueError):
    """A subscription that cannot be made: the message says why."""


def subscribe(partner: Partner, url: str, events: list[str]) -> tuple[WebhookSubscription, str]:
    """Subscribe a partner's URL to events; the secret that signs its deliveries, shown once."""
    if not url.startswith(("https://", "http://")):
        raise WebhookError("The URL must be http:// or https://.")
    unknown = sorted(set(events) - set(EVENTS))
    if unknown or not events:
        raise WebhookError(f"Events are among {', '.join(EVENTS)}; not {', '.join(unknown) or 'none'}.")
    secret = secrets.token_urlsafe(32)
    subscription = WebhookSubscription(partner_id=partner.id, url=url, secret=secret, events=sorted(set(events)))
    db.session.add(subscription)
    db.session.flush()
    return subscription, secret


def _sees(partner: Partner, petition: Petition) -> bool:
    """What the partner may read through Open311 (app/services/open311.py readable_by), and the petitions
    it sent itself whose citizen allowed publication; never one the citizen asked to keep private."""
    if not partner.active or not petition.publishable:
        return False
    if petition.partner_id == partner.id:
        return True
    in_area = partner.area_id is None or _in_area(partner, petition)
    if publication.is_published(petition):
        return in_area
    return open311.sees_unpublished(partner) and partner.area_id is not None and in_area


def _in_area(partner: Partner, petition: Petition) -> bool:
    area = db.session.get(Area, partner.area_id)
    return partner.area_id == (petition.province_id if area.level == "province" else petition.commune_id)


def emit(petition: Petition, event: str) -> list[int]:
    """Write a delivery of this event for each subscription that sees the petition; their outbox ids."""
    subscriptions = db.session.scalars(
        select(WebhookSubscription).where(WebhookSubscription.active, WebhookSubscription.events.any(event))
    ).all()
    jobs = []
    for subscription in subscriptions:
        if not _sees(subscription.partner, petition):
            continue
        delivery = WebhookDelivery(subscription_id=subscription.id, event=event, petition_id=petition.id, body="")
        db.session.add(delivery)
        db.session.flush()
        delivery.body = json.dumps(_payload(delivery, petition), ensure_ascii=False, separators=(",", ":"))
        jobs.append(outbox.add("deliver_webhook", delivery.id).id)
    return jobs


def _payload(delivery: WebhookDelivery, petition: Petition) -> dict:
    answers = petition.public_answers if publication.is_published(petition) else []
    return {
        "event": delivery.event,
        "delivery_id": delivery.id,
        "occurred_at": datetime.now(UTC).astimezone(VIETNAM).isoformat(timespec="seconds"),
        "petition": {
            "service_request_id": petition.public_id,
            "status": open311_status(petition.status),
            "detailed_status": petition.status,
            "service_code": petition.category_code,
            "commune_code": petition.commune.code if petition.commune else None,
            "province_code": petition.province.code if petition.province else None,
            "published": publication.is_published(petition),
            "status_notes": answers[-1].body if answers else None,
        },
    }


def deliver(delivery_id: int) -> bool:
    """POST one delivery, signed; True once it is settled (sent, failed, given up)."""
    delivery = db.session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.status != "pending":
        return True
    subscription = delivery.subscription
    delivery.attempts += 1
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "CongMatTranSo-Webhook/1",
        "X-Portal-Event": delivery.event,
        "X-Portal-Delivery": str(delivery.id),
        **signing.sign(subscription.secret, body),
    }
    timeout = current_app.config["NOTICE_TIMEOUT_S"]
    passing = False
    try:
        response = requests.post(subscription.url, data=body, headers=headers, timeout=timeout, allow_redirects=False)
    except requests.RequestException as exc:
        delivery.last_error, passing = f"{type(exc).__name__}: the partner's server did not answer", True
    else:
        delivery.response_status = response.status_code
        if 200 <= response.status_code < 300:
            delivery.status, delivery.last_error, delivery.delivered_at = "sent", None, datetime.now(UTC)
            return True
        delivery.last_error = f"HTTP {response.status_code} {response.text[:200]!r}"
        passing = response.status_code >= 500 or response.status_code in (408, 429)
    if not passing:
        delivery.status = "failed"
    elif delivery.attempts > len(outbox.retry_intervals("deliver_webhook")):
        delivery.status = "gave_up"
    return delivery.status != "pending"


def log(partner: Partner | None = None, limit: int = 100) -> list[WebhookDelivery]:
    """The latest deliveries (a partner's, or everyone's), newest first."""
    query = select(WebhookDelivery).join(WebhookSubscription).order_by(WebhookDelivery.id.desc()).limit(limit)
    if partner is not None:
        query = query.where(WebhookSubscription.partner_id == partner.id)
    return list(db.session.scalars(query))
