"""The file an agency attaches to its answer: a PDF kept as it is, or a photo re-encoded without metadata."""

from __future__ import annotations

import uuid

from flask import current_app

from app.models import Referral
from app.services import photos
from app.storage import current_storage

MAX_BYTES = 10 * 1024 * 1024


class FileRefused(ValueError):
    """Not a PDF or a photo, or too large: the message says which (Vietnamese)."""


def keep(referral: Referral, filename: str, data: bytes) -> tuple[str, str]:
    """Store the attachment; (storage key, the name it is shown under)."""
    if len(data) > MAX_BYTES:
        raise FileRefused("Tệp đính kèm tối đa 10 MB.")
    stem = "".join(ch for ch in filename.rsplit(".", 1)[0] if ch.isalnum() or ch in " -_")[:80].strip() or "tra-loi"
    if data.startswith(b"%PDF-"):
        ext, body = "pdf", data
    else:
        try:
            body, _ = photos.process(data)
        except photos.PhotoRejected:
            raise FileRefused("Chỉ nhận tệp PDF hoặc ảnh (JPEG, PNG).") from None
        ext = "jpg"
    key = f"referrals/{referral.id}/{uuid.uuid4().hex}.{ext}"
    current_storage().put(key, body)
    return key, f"{stem}.{ext}"


def discard(key: str) -> None:
    """Delete an attachment whose answer was not kept."""
    current_storage().delete(key)


def send_reply_file(referral: Referral):
    """The attachment, to an officer: downloaded, never shown inline, never cached."""
    try:
        data = current_storage().get(referral.reply_file_key)
    except KeyError:
        from flask import abort

        abort(404)
    pdf = referral.reply_file_key.endswith(".pdf")
    response = current_app.response_class(data, mimetype="application/pdf" if pdf else "image/jpeg")
    response.headers["Content-Disposition"] = f'attachment; filename="referral-{referral.id}.{"pdf" if pdf else "jpg"}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
