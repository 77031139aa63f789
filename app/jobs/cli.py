"""`flask jobs …`: the outbox sweeper."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from redis import Redis
from redis.exceptions import RedisError
from rq.scheduler import RQScheduler
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.redis_conn import redis
from app.services import lost_jobs, outbox, reminders

jobs_cli = AppGroup("jobs", help="Background jobs.")


REMIND_EVERY_S = 3600
POLL_EVERY_S = 300  # Open311 agencies asked for their answers
STANDBY_EVERY_S = 10
ANONYMISE_EVERY_S = 86400


@jobs_cli.command("sweep")
@click.option("--every", type=float, default=0, help="Repeat every N seconds (0: once).")
def sweep(every):
    """Hand waiting outbox jobs to RQ; every 5 minutes, poll Open311 agencies; hourly, the overdue reminders
    and the open petitions of villages just removed from the register; daily, the anonymisation and the alerts'
    digests."""
    # Both run at start: the monotonic clock counts from boot, so 0.0 could be minutes ago.
    last_remind = last_anonymise = last_poll = float("-inf")
    while True:
        try:
            released = lost_jobs.release_lost()
            if released:
                click.echo(f"{released} jobs lost by RQ wait to be handed over again.")
            handed = outbox.hand_over()
            if handed or not every:
                click.echo(f"Handed {handed} jobs to the queue; {outbox.waiting()} not yet done.")
            if time.monotonic() - last_remind >= REMIND_EVERY_S:
                outbox.schedule("remind_overdue")
                outbox.schedule("follow_retired_villages")
                last_remind = time.monotonic()
            if time.monotonic() - last_poll >= POLL_EVERY_S:
                outbox.schedule("poll_referrals")
                last_poll = time.monotonic()
            if time.monotonic() - last_anonymise >= ANONYMISE_EVERY_S:
                outbox.schedule("anonymise_contacts")
                outbox.schedule("send_alert_digests")
                last_anonymise = time.monotonic()
        except OperationalError:
            db.session.rollback()
            click.echo("Database unavailable; trying again.", err=True)
        except RedisError:
            click.echo("Redis unavailable; trying again.", err=True)
        if not every:
            return
        time.sleep(every)


@jobs_cli.command("worker")
def worker():
    """Run an RQ worker once Redis answers (the supervisor starts it again when it quits on a Redis error)."""
    _wait_for_redis()
    rq = str(Path(sys.executable).with_name("rq"))
    args = ["worker", "--worker-class", "app.jobs.worker.PortalWorker", "--url", current_app.config["REDIS_URL"]]
    os.execv(rq, [rq, *args, outbox.QUEUE])


@jobs_cli.command("scheduler")
def scheduler():
    """Run RQ's scheduler (jobs due later, retries) once Redis answers; one holds the lock, others stand by."""
    _wait_for_redis()
    rq_scheduler = RQScheduler([outbox.QUEUE], connection=Redis.from_url(current_app.config["REDIS_URL"]))
    # RQ's own scheduler tries for a lock held by another only every 10 minutes; a standby (or this one
    # restarted while its old lock runs out, ≤ 61 s) takes over sooner by asking every STANDBY_EVERY_S.
    standing_by = False
    while not rq_scheduler.acquire_locks():
        if not standing_by:
            click.echo("Another scheduler holds RQ's lock; standing by.", err=True)
            standing_by = True
        time.sleep(STANDBY_EVERY_S)
    rq_scheduler.work()


def _wait_for_redis(every: float = 1.0) -> None:
    """Return once Redis answers, saying so when it had to wait."""
    waited = False
    while True:
        try:
            redis().ping()
            break
        except RedisError:
            if not waited:
                click.echo("Redis unavailable; waiting for it.", err=True)
                waited = True
            time.sleep(every)
    if waited:
        click.echo("Redis is back.", err=True)


@jobs_cli.command("remind")
def remind():
    """Remind and escalate overdue petitions, and mark agencies' silence, now."""
    click.echo(reminders.run())
    db.session.commit()
