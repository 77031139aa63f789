"""The portal's front page."""

from flask import Blueprint, render_template

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    """Show what the portal is and where to start."""
    return render_template("home.html")
