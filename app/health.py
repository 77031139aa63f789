"""GET /healthz: can the portal reach its database and Redis?"""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from app.extensions import db
from app.redis_conn import redis

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Report database and Redis reachability; 503 when either is down."""
    checks = {
        "database": _check(lambda: db.session.execute(text("SELECT 1")).scalar_one()),
        "redis": _check(lambda: redis().ping()),
    }
    healthy = all(c["ok"] for c in checks.values())
    return jsonify({"status": "ok" if healthy else "unavailable", **checks}), 200 if healthy else 503


def _check(probe) -> dict:
    try:
        probe()
    except Exception as exc:  # any failure to reach the service is the answer
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True}
