"""What an area map counts, each aggregate once per page; the public's shared through Redis for a few minutes.

The public's counts are the same for everyone who asks with the same
filters, so they are kept in Redis for PUBLIC_MAP_CACHE_SECONDS (5 minutes)
under a key made of the filters as the selection holds them (a week and the
same dates are one key) and the boundary generation's edition (a re-import
gets new keys): a popular view costs one Redis read instead of a count of
every published petition. New petitions show on the public map within that
time. With Redis away, or the setting 0, they are counted directly. The
kept counts carry the time of the data they were counted from: a page that
reads a standby says "data as of" the older of that and the standby's.
"""

from __future__ import annotations

import json
from dataclasses import astuple, dataclass
from datetime import UTC, datetime

from flask import current_app
from redis.exceptions import RedisError

from app.models import Area
from app.queries.map_layers import area_counts
from app.queries.selection import Selection
from app.redis_conn import redis
from app.standby import data_as_of, data_as_of_no_later_than

KEY_PREFIX = "public-map:v1:"


@dataclass(frozen=True)
class MapCounts:
    """Rows of area_counts (code, name, parent code, count, population) for the levels a map draws."""

    provinces: list = ()  # the country's provinces: the national map
    communes: list = ()  # the country's communes, or a province's
    villages: list = ()  # a commune's villages


def of(sel: Selection, province: Area | None, commune: Area | None, *, public: bool = False) -> MapCounts:
    """The rows an area map (and the public map's table) needs, each level counted once."""
    if commune is not None:
        return MapCounts(villages=area_counts("village", commune.id, sel))
    if province is not None:
        return MapCounts(communes=area_counts("commune", province.id, sel))
    # The public's province figures are sums of its communes' shown counts (app/maps/area_maps.py
    # province_counts): its provinces are listed, not counted.
    provinces = area_counts("province", None, None if public else sel)
    return MapCounts(provinces=provinces, communes=area_counts("commune", None, sel))


def public(sel: Selection, province: Area | None, edition: str) -> MapCounts:
    """The public map's rows for these filters: their counts from Redis when asked lately, else counted (and kept).

    edition names the boundary generation and its edition, which the area rows belong to. Redis keeps
    the counts alone (a list of numbers in the rows' order, ~10 kB for the country's communes); the
    rows themselves are the same for every filter, and each process keeps them per edition.
    """
    ttl = current_app.config["PUBLIC_MAP_CACHE_SECONDS"]
    if ttl <= 0:
        return of(sel, province, None, public=True)
    key = KEY_PREFIX + edition + ":" + ":".join("" if v is None else str(v) for v in astuple(sel))
    try:
        kept = redis().get(key)
    except (RedisError, OSError):
        return of(sel, province, None, public=True)  # no shared copy: count for this request
    if kept is not None:
        numbers = json.loads(kept)
        counted_at = numbers.pop("as_of", None)
        counts = _with_counts(numbers, province, edition)
        if counts is not None:
            if counted_at:
                data_as_of_no_later_than(datetime.fromisoformat(counted_at))
            return counts
    counts = of(sel, province, None, public=True)
    _keep_areas(counts, province, edition)
    numbers = {level: [row[3] for row in getattr(counts, level)] for level in _LEVELS if getattr(counts, level)}
    numbers["as_of"] = (data_as_of() or datetime.now(UTC)).isoformat()
    try:
        redis().set(key, json.dumps(numbers, separators=(",", ":")), ex=ttl)
    except (RedisError, OSError):
        pass
    return counts


# The public map's levels: the country's provinces, the country's or a province's communes.
_LEVELS = {"provinces": "province", "communes": "commune"}


def _areas(edition: str) -> dict:
    """This process's area rows (counts 0) of the current edition, by (level, province code)."""
    kept = current_app.extensions.setdefault("map_counts.areas", {"edition": None, "rows": {}})
    if kept["edition"] != edition:
        kept.update(edition=edition, rows={})
    return kept["rows"]


def _keep_areas(counts: MapCounts, province: Area | None, edition: str) -> None:
    areas = _areas(edition)
    for level in _LEVELS:
        rows = getattr(counts, level)
        if rows:
            areas[(level, province.code if province else None)] = [(*row[:3], 0, row[4]) for row in rows]


def _with_counts(numbers: dict[str, list[int]], province: Area | None, edition: str) -> MapCounts | None:
    """The area rows with the kept counts; None when they do not line up (then count again)."""
    areas, levels = _areas(edition), {}
    for level, counts in numbers.items():
        if level not in _LEVELS:
            return None
        key = (level, province.code if province else None)
        if key not in areas:
            parent = province.id if province is not None and level == "communes" else None
            areas[key] = [tuple(row) for row in area_counts(_LEVELS[level], parent, None)]
        rows = areas[key]
        if len(rows) != len(counts):
            return None
        levels[level] = [(*row[:3], n, row[4]) for row, n in zip(rows, counts, strict=True)]
    return MapCounts(**levels)
