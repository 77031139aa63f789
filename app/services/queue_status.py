"""What RQ holds in Redis right now: the queues' depth, failed jobs, and the workers' heartbeats.

Read-only: nothing here cleans a registry or moves a job (a scrape must not
change what it measures). Each function raises RedisError when Redis is away;
callers report that instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from rq import Queue, Worker

from app.redis_conn import redis
from app.services.outbox import QUEUE


@dataclass(frozen=True)
class QueueStatus:
    name: str
    queued: int  # waiting for a worker
    started: int  # running now
    failed: int  # failed for good (kept in RQ's failed registry)


@dataclass(frozen=True)
class WorkerStatus:
    count: int  # workers registered in Redis (a worker's entry lapses a while after its last heartbeat)
    freshest_age_s: float | None  # seconds since the most recent heartbeat of any of them


def queues() -> list[QueueStatus]:
    """Every RQ queue Redis knows, the portal's own first even before its first job."""
    connection = redis()
    names = [QUEUE, *sorted({q.name for q in Queue.all(connection=connection)} - {QUEUE})]
    found = []
    for name in names:
        queue = Queue(name, connection=connection)
        found.append(
            QueueStatus(
                name,
                queue.count,
                queue.started_job_registry.get_job_count(cleanup=False),
                queue.failed_job_registry.get_job_count(cleanup=False),
            )
        )
    return found


def workers() -> WorkerStatus:
    """How many workers are registered, and how long ago the freshest one sent a heartbeat."""
    registered = Worker.all(connection=redis())
    beats = [w.last_heartbeat for w in registered if w.last_heartbeat is not None]
    if not beats:
        return WorkerStatus(len(registered), None)
    freshest = max(b if b.tzinfo else b.replace(tzinfo=UTC) for b in beats)
    return WorkerStatus(len(registered), max(0.0, (datetime.now(UTC) - freshest).total_seconds()))
