"""Browsers an officer has logged in from: they pass the per-account login limit.

An account's hourly budget of attempts from all clients together (see
app/limits.py) stops guessing from many addresses, but a stranger could keep
it spent for as long as he likes. So a successful login (or activation)
leaves a signed cookie naming the account, and a browser that carries it is
not held by that budget: the officer's own browsers keep working while a
stranger spends it; only a browser the account never used waits for the
window to pass. The cookie grants nothing else: the password is still
checked, and the per-client limits and back-off still apply.
"""

from __future__ import annotations

from flask import current_app, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "known_logins"
MAX_AGE = 180 * 24 * 3600  # seconds
MAX_ACCOUNTS = 8  # a shared office computer remembers this many officers


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="known-logins")


def known_accounts() -> list[str]:
    """Usernames this browser has logged in as (none when the cookie is missing, forged or too old)."""
    value = request.cookies.get(COOKIE)
    if not value:
        return []
    try:
        names = _serializer().loads(value, max_age=MAX_AGE)
    except BadSignature:
        return []
    return [name for name in names if isinstance(name, str)] if isinstance(names, list) else []


def is_known(username: str) -> bool:
    """Whether this browser has logged in to this account before."""
    return username in known_accounts()


def remember(response, username: str) -> None:
    """Note on the response's cookie that this browser logged in to this account."""
    names = [username] + [name for name in known_accounts() if name != username]
    response.set_cookie(
        COOKIE,
        _serializer().dumps(names[:MAX_ACCOUNTS]),
        max_age=MAX_AGE,
        path=url_for("auth.login"),  # read only there
        httponly=True,
        secure=current_app.config["SESSION_COOKIE_SECURE"],
        samesite="Lax",
    )
