"""Rate limits, all in one place, on a limiter made per app.

Counters live in Redis; if Redis is down the limiter falls back to
per-process memory rather than refusing citizens.
"""

from __future__ import annotations

import hashlib

from flask import Flask, current_app, request
from flask_limiter import Limiter
from redis.exceptions import RedisError

from app.clients import client_key
from app.redis_conn import redis


def _submit_limit() -> str:
    return current_app.config["SUBMIT_LIMIT"]


def _only_picking_a_place() -> bool:
    return request.form.get("action") == "pick"


OUTAGE_KEEP_S = 600  # how long a form the portal could not take may be sent again without counting


def _outage_key() -> str | None:
    """Where a form the portal could not take is noted: the client and the form's idempotency key."""
    key = request.form.get("idempotency_key", "")
    if not key or len(key) > 64:
        return None
    digest = hashlib.sha256(f"{client_key()}|{key}".encode()).hexdigest()[:32]
    return f"portal:outage-resend:{digest}"


def _picking_or_resent_after_outage() -> bool:
    """Not counted: a place being picked, or a form sent again (its same key) after the portal answered it 5xx.

    A form is counted when it is checked, before it is stored, so that
    forms sent all at once cannot pass the limit together. One the portal
    could not take (the database away, failing over) spent a submission:
    the phone sends it again with the same key, and that costs nothing, so
    the citizen is not refused for the portal's outage. The key stores at
    most one petition however often it is sent.
    """
    if _only_picking_a_place():
        return True
    noted = _outage_key()
    if noted is None:
        return False
    try:
        return bool(redis().exists(noted))
    except RedisError:
        return False


def _note_outage(response):
    """After a 5xx to a petition form: its resend (same key, same client) is not counted again."""
    if request.endpoint == "petitions.create" and response.status_code >= 500:
        noted = _outage_key()
        if noted is not None:
            try:
                redis().set(noted, 1, ex=OUTAGE_KEEP_S)
            except RedisError:
                pass
    return response


def _login_limit() -> str:
    return current_app.config["LOGIN_LIMIT"]


def _not_a_post() -> bool:
    return request.method != "POST"


def _login_account_limit() -> str:
    return current_app.config["LOGIN_ACCOUNT_LIMIT"]


def _typed_username() -> str:
    return (request.form.get("username") or "").strip().lower()


def _account() -> str:
    """Counts login attempts per account, whatever address they come from."""
    return "account:" + _typed_username()


def _not_a_post_or_a_known_browser() -> bool:
    """The per-account budget never holds a browser that has logged in to the account before.

    A stranger can keep an account's budget spent as long as he keeps
    sending; with this exemption that delays only browsers the account never
    used, and only while he keeps on (a sliding window, no stored lock).
    """
    from app.auth.browsers import is_known

    return request.method != "POST" or is_known(_typed_username())


def _open311_read_limit() -> str:
    return current_app.config["OPEN311_READ_LIMIT"]


def _scorecard_limit() -> str:
    return current_app.config["SCORECARD_LIMIT"]


def _public_map_limit() -> str:
    return current_app.config["PUBLIC_MAP_LIMIT"]


def _geo_limit() -> str:
    return current_app.config["GEO_LIMIT"]


def _geo_miss_limit() -> str:
    return current_app.config["GEO_MISS_LIMIT"]


def _geo_misser() -> str:
    """Counts a client's misses apart from its other requests for boundary files."""
    return "geo-miss:" + client_key()


def _a_miss(response) -> bool:
    return response.status_code == 404


def _partner_limit() -> str:
    """A partner's own rate (partners.rate_limit); requests without a valid key share the read limit."""
    from app.open311 import request_partner

    partner = request_partner()
    return partner.rate_limit if partner else current_app.config["OPEN311_READ_LIMIT"]


def _partner() -> str:
    """Counts a partner's POSTs whatever address they come from; unknown keys share one bucket per address."""
    from app.open311 import request_partner

    partner = request_partner()
    return f"partner:{partner.id}" if partner else "open311-no-key:" + client_key()


def _voice_limit() -> str:
    return current_app.config["VOICE_LIMIT"]


def _voice_petition_limit() -> str:
    return current_app.config["VOICE_PETITION_LIMIT"]


def _voiced_petition() -> str:
    """Counts voices per petition, whatever address they come from."""
    return "voices:" + str((request.view_args or {}).get("public_id", ""))[:16]


def _rating_limit() -> str:
    return current_app.config["RATING_LIMIT"]


def _rating_petition_limit() -> str:
    return current_app.config["RATING_PETITION_LIMIT"]


def _rated_petition() -> str:
    """Counts ratings per petition, whatever address they come from."""
    return "rated:" + "".join(ch for ch in (request.view_args or {}).get("code", "").upper() if ch.isalnum())


def _alert_limit() -> str:
    return current_app.config["ALERT_LIMIT"]


