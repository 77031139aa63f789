"""Maps and reports: the officers' maps and provincial reports, exports, and the public map."""

from flask import Blueprint

bp = Blueprint("maps", __name__)

from app.maps import routes  # noqa: E402,F401  (routes attach themselves to bp)
