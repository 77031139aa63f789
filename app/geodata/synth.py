"""A synthetic national geography of Vietnam, at full size.

A stand-in for the official boundary files, for development, tests and
benchmarks. The 34 provinces are real: their codes, names, unit types,
number of communes and rough location. Everything below them is invented:
the 3,321 communes (13 of them island special zones, "Đặc khu", placed where
the real ones are) and the 90,508 villages, their names, codes, populations
and every shape.

Provinces are grown from their real centres over a fine Voronoi mesh of a
hand-drawn outline of mainland Vietnam, to about their real areas; communes
are Voronoi cells of relaxed seed points inside them, denser near the
centres; the island zones are small made-up islands. Provinces and communes
tile their parent exactly, with shared edges, on a 1e-6 degree grid.
Villages are points strictly inside their commune. The output depends only
on the seed.
"""

from __future__ import annotations

import heapq
import unicodedata
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon

from app.geodata import synth_data as data
from app.geodata.features import AreaFeature

GRID = 1e-6
TOTAL_VILLAGES = 90_508
CITIES = {p[0] for p in data.PROVINCES if p[2] == "Thành phố"}
DENSE_POINTS = 6000
LLOYD_STEPS = 2
SMOOTHING = 0.04
SPIKE_WIDTH = 0.004


@dataclass
class _Commune:
    code: str
    name: str
    unit_type: str
    province: str
    geometry: MultiPolygon
    villages: int = 0


def generate(seed: int = 2025, province: str | None = None) -> list[AreaFeature]:
    """Return provinces, then communes, then villages, each ordered by code.

    With ``province`` (a 2-digit code), only that province, its communes and
    their villages, exactly as they are in the full run.
    """
    provinces, communes = _layout(seed)
    if province is not None:
        if province not in provinces:
            raise ValueError(f"unknown province code {province!r}")
        provinces = {province: provinces[province]}
        communes = [c for c in communes if c.province == province]
    source = f"synth seed={seed}"
    commune_features, villages = [], []
    for c in communes:
        vs = _villages(c, seed, source)
        villages.extend(vs)
        commune_features.append(
            AreaFeature(
                "commune", c.code, c.name, c.unit_type, c.province, c.geometry, sum(v.population for v in vs), source
            )
        )
    province_features = []
    for code, (name, unit_type, geometry) in provinces.items():
        population = sum(f.population for f in commune_features if f.parent_code == code)
        province_features.append(AreaFeature("province", code, name, unit_type, None, geometry, population, source))
    return province_features + commune_features + villages


def _layout(seed: int = 2025) -> tuple[dict, list[_Commune]]:
    """Provinces as ``{code: (name, unit_type, MultiPolygon)}`` and the
    communes in code order, with their number of villages."""
    outline = Polygon(data.OUTLINE)
    regions = _province_regions(outline, _rng(seed, 0))
    islands = _island_zones(seed)
    cells, labels = [], []
    for i, p in enumerate(data.PROVINCES):
        n = p[3] - sum(1 for z in data.ISLAND_ZONES if z[0] == p[0])
        xy = _commune_seeds(regions[i], n, p, _rng(seed, 1, int(p[0])))
        mine = _polygonal(shapely.intersection(_voronoi(xy, regions[i]), regions[i]))
        cells.append(_merge_fragments(_trim_spikes(mine, SPIKE_WIDTH)))
        labels.append(np.full(n, i))
    cells, labels = _snap_coverage(np.concatenate(cells)), np.concatenate(labels)

    provinces, communes, base = {}, [], 1
    for i, (code, name, unit_type, count, n_wards, _, centres, _) in enumerate(data.PROVINCES):
        mine = cells[labels == i]
        land = shapely.coverage_union_all(mine)
        zones = [(z[1], islands[z[1]]) for z in data.ISLAND_ZONES if z[0] == code]
        parts = list(shapely.get_parts(land)) + [g for _, g in zones for g in g.geoms]
        provinces[code] = (name, unit_type, MultiPolygon(parts))
        order, is_ward = _rank_by_centre(mine, centres, n_wards)
        names = _names(len(mine), code, n_wards, {z for z, _ in zones}, _rng(seed, 2, int(code)))
        kinds = [("Phường" if w else "Xã", _multi(mine[j])) for j, w in zip(order, is_ward)]
        kinds += [("Đặc khu", g) for _, g in zones]
        names += [z for z, _ in zones]
        for k, ((unit, geom), nm) in enumerate(zip(kinds, names)):
            communes.append(_Commune(f"{base + 3 * k:05d}", nm, unit, code, geom))
        base += 3 * count + 640
    _allocate_villages(communes, _rng(seed, 3))
    return provinces, communes


