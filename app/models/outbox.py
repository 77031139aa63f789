"""Follow-up work, written in the same transaction as what caused it.

A row is the promise that a job will run: it is committed with the petition,
then handed to RQ. If Redis or the worker is down, the row waits and the
sweeper hands it over later; a row handed over but never finished is handed
over again. Jobs are safe to run twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Identity, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db


class OutboxJob(db.Model):
    __tablename__ = "job_outbox"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    job: Mapped[str] = mapped_column(String(64))
    args: Mapped[list] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    enqueued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(default=0)
    # The web request that caused the job (app/request_ids.py), for its log lines whenever it runs.
    request_id: Mapped[str | None] = mapped_column(String(64))
