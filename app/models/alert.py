"""Area alerts: an address that asked, and confirmed, to be told of new published petitions of an area."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.area import Area


class AlertSubscription(db.Model):
    __tablename__ = "alert_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    categories: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list)  # none: every category
    frequency: Mapped[str] = mapped_column(String(8))  # now | daily
    token: Mapped[str] = mapped_column(String(64), unique=True)  # of its confirmation and unsubscribe links
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_digest_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    area: Mapped[Area] = relationship()
