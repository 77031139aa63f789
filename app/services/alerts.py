"""Area alerts (as FixMyStreet's local alerts): an address is told of each new published petition of an area.

Anyone may ask, for a province or a commune, for some categories or all,
at once or in a daily digest; nothing is sent until the address confirms
through the link mailed to it, and every message carries a link that ends
the alert. Only the published view is ever sent (the officer's redacted
text, the place, the public page's link): the same as the public page.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import func, or_, select

from app.extensions import db
from app.models import AlertSubscription, Area, Notice, Petition
from app.services import notices, outbox, publication

FREQUENCIES = ("now", "daily")
MAX_PER_ADDRESS = 20  # alerts one address may hold (confirmed or not)
DIGEST_MAX = 50  # petitions listed in one daily digest


class AlertRefused(ValueError):
    """The alert cannot be made: the message says why."""


def subscribe(email: str, area: Area, categories: list[str], frequency: str) -> AlertSubscription:
    """Record the alert, unconfirmed, and mail its confirmation link."""
    held = db.session.scalar(
        select(func.count()).where(AlertSubscription.email == email, AlertSubscription.unsubscribed_at.is_(None))
    )
    if held >= MAX_PER_ADDRESS:
        raise AlertRefused("too many")
    sub = AlertSubscription(
        email=email, area_id=area.id, categories=sorted(set(categories)), frequency=frequency,
        token=secrets.token_urlsafe(32),
    )  # fmt: skip
    db.session.add(sub)
    db.session.flush()
    _mail(sub, f"alert_confirm:{sub.id}", None, f"Xác nhận nhận tin kiến nghị mới tại {area.full_name}.")
    return sub


def by_token(token: str) -> AlertSubscription | None:
    if not token or len(token) > 64:
        return None
    return db.session.scalar(select(AlertSubscription).where(AlertSubscription.token == token))


def confirm(sub: AlertSubscription) -> None:
    if sub.confirmed_at is None:
        sub.confirmed_at = datetime.now(UTC)
        sub.last_digest_at = sub.confirmed_at


def unsubscribe(sub: AlertSubscription) -> None:
    if sub.unsubscribed_at is None:
        sub.unsubscribed_at = datetime.now(UTC)


def _active(frequency: str):
    return select(AlertSubscription).where(
        AlertSubscription.frequency == frequency,
        AlertSubscription.confirmed_at.is_not(None),
        AlertSubscription.unsubscribed_at.is_(None),
    )


def _for_category(category: str):
    return or_(AlertSubscription.categories == [], AlertSubscription.categories.any(category))


def notify_now(petition: Petition) -> list[int]:
    """Mail each "at once" alert that covers this newly published petition; the outbox ids."""
    if not publication.is_published(petition):
        return []
    areas = [a for a in (petition.village_id, petition.commune_id, petition.province_id) if a]
    subs = db.session.scalars(
        _active("now").where(AlertSubscription.area_id.in_(areas), _for_category(petition.category_code))
    ).all()
    jobs = []
    for sub in subs:
        kind = f"alert:{sub.id}"
        if not notices.already_sent(petition.id, kind):
            jobs.append(_mail(sub, kind, petition.id, f"Kiến nghị mới {petition.reference}."))
    return jobs


def digests(now: datetime | None = None) -> list[int]:
    """Mail each daily alert the petitions published in its area since its last digest; the outbox ids."""
    now = now or datetime.now(UTC)
    jobs = []
    for sub in db.session.scalars(_active("daily").with_for_update(skip_locked=True)).all():
        since = sub.last_digest_at or sub.confirmed_at
        area = sub.area
        column = {"province": Petition.province_id, "commune": Petition.commune_id}.get(area.level, Petition.village_id)
        query = (
            select(Petition)
            .where(column == area.id, publication.published(), Petition.accepted_at > since)
            .order_by(Petition.accepted_at)
            .limit(DIGEST_MAX)
        )
        if sub.categories:
            query = query.where(Petition.category_code.in_(sub.categories))
        found = db.session.scalars(query).all()
        sub.last_digest_at = now
        if found:
            base = current_app.config["PORTAL_URL"]
            lines = [f"- {p.shown_title} ({_place(p)}): {base}/p/{p.public_id}" for p in found]
            jobs.append(_mail(sub, f"alert_digest:{sub.id}:{now:%Y%m%d}", None, "\n".join(lines)))
    return jobs


def _place(petition: Petition) -> str:
    return ", ".join(a.full_name for a in (petition.village, petition.commune) if a is not None)


def _mail(sub: AlertSubscription, kind: str, petition_id: int | None, body: str) -> int:
    notice = Notice(petition_id=petition_id, channel="email", recipient=sub.email, kind=kind, body=body)
    db.session.add(notice)
    db.session.flush()
    return outbox.add("deliver_notice", notice.id).id
