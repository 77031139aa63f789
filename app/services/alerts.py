"""Area alerts (as FixMyStreet's local alerts): an address is told of each new published petition of an area.

Anyone may ask, for a province or a commune, for some categories or all,
at once or in a daily digest; nothing is sent until the address confirms
through the link mailed to it, and every message carries a link that ends
the alert. Only the published view is ever sent (the officer's redacted
text, the place, the public page's link): the same as the public page.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import AlertSubscription, Area, Notice, Petition
from app.services import notices, outbox, publication

FREQUENCIES = ("now", "daily")
MAX_PER_ADDRESS = 20  # alerts one address may hold (confirmed or not)
DIGEST_MAX = 50  # petitions listed in one daily digest


UNCONFIRMED_PER_DAY = 2  # confirmation mails one address gets a day, whoever asks
UNCONFIRMED_KEPT = timedelta(days=7)  # an alert never confirmed is forgotten (and its address) after this


def subscribe(email: str, area: Area, categories: list[str], frequency: str) -> int | None:
    """Record the alert, unconfirmed, and queue the mail of its confirmation link: its outbox id.

    None when the address may not get another (MAX_PER_ADDRESS held, or UNCONFIRMED_PER_DAY asked
    today): the page says the same either way, so that it tells no one what an address holds.
    """
    email = email.lower()
    recent = AlertSubscription.created_at > datetime.now(UTC) - timedelta(days=1)
    held, asked_today = db.session.execute(
        select(
            func.count().filter(AlertSubscription.unsubscribed_at.is_(None)),
            func.count().filter(AlertSubscription.confirmed_at.is_(None), recent),
        ).where(func.lower(AlertSubscription.email) == email)
    ).one()
    if held >= MAX_PER_ADDRESS or asked_today >= UNCONFIRMED_PER_DAY:
        return None
    sub = AlertSubscription(
        email=email, area_id=area.id, categories=sorted(set(categories)), frequency=frequency,
        token=secrets.token_urlsafe(32),
    )  # fmt: skip
    db.session.add(sub)
    db.session.flush()
    return _mail(sub, f"alert_confirm:{sub.id}", None, f"Xác nhận nhận tin kiến nghị mới tại {area.full_name}.")


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


def still_wanted(notice: Notice, petition: Petition | None) -> bool:
    """Whether an alert's mail may still go: its alert not ended (confirmed, for all but the confirmation),
    and its petition still published (checked again when it is sent, and sent again)."""
    sub = db.session.get(AlertSubscription, int(notice.kind.split(":")[1]))
    if sub is None or sub.unsubscribed_at is not None:
        return False
    if notice.kind.startswith("alert_confirm"):
        return sub.confirmed_at is None
    if sub.confirmed_at is None:
        return False
    return petition is None or publication.is_published(petition)


def digest_petitions(notice: Notice) -> list[Petition]:
    """The petitions a digest lists (their ids in its body), those still published, rendered when it is sent."""
    ids = [int(i) for i in notice.body.split(",") if i.isdigit()]
    found = db.session.scalars(select(Petition).where(Petition.id.in_(ids), publication.published())).all()
    return sorted(found, key=lambda p: ids.index(p.id))


def forget_unconfirmed(now: datetime | None = None) -> int:
    """Delete the alerts never confirmed within UNCONFIRMED_KEPT (and so the addresses strangers gave)."""
    cutoff = (now or datetime.now(UTC)) - UNCONFIRMED_KEPT
    old = db.session.scalars(
        select(AlertSubscription).where(AlertSubscription.confirmed_at.is_(None), AlertSubscription.created_at < cutoff)
    ).all()
    for sub in old:
        db.session.execute(
            Notice.__table__.update().where(Notice.kind == f"alert_confirm:{sub.id}").values(recipient="")
        )
        db.session.delete(sub)
    return len(old)


def digests(now: datetime | None = None) -> list[int]:
    """Mail each daily alert the petitions published in its area since its last digest; the outbox ids."""
    now = now or datetime.now(UTC)
    forget_unconfirmed(now)
    jobs = []
    daily = (
        _active("daily")
        .options(joinedload(AlertSubscription.area))
        .with_for_update(skip_locked=True, of=AlertSubscription)
    )
    for sub in db.session.scalars(daily).all():
        since = sub.last_digest_at or sub.confirmed_at
        area = sub.area
        column = {"province": Petition.province_id, "commune": Petition.commune_id}.get(area.level, Petition.village_id)
        query = (
            select(Petition.id, Petition.accepted_at)
            .where(
                column == area.id, publication.published(), Petition.accepted_at > since, Petition.accepted_at <= now
            )
            .order_by(Petition.accepted_at, Petition.id)
            .limit(DIGEST_MAX)
        )
        if sub.categories:
            query = query.where(Petition.category_code.in_(sub.categories))
        found = db.session.execute(query).all()
        # A full digest ends at its last petition: the next one goes on from there, nothing skipped.
        sub.last_digest_at = found[-1].accepted_at if len(found) == DIGEST_MAX else now
        if found:  # the ids only: the titles are read, still published, when it is sent
            ids = ",".join(str(row.id) for row in found)
            jobs.append(_mail(sub, f"alert_digest:{sub.id}:{now:%Y%m%d%H%M}", None, ids))
    return jobs


def _mail(sub: AlertSubscription, kind: str, petition_id: int | None, body: str) -> int:
    notice = Notice(petition_id=petition_id, channel="email", recipient=sub.email, kind=kind, body=body)
    db.session.add(notice)
    db.session.flush()
    return outbox.add("deliver_notice", notice.id).id
