"""Guessing tracking codes and public ids, throttled without locking citizens out.

On every route that takes a code or a public id only the misses (404)
count. A client (see app/clients.py) that missed CODE_MISS_LIMIT times is
refused on all those routes until its window passes. When all clients
together have missed CODE_MISS_LIMIT_ALL times, every client that missed at
all in its window is refused too, while one that did not — a citizen opening
their own page — is still served: a guesser spread over many addresses gets
one guess per address, and nobody can spend the budget to lock the citizens
out of their pages. If Redis is away the throttle lets requests through.
"""

from __future__ import annotations

from flask import Flask, abort, current_app, request
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter
from redis.exceptions import RedisError

from app.clients import client_key

# The routes that take a tracking code or a public id.
CODE_ROUTES = frozenset(
    {
        "petitions.status",
        "petitions.track",
        "petitions.rate",
        "petitions.photo",
        "petitions.public",
        "petitions.public_photo",
        "petitions.support",
        "open311.request_detail",
        "open311.token",
    }
)


def init_app(app: Flask) -> None:
    strategy = SlidingWindowCounterRateLimiter(storage_from_string(app.config["RATELIMIT_STORAGE_URI"]))

    def limits():
        return parse(current_app.config["CODE_MISS_LIMIT"]), parse(current_app.config["CODE_MISS_LIMIT_ALL"])

    @app.before_request
    def refuse_guessers():
        if request.endpoint not in CODE_ROUTES:
            return
        per_client, everyone = limits()
        client = client_key()
        try:
            # One round trip for a client that has not missed: everyone's misses matter only to one that has.
            _, remaining = strategy.get_window_stats(per_client, "code-miss", client)
            if remaining == 0:
                abort(429)
            if remaining < per_client.amount and not strategy.test(everyone, "code-miss-all"):
                abort(429)  # this client has missed lately, and all clients together too often
        except (RedisError, OSError):
            return  # no counters: serve rather than refuse citizens

    @app.after_request
    def count_misses(response):
        if request.endpoint in CODE_ROUTES and response.status_code == 404:
            per_client, everyone = limits()
            try:
                strategy.hit(per_client, "code-miss", client_key())
                strategy.hit(everyone, "code-miss-all")
            except (RedisError, OSError):
                pass
        return response
