"""The portal's logs: one JSON object a line (LOG_FORMAT=json, the default) or readable text.

Every line carries the request id (app/request_ids.py): of the web request,
or of the request a job was caused by. Nothing a citizen wrote or owns goes
into a log: a request is logged by its route ("petitions.status"), never by
its path (which may hold a tracking code); SQL errors carry no parameters
(hide_parameters, app/config.py); a traceback shows where it happened and the
exception's class, not its message (which may quote the input).
"""

from __future__ import annotations

import logging
import sys
import time
import traceback
from functools import partial

from flask import Flask, request
from flask.logging import default_handler
from pythonjsonlogger.json import JsonFormatter

from app import request_ids
from app.config import ConfigError

STARTED = "portal.request.started"  # when the request began, in its WSGI environ
access_log = logging.getLogger("portal.access")


class RequestIdFilter(logging.Filter):
    """Stamp each line with the request id of the work it belongs to."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_ids.current()
        return True


def safe_traceback(exc: BaseException) -> str:
    """The frames of an exception and of its causes, each ended by its class name, never its message."""
    parts, seen = [], set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        kind = type(exc)
        parts.insert(0, "".join(traceback.format_tb(exc.__traceback__)) + f"{kind.__module__}.{kind.__qualname__}")
        exc = exc.__cause__ or exc.__context__
    return "\n-- then --\n".join(parts)


class _Safe:
    def formatException(self, ei) -> str:  # noqa: N802 (logging's name)
        return safe_traceback(ei[1]) if ei and ei[1] is not None else ""


class SafeJsonFormatter(_Safe, JsonFormatter):
    pass


class SafeTextFormatter(_Safe, logging.Formatter):
    pass


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (as logging's last resort does)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):
        return sys.stderr


def handler(stream=None, fmt: str = "json") -> logging.Handler:
    """A handler writing the portal's lines to a stream (default: stderr)."""
    out = _Stderr() if stream is None else logging.StreamHandler(stream)
    if fmt == "text":
        out.setFormatter(SafeTextFormatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    else:
        out.setFormatter(
            SafeJsonFormatter(
                "{asctime}{levelname}{name}{message}{request_id}",
                style="{",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    out.addFilter(RequestIdFilter())
    return out


def init_app(app: Flask) -> None:
    """Send every logger's lines through the portal's handler, and log each request by its route."""
    fmt, level = app.config["LOG_FORMAT"], app.config["LOG_LEVEL"].upper()
    if fmt not in ("json", "text") or not isinstance(logging.getLevelName(level), int):
        raise ConfigError(f"LOG_FORMAT must be json or text, LOG_LEVEL a level such as INFO (got {fmt!r}, {level!r}).")
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "portal", False)]:
        root.removeHandler(old)  # a second app in the same process (tests, a job) replaces the first's
    ours = handler(fmt=fmt)
    ours.portal = True
    root.addHandler(ours)
    root.setLevel(level)
    app.logger.removeHandler(default_handler)  # its lines go to the root handler instead
    app.log_exception = partial(_log_exception, app)

    @app.before_request
    def start_clock():
        request.environ[STARTED] = time.perf_counter()

    @app.after_request
    def log_request(response):
        seconds = elapsed()
        access_log.info(
            "request",
            extra={
                "method": request.method,
                "route": request.endpoint or "-",
                "status": response.status_code,
                "duration_ms": None if seconds is None else round(seconds * 1000, 1),
            },
        )
        return response


def elapsed() -> float | None:
    """Seconds since the request began (its access line and its latency metric share this clock)."""
    started = request.environ.get(STARTED)
    return None if started is None else time.perf_counter() - started


def _log_exception(app: Flask, exc_info) -> None:
    """Flask's "Exception on <path>" names the route instead: a path may hold a tracking code."""
    app.logger.error("unhandled exception on %s %s", request.method, request.endpoint or "-", exc_info=exc_info)
