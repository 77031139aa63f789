"""Read boundary files into AreaFeatures, with a clear message per bad feature.

GeoJSON is read directly; Shapefile and GeoPackage through pyogrio (GDAL,
shipped inside its wheel). Field names vary between sources, so each value is
looked for under the names below; the portal's own slices use the first.
"""

from __future__ import annotations

import json
from pathlib import Path

import shapely
from shapely.geometry import shape

from app.geodata.features import CODE_LENGTH, LEVELS, AreaFeature
from app.text import fold, normalize_name

FIELDS = {
    "level": ("level", "cap"),
    "code": ("code", "ma", "ma_dvhc", "MA", "Code", "CODE"),
    "name": ("name", "ten", "Name", "TEN", "NAME"),
    "full_name": ("full_name", "fullName", "ten_day_du"),
    "unit_type": ("unit_type", "loai"),
    "parent_code": ("parent_code", "provinceCode", "communeCode", "ma_cha"),
    "population": ("population", "dan_so"),
}
# Known unit types, longest first, to split "Thành phố Hà Nội" into type and name.
UNIT_TYPES = sorted(
    [
        "Tỉnh",
        "Thành phố",
        "Xã",
        "Phường",
        "Đặc khu",
        "Thôn",
        "Bản",
        "Tổ dân phố",
        "Ấp",
        "Khu phố",
        "Buôn",
        "Làng",
        "Xóm",
        "Khóm",
        "Phum",
        "Sóc",
        "Tổ",
        "Khu",
        "Thị trấn",
    ],
    key=len,
    reverse=True,
)
DEFAULT_UNIT_TYPE = {"province": "Tỉnh", "commune": "Xã", "village": "Thôn"}


class GeodataError(Exception):
    """A boundary file the portal cannot use; lists every problem found."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def read_features(path: str | Path, level: str | None = None) -> list[AreaFeature]:
    """Read every feature of a boundary file, or raise GeodataError naming each bad one."""
    path = Path(path)
    if not path.is_file():
        raise GeodataError([f"{path}: không tìm thấy tệp (file not found)"])
    records = _read_geojson(path) if path.suffix.lower() in (".geojson", ".json") else _read_ogr(path)
    features, problems = [], []
    for number, (properties, geometry) in enumerate(records, start=1):
        where = f"{path.name}, feature {number}"
        try:
            features.append(_to_feature(properties or {}, geometry, level, where))
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
    if problems:
        raise GeodataError(problems)
    if not features:
        raise GeodataError([f"{path}: the file has no features"])
    return features


def _read_geojson(path: Path):
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GeodataError([f"{path}: not valid GeoJSON ({exc})"]) from None
    if (
        not isinstance(data, dict)
        or data.get("type") != "FeatureCollection"
        or not isinstance(data.get("features"), list)
    ):
        raise GeodataError([f"{path}: a GeoJSON FeatureCollection is expected"])
    crs = (data.get("crs") or {}).get("properties", {}).get("name", "")
    if crs and not crs.endswith(("CRS84", "4326")):
        raise GeodataError([f"{path}: coordinates must be WGS84 longitude/latitude, not {crs}"])
    for feature in data["features"]:
        if not isinstance(feature, dict):
            yield {}, None
        else:
            yield feature.get("properties"), feature.get("geometry")


def _read_ogr(path: Path):
    import pyogrio.errors
    import pyogrio.raw

    try:
        meta, _, geometries, field_data = pyogrio.raw.read(path)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise GeodataError([f"{path}: cannot read the file ({exc})"]) from None
    crs = meta.get("crs") or ""
    if crs and crs not in ("EPSG:4326", "OGC:CRS84"):
        raise GeodataError([f"{path}: coordinates must be WGS84 longitude/latitude, not {crs}"])
    names = list(meta["fields"])
    for row, wkb in enumerate(geometries):
        properties = {name: _plain(field_data[i][row]) for i, name in enumerate(names)}
        yield properties, (shapely.from_wkb(wkb) if wkb is not None else None)


def _plain(value):
    return value.item() if hasattr(value, "item") else value


def _get(properties: dict, field: str):
    for key in FIELDS[field]:
        value = properties.get(key)
        if value not in (None, ""):
            return value
    return None


def _to_feature(properties: dict, geometry, level: str | None, where: str) -> AreaFeature:
    code = _get(properties, "code")
    code = str(code).strip() if code is not None else None
    level = level or _get(properties, "level") or _level_from_code(code)
    if level not in LEVELS:
        raise ValueError(
            "cannot tell the level (province, commune or village): "
            f"give --level, or a code of 2, 5 or 8 digits (got {code!r})"
        )
    name, unit_type = _name_and_type(properties, level)
    if not name:
        raise ValueError("the feature has no name")
    if not code:
        # Files without codes (older boundary sets) get a stable code from the name.
        code = fold(name).replace(" ", "_")
    geom = _geometry(geometry)
    if geom.geom_type == "Point" and level != "village":
        raise ValueError(f"a {level} needs a polygon; only a village may be given as a point")
    parent_code = _get(properties, "parent_code")
    population = _get(properties, "population")
    try:
        population = int(population) if population is not None else None
    except (TypeError, ValueError):
        raise ValueError(f"population must be a whole number, got {population!r}") from None
    return AreaFeature(
        level=level,
        code=code,
        name=name,
        unit_type=unit_type,
        parent_code=str(parent_code).strip() if parent_code is not None and level != "province" else None,
        geometry=geom,
        population=population,
        source=where,
    )


def _level_from_code(code: str | None) -> str | None:
    if code and code.isdigit():
        for level, length in CODE_LENGTH.items():
            if len(code) == length:
                return level
    return None


def _name_and_type(properties: dict, level: str) -> tuple[str, str]:
    name = normalize_name(str(_get(properties, "name") or ""))
    unit_type = _get(properties, "unit_type")
    full_name = normalize_name(str(_get(properties, "full_name") or ""))
    if not unit_type and full_name:
        for candidate in UNIT_TYPES:
            if full_name.lower().startswith(candidate.lower() + " "):
                unit_type = candidate
                name = name or full_name[len(candidate) + 1 :]
                break
    return name or full_name, normalize_name(str(unit_type)) if unit_type else DEFAULT_UNIT_TYPE[level]


def _geometry(geometry):
    if geometry is None:
        raise ValueError("the feature has no geometry")
    try:
        geom = geometry if isinstance(geometry, shapely.Geometry) else shape(geometry)
    except (AttributeError, KeyError, TypeError, ValueError, shapely.errors.GEOSException) as exc:
        raise ValueError(f"unreadable geometry ({exc})") from None
    if geom.is_empty:
        raise ValueError("the geometry is empty")
    if geom.geom_type not in ("Polygon", "MultiPolygon", "Point"):
        raise ValueError(f"a Polygon, MultiPolygon or Point is expected, not {geom.geom_type}")
    west, south, east, north = geom.bounds
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise ValueError("coordinates are not longitude/latitude in degrees (WGS84)")
    return geom


def write_geojson(features: list[AreaFeature], path: str | Path) -> None:
    """Write features as a GeoJSON FeatureCollection the reader takes back as is."""
    out = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "level": f.level,
                    "code": f.code,
                    "name": f.name,
                    "unit_type": f.unit_type,
                    "parent_code": f.parent_code,
                    "population": f.population,
                },
                "geometry": json.loads(shapely.to_geojson(f.geometry)),
            }
            for f in features
        ],
    }
    Path(path).write_text(json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
