"""`flask categories …`: what each category asks beyond a petition, and the notice it shows."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from app.extensions import db
from app.services import category_admin, category_questions

categories_cli = AppGroup("categories", help="The categories' questions and notices (the form and Open311).")


def _done(action):
    try:
        action()
    except category_admin.QuestionRefused as refused:
        db.session.rollback()
        click.echo(f"Error: {refused}", err=True)
        sys.exit(1)
    db.session.commit()


@categories_cli.command("questions")
def questions():
    """List the questions asked, by category."""
    for category, asked in category_questions.asking().items():
        for q in asked:
            options = ", ".join(f"{k}={v}" for k, v in q.options)
            click.echo(
                f"{category}\t{q.code}\t{q.kind}\t{'required' if q.required else 'optional'}\t{q.label}\t{options}"
            )


@categories_cli.command("ask")
@click.argument("category")
@click.argument("code")
@click.option("--kind", type=click.Choice(category_admin.KINDS), required=True)
@click.option("--label", required=True, help="The question as the citizen reads it (Vietnamese).")
@click.option("--option", "options", multiple=True, metavar="KEY=LABEL", help="A list's choice (repeat).")
@click.option("--required", is_flag=True, help="A petition of this category must answer it.")
def ask(category, code, kind, label, options, required):
    """Make a category ask one more question (also an Open311 attribute)."""
    _done(lambda: category_admin.add_question(category, code, kind, label, list(options), required))
    click.echo(f"{category} now asks {code!r}")


@categories_cli.command("retire")
@click.argument("category")
@click.argument("code")
def retire(category, code):
    """Stop asking a question (answers already given stay with their petitions)."""
    _done(lambda: category_admin.retire_question(category, code))
    click.echo(f"{category} no longer asks {code!r}")


@categories_cli.command("notice")
@click.argument("category")
@click.argument("text")
def notice(category, text):
    """Show a notice with the category on the form ("" for none)."""
    _done(lambda: category_admin.set_notice(category, text))
    click.echo(f"notice of {category} set")
