"""`flask inbound smtp`: run the SMTP receiver of the Front's intake address."""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import AppGroup

from app.inbound.mail import controller

inbound_cli = AppGroup("inbound", help="Petitions arriving by e-mail.")


@inbound_cli.command("smtp")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=2525, show_default=True, type=int)
def smtp(host, port):
    """Receive mail for INBOUND_EMAIL_ADDRESS until stopped, filing each message as a petition."""
    if not current_app.config["INBOUND_EMAIL_ADDRESS"]:
        raise click.UsageError("Set INBOUND_EMAIL_ADDRESS (e.g. kiennghi@mattran.vn) first.")
    receiver = controller(current_app._get_current_object(), host, port)
    receiver.start()
    click.echo(f"Receiving mail for {current_app.config['INBOUND_EMAIL_ADDRESS']} on {host}:{port}")
    try:
        while True:
            time.sleep(3600)
    finally:
        receiver.stop()
