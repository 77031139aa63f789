"""The portal's RQ worker: the app is built once, before any job is forked.

RQ forks a work horse per job. A horse of the plain worker imports the portal
and builds it anew for every job (about 8 s on a busy 2-core machine, against
about 1 s for processing a photo); this worker builds it first, so every horse
inherits it. The horse drops the database connections it inherited (none are
opened before the fork; SQLAlchemy's pool must not be shared across a fork).
"""

from __future__ import annotations

from rq import Worker

from app.extensions import db
from app.jobs import tasks


class PortalWorker(Worker):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.portal = tasks.worker_app()

    def main_work_horse(self, job, queue):
        with self.portal.app_context():
            db.engine.dispose(close=False)
        super().main_work_horse(job, queue)
