"""What the triage workflow keeps besides petitions: deadlines, holidays,
referrals to state agencies, and the notices sent to citizens and officers."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Identity, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

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


class Notice(db.Model):
    """A message sent (SMS, Zalo, e-mail, or recorded only by the default backend)."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    petition_id: Mapped[int | None] = mapped_column(ForeignKey("petitions.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
