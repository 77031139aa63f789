"""Large exports, built by an RQ job that reports its progress; the file goes to storage.

The job takes the officer's id and the query string of the export, and
re-applies the officer's scope itself, so it exports exactly what the
officer could have streamed.
"""

from __future__ import annotations

from dataclasses import dataclass

from rq import Queue, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job

from app.redis_conn import redis

PROGRESS_EVERY = 2000


@dataclass(frozen=True)
class ExportJob:
    id: str
    fmt: str
    status: str  # queued | started | finished | failed
    done: int
    total: int
    key: str | None  # the file in storage, once finished

    @property
    def percent(self) -> int:
        return 100 if self.status == "finished" else int(100 * self.done / self.total) if self.total else 0


def start(user_id: int, args: dict, fmt: str, with_contact: bool) -> Job:
    job = Queue("default", connection=redis()).enqueue(
        "app.jobs.tasks.build_export", user_id, args, fmt, with_contact, result_ttl=86400, job_timeout=3600
    )
    job.meta.update(owner=user_id, fmt=fmt, done=0, total=0)
    job.save_meta()
    return job


def find(job_id: str, user_id: int) -> ExportJob | None:
    """The export job if it belongs to this officer."""
    try:
        job = Job.fetch(job_id, connection=redis())
    except (NoSuchJobError, ValueError):
        return None
    if job.meta.get("owner") != user_id:
        return None
    status = job.get_status(refresh=True)
    return ExportJob(
        job.id,
        job.meta.get("fmt", "csv"),
        str(status.value if hasattr(status, "value") else status),
        job.meta.get("done", 0),
        job.meta.get("total", 0),
        job.return_value() if status == "finished" else None,
    )


def report_progress(done: int, total: int) -> None:
    job = get_current_job()
    if job is not None:
        job.meta.update(done=done, total=total)
        job.save_meta()


def storage_key(fmt: str) -> str:
    job = get_current_job()
    return f"exports/{job.id if job else 'direct'}.{fmt}"
