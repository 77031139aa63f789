"""Petitions arriving by SMS (a gateway's signed webhook) and by e-mail (the portal's SMTP receiver)."""

from flask import Blueprint

bp = Blueprint("inbound", __name__, url_prefix="/inbound")

from app.inbound import routes  # noqa: E402,F401  (routes attach themselves to bp)
