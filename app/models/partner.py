"""Partner systems that send and read petitions through Open311 GeoReport v2.

Each partner holds one API key, shown once when it is made; only its SHA-256
is stored. A revoked partner keeps its row (its petitions still point at it).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class Partner(db.Model):
    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the key
    rate_limit: Mapped[str] = mapped_column(Text, default="60 per minute")  # flask-limiter syntax
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The scope the key carries for reads: an area (None: the whole country),
    # and whether it sees petitions not yet published (never contact details).
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    sees_unpublished: Mapped[bool] = mapped_column(default=False)

    def __repr__(self) -> str:
        return f"<Partner {self.name}{'' if self.active else ' revoked'}>"
