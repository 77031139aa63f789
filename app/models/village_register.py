"""The village register's records: uploaded lists, every change, and a province's setting.

An uploaded list is kept as it was read (pending) until an officer applies
it, so that what is applied is exactly what was previewed. Every change of
the register — from a list, or a rename, merge or split on the register
page — is one append-only row of village_changes: who, when, which upload.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.area import Area
from app.models.user import User


class VillageRegisterSetting(db.Model):
    __tablename__ = "village_register_settings"

    province_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), primary_key=True)
    communes_may_upload: Mapped[bool] = mapped_column(default=False)


class VillageUpload(db.Model):
    __tablename__ = "village_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))  # None: an operator's (the country)
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))  # a commune officer's upload
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_by_label: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | applied | discarded
    content: Mapped[dict] = mapped_column(JSONB)  # {"lines": [...], "shapes": [...]} as read
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    summary: Mapped[dict] = mapped_column(JSONB, default=dict)

    province: Mapped[Area | None] = relationship(foreign_keys=[province_id])
    commune: Mapped[Area | None] = relationship(foreign_keys=[commune_id])


class VillageChange(db.Model):
    __tablename__ = "village_changes"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_label: Mapped[str] = mapped_column(String(64))
    upload_id: Mapped[int | None] = mapped_column(ForeignKey("village_uploads.id"))
    commune_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    village_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    action: Mapped[str] = mapped_column(String(16))  # added renamed moved retyped population removed merged split
    data: Mapped[dict] = mapped_column(JSONB, default=dict)

    actor: Mapped[User | None] = relationship()
    village: Mapped[Area] = relationship(foreign_keys=[village_id])
