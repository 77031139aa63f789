"""Petitions and what hangs off them: photos, supporters, public answers.

A petition is committed, geotagged, before any other work is done for it.
It keeps the areas (village, commune, province) it was filed under even
when a later boundary generation becomes current. The tracking code is
the citizen's secret: it opens the status page and the rating, and appears
in nothing anonymous besides. The public identifier (public_id, Open311's
service_request_id) names the published view and grants nothing; the
numeric id never leaves the portal.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask_babel import lazy_gettext as _l
from geoalchemy2 import Geometry, WKBElement
from sqlalchemy import BigInteger, DateTime, FetchedValue, ForeignKey, Identity, SmallInteger, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.area import Area
from app.models.partner import Partner

STATUS_NAMES = {
    "received": _l("Đã tiếp nhận"),
    "accepted": _l("Đã thụ lý"),
    "rejected": _l("Không thụ lý"),
    "in_progress": _l("Đang giải quyết"),
    "resolved": _l("Đã trả lời"),
    "forwarded": _l("Đã chuyển"),
    "merged": _l("Đã gộp"),
}
# How a petition reached the Front: the citizen online, a partner system, or an officer filing it.
CHANNEL_NAMES = {
    "web": _l("Cổng trực tuyến"),
    "open311": _l("Hệ thống đối tác"),
    "hotline": _l("Đường dây nóng"),
    "paper": _l("Đơn giấy"),
    "voter_meeting": _l("Hội nghị tiếp xúc cử tri"),
    "in_person": _l("Tiếp công dân trực tiếp"),
    "email": _l("Thư điện tử"),
    "sms": _l("Tin nhắn SMS"),
}
GEOTAG_METHOD_NAMES = {
    "inside": _l("Trong ranh giới thôn"),
    "nearest": _l("Gần nhất (ngoài ranh giới)"),
    "chosen": _l("Công dân tự chọn"),
    "unlocated": _l("Chưa xác định"),
}
OPEN_STATUSES = ("received", "accepted", "in_progress", "forwarded")
# Publication (app/services/publication.py explains it): accepted by an officer, allowed by the
# citizen, and in one of these statuses. The same rule as SQL for the raw aggregate queries.
PUBLISHED_STATUSES = ("accepted", "in_progress", "resolved", "forwarded")


def published_sql(alias: str = "p") -> str:
    statuses = ", ".join(f"'{status}'" for status in PUBLISHED_STATUSES)
    return f"({alias}.accepted_at IS NOT NULL AND {alias}.publishable AND {alias}.status IN ({statuses}))"


class Category(db.Model):
    __tablename__ = "categories"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_vi: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    notice: Mapped[str | None] = mapped_column(Text)  # shown with the category on the form ("cháy, nổ: 114")


class CategoryQuestion(db.Model):
    """One more thing a category asks the citizen: a list, a number, a yes/no (an Open311 attribute too)."""

    __tablename__ = "category_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    category_code: Mapped[str] = mapped_column(ForeignKey("categories.code"))
    code: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(default=0)
    kind: Mapped[str] = mapped_column(String(8))  # list | number | yesno
    label: Mapped[str] = mapped_column(String(200))
    options: Mapped[list] = mapped_column(JSONB, default=list)  # [[key, label], …]
    required: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)


class Petition(db.Model):
    __tablename__ = "petitions"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    tracking_code: Mapped[str] = mapped_column(String(16), unique=True)
    public_id: Mapped[str] = mapped_column(String(16), unique=True, server_default=FetchedValue())
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    # What the submission held when its key was first seen: the same key with other content is refused.
    idempotency_digest: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    category_code: Mapped[str] = mapped_column(ForeignKey("categories.code"))
    status: Mapped[str] = mapped_column(String(32), default="received")
    location: Mapped[WKBElement | None] = mapped_column(Geometry("POINT", srid=4326, spatial_index=False))
    location_accuracy_m: Mapped[float | None]
    location_source: Mapped[str | None] = mapped_column(String(16))
    chosen_area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    village_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    commune_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    province_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    geotag_method: Mapped[str] = mapped_column(String(16))
    geotag_distance_m: Mapped[float | None]
    geotag_disagrees: Mapped[bool] = mapped_column(default=False)
    is_anonymous: Mapped[bool]
    contact_name: Mapped[str | None] = mapped_column(String(120))
    contact_phone: Mapped[str | None] = mapped_column(String(16))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    consent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    supporters: Mapped[int] = mapped_column(default=1)
    satisfied: Mapped[bool | None]
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # The inbox that holds it: its commune, or the province (sent up, or no commune).
    assigned_area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    # The province of that inbox, kept by a trigger (migrations/sql/0010_public_edge.sql).
    assigned_province_id: Mapped[int | None] = mapped_column(
        ForeignKey("areas.id"), server_default=FetchedValue(), server_onupdate=FetchedValue()
    )
    status_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Computed from the deadline rules and the holiday calendar at each change of status.
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("petitions.id"))
    # What the public sees when a moderator redacted the citizen's text; the original stays.
    public_title: Mapped[str | None] = mapped_column(String(200))
    public_body: Mapped[str | None] = mapped_column(Text)
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The officer of the inbox who handles it (None: the inbox's officers together).
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The answers to its category's questions, by question code (app/services/category_questions.py).
    category_answers: Mapped[dict | None] = mapped_column(JSONB)
    partner_id: Mapped[int | None] = mapped_column(ForeignKey("partners.id"))
    # Publication: the citizen's choice (officials' conduct is private by
    # default), an officer's acceptance, and photos released by an officer.
    publishable: Mapped[bool] = mapped_column(default=True)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    photos_released: Mapped[bool] = mapped_column(default=False)
    # Bumped by every change through the ORM: an officer's action on a stale page is refused.
    version: Mapped[int] = mapped_column(default=1)
    # The answer the citizen rated: one rating per answer round.
    rated_answer_id: Mapped[int | None] = mapped_column(ForeignKey("petition_answers.id"))
    contact_erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __mapper_args__ = {"version_id_col": version}

    category: Mapped[Category] = relationship()
    assignee = relationship("User", foreign_keys=[assignee_id])
    partner: Mapped[Partner | None] = relationship()
    village: Mapped[Area | None] = relationship(foreign_keys=[village_id])
    commune: Mapped[Area | None] = relationship(foreign_keys=[commune_id])
    province: Mapped[Area | None] = relationship(foreign_keys=[province_id])
    photos: Mapped[list[PetitionPhoto]] = relationship(order_by="PetitionPhoto.position", back_populates="petition")
    answers: Mapped[list[PetitionAnswer]] = relationship(
        order_by="PetitionAnswer.created_at", foreign_keys="PetitionAnswer.petition_id"
    )

    @property
    def status_name(self) -> str:
        return str(STATUS_NAMES.get(self.status, self.status))

    @property
    def channel_name(self) -> str:
        return str(CHANNEL_NAMES.get(self.channel, self.channel))

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def public_answers(self) -> list[PetitionAnswer]:
        return [a for a in self.answers if a.is_public]

    @property
    def awaits_rating(self) -> bool:
        """Answered, and this answer not rated yet (one rating per answer round)."""
        answers = self.public_answers
        return self.status == "resolved" and bool(answers) and self.rated_answer_id != answers[-1].id

    @property
    def point(self) -> list[float] | None:
        """The exact point [lon, lat] (officers and agencies; the public gets publication.public_point)."""
        if self.location is None:
            return None
        from geoalchemy2.shape import to_shape

        shape = to_shape(self.location)
        return [round(shape.x, 6), round(shape.y, 6)]

    @property
    def reference(self) -> str:
        """How officers, exports and officers' notices name a petition: its public id, never the tracking code."""
        return format_reference(self.public_id)

    @property
    def display_code(self) -> str:
        return format_code(self.tracking_code)

    @property
    def shown_title(self) -> str:
        return self.public_title if self.public_title is not None else self.title

    @property
    def shown_body(self) -> str:
        return self.public_body if self.public_body is not None else self.body

    @property
    def is_overdue(self) -> bool:
        return self.is_open and self.due_at is not None and self.due_at < datetime.now(UTC)


