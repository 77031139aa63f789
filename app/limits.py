"""Rate limits, all in one place, on a limiter made per app.

Counters live in Redis; if Redis is down the limiter falls back to
per-process memory rather than refusing citizens.
"""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address


def _submit_limit() -> str:
    return current_app.config["SUBMIT_LIMIT"]


def _only_picking_a_place() -> bool:
    return request.form.get("action") == "pick"


# endpoint → (limit, exempt_when)
LIMITS = {
    "petitions.create": (_submit_limit, _only_picking_a_place),
}


def init_app(app: Flask) -> None:
    """Limit the endpoints above; call after the blueprints are registered."""
    limiter = Limiter(
        key_func=get_remote_address,  # the client address, through ProxyFix when configured
        storage_uri=app.config["RATELIMIT_STORAGE_URI"],
        swallow_errors=True,
        in_memory_fallback_enabled=True,
        strategy="sliding-window-counter",  # one Redis call per limit
    )
    limiter.init_app(app)
    for endpoint, (limit, exempt_when) in LIMITS.items():
        app.view_functions[endpoint] = limiter.limit(limit, exempt_when=exempt_when)(app.view_functions[endpoint])
    app.extensions["portal_limiter"] = limiter
