"""`flask jobs …`: the outbox sweeper."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup
from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.services import outbox, reminders

jobs_cli = AppGroup("jobs", help="Background jobs.")


REMIND_EVERY_S = 3600
ANONYMISE_EVERY_S = 86400


@jobs_cli.command("sweep")
@click.option("--every", type=float, default=0, help="Repeat every N seconds (0: once).")
def sweep(every):
    """Hand waiting outbox jobs to RQ; every hour, queue the overdue reminders; every day, the anonymisation."""
    # Both run at start: the monotonic clock counts from boot, so 0.0 could be minutes ago.
    last_remind = last_anonymise = float("-inf")
    while True:
        try:
            handed = outbox.hand_over()
            if handed or not every:
                click.echo(f"Handed {handed} jobs to the queue; {outbox.waiting()} not yet done.")
            if time.monotonic() - last_remind >= REMIND_EVERY_S:
                outbox.schedule("remind_overdue")
                last_remind = time.monotonic()
            if time.monotonic() - last_anonymise >= ANONYMISE_EVERY_S:
                outbox.schedule("anonymise_contacts")
                last_anonymise = time.monotonic()
        except OperationalError:
            db.session.rollback()
            click.echo("Database unavailable; trying again.", err=True)
        except RedisError:
            click.echo("Redis unavailable; trying again.", err=True)
        if not every:
            return
        time.sleep(every)


@jobs_cli.command("remind")
def remind():
    """Remind and escalate overdue petitions, and mark agencies' silence, now."""
    click.echo(reminders.run())
    db.session.commit()
