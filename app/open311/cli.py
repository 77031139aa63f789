"""`flask partners …`: partner systems of the Open311 API and their keys."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from app.extensions import db
from app.models.webhook import EVENTS
from app.services import partners, webhooks
from app.services.partners import PartnerError

partners_cli = AppGroup("partners", help="Partner systems of the Open311 API (/open311/v2/) and their API keys.")


def _fail(message: str) -> None:
    db.session.rollback()
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


@partners_cli.command("create")
@click.argument("name")
@click.option("--rate", default=partners.DEFAULT_RATE, show_default=True, help="POSTs allowed to this partner.")
@click.option("--area", "area_code", metavar="CODE", help="Limit reads to a province or commune (current code).")
@click.option("--sees-unpublished", is_flag=True, help="Let reads include petitions not yet published.")
def create(name, rate, area_code, sees_unpublished):
    """Create a partner and print its API key (once)."""
    try:
        partner, api_key = partners.create(name, rate, area_code, sees_unpublished)
    except PartnerError as exc:
        _fail(exc.message)
    db.session.commit()
    scope = _scope(partner, (area_code or "").strip() or None)
    click.echo(f"Created partner {partner.name} (rate limit {partner.rate_limit}; reads: {scope})")
    click.echo(f"API key: {api_key}")
    click.echo("Warning: keep this key now; it is stored only as a hash and will not be shown again.", err=True)


@partners_cli.command("revoke")
@click.argument("name")
def revoke(name):
    """Revoke a partner's API key; its petitions stay."""
    try:
        partner = partners.revoke(name)
    except PartnerError as exc:
        _fail(exc.message)
    db.session.commit()
    click.echo(f"Revoked partner {partner.name}")


@partners_cli.command("list")
def list_():
    """List the partners (never their keys)."""
    for partner, area in partners.listing():
        state = "active" if partner.active else f"revoked {partner.revoked_at:%Y-%m-%d %H:%M}"
        scope = _scope(partner, area.code if area else None)
        click.echo(
            f"{partner.name}\t{partner.rate_limit}\t{scope}\t{state}\tcreated {partner.created_at:%Y-%m-%d %H:%M}"
        )


def _scope(partner, area_code: str | None) -> str:
    """What a key reads, in a few words: "published, whole country" or "unpublished too, area 46"."""
    seen = "unpublished too" if partner.sees_unpublished else "published"
    return f"{seen}, {f'area {area_code}' if area_code else 'whole country'}"


@partners_cli.command("webhook")
@click.argument("name")
@click.argument("url")
@click.option(
    "--event",
    "events",
    multiple=True,
    type=click.Choice(EVENTS),
    default=EVENTS,
    show_default=True,
    help="An event to receive (repeat the option); all by default.",
)
def webhook(name, url, events):
    """Subscribe a partner's URL to events and print the secret that signs them (once)."""
    partner = partners.by_name(name)
    if partner is None or not partner.active:
        _fail(f"no active partner named {name!r}")
    try:
        subscription, secret = webhooks.subscribe(partner, url, list(events))
    except webhooks.WebhookError as exc:
        _fail(str(exc))
    db.session.commit()
    click.echo(f"Subscribed {url} of {partner.name} to {', '.join(subscription.events)}")
    click.echo(f"Signing secret: {secret}")
    click.echo("Warning: keep this secret now; it will not be shown again.", err=True)


@partners_cli.command("deliveries")
@click.argument("name")
@click.option("--limit", default=50, show_default=True)
def deliveries(name, limit):
    """The partner's latest webhook deliveries: when, event, status, attempts, answer."""
    partner = partners.by_name(name)
    if partner is None:
        _fail(f"no partner named {name!r}")
    for d in webhooks.log(partner, limit):
        fields = (d.id, f"{d.created_at:%Y-%m-%d %H:%M:%S}", d.event, d.status, d.attempts, d.response_status or "-")
        click.echo("\t".join(map(str, fields)) + f"\t{d.last_error or ''}")
