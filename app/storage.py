"""Blob storage behind one small interface: files on local disk today, an S3-compatible store later.

Keys are relative POSIX paths such as "incoming/3f2a.bin" or "photos/12/34.jpg".
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class Storage(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes:
        """Return the stored bytes; raise KeyError when the key is missing."""
        ...

    def delete(self, key: str) -> None:
        """Remove the key; no error when it is missing."""
        ...

    def exists(self, key: str) -> bool: ...


class LocalStorage:
    """Files under a root folder, written atomically."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        if not key or key.startswith("/") or "\\" in key or ".." in key or "\x00" in key:
            raise ValueError(f"invalid storage key: {key!r}")
        path = (self.root / key).resolve()
        # Also catches a symlink inside the root that points outside it.
        if path == self.root or not path.is_relative_to(self.root):
            raise ValueError(f"invalid storage key: {key!r}")
        return path

    def put(self, key: str, data: bytes) -> None:
        """Write data under key, replacing any previous value atomically."""
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)  # mkstemp creates 0600; match ordinary files
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        """Return the bytes stored under key; KeyError when missing."""
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise KeyError(key) from None

    def delete(self, key: str) -> None:
        """Remove key if present."""
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        """Whether a value is stored under key."""
        return self._path(key).is_file()


def init_app(app) -> None:
    """Put a LocalStorage at STORAGE_ROOT (default: <instance folder>/storage) in app.extensions["storage"]."""
    root = app.config.get("STORAGE_ROOT") or os.path.join(app.instance_path, "storage")
    app.extensions["storage"] = LocalStorage(root)


def current_storage() -> Storage:
    """The storage of the current Flask app."""
    from flask import current_app  # here, so this module stays usable without Flask

    return current_app.extensions["storage"]
