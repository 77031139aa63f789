"""Officers' accounts: one role and, for commune and provincial staff, one area.

Scope follows the role: a commune officer sees the petitions in their
commune's inbox, provincial staff every petition of their province, central
staff and administrators all. Accounts imported in bulk start without a
password and with an activation code (stored hashed), which the officer
exchanges for a password on first login.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import BigInteger, DateTime, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.area import Area

ROLES = ("commune", "province", "central", "admin")
ROLE_NAMES = {
    "commune": _l("Cán bộ Mặt trận xã"),
    "province": _l("Cán bộ Mặt trận tỉnh"),
    "central": _l("Cán bộ Trung ương"),
    "admin": _l("Quản trị hệ thống"),
}
AREA_LEVEL_OF_ROLE = {"commune": "commune", "province": "province"}


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(120), default="")
    role: Mapped[str] = mapped_column(String(16))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    activation_hash: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    # The table keeps two columns of the old account lock (failed_logins, locked_until),
    # unused since failures back off per client in login_failures.
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The second factor (app/services/second_factor.py): a TOTP secret once enrolled.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    totp_pending_secret: Mapped[str | None] = mapped_column(String(64))  # the key being enrolled
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    area: Mapped[Area | None] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login: inactive accounts cannot log in
        return self.active

    @property
    def role_name(self) -> str:
        return str(ROLE_NAMES[self.role])

    @property
    def sees_personal_data(self) -> bool:
        return self.role in ("commune", "province", "admin")


class LoginFailure(db.Model):
    """Failed logins of one account from one client (a keyed hash of its address): the back-off counts these."""

    __tablename__ = "login_failures"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    client_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int]
    last_failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RecoveryCode(db.Model):
    """A one-time code that stands in for the second factor (the device lost); only its SHA-256 is kept."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
