"""Open311 GeoReport v2 for partner systems: /open311/v2/…

Partners (the Zalo official account, unions' apps, provincial 1022 portals)
read the categories and petitions, and send petitions with their API key;
a petition sent this way takes the same path as the web form's.
"""

from __future__ import annotations

from flask import Blueprint, g, request

bp = Blueprint("open311", __name__, url_prefix="/open311")


class Open311Error(Exception):
    """An answer in the spec's error form; descriptions are for the partner's developers (Vietnamese)."""

    def __init__(self, status: int, *descriptions: str):
        super().__init__(status, *descriptions)
        self.status = status
        self.descriptions = descriptions


API_KEY_HEADER = "X-Api-Key"


def request_api_key() -> str | None:
    """The partner's key, from the X-Api-Key header only: never the query string (it lands in logs)."""
    return request.headers.get(API_KEY_HEADER) or None


def request_partner():
    """The active partner whose key the request carries, looked up once per request (None if none)."""
    if "open311_partner" not in g:
        from app.services import partners

        g.open311_partner = partners.by_key(request_api_key())
    return g.open311_partner


from app.open311 import routes  # noqa: E402,F401  (routes attach themselves to bp)
