"""Photos of petitions: from quarantine to a clean, re-encoded image and thumbnail."""

from __future__ import annotations

from app.extensions import db
from app.models import PetitionPhoto
from app.services import photos
from app.storage import current_storage


def process(photo_id: int) -> None:
    """Re-encode a quarantined upload without metadata; safe to run twice."""
    # Locked, so a second run of the job (handed over again) waits for the first and then finds it done.
    photo = db.session.get(PetitionPhoto, photo_id, with_for_update=True)
    if photo is None or photo.status != "pending":
        return
    store = current_storage()
    try:
        image, thumb = photos.process(store.get(photo.incoming_key))
    except KeyError:
        photo.status = "failed"
        return
    except photos.PhotoRejected:
        photo.status = "failed"
        db.session.flush()
        store.delete(photo.incoming_key)  # the original, with whatever metadata it carries, is kept nowhere
        return
    base = f"photos/{photo.petition_id}/{photo.id}"
    store.put(f"{base}.jpg", image)
    store.put(f"{base}-thumb.jpg", thumb)
    checked = photos.check(image)
    photo.image_key, photo.thumb_key = f"{base}.jpg", f"{base}-thumb.jpg"
    photo.width, photo.height = checked.width, checked.height
    photo.status = "ready"
    db.session.flush()
    store.delete(photo.incoming_key)