def _rng(seed: int, *keys: int) -> np.random.Generator:
    return np.random.default_rng([seed, *keys])


def _multi(geom) -> MultiPolygon:
    return geom if isinstance(geom, MultiPolygon) else MultiPolygon([geom])


def _voronoi(xy: np.ndarray, extend_to) -> np.ndarray:
    diagram = shapely.voronoi_polygons(shapely.multipoints(xy), extend_to=extend_to, ordered=True)
    return shapely.get_parts(diagram)


def _sample(geom, n: int, rng, centres=(), spread: float = 0.0, centre_share: float = 0.0):
    """n random points strictly inside geom, a share of them clustered around centres."""
    shapely.prepare(geom)
    xmin, ymin, xmax, ymax = geom.bounds
    found = np.empty((0, 2))
    while len(found) < n:
        m = max(32, 3 * (n - len(found)))
        k = rng.binomial(m, centre_share) if len(centres) else 0
        pick = np.asarray(centres)[rng.integers(0, len(centres), k)] if k else np.empty((0, 2))
        xy = np.concatenate(
            [pick + rng.normal(0.0, spread, (k, 2)), rng.uniform((xmin, ymin), (xmax, ymax), (m - k, 2))]
        )
        xy = np.round(xy, 6)
        xy = xy[shapely.contains_xy(geom, xy[:, 0], xy[:, 1])]
        found = np.unique(np.concatenate([found, xy]), axis=0)
    return found[rng.permutation(len(found))[:n]]


def _province_regions(outline, rng) -> list[Polygon]:
    """One polygon per province, grown over small Voronoi cells of the outline
    from the lines joining its anchors, each province at its own speed, tuned
    until it covers about its real share of the area. The speed also varies
    smoothly in space, so that borders wander a little."""
    n = len(data.PROVINCES)
    xy = _sample(outline, DENSE_POINTS, rng)
    cells = _polygonal(shapely.intersection(_voronoi(xy, outline), outline))
    cells = _merge_fragments(cells)
    tree = shapely.STRtree(cells)
    left, right = tree.query(cells, predicate="intersects")
    left, right = left[left < right], right[left < right]
    shared = shapely.intersection(shapely.boundary(cells[left]), shapely.boundary(cells[right]))
    linked = shapely.length(shared) > 0
    left, right = left[linked], right[linked]
    scale = np.cos(np.radians(xy[:, 1]))
    length = np.hypot((xy[left, 0] - xy[right, 0]) * scale[left], xy[left, 1] - xy[right, 1])
    wave = rng.uniform(0.8, 2.4, (n, 3, 2)) * rng.choice([-1, 1], (n, 3, 2))
    phase = rng.uniform(0, 2 * np.pi, (n, 3))
    mid = (xy[left] + xy[right]) / 2
    field = np.sin(np.einsum("ek,pjk->epj", mid, wave) + phase).sum(axis=2) / 3
    edges = [[] for _ in range(len(xy))]
    for e, (i, j) in enumerate(zip(left, right)):
        edges[i].append((j, e))
        edges[j].append((i, e))
    start = np.full(len(xy), -1)
    for p, province in enumerate(data.PROVINCES):
        anchors = province[6] + province[7]
        for k, a in enumerate(anchors):
            b = min(anchors[:k] or [a], key=lambda c: np.hypot(c[0] - a[0], c[1] - a[1]))
            line = shapely.LineString([b, a]) if b != a else shapely.Point(a)
            hit = tree.query(line, predicate="intersects")
            start[hit[start[hit] < 0]] = p
    area = shapely.area(cells)
    target = np.array([p[5] for p in data.PROVINCES], float)
    target *= area.sum() / target.sum()
    speed = np.sqrt(target)
    for _ in range(25):
        owner = _grow(start, edges, length[:, None] * (1 + 0.6 * field) / speed)
        speed *= (target / np.bincount(owner, area, n)) ** 0.4
    regions = [shapely.coverage_union_all(cells[owner == p]) for p in range(n)]
    return list(shapely.coverage_simplify(regions, SMOOTHING, simplify_boundary=False))


