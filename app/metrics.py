"""GET /metrics: the portal's figures in Prometheus' text format (prometheus-client).

Counted as they happen, in each web process: request latency by route (the
endpoint's name, never the path: a bounded set of series), method and status
class; petitions stored by channel; how petitions were placed. Read from the
database and Redis at scrape time: the outbox backlog, RQ's queues, failed
jobs and workers — if either is away the scrape says so (`portal_database_up`,
`portal_redis_up`) and reports the rest.

Under gunicorn the workers share their counts through files in
PROMETHEUS_MULTIPROC_DIR (gunicorn.conf.py makes and empties it at start):
whichever worker answers a scrape reports the sum of all of them.

The figures are volumes, not for the public: only clients in
METRICS_ALLOW_FROM (loopback and private networks by default) or sending
`Authorization: Bearer <METRICS_TOKEN>` may read them.
"""

from __future__ import annotations

import hmac
import os
import re

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from flask_babel import gettext as _
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from app import logs, proxies
from app.extensions import db

bp = Blueprint("metrics", __name__)

REQUEST_SECONDS = Histogram(
    "portal_http_request_duration_seconds",
    "Time to answer a request, by route (endpoint name), method and status class.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
PETITIONS = Counter(
    "portal_petitions_accepted",
    "Petitions stored (each given a tracking code; a repeated submission counts once), by channel.",
    ["channel"],
)
GEOTAGS = Counter(
    "portal_petitions_geotagged",
    "Petitions stored, by how their place was found (inside, nearest, chosen, unlocated) and where the point came "
    "from (gps, map, exif, open311, none).",
    ["method", "source"],
)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_LABEL = re.compile(r"[a-z0-9_]{1,32}")


def _label(value: str | None) -> str:
    """A label value set by the code (a channel, a method), never anything a client typed."""
    if value is None:
        return "none"
    return value if _LABEL.fullmatch(value) else "other"


def petition_stored(channel: str, method: str, source: str | None) -> None:
    """Count a petition that was just committed with its tracking code."""
    PETITIONS.labels(_label(channel)).inc()
    GEOTAGS.labels(_label(method), _label(source)).inc()


def init_app(app: Flask) -> None:
    """Time every request of the app, and check who may read the figures."""
    app.extensions["metrics_networks"] = proxies.networks(app.config["METRICS_ALLOW_FROM"], "METRICS_ALLOW_FROM")

    @app.after_request
    def observe(response):
        seconds = logs.elapsed()  # the clock app/logs.py starts for every request
        if seconds is not None:
            REQUEST_SECONDS.labels(
                request.endpoint or "none",  # unknown paths share one series
                request.method if request.method in METHODS else "other",
                f"{response.status_code // 100}xx",
            ).observe(seconds)
        return response


def may_read_internals() -> bool:
    """The caller is a monitor: it sends METRICS_TOKEN, or comes from an allowed network."""
    token = current_app.config["METRICS_TOKEN"]
    sent = request.headers.get("Authorization", "")
    if token and sent.startswith("Bearer ") and hmac.compare_digest(sent[7:].encode(), token.encode()):
        return True
    return proxies.address_in(request.remote_addr, current_app.extensions["metrics_networks"])


@bp.get("/metrics")
def metrics():
    """Report the portal's figures to a monitor."""
    if not may_read_internals():
        message = _("Chỉ hệ thống giám sát được đọc các số liệu này.")
        return jsonify({"error": {"code": "forbidden", "message": message}}), 403
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # read by prometheus-client itself, at import
        MultiProcessCollector(registry)
    else:
        registry.register(_Forward(REGISTRY))
    registry.register(_LiveCollector())
    response = Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
    response.headers["Cache-Control"] = "no-store"
    return response


class _Forward:
    """This process's own figures (one process: the tests, the development server)."""

    def __init__(self, source):
        self.source = source

    def collect(self):
        yield from self.source.collect()


class _LiveCollector:
    """The figures read at scrape time from the database and Redis."""

    def collect(self):
        from app.services import outbox, queue_status

        database = GaugeMetricFamily("portal_database_up", "1 when the database answered this scrape.")
        try:
            waiting, oldest_s = outbox.backlog()
        except SQLAlchemyError:
            db.session.rollback()
            database.add_metric([], 0)
        else:
            database.add_metric([], 1)
            yield GaugeMetricFamily("portal_outbox_waiting", "Follow-up jobs not done yet (job outbox).", value=waiting)
            yield GaugeMetricFamily(
                "portal_outbox_oldest_waiting_seconds",
                "How long the oldest job not done yet has waited (0 when none waits).",
                value=oldest_s or 0.0,
            )
        yield database

        up = GaugeMetricFamily("portal_redis_up", "1 when Redis answered this scrape.")
        try:
            queues = queue_status.queues()
            workers = queue_status.workers()
        except RedisError:
            up.add_metric([], 0)
        else:
            up.add_metric([], 1)
            depth = GaugeMetricFamily("portal_rq_queued_jobs", "Jobs waiting in an RQ queue.", labels=["queue"])
            running = GaugeMetricFamily("portal_rq_started_jobs", "Jobs running now.", labels=["queue"])
            failed = GaugeMetricFamily("portal_rq_failed_jobs", "Jobs in RQ's failed registry.", labels=["queue"])
            for q in queues:
                depth.add_metric([q.name], q.queued)
                running.add_metric([q.name], q.started)
                failed.add_metric([q.name], q.failed)
            yield from (depth, running, failed)
            yield GaugeMetricFamily("portal_rq_workers", "RQ workers registered in Redis.", value=workers.count)
            if workers.freshest_age_s is not None:
                yield GaugeMetricFamily(
                    "portal_rq_worker_heartbeat_age_seconds",
                    "Seconds since the freshest heartbeat of any RQ worker.",
                    value=workers.freshest_age_s,
                )
        yield up
