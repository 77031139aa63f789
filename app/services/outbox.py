"""Hand follow-up work to RQ through the job outbox (see app/models/outbox.py)."""

from __future__ import annotations

import json

from flask import current_app
from redis.exceptions import RedisError
from rq import Queue, Retry
from sqlalchemy import text

from app import request_ids
from app.extensions import db
from app.models import OutboxJob
from app.redis_conn import redis

QUEUE = "default"
# A job handed over this long ago and not done is handed over again.
RETRY_AFTER = "15 minutes"
# Jobs RQ itself runs again when they fail, the setting that lists the seconds between attempts.
RETRIED = {"deliver_notice": "NOTICE_RETRY_S", "send_referral": "NOTICE_RETRY_S", "deliver_webhook": "NOTICE_RETRY_S"}


def add(job: str, *args) -> OutboxJob:
    """Record a job to run after the current transaction commits."""
    row = OutboxJob(job=job, args=list(args), request_id=request_ids.current())
    db.session.add(row)
    db.session.flush()
    return row


def hand_over(ids: list[int] | None = None, limit: int = 200) -> int:
    """Enqueue waiting jobs on RQ (these ids, or any that wait); return how many went."""
    if ids == []:
        return 0
    # A job RQ retries is not handed over again while its retries may still be waiting:
    # a second chain of retries would crowd the attempts into the first minutes.
    waits = {job: sum(retry_intervals(job)) for job in RETRIED}
    rows = db.session.execute(
        text(
            f"""SELECT id, job, args, attempts, request_id FROM job_outbox
                WHERE done_at IS NULL
                  AND (enqueued_at IS NULL OR enqueued_at < now() - interval '{RETRY_AFTER}' - make_interval(
                         secs => coalesce(CAST(:waits AS jsonb) ->> job, '0')::float))
                  AND (CAST(:ids AS bigint[]) IS NULL OR id = ANY(:ids))
                ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED"""
        ),
        {"ids": ids, "limit": limit, "waits": json.dumps(waits)},
    ).all()
    handed = []
    try:
        queue = Queue(QUEUE, connection=redis())
        for row in rows:
            # Whoever hands it over (the request, or the sweeper later), a job carries
            # the id of the request that caused it into its log lines.
            meta = {"request_id": row.request_id} if row.request_id else None
            queue.enqueue(
                f"app.jobs.tasks.{row.job}",
                row.id,
                *row.args,
                job_id=f"outbox-{row.id}-{row.attempts}",
                meta=meta,
                retry=_retries(row.job),
            )
            handed.append(row.id)
    except RedisError:
        pass  # Redis is down: what was not handed over waits for the sweeper
    if handed:
        db.session.execute(
            text("UPDATE job_outbox SET enqueued_at = now(), attempts = attempts + 1 WHERE id = ANY(:ids)"),
            {"ids": handed},
        )
    db.session.commit()
    return len(handed)


def retry_intervals(job: str) -> list[int]:
    """The seconds between RQ's retries of this job: for jobs that wait on something outside the portal."""
    setting = RETRIED.get(job)
    return [int(s) for s in current_app.config[setting].split(",")] if setting else []


def _retries(job: str) -> Retry | None:
    intervals = retry_intervals(job)
    return Retry(max=len(intervals), interval=intervals) if intervals else None


def mark_done(job_id: int) -> None:
    db.session.execute(text("UPDATE job_outbox SET done_at = now() WHERE id = :id"), {"id": job_id})


def waiting() -> int:
    return db.session.execute(text("SELECT count(*) FROM job_outbox WHERE done_at IS NULL")).scalar_one()


def backlog() -> tuple[int, float | None]:
    """How many jobs are not done yet, and how many seconds the oldest of them has waited."""
    row = db.session.execute(
        text(
            """SELECT count(*) AS waiting,
                      extract(epoch FROM now() - (SELECT created_at FROM job_outbox
                                                  WHERE done_at IS NULL ORDER BY id LIMIT 1)) AS oldest_s
               FROM job_outbox WHERE done_at IS NULL"""
        )
    ).one()
    return row.waiting, None if row.oldest_s is None else float(row.oldest_s)


def schedule(job: str) -> None:
    """Queue a periodic job that needs no outbox row (it is run again next period anyway)."""
    Queue(QUEUE, connection=redis()).enqueue(f"app.jobs.tasks.{job}")
