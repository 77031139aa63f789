"""Signed HTTP messages between the portal and the systems it is connected with.

Every body the portal POSTs to a webhook, and every callback it takes, is
signed with the receiver's or sender's shared secret:

    X-Portal-Timestamp: 1764921600            (Unix seconds)
    X-Portal-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>

A callback is refused when its signature does not verify, when its
timestamp is more than TOLERANCE_S away from the portal's clock, or when
the same signature was seen before (a replay): see verify().
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.extensions import db

TOLERANCE_S = 300


class BadSignature(Exception):
    """The callback is not signed by the secret, is too old or too new, or was seen before."""


def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers that sign this body."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"X-Portal-Timestamp": stamp, "X-Portal-Signature": f"sha256={digest}"}


def verify(secret: str, body: bytes, headers) -> None:
    """Check a callback's signature, its age, and that it was not seen before (then remember it)."""
    stamp, signature = headers.get("X-Portal-Timestamp", ""), headers.get("X-Portal-Signature", "")
    if not secret or not re.fullmatch(r"[0-9]{1,12}", stamp) or not re.fullmatch(r"sha256=[0-9a-f]{64}", signature):
        raise BadSignature("missing or malformed X-Portal-Timestamp / X-Portal-Signature")
    expected = sign(secret, body, int(stamp))["X-Portal-Signature"]
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        raise BadSignature("the signature does not match the body")
    if abs(time.time() - int(stamp)) > TOLERANCE_S:
        raise BadSignature(f"the timestamp is more than {TOLERANCE_S} s away from the portal's clock")
    seen = hashlib.sha256(signature.encode()).hexdigest()
    try:
        with db.session.begin_nested():
            db.session.execute(text("INSERT INTO callbacks_seen (digest) VALUES (:d)"), {"d": seen})
    except IntegrityError:
        raise BadSignature("this callback was received before (a replay)") from None
    # Older than the tolerance, a replay fails on its timestamp anyway: forget it.
    db.session.execute(
        text("DELETE FROM callbacks_seen WHERE seen_at < now() - make_interval(secs => :s)"), {"s": 2 * TOLERANCE_S}
    )