def _inbound_limit() -> str:
    return current_app.config["INBOUND_SMS_LIMIT"]


def _agency_limit() -> str:
    return current_app.config["AGENCY_LIMIT"]


# endpoint → [(limit, exempt_when, key_func or None for the client address[, deduct_when: which answers count])]
# (Guessing tracking codes is throttled in app/guessing.py.)
LIMITS = {
    "petitions.create": [(_submit_limit, _picking_or_resent_after_outage, None)],
    "petitions.rate": [(_rating_limit, None, None), (_rating_petition_limit, None, _rated_petition)],
    # Voices per client address (generous: one carrier-grade NAT address is thousands of phones) and per petition.
    "petitions.support": [(_voice_limit, None, None), (_voice_petition_limit, None, _voiced_petition)],
    # Per client address; and per account from all clients (the wrong passwords of one client for one
    # account also back off in app/services/accounts.py). Activation has no per-account limit: its
    # 48-bit codes need none, and a stranger could spend it to keep a new officer out.
    "auth.login": [(_login_limit, _not_a_post, None), (_login_account_limit, _not_a_post_or_a_known_browser, _account)],
    "auth.activate": [(_login_limit, _not_a_post, None)],
    # The second step: codes per client address (wrong ones also back off per account: app/auth/routes.py).
    "auth.second_factor_code": [(_login_limit, _not_a_post, None)],
    "auth.enrol": [(_login_limit, _not_a_post, None)],
    # Each scorecard counts a commune's petitions; the index searches names (bounded, but a database query).
    "maps.scorecard": [(_scorecard_limit, None, None)],
    "maps.scorecards": [(_scorecard_limit, None, None)],
    # Each new set of filters counts the published petitions (app/services/map_counts.py shares repeats).
    "maps.public_map": [(_public_map_limit, None, None)],
    # Boundary files: a page opens a few and browsers keep them; a client asking for files no page names
    # (each a 404) is stopped sooner.
    "maps.boundary_file": [(_geo_limit, None, None), (_geo_miss_limit, None, _geo_misser, _a_miss)],
    "open311.create_request": [(_partner_limit, None, _partner)],
    # Agencies' reply links (unguessable, signed) and their systems' signed updates.
    "agency.reply": [(_agency_limit, None, None)],
    "agency.updates": [(_agency_limit, None, None)],
    "inbound.sms": [(_inbound_limit, None, None)],  # one gateway: generous
    # Each alert asked for mails a stranger's address: few per client.
    "alerts.subscribe": [(_alert_limit, _not_a_post, None)],
    "alerts.confirm": [(_agency_limit, None, None)],
    "alerts.unsubscribe": [(_agency_limit, None, None)],
    **{
        f"open311.{read}": [(_open311_read_limit, None, None)]
        for read in ("discovery", "services", "service_definition", "request_list", "request_detail", "token")
    },
}


def init_app(app: Flask) -> None:
    """Limit the endpoints above; call after the blueprints are registered."""
    limiter = Limiter(
        key_func=client_key,  # an IPv4 address or an IPv6 /64, through ProxyFix when configured
        storage_uri=app.config["RATELIMIT_STORAGE_URI"],
        swallow_errors=True,
        in_memory_fallback_enabled=True,
        strategy="sliding-window-counter",  # one Redis call per limit
    )
    limiter.init_app(app)
    _no_per_request_hook(app, limiter)
    app.after_request_funcs.setdefault("petitions", []).append(_note_outage)  # the petitions' pages only
    for endpoint, limits in LIMITS.items():
        view = app.view_functions[endpoint]
        for limit, exempt_when, key_func, *deduct_when in limits:
            view = limiter.limit(
                limit, exempt_when=exempt_when, key_func=key_func, deduct_when=next(iter(deduct_when), None)
            )(view)
        app.view_functions[endpoint] = view


def _no_per_request_hook(app: Flask, limiter: Limiter) -> None:
    """Leave out Flask-Limiter's per-request hook: each of the portal's limits is checked by its view.

    The hook is there for application-wide and default limits, and the
    portal has none; a limit on a view is checked by the view's own wrapper
    (the hook skips it). Run on every request, the hook would walk the
    limiter's bookkeeping to find nothing: a tenth of a voice's time.
    """
    if limiter.limit_manager.application_limits or limiter.limit_manager.default_limits:
        raise RuntimeError("application-wide or default rate limits need Flask-Limiter's per-request hook")
    app.before_request_funcs[None].remove(limiter._check_request_limit)
    # Its after-request hook deducts the limits counted only on some answers (deduct_when): only the
    # limited views have any, so the others skip it.
    hooks = app.after_request_funcs[None]
    (after,) = [h for h in hooks if getattr(h, "func", None) is Limiter._Limiter__inject_headers]

    def deduct_on_limited_views(response):
        return after(response) if request.endpoint in LIMITS else response

    hooks[hooks.index(after)] = deduct_on_limited_views
