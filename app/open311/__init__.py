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


def request_api_key() -> str | None:
    """The api_key of a POST (a form field, as the spec says; the query string is accepted too)."""
    return request.form.get("api_key") or request.args.get("api_key") or None


def request_partner():
    """The active partner whose key the request carries, looked up once per request (None if none)."""
    if "open311_partner" not in g:
        from app.services import partners

        g.open311_partner = partners.by_key(request_api_key())
    return g.open311_partner


from app.open311 import routes  # noqa: E402,F401  (routes attach themselves to bp)
