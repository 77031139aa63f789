"""Citizens' petitions: submit, find by tracking code or public identifier, rate the answer."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from psycopg.types.json import Jsonb
from sqlalchemy import select

from app import metrics
from app.extensions import db
from app.models import Area, Petition, PetitionPhoto
from app.models.petition import format_code
from app.queries.areas import area_by_code
from app.queries.duplicates import similar_nearby_ids, similar_open_petitions
from app.queries.geotag import AreaRef, Placed, insert_placed_petition
from app.services import deadlines, outbox, publication, webhooks, workflow
from app.services.geotag import InvalidPoint, parse_point
from app.services.photos import CheckedPhoto
from app.storage import current_storage

# Tracking codes: 9 symbols from 24 that are read aloud unambiguously in
# Vietnamese — digits 2–9 and 16 letters (no O/0, I/L/1, B/8, S/5, nor F, J,
# W, Z, which Vietnamese does not use): 24⁹ ≈ 2.6·10¹² codes, so guessing one
# of 10 million petitions takes ~260,000 tries, far beyond the rate limits.
ALPHABET = "23456789ACDEGHKMNPRTUVXY"
CODE_LENGTH = 9

# The limits of a petition, whichever way it arrives (the web form, an officer
# filing for a citizen, Open311): each adapter words its own messages.
TITLE_MIN, TITLE_MAX = 5, 150
BODY_MIN, BODY_MAX = 10, 5000
NAME_MAX = 120
MAX_PHOTOS = 5


class NoPlace(ValueError):
    """A petition that names no place it can be handled in (the place rule: see submit)."""

    MESSAGES = {
        "missing": _l(
            "Hãy cho biết nơi xảy ra: chọn tỉnh, thành phố (và xã, thôn nếu biết) ở danh sách, "
            "hoặc dùng vị trí hiện tại, hoặc chọn trên bản đồ."
        ),
        "outside": _l(
            "Vị trí đã chọn không thuộc xã, phường nào; hãy chọn tỉnh, thành phố (và xã, thôn nếu biết) ở danh sách."
        ),
    }

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason  # missing: neither a point nor an area; outside: a point in no commune

    @property
    def message(self) -> str:
        return str(self.MESSAGES[self.reason])


# The place rule: a petition needs at least a province whose Front committee
# handles it — an area of the current boundaries picked by hand (a province at
# least), or a point in Vietnam (given, or where a photo was taken) that lies
# in a commune. A point at sea or across a border, far from every commune, is
# no place: its petition would reach no commune's or province's inbox, only
# central staff's. submit() enforces it; forms and Open311 check its shape
# first (names_a_place) to answer together with their other messages.


def names_a_place(point: tuple[float, float] | None, chosen_code: str | None) -> bool:
    """The shape of the place rule: a point, or a picked area's code (whether they place it, submit() says)."""
    return point is not None or bool(chosen_code)


def _chosen_area(point: tuple[float, float] | None, chosen_code: str | None) -> Area | None:
    """The picked area of the current boundaries; NoPlace("missing") when there is neither it nor a point."""
    chosen = area_by_code(chosen_code) if chosen_code else None
    if chosen is None and point is None:
        raise NoPlace("missing")
    return chosen


log = logging.getLogger("portal.petitions")


@dataclass
class PhotoUpload:
    data: bytes
    checked: CheckedPhoto


@dataclass
class Submission:
    title: str
    body: str
    category: str
    lon: float | None = None
    lat: float | None = None
    accuracy_m: float | None = None
    location_source: str | None = None  # gps | map | exif | None (pickers only)
    chosen_code: str | None = None  # the deepest area picked by hand
    anonymous: bool = True
    name: str | None = None
    phone: str | None = None
    email: str | None = None  # for the receipt and the answer; kept from officers when anonymous
    answers: dict = field(default_factory=dict)  # to the category's questions, checked (category_questions.check)
    idempotency_key: str | None = None
    channel: str = "web"  # web | api | hotline | paper | voter_meeting | …
    photos: list[PhotoUpload] = field(default_factory=list)
    filed_by_id: int | None = None  # the officer who filed it on a citizen's behalf
    partner_id: int | None = None  # the partner system that sent it (Open311)
    actor_label: str = "citizen"  # who filed it, for the audit trail
    publishable: bool | None = None  # may it be published once accepted (None: the category's default)

    def digest(self) -> str:
        """What a repeat of this submission must hold the same (photos aside: a phone may shrink them anew)."""
        fields = (
            (
                self.title,
                self.body,
                self.category,
                self.lon,
                self.lat,
                self.chosen_code,
                self.anonymous,
                self.name,
                self.phone,
                self.publishable,
            )
            + ((self.email,) if self.email else ())
            + ((sorted(self.answers.items()),) if self.answers else ())
        )
        # (without them, the digest a key got before e-mail and the category's questions existed)
        return hashlib.sha256(json.dumps(fields, ensure_ascii=False, default=str).encode()).hexdigest()


