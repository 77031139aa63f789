"""The officers' second factor: a TOTP app (RFC 6238, 30-second codes of 6 digits) and recovery codes.

Provincial, central and administrator accounts — which see a province or the
country, citizens' contacts among it — must have one: at their first login
after the password they enrol (scan the code, type one code back, keep the
ten recovery codes shown once). Commune officers may enrol. A code is taken
once (the step it belongs to is remembered), a code of the step before or
after is taken too (a phone's clock a little off). A recovery code stands in
for a code once. Losing the device is handled by an administrator's reset
(`flask officers reset-second-factor`), audited, which also ends the
sessions the old factor opened; the officer then enrols again at the next
login. Turning it on from an open session asks for the password again.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import UTC, datetime

import pyotp
import segno
from sqlalchemy import delete, select

from app.extensions import db
from app.models import RecoveryCode, User
from app.services import workflow

REQUIRED_ROLES = ("province", "central", "admin")
ISSUER = "Cổng Mặt trận số"
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i


def required(user: User) -> bool:
    return user.role in REQUIRED_ROLES


def enrolled(user: User) -> bool:
    return user.totp_enabled_at is not None and bool(user.totp_secret)


def lock(user: User) -> None:
    """Lock the officer's row until the transaction ends, and read it afresh."""
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    db.session.refresh(user)


def pending_secret(user: User) -> str:
    """The key being enrolled: made once and kept with the account (a session cookie is readable)."""
    lock(user)
    if not user.totp_pending_secret:
        user.totp_pending_secret = pyotp.random_base32()
    return user.totp_pending_secret


def qr_svg(user: User, secret: str) -> str:
    """The enrolment's QR code as inline SVG (no script, nothing fetched)."""
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
    return segno.make(uri, error="m").svg_inline(scale=5, dark="#1a1a1a", light="#ffffff")


def _step_of(secret: str, code: str, now: float) -> int | None:
    """The time step (now, the one before or after) whose code this is, or None."""
    totp = pyotp.TOTP(secret)
    for offset in (0, -1, 1):
        step = int(now // totp.interval) + offset
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _digits(code: str) -> str:
    return "".join(ch for ch in code if ch in "0123456789")


def enrol(user: User, code: str) -> list[str] | None:
    """Turn the second factor on with the key being enrolled when the code matches; the recovery codes (shown
    once). Of two enrolments at once, one wins and the other finds it done."""
    lock(user)
    secret = user.totp_pending_secret
    if enrolled(user) or not secret or len(_digits(code)) != 6:
        return None
    step = _step_of(secret, _digits(code), time.time())
    if step is None:
        return None
    user.totp_secret, user.totp_enabled_at, user.totp_last_step = secret, datetime.now(UTC), step
    user.totp_pending_secret = None
    codes = _new_recovery_codes(user)
    workflow.record(None, user, "second_factor_enrolled", data={"user": user.username})
    return codes


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_hash(raw)))
    return codes


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def verify(user: User, code: str) -> bool:
    """Take a code from the app (once) or a recovery code (once); the user's row is locked meanwhile."""
    lock(user)
    if not enrolled(user):
        return False
    digits = _digits(code)
    if len(digits) == 6 and len(code.strip()) <= 7:
        step = _step_of(user.totp_secret, digits, time.time())
        if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
            return False  # wrong, or already used (a code seen over a shoulder, a replay)
        user.totp_last_step = step
        return True
    raw = "".join(ch for ch in code.lower() if ch in _RECOVERY_ALPHABET)
    if len(raw) != 10:
        return False
    row = db.session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _hash(raw), RecoveryCode.used_at.is_(None)
        )
    )
    if row is None:
        return False
    row.used_at = datetime.now(UTC)
    left = db.session.scalar(
        select(db.func.count()).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )
    workflow.record(None, user, "recovery_code_used", data={"user": user.username, "left": left})
    return True


def reset(user: User, admin: User) -> None:
    """An administrator's reset (the device lost): the officer enrols again at the next login. Audited."""
    user.totp_secret = user.totp_enabled_at = user.totp_last_step = user.totp_pending_secret = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    workflow.record(None, admin, "second_factor_reset", data={"user": user.username})
