"""Whose X-Forwarded-For the portal believes: only its own reverse proxies'.

With TRUST_PROXY_HOPS set, the client address (rate limits, code-guessing,
/metrics, the request id) comes from X-Forwarded-For — but only on a request
whose socket peer is one of TRUSTED_PROXIES (nginx: loopback by default). A
client reaching a web node directly, past nginx, keeps its own address
whatever headers it sends.
"""

from __future__ import annotations

import ipaddress

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import ConfigError

# Set in the WSGI environ of a request that came through a trusted proxy.
VIA_TRUSTED_PROXY = "portal.via_trusted_proxy"


def networks(spec: str, setting: str) -> list:
    """Comma-separated CIDRs (or addresses) as networks; ConfigError naming the setting when one is not."""
    try:
        return [ipaddress.ip_network(part.strip(), strict=False) for part in spec.split(",") if part.strip()]
    except ValueError as exc:
        raise ConfigError(f"{setting} holds something that is not a network: {exc}") from exc


def address_in(value: str | None, allowed: list) -> bool:
    """Whether an address (IPv4, IPv6, or IPv4-mapped IPv6) lies in one of the networks."""
    try:
        address = ipaddress.ip_address(value or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in allowed)


class TrustedProxyFix:
    """ProxyFix for requests from the trusted proxies; everyone else as they are."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self.trusted = networks(app.config["TRUSTED_PROXIES"], "TRUSTED_PROXIES")

    def __call__(self, environ, start_response):
        hops = self.app.config["TRUST_PROXY_HOPS"]  # read per request: tests switch it
        if hops and address_in(environ.get("REMOTE_ADDR"), self.trusted):
            environ[VIA_TRUSTED_PROXY] = True
            return ProxyFix(self.wsgi_app, x_for=hops, x_proto=1)(environ, start_response)
        return self.wsgi_app(environ, start_response)


def init_app(app: Flask) -> None:
    app.wsgi_app = TrustedProxyFix(app, app.wsgi_app)