class KeyReused(Exception):
    """An idempotency key arrived again with other content: not merged into the first petition."""


@dataclass
class Submitted:
    tracking_code: str
    placed: Placed  # the village, commune and province it was filed under
    created: bool  # False: the same submission had already arrived
    public_id: str = ""

    @property
    def display_code(self) -> str:
        return format_code(self.tracking_code)


def new_idempotency_key() -> str:
    """A fresh key for a form the server hands out (the offline queue on the phone makes its own)."""
    return uuid.uuid4().hex


def new_tracking_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(raw: str) -> str | None:
    """Turn what a citizen typed ("k7m 4qx-9pt") into a stored code, or None."""
    code = "".join(ch for ch in raw.upper() if ch.isalnum())
    if len(code) == CODE_LENGTH and all(ch in ALPHABET for ch in code):
        return code
    return None


def by_code(raw: str) -> Petition | None:
    code = normalize_code(raw)
    return db.session.scalar(select(Petition).where(Petition.tracking_code == code)) if code else None


PUBLIC_ID = re.compile(r"[0-9a-f]{16}")


def by_public_id(public_id: str) -> Petition | None:
    """The petition with this public identifier (what it opens is only the published view)."""
    if not PUBLIC_ID.fullmatch(public_id or ""):
        return None
    return db.session.scalar(select(Petition).where(Petition.public_id == public_id))


def by_idempotency_key(key: str) -> Petition | None:
    return db.session.scalar(select(Petition).where(Petition.idempotency_key == key))


def submit(sub: Submission) -> Submitted:
    """Commit a petition, geotagged, with its photos queued for processing.

    The row is committed before any follow-up work is handed to Redis/RQ; the
    follow-up work is committed with it (the outbox), so nothing is lost if
    Redis is down. A second submission with the same idempotency key returns
    the first petition. NoPlace when it breaks the place rule: with no point
    and no known area before anything is stored, with a point in no commune
    (and no area) once the statement that inserts it has placed it — then
    rolled back, so the rule costs no extra round trip.
    """
    lon, lat, source = sub.lon, sub.lat, sub.location_source
    if lon is None or lat is None:
        lon, lat, source = photo_location(sub.photos) or (None, None, None)
    chosen = _chosen_area((lon, lat) if lon is not None else None, sub.chosen_code)

    store = current_storage()
    incoming = []
    for photo in sub.photos:  # quarantined until the photo job re-encodes them
        key = f"incoming/{uuid.uuid4().hex}"
        store.put(key, photo.data)
        incoming.append(key)

    values = {
        "idempotency_key": sub.idempotency_key,
        "channel": sub.channel,
        "title": sub.title,
        "body": sub.body,
        "category_code": sub.category,
        "status": "received",
        "location_accuracy_m": sub.accuracy_m if source == "gps" else None,
        "location_source": source,
        "chosen_area_id": chosen.id if chosen else None,
        "is_anonymous": sub.anonymous,
        "contact_name": None if sub.anonymous else sub.name,
        "contact_phone": None if sub.anonymous else sub.phone,
        "contact_email": sub.email or None,
        "category_answers": Jsonb(sub.answers) if sub.answers else None,
        "consent_at": datetime.now(UTC),
        "due_at": deadlines.due("received", sub.category, datetime.now(UTC)),
        "filed_by_id": sub.filed_by_id,
        "partner_id": sub.partner_id,
        "publishable": publication.publishable_by_default(sub.category) if sub.publishable is None else sub.publishable,
        "idempotency_digest": sub.digest() if sub.idempotency_key else None,
        "actor_label": sub.actor_label,
        "lon": lon,
        "lat": lat,
    }
    near_m = current_app.config["GEOTAG_NEAR_M"]
    for _ in range(5):
        inserted = insert_placed_petition({**values, "tracking_code": new_tracking_code()}, near_m)
        if inserted is not None:
            break
        if sub.idempotency_key and (existing := by_idempotency_key(sub.idempotency_key)):
            db.session.rollback()
            for key in incoming:  # the first submission kept its own photos
                store.delete(key)
            if existing.idempotency_digest not in (None, values["idempotency_digest"]):
                raise KeyReused
            return Submitted(existing.tracking_code, _placed(existing), False, existing.public_id)
        # else a tracking code drawn twice: draw again
    else:
        raise RuntimeError("could not draw a free tracking code")
    if inserted.placed.province is None:  # a point in no commune and no area picked: no committee to handle it
        db.session.rollback()
        for key in incoming:
            store.delete(key)
        raise NoPlace("outside")

    told = sub.email or (sub.channel == "sms" and sub.phone)  # a receipt for who can be reached
    jobs = [outbox.add("notify_citizen", inserted.id, "received").id] if told else []
    if sub.partner_id:  # a new petition is in no one's scope but its partner's (none is published yet)
        jobs += webhooks.emit(db.session.get(Petition, inserted.id), "petition.created")
    for position, key in enumerate(incoming):
        photo = PetitionPhoto(petition_id=inserted.id, position=position, incoming_key=key, status="pending")
        db.session.add(photo)
        db.session.flush()
        jobs.append(outbox.add("process_photo", photo.id).id)
    db.session.commit()
    metrics.petition_stored(sub.channel, inserted.placed.method, source)
    log.info(  # ids and kinds only: never the text, the contact or the tracking code
        "petition stored",
        extra={
            "petition_id": inserted.id,
            "channel": sub.channel,
            "geotag": inserted.placed.method,
            "outbox_ids": jobs,
        },
    )
    outbox.hand_over(jobs)
    return Submitted(inserted.tracking_code, inserted.placed, True, inserted.public_id)


