"""`flask agencies …`: the state agencies petitions are referred to, and how each is reached."""

from __future__ import annotations

import secrets
import sys

import click
from flask.cli import AppGroup

from app.extensions import db
from app.models import Agency
from app.models.agency import AGENCY_CHANNELS
from app.services import areas

agencies_cli = AppGroup("agencies", help="State agencies that petitions are referred to.")


@agencies_cli.command("add")
@click.argument("name")
@click.option(
    "--area",
    "area_code",
    metavar="CODE|NAME",
    help="The province or commune it serves, by code or name (none: the country).",
)
@click.option("--channel", type=click.Choice(list(AGENCY_CHANNELS)), required=True)
@click.option("--address", default="", help="Its e-mail address, or its Open311 endpoint or webhook URL.")
@click.option("--key", "key", default="", help="Open311: the api_key the agency gave the portal.")
@click.option("--service-code", default="", help="Open311: the agency's service the referrals are filed under.")
def add(name, area_code, channel, address, key, service_code):
    """Add an agency; a webhook agency's signing secret is printed once."""
    area = None
    if area_code:  # a code, or a name ("Phong Hòa"); a shared name lists the choices with their codes
        try:
            area = areas.pick(area_code, ("province", "commune"))
        except areas.NotOneArea as found:
            listed = "".join(f"\n  {c.code}  {c.label}" for c in found.choices)
            click.echo(f"Error: {area_code!r} names no one province or commune; give its code:{listed}", err=True)
            sys.exit(1)
    if channel in ("email", "open311", "webhook") and not address:
        click.echo(f"Error: a {channel} agency needs --address", err=True)
        sys.exit(1)
    secret = key or (secrets.token_urlsafe(32) if channel == "webhook" else "")
    agency = Agency(
        name=name, area_id=area.id if area else None, channel=channel, address=address, secret=secret,
        service_code=service_code,
    )  # fmt: skip
    db.session.add(agency)
    db.session.commit()
    click.echo(
        f"Added agency {agency.id}: {agency.name} ({channel}, serves {area.full_name if area else 'the whole country'})"
    )
    if channel == "webhook":
        click.echo(f"Signing secret (its referrals, and the updates it sends back as agency {agency.id}): {secret}")


@agencies_cli.command("list")
def list_():
    """List the agencies (never their keys)."""
    for agency in db.session.scalars(db.select(Agency).order_by(Agency.id)):
        area = agency.area.code if agency.area else "-"
        state = "active" if agency.active else "inactive"
        click.echo(f"{agency.id}\t{agency.name}\t{agency.channel}\t{area}\t{agency.address}\t{state}")