class PetitionPhoto(db.Model):
    __tablename__ = "petition_photos"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"))
    position: Mapped[int] = mapped_column(SmallInteger)
    # pending: the upload waits in quarantine for the photo job; ready: the
    # re-encoded image and thumbnail exist; failed: it could not be used.
    status: Mapped[str] = mapped_column(String(16), default="pending")
    incoming_key: Mapped[str | None] = mapped_column(String(200))
    image_key: Mapped[str | None] = mapped_column(String(200))
    thumb_key: Mapped[str | None] = mapped_column(String(200))
    width: Mapped[int | None]
    height: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    petition: Mapped[Petition] = relationship(back_populates="photos")


class PetitionSupport(db.Model):
    """One more citizen behind a petition ("I have this problem too").

    Who added it is kept only as keyed hashes (of the device's voter cookie,
    the client address and its network), enough to count one voice per
    device and to see bursts, never to recover an address.
    """

    __tablename__ = "petition_supports"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    device_hash: Mapped[str | None] = mapped_column(String(64))
    client_hash: Mapped[str | None] = mapped_column(String(64))
    network_hash: Mapped[str | None] = mapped_column(String(64))
    invalidated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    flag_id: Mapped[int | None] = mapped_column(ForeignKey("voice_flags.id"))


class VoiceFlag(db.Model):
    """A burst of voices on one petition from one client address or network, for the province to judge."""

    __tablename__ = "voice_flags"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"))
    kind: Mapped[str] = mapped_column(String(16))  # client | network
    source_hash: Mapped[str] = mapped_column(String(64))
    source_label: Mapped[str] = mapped_column(String(64))  # e.g. "203.0.113.x" — never a whole address
    first_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    voices: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | invalidated | dismissed
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PetitionAnswer(db.Model):
    __tablename__ = "petition_answers"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    petition_id: Mapped[int] = mapped_column(ForeignKey("petitions.id"))
    body: Mapped[str] = mapped_column(Text)
    is_public: Mapped[bool] = mapped_column(default=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


def format_code(code: str) -> str:
    """Show a tracking code in groups of three: "K7M4QX9PT" → "K7M-4QX-9PT"."""
    return "-".join(code[i : i + 3] for i in range(0, len(code), 3))


def format_reference(public_id: str) -> str:
    """Show a public id in groups of four: "3f9a1c0b7d2e4b11" → "3F9A-1C0B-7D2E-4B11"."""
    return "-".join(public_id[i : i + 4] for i in range(0, len(public_id), 4)).upper()


def normalize_reference(raw: str) -> str | None:
    """What an officer typed ("3f9a-1c0b 7d2e-4b11") as a stored public id, or None."""
    folded = "".join(ch for ch in (raw or "").lower() if ch.isalnum())
    return folded if len(folded) == 16 and all(ch in "0123456789abcdef" for ch in folded) else None
