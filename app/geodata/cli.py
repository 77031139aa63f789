"""`flask geodata …`: load boundary files or the synthetic national geography."""

from __future__ import annotations

import sys
import time

import click
from flask.cli import AppGroup
from sqlalchemy import text

from app.extensions import db
from app.geodata.features import LEVELS
from app.geodata.importer import ImportReport, import_features
from app.geodata.readers import GeodataError, read_features, write_geojson

geodata_cli = AppGroup("geodata", help="Load the area hierarchy (provinces, communes, villages).")


def _default_generation() -> str:
    current = db.session.execute(text("SELECT name FROM generations WHERE is_current")).scalar()
    return current or "2025"


def _print_report(report: ImportReport, seconds: float) -> None:
    click.echo(f"Generation {report.generation}: loaded in {seconds:.1f} s")
    for level in LEVELS:
        click.echo(
            f"  {level:9} {report.inserted[level]:7} new  {report.updated[level]:7} changed  "
            f"{report.unchanged[level]:7} unchanged"
        )
    if report.derived:
        click.echo(f"  {report.derived} villages given as points got a derived polygon")
    for line in report.repaired:
        click.echo(f"  repaired: {line}")


def _run_import(features, generation, make_current, dry_run, started) -> None:
    try:
        report = import_features(features, generation, make_current=make_current)
    except GeodataError as exc:
        db.session.rollback()
        _fail(exc)
    if dry_run:
        db.session.rollback()
        click.echo("Dry run: nothing was written.")
    else:
        db.session.commit()
    _print_report(report, time.perf_counter() - started)


def _fail(exc: GeodataError) -> None:
    click.echo("Nothing was loaded; the database is as it was. Problems:", err=True)
    for line in exc.problems[:200]:
        click.echo(f"  {line}", err=True)
    if len(exc.problems) > 200:
        click.echo(f"  … and {len(exc.problems) - 200} more", err=True)
    sys.exit(1)


@geodata_cli.command("load")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--level", type=click.Choice(LEVELS), help="Level of every feature (else told by the code's length).")
@click.option("--generation", help="Boundary generation to load into (default: the current one, or 2025).")
@click.option("--make-current", is_flag=True, help="Make this generation the one geotagging uses.")
@click.option("--dry-run", is_flag=True, help="Check and report, write nothing.")
def load(paths, level, generation, make_current, dry_run):
    """Import boundary files (GeoJSON, Shapefile, GeoPackage) in one transaction."""
    started = time.perf_counter()
    features, problems = [], []
    for path in paths:
        try:
            features.extend(read_features(path, level))
        except GeodataError as exc:
            problems.extend(exc.problems)
    if problems:
        _fail(GeodataError(problems))
    _run_import(features, generation or _default_generation(), make_current, dry_run, started)


@geodata_cli.command("synth")
@click.option("--seed", type=int, help="Seed (default: SYNTH_SEED, 2025). Same seed, same geography.")
@click.option("--province", help="Only this province (code), e.g. for a test slice.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write GeoJSON here instead of loading it.")
@click.option("--generation", help="Boundary generation to load into (default: the current one, or 2025).")
@click.option("--if-empty", is_flag=True, help="Do nothing when a geography is already loaded.")
def synth(seed, province, out, generation, if_empty):
    """Generate the synthetic national geography and load it (or write it with --out)."""
    from flask import current_app

    from app.geodata import synth as generator

    if if_empty and not out and db.session.execute(text("SELECT EXISTS (SELECT 1 FROM areas)")).scalar():
        click.echo("A geography is already loaded; keeping it.")
        return
    started = time.perf_counter()
    features = generator.generate(seed if seed is not None else current_app.config["SYNTH_SEED"], province=province)
    click.echo(f"Generated {len(features)} areas in {time.perf_counter() - started:.1f} s")
    if out:
        write_geojson(features, out)
        click.echo(f"Wrote {out}")
        return
    _run_import(features, generation or _default_generation(), False, False, started)


@geodata_cli.command("status")
def status():
    """Count the areas of each generation and level."""
    rows = db.session.execute(
        text(
            """SELECT g.name, g.is_current, a.level, count(a.id) FROM generations g
           LEFT JOIN areas a ON a.generation_id = g.id GROUP BY 1, 2, 3 ORDER BY 1, 3"""
        )
    ).all()
    if not rows:
        click.echo("No geography loaded.")
    for name, current, level, count in rows:
        click.echo(f"{name}{' (current)' if current else ''}\t{level}\t{count}")


@geodata_cli.command("regeotag")
@click.option("--generation", help="Boundary generation to place petitions in (default: the current one).")
@click.option("--all", "everything", is_flag=True, help="Closed petitions too (by default only open ones move).")
def regeotag(generation, everything):
    """Place petitions in the areas of a (new) boundary generation, after a boundary change."""
    from app.queries import regeotag as moves

    name = generation or _default_generation()
    gen_id = db.session.execute(text("SELECT id FROM generations WHERE name = :n"), {"n": name}).scalar()
    if gen_id is None:
        click.echo(f"No generation named {name}.", err=True)
        sys.exit(1)
    started = time.perf_counter()
    moved = moves.regeotag(gen_id, open_only=not everything)
    db.session.commit()
    click.echo(f"{moved} petitions placed in generation {name} in {time.perf_counter() - started:.1f} s")
