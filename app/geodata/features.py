"""The one shape every boundary source is turned into before it is imported.

The synthetic generator and the file readers both produce ``AreaFeature``
records; the importer takes nothing else. A village may come with only a
point: the importer then derives its polygon (see ``importer``).
"""

from __future__ import annotations

from dataclasses import dataclass

from shapely.geometry.base import BaseGeometry

LEVELS = ("province", "commune", "village")
# Official codes: province 2 digits, commune 5 digits. Villages have no
# national code; the portal gives them the commune code plus 3 digits.
CODE_LENGTH = {"province": 2, "commune": 5, "village": 8}


@dataclass
class AreaFeature:
    level: str  # province | commune | village
    code: str
    name: str  # "Ba Đình", without the unit type
    unit_type: str  # "Phường", "Xã", "Đặc khu", "Tỉnh", "Thôn", "Tổ dân phố", …
    parent_code: str | None  # None for a province, or when it must be found by containment
    geometry: BaseGeometry  # (Multi)Polygon; a village may be a Point
    population: int | None = None
    source: str = ""  # where it came from, for messages: "communes.geojson, feature 12"
