"""Outbox jobs RQ lost: handed over, never done, and no longer on their way.

A job handed to RQ can be lost after the outbox let it go: Redis restarted
without its data, the work horse running it was killed (RQ marks the job
failed), or the worker holding it died outright (the job stays "started" with
no worker behind it). Its outbox row is still not done, so the job is owed:
the sweeper releases the row here and hands it over again, sooner than the
outbox's RETRY_AFTER — LOST_AFTER_S after it was handed over, doubled with
each attempt, so a job that fails every time is not retried in a tight loop.
"""

from __future__ import annotations

from redis.exceptions import RedisError
from rq.job import Job, JobStatus
from rq.worker import Worker
from sqlalchemy import text

from app.extensions import db
from app.redis_conn import redis

LOST_AFTER_S = 30
MAX_DOUBLINGS = 5  # 30 s, 1, 2, 4, 8, then 16 minutes (beyond the outbox's RETRY_AFTER anyway)
GONE = {JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED}


def job_id(outbox_id: int, attempts: int) -> str:
    """The RQ id of the latest hand-over of an outbox row (see outbox.hand_over)."""
    return f"outbox-{outbox_id}-{attempts - 1}"


def release_lost(limit: int = 500) -> int:
    """Make outbox rows whose RQ job was lost wait again; return how many."""
    rows = db.session.execute(
        text(
            """SELECT id, attempts FROM job_outbox
               WHERE done_at IS NULL AND enqueued_at IS NOT NULL
                 AND enqueued_at < now() - make_interval(
                       secs => :after * power(2, least(greatest(attempts - 1, 0), :doublings)))
               ORDER BY enqueued_at LIMIT :limit FOR UPDATE SKIP LOCKED"""
        ),
        {"after": LOST_AFTER_S, "doublings": MAX_DOUBLINGS, "limit": limit},
    ).all()
    lost = []
    try:
        if rows:
            jobs = Job.fetch_many([job_id(row.id, row.attempts) for row in rows], connection=redis())
            lost = [row.id for row, job in zip(rows, jobs) if _is_lost(job)]
    except RedisError:
        lost = []  # Redis is away: nothing can be told about the jobs now
    if lost:
        db.session.execute(text("UPDATE job_outbox SET enqueued_at = NULL WHERE id = ANY(:ids)"), {"ids": lost})
    db.session.commit()
    return len(lost)


def _is_lost(job: Job | None) -> bool:
    if job is None:
        return True  # not in Redis at all
    status = job.get_status(refresh=False)
    if status in GONE:
        return True
    if status == JobStatus.STARTED:
        # The worker's key expires soon after the worker dies (RQ's heartbeat).
        return not job.worker_name or not redis().exists(Worker.redis_worker_namespace_prefix + job.worker_name)
    return False
