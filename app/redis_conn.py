"""The Redis connection of the app (RQ queues, rate-limit counters)."""

from __future__ import annotations

from flask import Flask, current_app
from redis import Redis


def init_app(app: Flask) -> None:
    app.extensions["redis"] = Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5)


def redis() -> Redis:
    return current_app.extensions["redis"]


def limits_uri(redis_url: str) -> str:
    """The same Redis, spelled as flask-limiter's storage wants it."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://") :]
    return redis_url
