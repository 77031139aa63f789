"""`flask officers …`: create one officer's account, or import many from CSV."""

from __future__ import annotations

import csv
import os
import sys
import time

import click
from flask.cli import AppGroup

from app.extensions import db
from app.services import accounts
from app.services.accounts import AccountError, PasswordRefused

officers_cli = AppGroup("officers", help="Officers' accounts.")


def _fail(message: str) -> None:
    db.session.rollback()
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _read_password() -> str:
    """The password: one line piped on standard input, or typed twice (hidden) at a terminal."""
    # sys.stdin, not click.get_text_stream (deprecated in Click 8.5); CliRunner swaps it too.
    stdin = sys.stdin
    if stdin is None:
        return ""
    if stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return stdin.readline().rstrip("\r\n")


@officers_cli.command("create")
@click.option("--role", required=True, help="commune, province, central or admin.")
@click.option("--area", "area_code", help="Commune code (role commune) or province code (role province).")
@click.option("--username", required=True, help="Lowercase letters, digits, dot, dash, underscore; 3–64 characters.")
@click.option("--full-name", default="", help="The officer's full name.")
@click.option("--no-password", is_flag=True, help="Give an activation code instead of reading a password.")
def create(role, area_code, username, full_name, no_password):
    """Create an officer's account; the password is read from standard input (one line)."""
    password = None if no_password else _read_password()
    try:
        user, code = accounts.create_officer(username, role, area_code, password, full_name=full_name)
    except (AccountError, PasswordRefused) as exc:
        _fail(exc.message)
    db.session.commit()
    click.echo(f"Created {user.username} ({user.role}, {area_code.strip() if user.area_id else 'no area'})")
    if code:
        click.echo(f"Activation code: {code}")


@officers_cli.command("import")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option(
    "--codes",
    "codes_path",
    type=click.Path(dir_okay=False),
    help="Write username,activation_code of the new accounts here (readable by the owner only).",
)
def import_(path, codes_path):
    """Create accounts from a CSV file: username,role,area_code,full_name (header required, UTF-8).

    Bad rows are reported by line number and skipped; the good ones are
    created in one transaction, each with an activation code.
    """
    started = time.perf_counter()
    try:
        with open(path, encoding="utf-8-sig", newline="") as stream:
            rows = accounts.read_officers_csv(stream)
    except OSError as exc:
        _fail(f"cannot read {path}: {exc.strerror or exc}")
    except AccountError as exc:
        _fail(f"{path}: {exc.message}")
    codes_file = None
    if codes_path:
        try:  # opened before importing: codes that cannot be saved are codes lost
            codes_file = os.fdopen(os.open(codes_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", newline="")
        except OSError as exc:
            _fail(f"cannot write {codes_path}: {exc.strerror or exc}")

    result = accounts.import_officers(rows)
    if codes_file is not None:
        with codes_file:
            writer = csv.writer(codes_file)
            writer.writerow(("username", "activation_code"))
            writer.writerows(result.codes)
    db.session.commit()

    click.echo(f"Created {result.created} accounts; {len(result.errors)} rows refused.")
    for line, message in result.errors:
        click.echo(f"line {line}: {message}")
    if codes_path:
        click.echo(f"Activation codes written to {codes_path}.")
    elif result.created:
        click.echo(
            "Note: activation codes were not saved (use --codes OUT.csv); "
            "give an officer a new one with `flask officers new-code USERNAME`."
        )
    click.echo(f"Done in {time.perf_counter() - started:.1f} s")


@officers_cli.command("new-code")
@click.argument("username")
def new_code(username):
    """Give an account a new activation code (its password, if any, stops working)."""
    try:
        code = accounts.reset_activation(username)
    except AccountError as exc:
        _fail(exc.message)
    db.session.commit()
    click.echo(f"Activation code for {accounts.normalise_username(username)}: {code}")


@officers_cli.command("demo")
def demo():
    """Create (or renew the passwords of) one demo account per role; development only."""
    made = accounts.demo_accounts()
    db.session.commit()
    click.echo("Demo accounts (development only), log in at /login:")
    for user, password in made:
        where = f"{user.area.unit_type} {user.area.name}" if user.area else "toàn quốc"
        click.echo(f"  {user.username:16} {password:24} {user.role_name} — {where}")


@officers_cli.command("reset-second-factor")
@click.argument("username")
@click.option("--admin", "admin_name", required=True, help="The administrator who decided the reset (audited).")
def reset_second_factor(username, admin_name):
    """Turn an officer's second factor off (the phone lost); they enrol again at their next login."""
    from app.services import second_factor

    user, admin = accounts.by_username(username), accounts.by_username(admin_name)
    if user is None:
        _fail(f"no account named {username!r}")
    if admin is None or admin.role != "admin" or not admin.active:
        _fail(f"{admin_name!r} is no active administrator")
    second_factor.reset(user, admin)
    db.session.commit()
    click.echo(f"Second factor of {user.username} reset by {admin.username}; they enrol again at their next login.")
