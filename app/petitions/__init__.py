"""The citizen's side: the petition form, the status page, the tracking code."""

from flask import Blueprint

bp = Blueprint("petitions", __name__)

from app.petitions import routes, voices  # noqa: E402,F401  (routes attach themselves to bp)
