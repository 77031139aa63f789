"""Partner systems and their API keys (Open311 GeoReport v2).

A key is 32 random bytes, URL-safe (43 characters), shown once when the
partner is made; only its SHA-256 is stored, so a stolen database gives no
usable key. A random key that long needs no slow hash: checking one costs
one indexed look-up, which matters on every POST of a busy partner.

A key may carry a scope for reads: an area (a province or a commune of the
current generation; its inbox, as for an officer) and whether it sees
petitions not yet published there. Without one it reads the published view
of the whole country, like anyone.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from limits import parse_many
from sqlalchemy import select

from app.extensions import db
from app.models import Area, Partner
from app.queries.areas import area_by_code

NAME_MAX = 50  # "partner:<name>" must fit the audit trail's 64-character label
DEFAULT_RATE = "60 per minute"
SCOPE_LEVELS = ("province", "commune")  # the levels that have an inbox (app/services/scope.py)


class PartnerError(ValueError):
    """A refused change; the message is for the operator."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def hash_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def check_rate(rate: str) -> str:
    """The rate limit in flask-limiter syntax ("120 per minute;5000 per day"), or PartnerError."""
    rate = (rate or "").strip()
    try:
        if not rate or not parse_many(rate):
            raise ValueError
    except ValueError:
        raise PartnerError(f'invalid rate limit "{rate}" (e.g. "120 per minute" or "10/second;5000/day")') from None
    return rate


def scope_area(code: str | None) -> Area | None:
    """The province or commune of the current generation a key's reads are limited to, or PartnerError."""
    code = (code or "").strip()
    if not code:
        return None
    area = area_by_code(code)
    if area is None:
        raise PartnerError(f'no area with the code "{code}" in the current boundaries')
    if area.level not in SCOPE_LEVELS:
        raise PartnerError(f'"{code}" is a {area.level}: a key\'s area is a province or a commune')
    return area


def create(
    name: str, rate_limit: str = DEFAULT_RATE, area_code: str | None = None, sees_unpublished: bool = False
) -> tuple[Partner, str]:
    """Make a partner; returns it with its API key, which is never shown again. Flushes, does not commit."""
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX or not name.isprintable():
        raise PartnerError(f"a partner's name is 1–{NAME_MAX} printable characters")
    if by_name(name) is not None:
        raise PartnerError(f'a partner named "{name}" already exists')
    rate_limit = check_rate(rate_limit)
    area = scope_area(area_code)
    if sees_unpublished and area is None:
        raise PartnerError("a key that sees petitions not yet published needs an area (--area CODE)")
    api_key = secrets.token_urlsafe(32)
    partner = Partner(
        name=name,
        key_hash=hash_key(api_key),
        rate_limit=rate_limit,
        active=True,
        area_id=area.id if area else None,
        sees_unpublished=sees_unpublished,
    )
    db.session.add(partner)
    db.session.flush()
    return partner, api_key


def by_name(name: str) -> Partner | None:
    return db.session.scalar(select(Partner).where(Partner.name == (name or "").strip()))


def revoke(name: str) -> Partner:
    """Stop a partner's key from working (its petitions keep pointing at it). Flushes, does not commit."""
    partner = by_name(name)
    if partner is None:
        raise PartnerError(f'no partner named "{name}"')
    if partner.active:
        partner.active = False
        partner.revoked_at = datetime.now(UTC)
        db.session.flush()
    return partner


def listing() -> list[tuple[Partner, Area | None]]:
    """The partners by name, each with its scope's area (None: the whole country)."""
    stmt = select(Partner, Area).outerjoin(Area, Partner.area_id == Area.id).order_by(Partner.name)
    return [(partner, area) for partner, area in db.session.execute(stmt)]


def by_key(api_key: str | None) -> Partner | None:
    """The active partner holding this key; None when it is missing, unknown or revoked."""
    if not api_key or len(api_key) > 200:
        return None
    digest = hash_key(api_key)
    partner = db.session.scalar(select(Partner).where(Partner.key_hash == digest))
    if partner is None or not hmac.compare_digest(partner.key_hash, digest) or not partner.active:
        return None
    return partner
