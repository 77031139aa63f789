"""Boundary files for the maps: plain rows in, compact JSON bytes out (no database, no Flask).

A boundary file holds geometry, codes, names and label points only — never
a count — so it is the same for every viewer and is cached for good under
a URL that names its generation (app/maps/routes.py). Counts come with the
page.

The format is GeoJSON's FeatureCollection with the coordinates quantized
and delta-encoded, as TopoJSON does with its arcs: a `transform` gives the
grid (`scale`, `translate`, as in TopoJSON), each ring is one flat list of
integers [x0, y0, dx1, dy1, …] on that grid without the closing point, and
a label point is [x, y] on the grid. static/js/area-map.js decodes it into
GeoJSON for Leaflet. On the real 3,321 communes this is about 2.5× smaller
than GeoJSON with rounded coordinates, after gzip as well.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np
import shapely

# The grid of a file per level of detail, in degrees: a tenth of the simplification's tolerance or finer.
GRID = {"coarse": 0.001, "fine": 0.0001}
TRANSLATE = (100.0, 6.0)  # south-west of the national extent (Trường Sa included)


@dataclass(frozen=True)
class BoundaryFile:
    body: bytes
    etag: str


def encode(rows, detail: str) -> BoundaryFile:
    """Rows of (code, name, lon, lat, wkb) as a boundary file and its ETag."""
    scale = GRID[detail]
    features = []
    for code, name, lon, lat, wkb in rows:
        geometry = shapely.from_wkb(bytes(wkb)) if wkb is not None else None
        features.append(
            {
                "type": "Feature",
                "id": code,
                "properties": {"code": code, "name": name, "label": _grid_point(lon, lat, scale)},
                "geometry": {"type": "MultiPolygon", "coordinates": _polygons(geometry, scale)},
            }
        )
    document = {
        "type": "FeatureCollection",
        "transform": {"scale": [scale, scale], "translate": list(TRANSLATE)},
        "features": features,
    }
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    return BoundaryFile(body, hashlib.sha256(body).hexdigest()[:32])


def _grid_point(lon: float, lat: float, scale: float) -> list[int]:
    return [round((lon - TRANSLATE[0]) / scale), round((lat - TRANSLATE[1]) / scale)]


def _polygons(geometry, scale: float) -> list:
    if geometry is None or geometry.is_empty:
        return []
    parts = geometry.geoms if geometry.geom_type in ("MultiPolygon", "GeometryCollection") else [geometry]
    polygons = []
    for part in parts:
        if part.geom_type != "Polygon":
            continue
        exterior = _ring(part.exterior, scale)
        if exterior is None:
            continue  # smaller than the grid: nothing to draw at this detail
        holes = [ring for ring in (_ring(r, scale) for r in part.interiors) if ring is not None]
        polygons.append([exterior, *holes])
    return polygons


def _ring(ring, scale: float) -> list[int] | None:
    """A ring on the grid, delta-encoded; None when fewer than 3 distinct points remain."""
    points = shapely.get_coordinates(ring)[:-1]  # the closing point is implied
    grid = np.rint((points - TRANSLATE) / scale).astype(np.int64)
    if len(grid) > 1:
        grid = grid[np.r_[True, np.any(grid[1:] != grid[:-1], axis=1)]]
        if len(grid) > 1 and (grid[0] == grid[-1]).all():
            grid = grid[:-1]
    if len(grid) < 3:
        return None
    deltas = np.diff(grid, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
    return deltas.ravel().tolist()
