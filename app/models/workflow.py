"""What the triage workflow keeps besides petitions: deadlines, holidays,
referrals to state agencies, and the notices sent to citizens and officers."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Identity, SmallInteger, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db


class Holiday(db.Model):
    """A day off that deadlines skip (Tết, the public holidays; editable)."""

    __tablename__ = "holidays"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))


class DeadlineRule(db.Model):
    """Working days a petition may stay in a status (per category, or for all)."""

    __tablename__ = "deadline_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(32))
    category_code: Mapped[str | None] = mapped_column(ForeignKey("categories.code"))
    working_days: Mapped[int]


class Referral(db.Model):
    """A petition referred to a state agency, whose answer the Front supervises."""

    __tablename__ = "referrals"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"))
    agency: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reply: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    no_reply_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A listed agency (app/models/agency.py) is sent the referral; a name alone is a record.
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    # Changed to revoke every reply link given out for this referral.
    link_nonce: Mapped[str | None] = mapped_column(String(32))
    # How sending it went (e-mail referrals: their notice), and the agency's own id (Open311).
    send_status: Mapped[str | None] = mapped_column(String(16))
    send_error: Mapped[str | None] = mapped_column(Text)
    send_attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    external_id: Mapped[str | None] = mapped_column(String(100))
    polled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    replied_by: Mapped[str | None] = mapped_column(String(200))  # who answered, as the agency said
    reply_file_key: Mapped[str | None] = mapped_column(String(200))
    reply_file_name: Mapped[str | None] = mapped_column(String(200))

    agency_row = relationship("Agency")


class Notice(db.Model):
    """A message to a citizen (e-mail, SMS, Zalo) or an officer (in the portal), and how its delivery went.

    A citizen's notice waits (pending) for its delivery job, which ends it as
    sent, failed (refused for good: a bad address, a refused number) or
    gave_up (the channel stayed away through every retry). Officers' notices
    are recorded: shown in the portal, never sent. The body never holds a
    tracking code: what is sent is rendered from the petition when it is sent.
    """

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    petition_id: Mapped[int | None] = mapped_column(ForeignKey("petitions.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(String(16))  # email | sms | zalo | portal
    recipient: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    provider_id: Mapped[str | None] = mapped_column(String(100))  # the gateway's id for the message
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    petition = relationship("Petition")

    @property
    def channel_name(self) -> str:
        return str(NOTICE_CHANNEL_NAMES.get(self.channel, self.channel))

    @property
    def status_name(self) -> str:
        return str(NOTICE_STATUS_NAMES.get(self.status, self.status))

    @property
    def kind_name(self) -> str:
        return str(NOTICE_KIND_NAMES.get(self.kind.partition(":")[0], self.kind))


NOTICE_CHANNEL_NAMES = {"email": _l("Thư điện tử"), "sms": "SMS", "zalo": "Zalo", "portal": _l("Trên cổng")}
NOTICE_STATUS_NAMES = {
    "pending": _l("Đang chờ gửi"),
    "sent": _l("Đã gửi"),
    "failed": _l("Thất bại"),
    "gave_up": _l("Đã dừng thử lại"),
    "recorded": _l("Chỉ lưu trên cổng"),
}
NOTICE_KIND_NAMES = {"received": _l("Biên nhận"), "answered": _l("Câu trả lời")}


def masked_recipient(recipient: str) -> str:
    """An address or number with its middle hidden (ng•••@mail.vn, 0912•••678): enough to tell which, not to use."""
    name, at, domain = recipient.partition("@")
    if at:
        return f"{name[:2]}•••@{domain}"
    return f"{recipient[:4]}•••{recipient[-3:]}" if len(recipient) > 7 else "•••"
