"""The officers' side: the inbox of their own area, a petition's page, the workflow."""

from flask import Blueprint

bp = Blueprint("officer", __name__, url_prefix="/officer")

from app.officer import answer_templates, notices, routes, villages, voices  # noqa: E402,F401  (routes attach themselves to bp)
