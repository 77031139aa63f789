"""State agencies (cơ quan, đơn vị) that petitions are referred to, and how each is reached.

An agency serves an area (a commune, a province, or the whole country when
none) and is reached by one channel: e-mail (a signed reply link in the
message), an Open311 GeoReport v2 endpoint (the referral is a POST requests,
its answer polled), or a webhook (a signed POST carrying the reply link).
"none" keeps the referral as a record only. Its key (Open311) or secret
(webhook signatures, and the updates it sends back) is kept as given: the
portal must present or sign with it.
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import DateTime, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.area import Area

AGENCY_CHANNELS = {
    "email": _l("Thư điện tử"),
    "open311": "Open311",
    "webhook": "Webhook",
    "none": _l("Chỉ ghi nhận"),
}


class Agency(db.Model):
    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(500), default="")  # the e-mail address or the endpoint's URL
    secret: Mapped[str] = mapped_column(String(200), default="")  # Open311 api_key, or the webhook secret
    service_code: Mapped[str] = mapped_column(String(64), default="")  # Open311: the agency's own service
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    area: Mapped[Area | None] = relationship()

    @property
    def channel_name(self) -> str:
        return str(AGENCY_CHANNELS.get(self.channel, self.channel))
