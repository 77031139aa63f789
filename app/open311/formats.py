"""Open311 answers as JSON or XML, chosen by the URL's suffix (services.json, services.xml).

The XML follows GeoReport v2's element names: a list is a root element
holding one element per entry (``<services><service>…``,
``<service_requests><request>…``, ``<errors><error>…``); nested lists name
their entries by the singular of their own name (``<formats><format>``).
null is an empty element, booleans are ``true``/``false``.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

from flask import Response

FORMATS = ("json", "xml")
MIMETYPES = {"json": "application/json", "xml": "text/xml"}

# The entry element of each nested list.
SINGULAR = {
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
    "errors": "error",
}

# Characters XML 1.0 cannot carry, even escaped (citizen text may hold them).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def format_of(path: str) -> str:
    """The format a path asks for: xml for a .xml suffix, else json (also for unknown suffixes)."""
    return "xml" if path.lower().endswith(".xml") else "json"


def render(fmt: str, data, root: str, item: str | None = None, status: int = 200) -> Response:
    """Answer data (a list of objects, or one object) in the format asked for.

    root names the XML root element; item names each entry when data is a list.
    """
    if fmt == "xml":
        element = ET.Element(root)
        if isinstance(data, list):
            for entry in data:
                _fill(ET.SubElement(element, item or "item"), entry)
        else:
            _fill(element, data)
        body = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(element, encoding="unicode")
    else:
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return Response(body, status=status, content_type=f"{MIMETYPES.get(fmt, MIMETYPES['json'])}; charset=utf-8")


def errors(fmt: str, status: int, *descriptions: str) -> Response:
    """The spec's error list: [{"code": 404, "description": "…"}] or <errors><error>…</error></errors>."""
    return render(fmt, [{"code": status, "description": d} for d in descriptions], "errors", "error", status)


def _fill(element: ET.Element, value) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ET.SubElement(element, key), child)
    elif isinstance(value, list):
        for child in value:
            _fill(ET.SubElement(element, SINGULAR.get(element.tag, "item")), child)
    elif value is None:
        return
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = _NOT_XML.sub("", str(value))
