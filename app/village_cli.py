"""`flask villages import [--dry-run] FILE`: an operator loads a village list, with the pages' line-by-line report."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from app.extensions import db
from app.services import village_lists
from app.services.village_files import FileRefused, read_list, read_shapes

villages_cli = AppGroup("villages", help="The village register: lists of villages and residential groups.")

ACTIONS = {
    "added": "thêm",
    "renamed": "đổi tên",
    "retyped": "đổi loại",
    "moved": "đổi vị trí",
    "population": "đổi dân số",
    "unchanged": "không đổi",
    "removed": "bỏ khỏi sổ",
}


@villages_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--shapes", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Surveyed polygons.")
@click.option("--dry-run", is_flag=True, help="Report what the list would do; write nothing.")
def import_list(file: Path, shapes: Path | None, dry_run: bool):
    """Apply a village list (CSV or XLSX) to the communes it names, anywhere in the country.

    Prints one line per line of the file (and per village left out, which is
    removed); exits 1, writing nothing, when any line is refused.
    """
    try:
        lines = read_list(file.name, file.read_bytes())
        polygons = read_shapes(shapes.read_bytes()) if shapes else []
    except FileRefused as refused:
        click.echo(f"Error: {refused}", err=True)
        sys.exit(1)
    plan = village_lists.plan(lines, polygons, village_lists.Scope())  # reads only
    for step in plan.steps:
        where = f"line {step.line}" if step.line else "not listed"
        what = (
            "; ".join(str(p) for p in step.problems) if step.problems else ", ".join(ACTIONS[a] for a in step.actions)
        )
        status = "REFUSED" if step.problems else "ok"
        click.echo(f"{where}\t{status}\t{step.commune}\t{step.village}\t{step.code}\t{what}\t{step.detail}".rstrip())
    for problem in plan.shape_problems:
        click.echo(f"shapes\tREFUSED\t{problem}")
    for move in plan.moves:
        to = f"{move.to_village.unit_type} {move.to_village.name}" if move.to_village else "—"
        click.echo(f"petition {move.public_id}\tmoves\t{move.from_village.unit_type} {move.from_village.name} → {to}")
    counts = ", ".join(f"{k} {v}" for k, v in sorted(plan.counts().items()))
    if plan.problems:
        click.echo(f"{plan.problems} problem(s): nothing written ({counts}).", err=True)
        sys.exit(1)
    if dry_run:
        click.echo(f"Dry run: nothing written ({counts}).")
        return
    upload = village_lists.keep(None, file.name, lines, polygons, label="operator")
    village_lists.apply(upload, None, label="operator")
    db.session.commit()
    click.echo(f"Applied: {counts}.")
