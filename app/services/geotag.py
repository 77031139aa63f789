"""Geotagging: a point (and/or the area a citizen picked) → village, commune, province.

The order is DESIGN.md's: refuse what is not a place in Vietnam; the village
whose polygon covers the point; else the nearest commune within
GEOTAG_NEAR_M and its nearest village; else the area the citizen chose; else
unlocated — still accepted, for the province's queue.
"""

from __future__ import annotations

import math
import re

from flask import current_app
from flask_babel import gettext as _

from app.queries.geotag import Placed, place

# Vietnam's national extent with a sea margin: the mainland, the islands, and
# the Hoàng Sa and Trường Sa archipelagos (lon 102.14–117.83 E, lat 7.18–23.39 N).
NATIONAL_EXTENT = (101.5, 6.5, 118.5, 24.0)  # west, south, east, north
# A coordinate as people and devices write it: ASCII digits, an optional sign and decimals
# (float() alone also takes "١٦", "1_6" and "1e1").
DECIMAL = re.compile(r"\s*[+-]?(?:[0-9]+(?:\.[0-9]+)?|nan|inf|infinity)\s*", re.IGNORECASE)  # non-finite: refused below


class InvalidPoint(ValueError):
    """A point that is not a place in Vietnam; the message is for the user."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def as_dict(placed: Placed) -> dict:
    """The JSON shape of a geotag, as /api/v1/locate answers it."""
    return {
        "village": placed.village.as_dict() if placed.village else None,
        "commune": placed.commune.as_dict() if placed.commune else None,
        "province": placed.province.as_dict() if placed.province else None,
        "method": placed.method,
        "distance_m": None if placed.distance_m is None else round(placed.distance_m, 1),
        "disagrees_with_choice": placed.disagrees,
    }


def parse_point(lat, lon) -> tuple[float, float]:
    """Turn raw latitude/longitude input into (lon, lat), or raise InvalidPoint."""
    if lat in (None, "") or lon in (None, ""):
        raise InvalidPoint("missing_coordinates", _("Cần có cả vĩ độ (lat) và kinh độ (lon)."))
    try:
        if not all(isinstance(v, int | float) or DECIMAL.fullmatch(str(v)) for v in (lat, lon)):
            raise ValueError(lat, lon)
        lat_f, lon_f = float(lat), float(lon)
    except (TypeError, ValueError):
        raise InvalidPoint(
            "invalid_coordinates", _("Vĩ độ và kinh độ phải là số, ví dụ lat=21.0285&lon=105.8542.")
        ) from None
    if not (math.isfinite(lat_f) and math.isfinite(lon_f)):
        raise InvalidPoint("invalid_coordinates", _("Vĩ độ và kinh độ phải là số hữu hạn."))
    if not (-90 <= lat_f <= 90 and -180 <= lon_f <= 180):
        raise InvalidPoint("out_of_range", _("Vĩ độ phải trong khoảng -90 đến 90, kinh độ trong khoảng -180 đến 180."))
    west, south, east, north = NATIONAL_EXTENT
    if not (west <= lon_f <= east and south <= lat_f <= north):
        raise InvalidPoint("outside_vietnam", _("Vị trí này nằm ngoài lãnh thổ Việt Nam."))
    return lon_f, lat_f


def geotag(lon: float | None = None, lat: float | None = None, chosen: str | None = None) -> Placed:
    """Place a petition: by its point when it has one, else by the area chosen."""
    return place(lon, lat, chosen, current_app.config["GEOTAG_NEAR_M"])
