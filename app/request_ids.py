"""A request id on every web request, in its response and its log lines, carried into the jobs it causes.

The id is nginx's `X-Request-Id` when the request came through a trusted
proxy (TRUST_PROXY_HOPS > 0 and its socket peer in TRUSTED_PROXIES, see
app/proxies.py: nginx sets it, overwriting what a client sent), else a fresh
one. Only ids of a safe shape are taken: a client's header can never put a
line break, a quote or a kilobyte into the logs.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask, request

from app.proxies import VIA_TRUSTED_PROXY

HEADER = "X-Request-Id"
# nginx's $request_id is 32 hex digits; UUIDs and other tracers' ids fit too.
SHAPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,63}")

_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def current() -> str | None:
    """The id of the request (or of the request whose job is running), if any."""
    return _current.get()


def new() -> str:
    return uuid.uuid4().hex


def valid(value: str | None) -> bool:
    return bool(value) and SHAPE.fullmatch(value) is not None


def _from_request() -> str:
    """The trusted proxy's id when there is one and it has a safe shape, else a new one."""
    given = request.headers.get(HEADER)
    if request.environ.get(VIA_TRUSTED_PROXY) and valid(given):
        return given
    return new()


@contextmanager
def bound(request_id: str | None) -> Iterator[None]:
    """Work (a job) done on behalf of this request id: its log lines carry it."""
    token = _current.set(request_id if valid(request_id) else None)
    try:
        yield
    finally:
        _current.reset(token)


def init_app(app: Flask) -> None:
    """Give each request an id, and send it back in the response."""

    @app.before_request
    def take_request_id():
        request.environ["portal.request_id.token"] = _current.set(_from_request())

    @app.after_request
    def send_request_id(response):
        if _current.get() is None:  # a hook before ours answered: the response still gets an id
            request.environ["portal.request_id.token"] = _current.set(_from_request())
        response.headers[HEADER] = _current.get()
        return response

    @app.teardown_request
    def forget_request_id(exc):
        token = request.environ.pop("portal.request_id.token", None)
        if token is not None:
            _current.reset(token)
