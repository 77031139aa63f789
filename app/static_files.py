"""Static files under content-hashed names, cached for a year; /favicon.ico.

`url_for("static", filename="css/portal.css")` gives
`/static/css/portal.3f2a9c1b7d4e.css`: the name carries the first 12 hex digits
of the file's SHA-256, so a changed file gets a new address and the old one
may be cached for good (`Cache-Control: public, max-age=31536000, immutable`).
The digests are computed when the app starts (a few hundred kB, milliseconds):
no build step, nothing generated on disk or committed. The files stay on disk
under their own names; a hashed address is served from the plain file, and
only while the file still has that digest (a file changed under a running
portal is rehashed and served with the short cache until the next page names
its new address). Plain names — what a stylesheet's relative url() or a
service worker's importScripts ask for — get a short cache.

nginx in front serves hashed names from copies under those names, which
ops/cluster/nginx_conf.py makes with these digests (README, "Static files").
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from flask import Flask, current_app, send_from_directory, url_for
from werkzeug.security import safe_join

DIGEST_LENGTH = 12
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=600"  # plain names: ten minutes, then revalidated (ETag, Last-Modified)
FAVICON_CACHE = "public, max-age=86400"
# "css/portal.3f2a9c1b7d4e.css" → "css/portal" + "3f2a9c1b7d4e" + ".css"; a name without extension has no group 3.
_HASHED = re.compile(rf"^(.+)\.([0-9a-f]{{{DIGEST_LENGTH}}})(\.[A-Za-z0-9]+)?$")


def hashed_name(filename: str, digest: str) -> str:
    """Insert the digest before the last extension: "dir/name.ext" → "dir/name.<digest>.ext"."""
    head, slash, base = filename.rpartition("/")
    stem, dot, ext = base.rpartition(".")
    base = f"{stem}.{digest}.{ext}" if dot and stem else f"{base}.{digest}"
    return f"{head}{slash}{base}"


class StaticDigests:
    """The digest of each file under the static folder, kept fresh by (size, mtime)."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self._files: dict[str, tuple[tuple[int, int], str]] = {}
        for path in sorted(self.folder.rglob("*")):
            name = path.relative_to(self.folder).as_posix()
            if path.is_file() and not any(part.startswith(".") for part in name.split("/")):
                self.digest(name)

    def digest(self, filename: str) -> str | None:
        """The file's current digest, or None when there is no such file."""
        path = safe_join(str(self.folder), filename)
        try:
            stat = os.stat(path) if path else None
        except OSError:
            stat = None
        if stat is None or not os.path.isfile(path):
            self._files.pop(filename, None)
            return None
        key = (stat.st_size, stat.st_mtime_ns)
        known = self._files.get(filename)
        if known and known[0] == key:
            return known[1]
        with open(path, "rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()[:DIGEST_LENGTH]
        self._files[filename] = (key, digest)
        return digest

    def url_name(self, filename: str) -> str:
        """The hashed name to put in a URL (as known since start: no disk access), or the name itself."""
        known = self._files.get(filename)
        return hashed_name(filename, known[1]) if known else filename

    def resolve(self, requested: str) -> tuple[str, bool]:
        """(the file to send, whether the address may be cached for good)."""
        match = _HASHED.match(requested)
        if match:
            plain = match.group(1) + (match.group(3) or "")
            if plain in self._files:
                return plain, self.digest(plain) == match.group(2)
        return requested, False

    def names(self) -> list[str]:
        return sorted(self._files)


def urls() -> dict[str, str]:
    """Every static file's hashed URL by its plain name (for the service worker's cache list)."""
    return {name: url_for("static", filename=name) for name in current_app.extensions["static_digests"].names()}


def init_app(app: Flask) -> None:
    """Hash the static files, make url_for("static") name them by digest, serve them with their caching."""
    digests = StaticDigests(app.static_folder)
    app.extensions["static_digests"] = digests

    @app.url_defaults
    def hashed_static_names(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values:
            values["filename"] = digests.url_name(values["filename"])

    def static(filename: str):
        """A static file; for good under its hashed name, briefly under its plain one."""
        plain, immutable = digests.resolve(filename)
        response = send_from_directory(app.static_folder, plain, max_age=600)
        response.headers["Cache-Control"] = IMMUTABLE if immutable else SHORT
        if response.status_code == 200:  # read whole (small files): compressed as a body of known length
            response.direct_passthrough = False
            response.make_sequence()
        return response

    app.view_functions["static"] = static

    @app.get("/favicon.ico")
    def favicon():
        """The portal's icon where browsers look for it without a <link rel=icon>."""
        response = send_from_directory(app.static_folder, "favicon.ico", max_age=86400)
        response.headers["Cache-Control"] = FAVICON_CACHE
        return response
