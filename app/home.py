"""The portal's front page."""

from flask import Blueprint, render_template

from app.petitions.forms import TrackForm

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    """Show what the portal is: send a petition, or follow one by its code."""
    return render_template("home.html", track_form=TrackForm())
