"""Area alerts, for anyone: ask for one, confirm it from the mail, end it from any of its mails."""

from flask import Blueprint

bp = Blueprint("alerts", __name__, url_prefix="/alerts")

from app.alerts import routes  # noqa: E402,F401  (routes attach themselves to bp)
