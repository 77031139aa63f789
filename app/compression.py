"""Compressed responses (Brotli or gzip, Flask-Compress) when no nginx compresses in front.

Text only — pages, JSON, GeoJSON, CSV and XML, scripts, stylesheets, SVG —
never photos or other images (already compressed), never bodies under 500
bytes. A streamed response (the CSV and GeoJSON exports) is gzipped as it
streams, chunk by chunk, never gathered in memory; static files are read
whole (app/static_files.py), so they get Brotli and a Content-Length. Every answer says
`Vary: Accept-Encoding`, and a strong ETag gets the encoding appended
(`"…:br"`), so a cache never mixes the two representations.

Turned off with COMPRESS_RESPONSES=0 where nginx compresses (README,
"Compression"); the README also says why BREACH does not make the pages
that carry a CSRF token unsafe to compress.
"""

from __future__ import annotations

from flask import Flask
from flask_compress import Compress

MIMETYPES = [
    "text/html",
    "text/css",
    "text/plain",
    "text/csv",
    "text/xml",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/geo+json",
    "application/xml",
    "application/manifest+json",
    "image/svg+xml",
]


def init_app(app: Flask) -> None:
    """Compress the app's text responses, unless COMPRESS_RESPONSES is off."""
    if not app.config["COMPRESS_RESPONSES"]:
        return
    app.config.setdefault("COMPRESS_MIMETYPES", MIMETYPES)
    # Brotli first (smaller, every current browser), gzip for the rest. A stream only gzip: zlib sends
    # a block every few tens of kB of rows, while Brotli's encoder holds megabytes before its first byte.
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["gzip"])
    app.config.setdefault("COMPRESS_BR_LEVEL", 5)
    app.config.setdefault("COMPRESS_LEVEL", 6)
    app.config.setdefault("COMPRESS_MIN_SIZE", 500)
    app.config["COMPRESS_REGISTER"] = False  # registered below, so a partial answer is left alone
    compress = Compress(app)

    @app.after_request
    def compressed(response):
        if response.status_code == 206:  # a byte range of the plain file: compressing it would corrupt it
            return response
        return compress.after_request(response)
