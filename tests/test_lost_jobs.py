"""Outbox jobs RQ lost (Redis restarted without its data, a worker or work horse killed) are handed over again."""

from __future__ import annotations

import pytest
from rq import Queue, SimpleWorker, Worker
from rq.job import Job, JobStatus
from sqlalchemy import text

from app import create_app
from app.extensions import db
from app.models import OutboxJob
from app.redis_conn import redis
from app.services import lost_jobs, outbox


@pytest.fixture
def handed(client):
    """An outbox job handed over to RQ once (and not run)."""
    row = outbox.add("notify_citizen", 1, "answered")
    db.session.commit()
    assert outbox.hand_over([row.id]) == 1
    return row


def handed_ago(row: OutboxJob, seconds: int, attempts: int | None = None) -> None:
    db.session.execute(
        text(
            "UPDATE job_outbox SET enqueued_at = now() - make_interval(secs => :s),"
            " attempts = coalesce(:a, attempts) WHERE id = :id"
        ),
        {"s": seconds, "a": attempts, "id": row.id},
    )
    db.session.commit()


def queued_ids() -> list[str]:
    return Queue(outbox.QUEUE, connection=redis()).get_job_ids()


def fail_in_rq(job_id: str) -> None:
    """Put a job under this id in RQ and let a real worker fail it (its function does not exist)."""
    queue = Queue(outbox.QUEUE, connection=redis())
    queue.empty()  # only this job runs
    queue.enqueue("app.jobs.tasks.no_such_job", job_id=job_id)
    SimpleWorker([outbox.QUEUE], connection=redis()).work(burst=True)
    assert Job.fetch(job_id, connection=redis()).get_status() == JobStatus.FAILED


def test_a_job_redis_lost_is_handed_over_again(handed):
    redis().flushdb()  # Redis came back without its data
    handed_ago(handed, 31)
    assert lost_jobs.release_lost() == 1
    assert outbox.hand_over() == 1
    assert queued_ids() == [f"outbox-{handed.id}-1"]


def test_a_job_still_queued_is_not_handed_over_twice(handed):
    handed_ago(handed, 31)
    assert lost_jobs.release_lost() == 0
    assert outbox.hand_over() == 0
    assert queued_ids() == [f"outbox-{handed.id}-0"]


def test_a_lost_job_is_left_alone_for_the_first_half_minute(handed):
    redis().flushdb()
    handed_ago(handed, 10)
    assert lost_jobs.release_lost() == 0
    assert outbox.hand_over() == 0


def test_a_job_that_failed_is_handed_over_again(handed):
    fail_in_rq(f"outbox-{handed.id}-0")
    handed_ago(handed, 31)
    assert lost_jobs.release_lost() == 1
    assert outbox.hand_over() == 1
    assert f"outbox-{handed.id}-1" in queued_ids()


def test_a_job_that_keeps_failing_waits_longer_each_attempt(handed):
    handed_ago(handed, 100, attempts=3)  # the third hand-over waits 4 × 30 s
    fail_in_rq(f"outbox-{handed.id}-2")
    assert lost_jobs.release_lost() == 0
    handed_ago(handed, 121)
    assert lost_jobs.release_lost() == 1


def test_a_started_job_whose_worker_died_is_handed_over_again(handed):
    job = Job.fetch(f"outbox-{handed.id}-0", connection=redis())
    job.worker_name = "killed-worker"  # RQ's record of a worker killed outright: its key has expired
    job.save()
    job.set_status(JobStatus.STARTED)
    handed_ago(handed, 31)
    assert lost_jobs.release_lost() == 1


def test_a_started_job_whose_worker_lives_is_left_to_it(handed):
    live = Worker([outbox.QUEUE], connection=redis())
    live.register_birth()
    job = Job.fetch(f"outbox-{handed.id}-0", connection=redis())
    job.worker_name = live.name
    job.save()
    job.set_status(JobStatus.STARTED)
    handed_ago(handed, 31)
    try:
        assert lost_jobs.release_lost() == 0
    finally:
        live.register_death()


def test_with_redis_away_nothing_is_released_and_nothing_breaks(app, handed):
    from tests.conftest import bind_to_test_transaction

    handed_ago(handed, 3600)
    down = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": "redis://127.0.0.1:1/0",
        }
    )
    with bind_to_test_transaction(down):
        assert lost_jobs.release_lost() == 0
    assert db.session.get(OutboxJob, handed.id).enqueued_at is not None
