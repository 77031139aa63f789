"""`flask jobs …`: the outbox sweeper."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.services import outbox

jobs_cli = AppGroup("jobs", help="Background jobs.")


@jobs_cli.command("sweep")
@click.option("--every", type=float, default=0, help="Repeat every N seconds (0: once).")
def sweep(every):
    """Hand waiting outbox jobs to RQ (after Redis or a worker was down)."""
    while True:
        try:
            handed = outbox.hand_over()
            if handed or not every:
                click.echo(f"Handed {handed} jobs to the queue; {outbox.waiting()} not yet done.")
        except OperationalError:
            db.session.rollback()
            click.echo("Database unavailable; trying again.", err=True)
        if not every:
            return
        time.sleep(every)
