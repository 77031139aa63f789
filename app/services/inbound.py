"""Petitions that arrive by e-mail or SMS: filed as received petitions for an officer to confirm.

Such a petition is filed like any other (app/services/petitions.py submit),
with its channel, in the "other" category, private until an officer sees it
(the sender chose nothing about publication), and placed where the message
says: a commune's or a province's code — the "+code" of the address the mail
was sent to (kiennghi+17600@…), or the first word of the SMS ("17600 Đèn
đường hỏng…") — else INBOUND_DEFAULT_AREA. With neither, it is refused, so
that the sender learns it (the mail bounces; the gateway is answered 422).
The officer of that commune's or province's inbox confirms it (accepts it),
places it in its village (re-places it) and sets its category, or rejects it.
The message's own id is its idempotency key: a gateway or mail server that
sends it again files nothing twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask import current_app

from app.petitions.forms import normalize_email, normalize_phone
from app.queries.areas import area_by_code
from app.services import photos
from app.services.petitions import (
    MAX_PHOTOS,
    NAME_MAX,
    TITLE_MAX,
    TITLE_MIN,
    PhotoUpload,
    Submission,
    Submitted,
    submit,
)

CODE = re.compile(r"^(\d{5}|\d{2})$")
BODY_MAX = 5000


class NoPlaceGiven(ValueError):
    """The message names no commune or province, and no default area is set."""


@dataclass
class InboundMessage:
    channel: str  # email | sms
    sender: str  # the e-mail address or the phone number it came from
    text: str
    message_id: str
    subject: str = ""
    name: str = ""  # the sender's name, when the mail gives one
    area_code: str | None = None  # from the address or the first word
    images: list[bytes] = field(default_factory=list)


def sms_code_and_text(text: str) -> tuple[str | None, str]:
    """ "17600 Đèn đường hỏng" → ("17600", "Đèn đường hỏng"); a text without a code as it is."""
    first, _, rest = text.strip().partition(" ")
    return (first, rest.strip()) if CODE.match(first) and rest.strip() else (None, text.strip())


def _place(code: str | None) -> str:
    for candidate in (code, current_app.config["INBOUND_DEFAULT_AREA"]):
        area = area_by_code(candidate) if candidate else None
        if area is not None and area.level in ("province", "commune"):
            return area.code
    raise NoPlaceGiven


def file(message: InboundMessage) -> Submitted:
    """File an inbound message as a received petition (the same one again if it was filed before)."""
    chosen = _place(message.area_code)
    text = message.text.strip()[:BODY_MAX] or message.subject.strip() or "(không có nội dung)"
    title = " ".join((message.subject or text).split())[:TITLE_MAX]
    if len(title) < TITLE_MIN:
        title = f"{'Thư' if message.channel == 'email' else 'Tin nhắn'}: {title}"
    phone = normalize_phone(message.sender) if message.channel == "sms" else None
    email = normalize_email(message.sender) if message.channel == "email" else None
    uploads = []
    for data in message.images[:MAX_PHOTOS]:
        try:
            uploads.append(PhotoUpload(data, photos.check(data)))
        except photos.PhotoRejected:
            continue  # an attachment that is no photo is left out; the text is filed
    return submit(
        Submission(
            title=title,
            body=text,
            category="other",
            chosen_code=chosen,
            anonymous=not (phone or email),
            name=message.name.strip()[:NAME_MAX] or None,
            phone=phone,
            email=email,
            idempotency_key=f"{message.channel}:{message.message_id}"[:64],
            channel=message.channel,
            actor_label=message.channel,
            publishable=False,
            photos=uploads,
        )
    )