def _grow(start: np.ndarray, edges: list, cost: np.ndarray) -> np.ndarray:
    """Multi-source Dijkstra: each cell goes to the label reaching it first."""
    owner = start.copy()
    heap = [(0.0, owner[i], i) for i in np.flatnonzero(owner >= 0)]
    owner[:] = -1
    while heap:
        c, p, i = heapq.heappop(heap)
        if owner[i] >= 0:
            continue
        owner[i] = p
        for j, e in edges[i]:
            if owner[j] < 0:
                heapq.heappush(heap, (c + cost[e, p], p, j))
    return owner


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    out = geoms.copy()
    for i in np.flatnonzero(shapely.get_type_id(geoms) == 7):
        parts = shapely.get_parts(geoms[i])
        out[i] = shapely.multipolygons(parts[shapely.get_type_id(parts) == 3])
    return out


def _neighbour(cells: np.ndarray, tree, part, exclude: int) -> int | None:
    """Index of the cell other than exclude sharing most border with part."""
    near = tree.query(part, predicate="intersects")
    near = near[near != exclude]
    if not len(near):
        return None
    shared = shapely.length(shapely.intersection(part.boundary, shapely.boundary(cells[near])))
    return int(near[np.argmax(shared)]) if shared.max() > 0 else None


def _merge_fragments(cells: np.ndarray) -> np.ndarray:
    """Keep the largest part of each cell and give the others to the neighbour
    they share most border with."""
    cells = cells.copy()
    tree = shapely.STRtree(cells)
    for _ in range(5):
        multi = np.flatnonzero(shapely.get_num_geometries(cells) > 1)
        if not len(multi):
            break
        for i in multi:
            parts = shapely.get_parts(cells[i])
            if len(parts) < 2:
                continue
            big = np.argmax(shapely.area(parts))
            cells[i] = parts[big]
            for part in np.delete(parts, big):
                j = _neighbour(cells, tree, part, i)
                j = i if j is None else j
                cells[j] = shapely.union(cells[j], part)
    return cells


def _snap_coverage(cells: np.ndarray) -> np.ndarray:
    """Put a set of cells that tile an area on the GRID so that neighbours
    share their edges exactly: snap-round all edges together, then rebuild
    each cell from the faces they enclose."""
    lines = shapely.union_all(shapely.boundary(cells), grid_size=GRID)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(lines)))
    face, cell = shapely.STRtree(cells).query_nearest(shapely.point_on_surface(faces), all_matches=False)
    out = np.empty(len(cells), object)
    for i in range(len(cells)):
        out[i] = shapely.coverage_union_all(faces[face[cell == i]])
    return out


def _trim_spikes(cells: np.ndarray, width: float) -> np.ndarray:
    """Give the thin parts of a cell (spikes narrower than 2 * width) to the
    neighbour they share most border with."""
    opened = shapely.buffer(shapely.buffer(cells, -width, join_style="mitre"), width, join_style="mitre")
    out = cells.copy()
    tree = shapely.STRtree(cells)
    ratio = shapely.area(opened) / shapely.area(cells)
    for i in np.flatnonzero((ratio > 0.5) & (ratio < 0.99)):
        rest = shapely.difference(out[i], opened[i])
        for piece in shapely.get_parts(rest):
            j = _neighbour(out, tree, piece, i)
            if j is not None and shapely.get_type_id(piece) == 3:
                out[j] = shapely.union(out[j], piece)
                out[i] = shapely.difference(out[i], piece)
    return _polygonal(out)


