"""Maps and reports: the officers' maps and provincial reports, exports, the public map and scorecards."""

from flask import Blueprint

bp = Blueprint("maps", __name__)

from app.maps import routes, scorecards  # noqa: E402,F401  (routes attach themselves to bp)
