"""Geotagging: a point (and/or the area a citizen picked) → village, commune, province.

The order is DESIGN.md's: refuse what is not a place in Vietnam; the village
whose polygon covers the point; else the nearest commune within
GEOTAG_NEAR_M and its nearest village; else the area the citizen chose; else
unlocated — still accepted, for the province's queue.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flask import current_app

from app import spatial
from app.spatial import AreaRef

# Vietnam's national extent with a sea margin: the mainland, the islands, and
# the Hoàng Sa and Trường Sa archipelagos (lon 102.14–117.83 E, lat 7.18–23.39 N).
NATIONAL_EXTENT = (101.5, 6.5, 118.5, 24.0)  # west, south, east, north


class InvalidPoint(ValueError):
    """A point that is not a place in Vietnam; the message is for the user."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Geotag:
    village: AreaRef | None
    commune: AreaRef | None
    province: AreaRef | None
    method: str  # inside | nearest | chosen | unlocated
    distance_m: float | None
    # The point lies in another area than the one the citizen picked by hand.
    disagrees: bool = False

    def as_dict(self) -> dict:
        return {
            "village": self.village.as_dict() if self.village else None,
            "commune": self.commune.as_dict() if self.commune else None,
            "province": self.province.as_dict() if self.province else None,
            "method": self.method,
            "distance_m": None if self.distance_m is None else round(self.distance_m, 1),
            "disagrees_with_choice": self.disagrees,
        }


def parse_point(lat, lon) -> tuple[float, float]:
    """Turn raw latitude/longitude input into (lon, lat), or raise InvalidPoint."""
    if lat in (None, "") or lon in (None, ""):
        raise InvalidPoint("missing_coordinates", "Cần có cả vĩ độ (lat) và kinh độ (lon).")
    try:
        lat_f, lon_f = float(lat), float(lon)
    except (TypeError, ValueError):
        raise InvalidPoint(
            "invalid_coordinates", "Vĩ độ và kinh độ phải là số, ví dụ lat=21.0285&lon=105.8542."
        ) from None
    if not (math.isfinite(lat_f) and math.isfinite(lon_f)):
        raise InvalidPoint("invalid_coordinates", "Vĩ độ và kinh độ phải là số hữu hạn.")
    if not (-90 <= lat_f <= 90 and -180 <= lon_f <= 180):
        raise InvalidPoint("out_of_range", "Vĩ độ phải trong khoảng -90 đến 90, kinh độ trong khoảng -180 đến 180.")
    west, south, east, north = NATIONAL_EXTENT
    if not (west <= lon_f <= east and south <= lat_f <= north):
        raise InvalidPoint("outside_vietnam", "Vị trí này nằm ngoài lãnh thổ Việt Nam.")
    return lon_f, lat_f


def geotag(lon: float | None = None, lat: float | None = None, chosen: str | None = None) -> Geotag:
    """Place a petition: by its point when it has one, else by the area chosen."""
    chosen_area = spatial.area_by_code(chosen) if chosen else None
    chosen_chain = _chain(chosen_area) if chosen_area else {}
    if lon is not None and lat is not None:
        found = spatial.area_at(lon, lat, current_app.config["GEOTAG_NEAR_M"])
        if found.method != "unlocated":
            found_chain = {"village": found.village, "commune": found.commune, "province": found.province}
            disagrees = any(
                found_chain[level] is not None and found_chain[level].code != ref.code
                for level, ref in chosen_chain.items()
            )
            return Geotag(found.village, found.commune, found.province, found.method, found.distance_m, disagrees)
    if chosen_chain:
        return Geotag(
            chosen_chain.get("village"), chosen_chain.get("commune"), chosen_chain.get("province"), "chosen", None
        )
    return Geotag(None, None, None, "unlocated", None)


def _chain(area) -> dict[str, AreaRef]:
    chain = {}
    for a in [area, *spatial.ancestors(area)]:
        chain[a.level] = AreaRef(a.code, a.name, a.unit_type)
    return chain