def _commune_seeds(region, n: int, province, rng) -> np.ndarray:
    """Seed points of a province's mainland communes, denser near its centres."""
    centres = np.asarray(province[6])
    centres = np.concatenate([centres[:1].repeat(3, axis=0), centres[1:]])
    share = 0.45 if province[0] in CITIES else 0.3
    spread = 0.15 * np.sqrt(region.area)
    xy = _sample(region, n, rng, centres, spread, share)
    for _ in range(LLOYD_STEPS):
        cells = shapely.intersection(_voronoi(xy, region), region)
        new = shapely.centroid(cells)
        outside = ~shapely.contains(region, new)
        new[outside] = shapely.point_on_surface(cells[outside])
        xy = shapely.get_coordinates(new)
    return xy


def _island(lon, lat, size_km, elongation, bearing, rng) -> Polygon:
    """An irregular island: a jittered ellipse, size_km along its long axis."""
    k = 16
    t = (np.arange(k) + rng.uniform(-0.3, 0.3, k)) * 2 * np.pi / k
    r = 1 + 0.25 * rng.standard_normal(k)
    r = np.clip((np.roll(r, 1) + 2 * r + np.roll(r, -1)) / 4, 0.65, 1.35)
    u = size_km / 2 * r * np.cos(t)
    v = size_km / 2 / elongation * r * np.sin(t)
    b = np.radians(bearing)
    east, north = u * np.sin(b) - v * np.cos(b), u * np.cos(b) + v * np.sin(b)
    return Polygon(np.column_stack([lon + east / (111.32 * np.cos(np.radians(lat))), lat + north / 111.32]))


def _island_zones(seed: int) -> dict[str, MultiPolygon]:
    zones = {}
    for i, (_, name, _, islands) in enumerate(data.ISLAND_ZONES):
        rng = _rng(seed, 5, i)
        polygons = [_island(*spec, rng) for spec in islands]
        zones[name] = _multi(shapely.set_precision(shapely.union_all(polygons), GRID))
    return zones


def _rank_by_centre(cells, centres, n_wards: int):
    """Order communes by distance to the province centres (the capital
    counting most); the nearest n_wards are wards ("Phường")."""
    xy = shapely.get_coordinates(shapely.point_on_surface(cells))
    a = np.asarray(centres)
    dx = (xy[:, :1] - a[:, 0]) * np.cos(np.radians(xy[:, 1:]))
    d = np.hypot(dx, xy[:, 1:] - a[:, 1])
    d[:, 0] *= 0.6
    order = np.argsort(d.min(axis=1), kind="stable")
    return order, np.arange(len(order)) < n_wards


def _pick(rng, words) -> str:
    return words[rng.integers(len(words))]


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _names(n: int, code: str, n_wards: int, taken: set[str], rng) -> list[str]:
    """n commune names unique in the province; wards get Sino-Vietnamese ones,
    communes in the mountains and highlands partly local ones."""
    local = {c: (data.TAI_FIRST, data.TAI_SECOND, 0.35) for c in data.MOUNTAIN}
    local |= {c: (data.HIGHLAND_FIRST, data.HIGHLAND_SECOND, 0.3) for c in data.HIGHLANDS}
    first, second, share = local.get(code, ((), (), 0.0))
    names, used = [], set(taken)
    while len(names) < n:
        if len(names) >= n_wards and rng.random() < share:
            a, b = _pick(rng, first), _pick(rng, second)
        else:
            a, b = _pick(rng, data.FIRST_SYLLABLES), _pick(rng, data.SECOND_SYLLABLES)
        name = _nfc(f"{a} {b}")
        if a != b and name not in used:
            used.add(name)
            names.append(name)
    return names


