"""`flask storage …`: check the configured photo store (and create its bucket)."""

from __future__ import annotations

import uuid

import click
from flask.cli import AppGroup

from app.storage import S3Storage, StorageError, current_storage

storage_cli = AppGroup("storage", help="Where photos and exports are kept.")


@storage_cli.command("check")
@click.option("--create-bucket", is_flag=True, help="Create the S3 bucket when it does not exist.")
def check(create_bucket):
    """Write, read back and delete a probe object; exit 1 with the reason when the store fails."""
    store = current_storage()
    click.echo(f"storage: {store!r}" if isinstance(store, S3Storage) else f"storage: local disk at {store.root}")
    key = f"probe/{uuid.uuid4().hex}"
    try:
        if create_bucket and isinstance(store, S3Storage) and store.ensure_bucket():
            click.echo(f"created bucket {store.bucket!r}")
        store.put(key, b"probe")
        if store.get(key) != b"probe":
            raise StorageError("the probe object read back differs from what was written")
        store.delete(key)
    except StorageError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("storage: ok (write, read, delete)")
