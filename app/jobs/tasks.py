"""RQ jobs. Each takes its outbox row id and plain ids, looks the rows up,
calls a service, marks the outbox row done, and is safe to run twice."""

from __future__ import annotations

from contextlib import contextmanager

from flask import has_app_context

from app.extensions import db
from app.models import Petition
from app.services import notices, outbox, petition_photos, reminders

_app = None


@contextmanager
def _app_context():
    """The worker's app context (or the caller's, when a test runs the job)."""
    global _app
    if has_app_context():
        yield
        return
    if _app is None:
        from app import create_app

        _app = create_app()
    with _app.app_context():
        yield


def process_photo(outbox_id: int, photo_id: int) -> None:
    """Re-encode a petition photo without metadata and make its thumbnail."""
    with _app_context():
        petition_photos.process(photo_id)
        outbox.mark_done(outbox_id)
        db.session.commit()


def notify_citizen(outbox_id: int, petition_id: int, kind: str) -> None:
    """Send the citizen a notice about their petition (once per kind)."""
    with _app_context():
        petition = db.session.get(Petition, petition_id)
        if petition is not None:
            notices.notify_citizen(petition, kind)
        outbox.mark_done(outbox_id)
        db.session.commit()


def remind_overdue() -> None:
    """Remind officers of overdue petitions, escalate to the province, mark agencies' silence."""
    with _app_context():
        reminders.run()
        db.session.commit()