def _placed(petition: Petition) -> Placed:
    def ref(area):
        return AreaRef(area.code, area.name, area.unit_type) if area else None

    return Placed(
        ref(petition.village),
        ref(petition.commune),
        ref(petition.province),
        petition.geotag_method,
        petition.geotag_distance_m,
        petition.geotag_disagrees,
    )


def photo_location(photos: list[PhotoUpload]) -> tuple[float, float, str] | None:
    """(lon, lat, "exif") where the first photo with a position in Vietnam was taken, or None."""
    for photo in photos:
        if photo.checked.location:
            lon, lat = photo.checked.location
            try:
                lon, lat = parse_point(lat, lon)
            except InvalidPoint:
                continue
            return lon, lat, "exif"
    return None


SIMILAR_SHOWN = 5  # similar petitions offered on the form


def similar_nearby(lon: float, lat: float, category: str) -> list[tuple[Petition, float]]:
    """Published open petitions of the same category a few hundred metres away, recent, nearest first."""
    config = current_app.config
    rows = similar_open_petitions(
        lon, lat, category, config["SIMILAR_RADIUS_M"], config["SIMILAR_DAYS"], limit=4 * SIMILAR_SHOWN
    )
    query = select(Petition).where(Petition.id.in_([r.id for r in rows]), publication.published())
    found = {p.id: p for p in db.session.scalars(query)}
    return [(found[r.id], r.distance_m) for r in rows if r.id in found][:SIMILAR_SHOWN]


class NotAnswered(Exception):
    """Only an answered petition can be rated."""


class AlreadyRated(Exception):
    """This answer was rated already: one rating per answer round."""


def rate(petition: Petition, satisfied: bool, comment: str) -> None:
    """Record the citizen's satisfaction with the latest answer, once per answer round.

    The petition row is locked, so two ratings sent at once make one.
    """
    db.session.execute(select(Petition.id).where(Petition.id == petition.id).with_for_update())
    db.session.refresh(petition)
    if not petition.awaits_rating:
        db.session.rollback()
        raise AlreadyRated if petition.rated_answer_id is not None and petition.status == "resolved" else NotAnswered
    petition.rated_answer_id = petition.public_answers[-1].id
    petition.satisfied = satisfied
    petition.rating_comment = comment or None
    petition.rated_at = datetime.now(UTC)
    workflow.record(petition, None, "rated", note=comment, data={"satisfied": satisfied}, label="citizen")
    if not satisfied:  # back to the officer, with the rating shown
        workflow.act(petition, "reopen", None, note=comment or "Công dân chưa hài lòng với câu trả lời.")
    db.session.commit()


def possible_duplicates(petition: Petition, visible) -> list[tuple[Petition, float]]:
    """Petitions that may be the same problem, among those the officer may see."""
    if petition.location is None:
        return []
    rows = similar_nearby_ids(petition.id, radius_m=300, days=90, min_similarity=0.3)
    if not rows:
        return []
    found = {p.id: p for p in db.session.scalars(visible.where(Petition.id.in_([r.id for r in rows])))}
    return [(found[r.id], r.score) for r in rows if r.id in found]
