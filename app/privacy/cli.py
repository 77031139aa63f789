"""`flask privacy …`: anonymise the contact details of petitions past the retention period."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.services import retention

privacy_cli = AppGroup("privacy", help="Citizens' personal data over time.")


@privacy_cli.command("anonymise")
@click.option("--dry-run", is_flag=True, help="Count what is due; write nothing.")
def anonymise(dry_run):
    """Anonymise every closed petition's contact details past the retention period, now."""
    months = retention.retention_months()
    if dry_run:
        click.echo(f"{retention.due_count()} petitions closed over {months} months ago would be anonymised.")
        return
    done = retention.anonymise_backlog(budget_s=None)
    click.echo(f"Anonymised the contact details of {done} petitions closed over {months} months ago.")
