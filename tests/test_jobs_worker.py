"""The portal's RQ worker builds the app once, before it forks: no job pays for importing and building it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from redis import Redis
from rq import Queue
from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent


def app_built_before_the_job() -> tuple[bool, int]:
    """Run in a work horse: was the portal already built when the job began, and does its database answer?"""
    from app.extensions import db
    from app.jobs import tasks

    built = tasks._app is not None
    with tasks.worker_app().app_context():
        return built, db.session.execute(text("SELECT 1")).scalar_one()


def test_a_job_runs_in_the_app_the_worker_built_before_forking(app, redis_proc):
    url = f"redis://{redis_proc.host}:{redis_proc.port}/4"
    connection = Redis.from_url(url)
    connection.flushdb()
    job = Queue("default", connection=connection).enqueue("tests.test_jobs_worker.app_built_before_the_job")
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": url,
        "SECRET_KEY": "worker-test",
    }
    worker = [str(Path(sys.executable).with_name("rq")), "worker", "--burst"]
    result = subprocess.run(
        [*worker, "--worker-class", "app.jobs.worker.PortalWorker", "--url", url, "default"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    job.refresh()
    assert job.get_status() == "finished", result.stderr[-2000:]
    assert job.return_value() == (True, 1)
