"""Partner systems and their API keys (Open311 GeoReport v2).

A key is 32 random bytes, URL-safe (43 characters), shown once when the
partner is made; only its SHA-256 is stored, so a stolen database gives no
usable key. A random key that long needs no slow hash: checking one costs
one indexed look-up, which matters on every POST of a busy partner.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from limits import parse_many
from sqlalchemy import select

from app.extensions import db
from app.models import Partner

NAME_MAX = 50  # "partner:<name>" must fit the audit trail's 64-character label
DEFAULT_RATE = "60 per minute"


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


def create(name: str, rate_limit: str = DEFAULT_RATE) -> tuple[Partner, str]:
    """Make a partner; returns it with its API key, which is never shown again. Flushes, does not commit."""
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX or not name.isprintable():
        raise PartnerError(f"a partner's name is 1–{NAME_MAX} printable characters")
    if by_name(name) is not None:
        raise PartnerError(f'a partner named "{name}" already exists')
    api_key = secrets.token_urlsafe(32)
    partner = Partner(name=name, key_hash=hash_key(api_key), rate_limit=check_rate(rate_limit), active=True)
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


def listing() -> list[Partner]:
    return list(db.session.scalars(select(Partner).order_by(Partner.name)))


def by_key(api_key: str | None) -> Partner | None:
    """The active partner holding this key; None when it is missing, unknown or revoked."""
    if not api_key or len(api_key) > 200:
        return None
    digest = hash_key(api_key)
    partner = db.session.scalar(select(Partner).where(Partner.key_hash == digest))
    if partner is None or not hmac.compare_digest(partner.key_hash, digest) or not partner.active:
        return None
    return partner
