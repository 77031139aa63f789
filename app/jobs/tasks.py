"""RQ jobs. Each takes its outbox row id and plain ids, looks the rows up,
calls a service, marks the outbox row done, and is safe to run twice."""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager

from flask import has_app_context
from rq import get_current_job

from app import request_ids
from app.extensions import db
from app.models import Petition, User
from app.queries.exports import export_rows
from app.queries.report_stats import count
from app.services import (
    aggregates,
    alerts,
    export_jobs,
    exports,
    notices,
    outbox,
    petition_photos,
    referrals,
    reminders,
    retention,
    webhooks,
)
from app.standby import standby_reads
from app.storage import current_storage

_app = None
log = logging.getLogger("portal.jobs")


@contextmanager
def _app_context():
    """The worker's app context (or the caller's, when a test runs the job), logged under the causing request's id."""
    job = get_current_job()
    with request_ids.bound((job.meta or {}).get("request_id") if job else None):
        if has_app_context():
            with _logged(job):
                yield
            return
        with worker_app().app_context(), _logged(job):
            yield


def worker_app():
    """The worker's app, built once (app/jobs/worker.py builds it before forking, so that no job pays for it)."""
    global _app
    if _app is None:
        from app import create_app

        _app = create_app()
    return _app


@contextmanager
def _logged(job):
    """A line when the job starts and when it ends (by its name and RQ id: ids only, never its data)."""
    if job is None:
        yield
        return
    fields = {"job": job.func_name.rpartition(".")[2], "job_id": job.id}
    log.info("job started", extra=fields)
    started = time.perf_counter()
    try:
        yield
    except Exception as exc:
        log.warning("job failed", extra={**fields, "error": type(exc).__name__})
        raise
    log.info("job done", extra={**fields, "duration_ms": round((time.perf_counter() - started) * 1000, 1)})


def process_photo(outbox_id: int, photo_id: int) -> None:
    """Re-encode a petition photo without metadata and make its thumbnail."""
    with _app_context():
        petition_photos.process(photo_id)
        outbox.mark_done(outbox_id)
        db.session.commit()


def notify_citizen(outbox_id: int, petition_id: int, kind: str) -> None:
    """Write the citizen's notices about their petition (once per kind) and hand over their deliveries."""
    with _app_context():
        petition = db.session.get(Petition, petition_id)
        deliveries = notices.notify_citizen(petition, kind) if petition is not None else []
        outbox.mark_done(outbox_id)
        db.session.commit()
        outbox.hand_over(deliveries)


def _settle_or_retry(outbox_id: int, settled: bool, waiting: str, handed: list[int] = ()) -> None:
    """Mark the outbox row done when the attempt settled; else fail the job, for RQ to run it again later."""
    if settled:
        outbox.mark_done(outbox_id)
    db.session.commit()
    outbox.hand_over(list(handed))
    if not settled:
        raise notices.TryAgain(waiting)


def deliver_notice(outbox_id: int, notice_id: int) -> None:
    """Send one notice; when its channel is away, fail so that RQ tries again after the backoff."""
    with _app_context():
        _settle_or_retry(outbox_id, notices.deliver(notice_id), f"notice {notice_id} waits for its channel")


def send_referral(outbox_id: int, referral_id: int, event: str = "referral") -> None:
    """Send a referral (or its reminder) through its agency's channel; when away, fail for RQ to try again."""
    with _app_context():
        settled, deliveries = referrals.send(referral_id, event)
        _settle_or_retry(outbox_id, settled, f"referral {referral_id} waits for its agency's system", deliveries)


def deliver_webhook(outbox_id: int, delivery_id: int) -> None:
    """POST one event to a partner's webhook; when its server is away, fail for RQ to try again."""
    with _app_context():
        waiting = f"webhook delivery {delivery_id} waits for the partner's server"
        _settle_or_retry(outbox_id, webhooks.deliver(delivery_id), waiting)


def send_alerts(outbox_id: int, petition_id: int) -> None:
    """Mail the area alerts a newly published petition is news for."""
    with _app_context():
        petition = db.session.get(Petition, petition_id)
        mails = alerts.notify_now(petition) if petition is not None else []
        outbox.mark_done(outbox_id)
        db.session.commit()
        outbox.hand_over(mails)


def send_alert_digests() -> None:
    """Mail each daily area alert the petitions published since its last digest."""
    with _app_context():
        mails = alerts.digests()
        db.session.commit()
        outbox.hand_over(mails)


def poll_referrals() -> None:
    """Ask Open311 agencies for the answers to the referrals they hold."""
    with _app_context():
        referrals.poll_open311()


def remind_overdue() -> None:
    """Remind officers of overdue petitions, escalate to the province, mark agencies' silence."""
    with _app_context():
        reminders.run()
        db.session.commit()


def follow_retired_villages() -> None:
    """Open petitions placed in a village just removed from the register go to its successor."""
    from app.services import village_register

    with _app_context():
        village_register.follow_retired()
        db.session.commit()


def anonymise_contacts() -> None:
    """Anonymise the contact details of petitions closed longer than the retention period."""
    with _app_context():
        retention.anonymise_backlog()


def build_export(user_id: int, args: dict, fmt: str, with_contact: bool) -> str | None:
    """Write a large export to storage, reporting progress; returns its storage key."""
    with _app_context():
        user = db.session.get(User, user_id)
        if user is None:
            return None
        sel = aggregates.selection_from_args(user, args)  # the officer's own scope, re-applied
        with standby_reads():  # the rows from the standby when one is configured (app/standby.py)
            total = count(sel)
            rows = _counted(export_rows(sel, with_contact), total)
            data = "".join(exports.chunks(fmt, rows, with_contact)).encode("utf-8")
        key = export_jobs.storage_key(fmt)
        current_storage().put(key, data)
        export_jobs.report_progress(total, total)
        return key


def _counted(rows, total: int):
    for done, row in enumerate(rows, start=1):
        if done % export_jobs.PROGRESS_EVERY == 0:
            export_jobs.report_progress(done, total)
        yield row