def _allocate_villages(communes: list[_Commune], rng) -> None:
    """Spread TOTAL_VILLAGES over the communes: fixed small numbers on the
    islands, 10 to 60 elsewhere, more in rural communes."""
    fixed = {z[1]: z[2] for z in data.ISLAND_ZONES}
    mainland = [c for c in communes if c.unit_type != "Đặc khu"]
    raw = np.array([31.0 if c.unit_type == "Xã" else 17.0 for c in mainland])
    raw *= rng.uniform(0.6, 1.5, len(raw))
    total = TOTAL_VILLAGES - sum(fixed.values())
    lo, hi = 0.0, 10.0
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.clip(mid * raw, 10, 60).sum() < total else (lo, mid)
    share = np.clip(hi * raw, 10, 60)
    counts = np.floor(share).astype(int)
    fraction = np.where(counts < 60, share - counts, -1.0)
    counts[np.argsort(-fraction, kind="stable")[: total - counts.sum()]] += 1
    for c, k in zip(mainland, counts):
        c.villages = int(k)
    for c in communes:
        if c.unit_type == "Đặc khu":
            c.villages = fixed[c.name]


def _village_types(c: _Commune) -> dict[str, float]:
    p = c.province
    if c.unit_type == "Phường":
        if p in data.SOUTH_EAST:
            return {"Khu phố": 1.0}
        return {"Khóm": 0.6, "Khu phố": 0.4} if p in data.DELTA else {"Tổ dân phố": 1.0}
    if c.unit_type == "Đặc khu":
        return {"Ấp": 1.0} if p in data.SOUTH_EAST | data.DELTA else {"Thôn": 1.0}
    for provinces, weights in data.XA_VILLAGE_TYPES:
        if p in provinces:
            return weights
    return data.CENTRAL_XA_VILLAGE_TYPES


def _village_name(unit: str, rng) -> str:
    if unit == "Bản":
        return f"{_pick(rng, data.TAI_FIRST)} {_pick(rng, data.TAI_SECOND)}"
    if unit in ("Buôn", "Làng"):
        return f"{_pick(rng, data.HIGHLAND_FIRST)} {_pick(rng, data.HIGHLAND_SECOND)}"
    if unit in ("Phum", "Sóc"):
        return f"{_pick(rng, data.KHMER_FIRST)} {_pick(rng, data.KHMER_SECOND)}"
    if rng.random() < 0.5:
        return _pick(rng, data.VILLAGE_WORDS)
    a, b = _pick(rng, data.FIRST_SYLLABLES), _pick(rng, data.SECOND_SYLLABLES)
    return a if a == b else f"{a} {b}"


def _villages(c: _Commune, seed: int, source: str) -> list[AreaFeature]:
    """The villages of one commune, from a generator seeded by its code."""
    rng = _rng(seed, 4, int(c.code))
    parts = shapely.get_parts(c.geometry)
    areas = shapely.area(parts)
    xy = np.concatenate(
        [
            _sample(part, m, rng, shapely.get_coordinates(part.point_on_surface()), 0.3 * np.sqrt(area), 0.5)
            for part, area, m in zip(parts, areas, rng.multinomial(c.villages, areas / areas.sum()))
            if m
        ]
    )
    weights = _village_types(c)
    units = list(weights)
    primary = units[rng.choice(len(units), p=list(weights.values()))]
    numbered, named, used = [], [], set()
    for _ in range(len(xy)):
        unit = primary if rng.random() < 0.8 else units[rng.choice(len(units), p=list(weights.values()))]
        if rng.random() < data.NUMBERED_SHARE[unit]:
            numbered.append(unit)
            continue
        for _ in range(50):
            name = _nfc(_village_name(unit, rng))
            if name not in used:
                break
        else:
            numbered.append(unit)
            continue
        used.add(name)
        named.append((unit, name))
    rows = [(u, str(k + 1)) for k, u in enumerate(numbered)] + named
    median = {"Phường": 1700, "Đặc khu": 700}.get(c.unit_type, 950)
    if c.unit_type == "Xã" and c.province in data.MOUNTAIN | data.HIGHLANDS:
        median = 450
    if c.province in CITIES:
        median *= 1.25
    population = np.clip(np.round(median * np.exp(0.55 * rng.standard_normal(len(xy)))), 200, 6000)
    points = shapely.points(xy)
    return [
        AreaFeature("village", f"{c.code}{k + 1:03d}", name, unit, c.code, point, int(pop), source)
        for k, ((unit, name), point, pop) in enumerate(zip(rows, points, population))
    ]
