"""GET /healthz: may a load balancer send citizens to this node?

- 503 "unavailable" when the database cannot be reached: nothing can be stored.
- 200 "degraded" when Redis is away, or no RQ worker has sent a heartbeat for
  HEALTH_WORKER_MAX_AGE_S: the node still takes petitions (their follow-up
  work waits in the job outbox), but photos and notices wait too.
- 200 "ok" otherwise.

Anyone may ask; the answer says only which part is down (by the class of the
error). Monitors (see app/metrics.py: METRICS_ALLOW_FROM, METRICS_TOKEN) also
get the figures: the workers' count and freshest heartbeat, the outbox
backlog and the age of its oldest job.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from app.extensions import db
from app.metrics import may_read_internals
from app.services import outbox, queue_status

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """Report whether the node can take petitions, and what is degraded."""
    database, (waiting, oldest_s) = _probe(outbox.backlog, (None, None), db.session.rollback)
    redis_ok, (workers,) = _probe(lambda: (queue_status.workers(),), (None,))
    max_age = current_app.config["HEALTH_WORKER_MAX_AGE_S"]
    beating = workers is not None and workers.freshest_age_s is not None and workers.freshest_age_s <= max_age
    checks = {"database": database, "redis": redis_ok, "worker": {"ok": beating}}
    if may_read_internals():
        if workers is not None:
            age = workers.freshest_age_s
            checks["worker"].update(count=workers.count, heartbeat_age_s=None if age is None else round(age, 1))
        if waiting is not None:
            checks["outbox"] = {"waiting": waiting, "oldest_age_s": None if oldest_s is None else round(oldest_s, 1)}
    if not database["ok"]:
        status, code = "unavailable", 503
    elif not (redis_ok["ok"] and beating):
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    response = jsonify({"status": status, **checks})
    response.headers["Cache-Control"] = "no-store"
    return response, code


def _probe(read, failed, after_failure=None):
    """(the check, what it read): any failure to reach the service is the answer, named by its class."""
    try:
        value = read()
    except Exception as exc:
        if after_failure:
            after_failure()
        return {"ok": False, "error": type(exc).__name__}, failed
    return {"ok": True}, value
