"""Officers log in and out; accounts created in bulk are activated here."""

from flask import Blueprint

from app.extensions import db, login_manager
from app.models import User

bp = Blueprint("auth", __name__)


FACTOR = "factor"  # in the session: the second factor the login passed (when it was enrolled), or None


def factor_mark(user: User) -> str | None:
    return user.totp_enabled_at.isoformat() if user.totp_enabled_at is not None else None


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The officer of a session (Flask-Login), while the session passed the account's second factor.

    A session from before the account's second factor was enrolled, reset or enrolled anew — or one
    of an account that needs a second factor but passed none — is no longer logged in.
    """
    from flask import session

    from app.services import second_factor

    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    if user is None or not user.active:
        return None
    if (second_factor.required(user) or second_factor.enrolled(user)) and session.get(FACTOR) != factor_mark(user):
        return None
    return user


from app.auth import routes  # noqa: E402,F401  (routes attach themselves to bp)
