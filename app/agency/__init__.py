"""State agencies' side, without an account: the reply link's page, and the signed updates they send."""

from flask import Blueprint

bp = Blueprint("agency", __name__, url_prefix="/agency")

from app.agency import routes  # noqa: E402,F401  (routes attach themselves to bp)
