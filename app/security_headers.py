"""Security headers on every response, set by flask-talisman.

The Content-Security-Policy lets a page run only the portal's own files and
the inline blocks it was rendered with: each request gets a fresh nonce, and
templates give it to their inline <script> and <style> elements with
`nonce="{{ csp_nonce() }}"`. No page may be framed, no file is sniffed into
another type, and no address of the portal (a status page holds the
citizen's tracking code) is sent to another site as a Referer.

TLS ends at nginx, so the portal never redirects to https itself; it sends
HSTS only when its session cookie is HTTPS-only (SESSION_COOKIE_SECURE).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Flask, request
from flask_talisman import Talisman

# A CSP host source: letters, digits, dots, hyphens, a port, a leading "*.".
_HOST_SOURCE = re.compile(r"(\*\.)?[A-Za-z0-9.-]+(:\d+)?")


def init_app(app: Flask) -> None:
    """Send the portal's security headers with every response of the app."""
    app.extensions["talisman"] = _Talisman(  # one per app: Talisman keeps its options on itself
        app,
        force_https=False,
        strict_transport_security=app.config["SESSION_COOKIE_SECURE"],
        # Talisman would otherwise overwrite the portal's own cookie settings.
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=app.config["SESSION_COOKIE_HTTPONLY"],
        session_cookie_samesite=app.config["SESSION_COOKIE_SAMESITE"],
        frame_options="DENY",
        referrer_policy="same-origin",
        content_security_policy=content_security_policy(app.config["TILE_URL"]),
        content_security_policy_nonce_in=["script-src", "style-src"],
    )


_NONCE = "\x00nonce\x00"  # stands for the request's nonce in a policy's cached text


class _Talisman(Talisman):
    """flask-talisman, with what it would redo for every request and every header done once per endpoint.

    Its options for a view and the text of a policy do not change while the
    app runs; only the nonce does, and it is put into the cached text.
    """

    def __init__(self, app: Flask, **options) -> None:
        self._options_by_endpoint: dict = {}
        self._policies: dict = {}
        super().__init__(app, **options)

    def _get_local_options(self):
        endpoint = request.endpoint
        if endpoint not in self._options_by_endpoint:
            self._options_by_endpoint[endpoint] = super()._get_local_options()
        return self._options_by_endpoint[endpoint]

    def _parse_policy(self, policy):
        nonce = getattr(request, "csp_nonce", None)
        key = (id(policy), request.endpoint, nonce is not None)
        if key not in self._policies:
            if nonce is not None:
                request.csp_nonce = _NONCE
            try:
                self._policies[key] = super()._parse_policy(policy)
            finally:
                if nonce is not None:
                    request.csp_nonce = nonce
        text = self._policies[key]
        return text if nonce is None else text.replace(_NONCE, nonce)


def content_security_policy(tile_url: str = "") -> dict[str, str]:
    """The policy: the portal's own files, inline blocks by nonce, images also from the base-map tile server."""
    images = ["'self'", "data:", "blob:"]  # data: Leaflet's and the form's icons; blob: photo previews
    tiles = tile_source(tile_url)
    if tiles:
        images.append(tiles)
    return {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        # Leaflet, its plugins and the map legends set style attributes; a
        # style attribute cannot select or load anything, a <style> element must have the nonce.
        "style-src-attr": "'unsafe-inline'",
        "img-src": " ".join(images),
        "connect-src": "'self'",
        "worker-src": "'self'",
        "frame-ancestors": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "object-src": "'none'",
    }


def tile_source(tile_url: str) -> str | None:
    """The CSP source of a tile URL template (`https://{s}.tiles.example/{z}/{x}/{y}.png` → `https://*.tiles.example`).

    None when the tiles come from the portal itself (a path, no host).
    """
    parts = urlsplit(tile_url.strip())
    host = parts.netloc.rpartition("@")[2]
    if not host:
        return None
    host = re.sub(r"^\{[^}]*\}\.", "*.", host)  # Leaflet's {s} subdomains
    if not _HOST_SOURCE.fullmatch(host) or parts.scheme not in ("", "http", "https"):
        raise ValueError(f"TILE_URL has a host the Content-Security-Policy cannot name: {tile_url!r}")
    return f"{parts.scheme}://{host}" if parts.scheme else host
