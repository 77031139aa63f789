"""Serving a petition's processed photos: to its citizen, to officers in scope, to the public once released."""

from __future__ import annotations

from flask import abort, current_app, request

from app.models import PetitionPhoto
from app.storage import current_storage


def send_photo(photo: PetitionPhoto, public: bool):
    """A processed photo (re-encoded, no metadata); shared caches may keep it only when the public may see it."""
    key = photo.thumb_key if request.args.get("size") == "thumb" else photo.image_key
    try:
        data = current_storage().get(key)
    except KeyError:
        abort(404)
    response = current_app.response_class(data, mimetype="image/jpeg")
    # Public ones briefly: a photo withdrawn by an officer leaves shared caches within minutes.
    response.headers["Cache-Control"] = "public, max-age=300, must-revalidate" if public else "private, no-store"
    return response
