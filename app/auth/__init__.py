"""Officers log in and out; accounts created in bulk are activated here."""

from flask import Blueprint

from app.extensions import db, login_manager
from app.models import User

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The officer of a session (Flask-Login)."""
    return db.session.get(User, int(user_id))


from app.auth import routes  # noqa: E402,F401  (routes attach themselves to bp)
