"""The JSON API for the form's pickers and for partner systems: /api/v1/…"""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from app.api import routes  # noqa: E402,F401  (routes attach themselves to bp)
