"""Who a client is, for limits and back-off: its IPv4 address, or its IPv6 /64.

One IPv6 host holds a whole /64 and can change address at will, so counting
per IPv6 address would count nothing; a /64 is one subscriber's network.
The address is the socket's, or the one the trusted proxies saw (ProxyFix).
"""

from __future__ import annotations

import ipaddress

from flask import request


def client_key(address: str | None = None) -> str:
    """The key a client's requests are counted under."""
    address = address if address is not None else (request.remote_addr or "")
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
