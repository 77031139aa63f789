"""The village register: who keeps it, how a commune's villages are rewritten, and what it reports.

Provincial staff keep the villages of their province's communes; a commune's
officers keep their own commune's when the province allows it; central staff
and administrators read every register and its progress. Every change —
from an uploaded list (app/services/village_lists.py) or a rename, merge or
split here — goes through ``write_commune``: it rewrites one commune's
villages, re-derives that commune's cells only (the Voronoi cells of the
villages' points clipped to the commune, minus surveyed polygons, so the
villages still tile it), retires removed villages, moves their open
petitions to their successors (audited), and appends one row of
village_changes per change. Petitions already filed keep their village
otherwise; a retired village stays, without a shape, for them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import shapely
from flask_babel import lazy_gettext as _l
from shapely.geometry import MultiPolygon, Point
from sqlalchemy import select, text

from app.extensions import db
from app.geodata.importer import as_multipolygon, derive_cells
from app.models import Area, Generation, User, VillageRegisterSetting, VillageUpload
from app.models.petition import OPEN_STATUSES
from app.queries.areas import new_boundary_edition
from app.services.exports import FORMULA_STARTS
from app.text import fold, natural_key, normalize_name

# What a village may be called, as the Front's lists name them (diacritics and case ignored when read).
UNIT_TYPES = (
    "Thôn",
    "Bản",
    "Buôn",
    "Làng",
    "Xóm",
    "Ấp",
    "Sóc",
    "Plei",
    "Phum",
    "Khóm",
    "Tổ dân phố",
    "Khu phố",
    "Khu dân cư",
    "Khu",
    "Khối",
    "Tổ",
    "Đội",
)
_UNIT_TYPE_OF = {fold(t): t for t in UNIT_TYPES}
# An open petition, spelled as the partial index petitions_open_village is (so the planner uses it).
OPEN_PETITION = f"status IN ({', '.join(repr(s) for s in OPEN_STATUSES)})"
MAX_VILLAGES = 999  # village codes are the commune's code and 3 digits
NAME_MAX = 200


class RegisterRefused(ValueError):
    """A change of the register the officer cannot make; the message says why."""


def unit_type(typed: str) -> str | None:
    """The unit type as written in the register ("to dan pho" → "Tổ dân phố"), or None."""
    return _UNIT_TYPE_OF.get(fold(typed))


def split_unit_type(name: str, typed_unit: str) -> tuple[str, str]:
    """(unit type, name) of a village as lists write it: "Thôn 3" is Thôn "3", with or without the type given.

    The type is taken off the front of the name when it is the type given, or when no type is given
    and the name starts with one ("Tổ dân phố 5"); a name that is only a type ("Bản") is left whole.
    """
    folded = fold(name)
    given = fold(typed_unit)
    for candidate in sorted(_UNIT_TYPE_OF, key=len, reverse=True):  # "to dan pho" before "to"
        if (not given or candidate == given) and folded.startswith(candidate + " "):
            return (typed_unit or _UNIT_TYPE_OF[candidate]), normalize_name(name[len(candidate) + 1 :])
    return typed_unit, name


def name_key(unit: str, name: str) -> str:
    """What makes two villages of a commune the same name: "Thôn Đông" and "thon dong"."""
    return fold(f"{unit} {name}")


# --- who may ----------------------------------------------------------------


def communes_may_upload(province_id: int) -> bool:
    setting = db.session.get(VillageRegisterSetting, province_id)
    return bool(setting and setting.communes_may_upload)


def set_communes_may_upload(actor: User, allowed: bool) -> None:
    if actor.role != "province":
        raise RegisterRefused(_l("Chỉ cán bộ tỉnh đặt được quyền này."))
    setting = db.session.get(VillageRegisterSetting, actor.area_id)
    if setting is None:
        setting = VillageRegisterSetting(province_id=actor.area_id)
        db.session.add(setting)
    setting.communes_may_upload = allowed


def may_edit(actor: User, commune: Area) -> bool:
    """Whether this officer may change this commune's villages."""
    if actor.role == "province":
        return commune.parent_id == actor.area_id
    if actor.role == "commune":
        return commune.id == actor.area_id and communes_may_upload(commune.parent_id)
    return False


def may_read(actor: User, area: Area) -> bool:
    """Whether this officer may read the register of this province or commune."""
    if actor.role in ("central", "admin"):
        return True
    if actor.role == "province":
        return area.id == actor.area_id or area.parent_id == actor.area_id
    return area.id == actor.area_id


def communes_of(actor: User, province: Area | None = None) -> list[Area]:
    """The communes whose register this officer reads (a province's, for staff above it), by name."""
    if actor.role == "commune":
        found = [actor.area]
    else:
        province_id = actor.area_id if actor.role == "province" else (province.id if province else None)
        if province_id is None:
            return []
        found = list(db.session.scalars(select(Area).where(Area.parent_id == province_id, Area.level == "commune")))
    return sorted(found, key=lambda a: (natural_key(a.name), a.code))


# --- a commune's villages -----------------------------------------------------


@dataclass
class Village:
    """One village of a commune's register as it will be: an existing one (id) or a new one."""

    id: int | None
    code: str | None
    name: str
    unit_type: str
    population: int | None
    point: Point | None
    polygon: MultiPolygon | None = None  # surveyed
    action: str = ""  # what made it: added, split (for the change rows); else found by comparison
    line: int | None = None

    @property
    def key(self) -> str:
        return name_key(self.unit_type, self.name)

    @property
    def source(self) -> str:
        return "surveyed" if self.polygon is not None else ("derived" if self.point is not None else "none")


@dataclass
class Stored:
    """A village of the commune as it is now."""

    id: int
    code: str
    name: str
    unit_type: str
    population: int | None
    point: Point | None
    polygon: MultiPolygon | None  # when surveyed
    source: str


@dataclass
class Removal:
    village: Stored
    successor: Village | None
    merged: bool = False  # merged by an officer, not left out of a list


@dataclass
class Move:
    """An open petition of a removed village, and where it goes."""

    petition_id: int
    public_id: str
    title: str
    from_village: Stored
    to_village: Village | None


def commune_shapes(commune_ids: list[int]) -> dict:
    """The communes' polygons (shapely), by id, in one query."""
    rows = db.session.execute(
        text("SELECT id, ST_AsBinary(geom) FROM areas WHERE id = ANY(:ids)"), {"ids": commune_ids}
    ).all()
    return {area_id: shapely.from_wkb(bytes(wkb)) for area_id, wkb in rows}


def commune_shape(commune_id: int):
    return commune_shapes([commune_id])[commune_id]


def stored_villages(commune_ids: list[int]) -> dict[int, list[Stored]]:
    """The villages in the register of these communes, by commune."""
    rows = db.session.execute(
        text(
            """SELECT parent_id, id, code, name, unit_type, population, geom_source,
                      ST_AsBinary(label_point) AS point,
                      CASE WHEN geom_source = 'surveyed' THEN ST_AsBinary(geom) END AS shape
               FROM areas WHERE parent_id = ANY(:ids) AND level = 'village' AND retired_at IS NULL ORDER BY code"""
        ),
        {"ids": commune_ids},
    ).all()
    found: dict[int, list[Stored]] = {i: [] for i in commune_ids}
    for r in rows:
        point = shapely.from_wkb(bytes(r.point)) if r.point is not None and r.geom_source != "none" else None
        shape = shapely.from_wkb(bytes(r.shape)) if r.shape is not None else None
        found[r.parent_id].append(Stored(r.id, r.code, r.name, r.unit_type, r.population, point, shape, r.geom_source))
    return found


def cells(region, villages: list[Village]) -> list[MultiPolygon | None]:
    """Each village's polygon: its surveyed one, else its point's Voronoi cell in the rest; None with neither."""
    surveyed = [v.polygon for v in villages if v.polygon is not None]
    rest = region.difference(shapely.union_all(surveyed)) if surveyed else region
    pointed = [v for v in villages if v.polygon is None and v.point is not None]
    derived = dict(zip(map(id, pointed), derive_cells(rest, [v.point for v in pointed]) if pointed else []))
    out = []
    for v in villages:
        if v.polygon is not None:
            out.append(v.polygon)
        elif v.point is not None:
            out.append(derived[id(v)])
        else:
            out.append(None)
    return out


def covering(villages: list[Village], shapes: list, point: Point | None) -> Village | None:
    """The village whose polygon covers the point (the lowest code on an edge: the first in the list)."""
    if point is None:
        return None
    for village, polygon in zip(villages, shapes):
        if polygon is not None and not polygon.is_empty and polygon.covers(point):
            return village
    return None


def successor_of(stored: Stored, villages: list[Village], shapes: list) -> Village | None:
    """Who takes a removed village's open petitions: the village that now covers its point, else the nearest."""
    found = covering(villages, shapes, stored.point)
    if found is not None or stored.point is None:
        return found
    near = [(p.distance(stored.point), i) for i, p in enumerate(shapes) if p is not None and not p.is_empty]
    return villages[min(near)[1]] if near else None


def open_petitions_of(village_ids: list[int]) -> list:
    """Open petitions placed in these villages: id, public id, title, village, point."""
    if not village_ids:
        return []
    return db.session.execute(
        text(
            f"""SELECT id, public_id, coalesce(public_title, title) AS title, village_id,
                       ST_X(location) AS lon, ST_Y(location) AS lat
                FROM petitions WHERE village_id = ANY(:ids) AND {OPEN_PETITION} ORDER BY id"""
        ),
        {"ids": village_ids},
    ).all()


def moves_for(removals: list[Removal], villages: list[Village], shapes: list) -> list[Move]:
    """Where each open petition of the removed villages goes: the village covering its point, else the successor."""
    by_id = {r.village.id: r for r in removals}
    moves = []
    for p in open_petitions_of(list(by_id)):
        removal = by_id[p.village_id]
        point = Point(p.lon, p.lat) if p.lon is not None else None
        target = None if removal.merged else covering(villages, shapes, point)
        moves.append(Move(p.id, p.public_id, p.title, removal.village, target or removal.successor))
    return moves


def split_moves(old: Stored, new: Village, villages: list[Village], shapes: list) -> list[Move]:
    """Open petitions of a split village whose point now lies in the new village."""
    moves = []
    for p in open_petitions_of([old.id]):
        if p.lon is not None and covering(villages, shapes, Point(p.lon, p.lat)) is new:
            moves.append(Move(p.id, p.public_id, p.title, old, new))
    return moves


# --- writing -----------------------------------------------------------------


@dataclass
class Written:
    changes: int = 0
    moved: int = 0


def lock_communes(commune_ids: list[int]) -> None:
    """One writer at a time per commune: the register of a commune is rewritten whole."""
    db.session.execute(
        text("SELECT id FROM areas WHERE id = ANY(:ids) ORDER BY id FOR UPDATE"), {"ids": sorted(commune_ids)}
    )


def write_commune(
    commune: Area,
    villages: list[Village],
    removals: list[Removal],
    moves: list[Move],
    actor: User | None,
    upload: VillageUpload | None = None,
    label: str | None = None,
    shapes: list | None = None,
) -> Written:
    """Rewrite one commune's register: villages as listed, removals retired, its cells re-derived, moves made.

    shapes: the villages' cells when the caller derived them already, under the commune's lock.
    A few set-based statements per commune, whatever its size (a province's list is ~170 communes).
    """
    written = Written()
    label = label or (actor.username if actor else "system")
    before = {s.id: s for s in stored_villages([commune.id])[commune.id]}
    if shapes is None:
        shapes = cells(commune_shape(commune.id), villages)
    next_number = _next_number(commune)
    new, kept, changes = [], [], []
    for village, shape in zip(villages, shapes):
        wkb = shapely.to_wkb(as_multipolygon(shape)) if shape is not None and not shape.is_empty else None
        label_point = village.point or (shape.point_on_surface() if wkb else None)
        if village.id is None:
            if next_number > MAX_VILLAGES:
                raise RegisterRefused(_l("Xã đã có đủ 999 thôn, tổ dân phố."))
            village.code = f"{commune.code}{next_number:03d}"
            next_number += 1
        row = {
            "id": village.id,
            "code": village.code,
            "name": village.name,
            "unit_type": village.unit_type,
            "search_name": fold(f"{village.unit_type} {village.name}"),
            "population": village.population,
            "geom": wkb,
            "label_point": shapely.to_wkb(label_point) if label_point is not None else None,
            "source": village.source if wkb else "none",
        }
        (new if village.id is None else kept).append(row)
    if new:
        ids = dict(
            db.session.execute(
                text(
                    f"""INSERT INTO areas (generation_id, level, code, name, unit_type, search_name, parent_id,
                                           geom, label_point, population, geom_source)
                        SELECT :g, 'village', u.code, u.name, u.unit_type, u.search_name, :parent,
                               ST_GeomFromWKB(u.geom, 4326), ST_GeomFromWKB(u.label_point, 4326),
                               u.population, u.source
                        FROM {_UNNEST} RETURNING code, id"""
                ),
                {**_columns(new), "g": commune.generation_id, "parent": commune.id},
            ).all()
        )
        for village in villages:
            if village.id is None:
                village.id = ids[village.code]
                changes.append(_change(village.id, village.action or "added", {"after": _described(village)}, village))
    if kept:
        db.session.execute(
            text(
                f"""UPDATE areas a SET name = u.name, unit_type = u.unit_type, search_name = u.search_name,
                           population = u.population, geom = ST_GeomFromWKB(u.geom, 4326),
                           label_point = ST_GeomFromWKB(u.label_point, 4326), geom_source = u.source
                    FROM {_UNNEST} WHERE a.id = u.id"""
            ),
            _columns(kept),
        )
        for village in villages:
            if village.id in before:
                changes.extend(_differences(before[village.id], village))
    if removals:
        db.session.execute(
            text(
                """UPDATE areas a SET retired_at = now(), successor_id = u.successor, geom = NULL
                   FROM unnest(CAST(:ids AS integer[]), CAST(:successors AS integer[])) AS u(id, successor)
                   WHERE a.id = u.id"""
            ),
            {
                "ids": [r.village.id for r in removals],
                "successors": [r.successor.id if r.successor else None for r in removals],
            },
        )
        for r in removals:
            data = {"before": _described(r.village), "successor": r.successor.id if r.successor else None}
            changes.append(_change(r.village.id, "merged" if r.merged else "removed", data, None))
    written.moved = move_petitions(
        [(m.petition_id, m.from_village.id, m.to_village.id if m.to_village else None, _move_note(m)) for m in moves],
        actor,
        label,
    )
    if changes:
        db.session.execute(
            text(
                """INSERT INTO village_changes (actor_id, actor_label, upload_id, commune_id, village_id, action, data)
                   SELECT :actor, :label, :upload, :commune, u.village_id, u.action, CAST(u.data AS jsonb)
                   FROM unnest(CAST(:villages AS integer[]), CAST(:actions AS text[]), CAST(:data AS text[]))
                        AS u(village_id, action, data)"""
            ),
            {
                "actor": actor.id if actor else None,
                "label": label,
                "upload": upload.id if upload else None,
                "commune": commune.id,
                "villages": [c["village_id"] for c in changes],
                "actions": [c["action"] for c in changes],
                "data": [json.dumps(c["data"], ensure_ascii=False) for c in changes],
            },
        )
    written.changes = len(changes)
    return written


_FIELDS = (
    ("id", "integer"),
    ("code", "text"),
    ("name", "text"),
    ("unit_type", "text"),
    ("search_name", "text"),
    ("population", "integer"),
    ("geom", "bytea"),
    ("label_point", "bytea"),
    ("source", "text"),
)
_UNNEST = (
    "unnest("
    + ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _FIELDS)
    + ") AS u("
    + ", ".join(name for name, _ in _FIELDS)
    + ")"
)


def _columns(rows: list[dict]) -> dict[str, list]:
    return {name: [row[name] for row in rows] for name, _ in _FIELDS}


def _move_note(m: Move) -> str:
    to = f"{m.to_village.unit_type} {m.to_village.name}" if m.to_village else "—"
    return f"Sổ thôn: {m.from_village.unit_type} {m.from_village.name} → {to}"


def move_petitions(moves: list[tuple[int, int, int | None, str]], actor: User | None, label: str) -> int:
    """Move open petitions out of retired villages, each with its history row; return how many moved.

    moves: (petition id, from village, to village or None, note). A petition closed or re-placed
    meanwhile is left as it is (the UPDATE re-checks both under its row lock).
    """
    if not moves:
        return 0
    ids, froms, tos, notes = (list(column) for column in zip(*moves))
    moved = db.session.execute(
        text(
            f"""WITH moved AS (
                  UPDATE petitions p SET village_id = u.to_id, version = p.version + 1, updated_at = now()
                  FROM unnest(CAST(:ids AS bigint[]), CAST(:froms AS integer[]), CAST(:tos AS integer[]),
                              CAST(:notes AS text[])) AS u(id, from_id, to_id, note)
                  WHERE p.id = u.id AND p.village_id = u.from_id AND p.{OPEN_PETITION}
                  RETURNING p.id, u.from_id, u.to_id, u.note)
                INSERT INTO audit_events (actor_id, actor_label, petition_id, action, note, data)
                SELECT :actor, :label, id, 'replace', note,
                       jsonb_build_object('from_village', from_id, 'to_village', to_id, 'register', true)
                FROM moved RETURNING petition_id"""
        ),
        {"ids": ids, "froms": froms, "tos": tos, "notes": notes, "actor": actor.id if actor else None, "label": label},
    ).all()
    return len(moved)


def follow_retired() -> int:
    """Move open petitions still placed in a retired village to its successor; return how many moved.

    Applying a list moves a retired village's open petitions in its own
    transaction; a petition placed in that village by a request running at
    the same moment (picked before the village was retired) is caught here,
    by the sweeper's hourly run. A successor retired in turn is followed.
    """
    moved = 0
    for _ in range(10):  # successors of successors, never in a loop: each is a later, live village
        rows = db.session.execute(
            text(
                f"""SELECT p.id, v.id AS from_id, v.successor_id, v.unit_type || ' ' || v.name AS from_name,
                           s.unit_type || ' ' || s.name AS to_name
                    FROM petitions p JOIN areas v ON v.id = p.village_id
                    LEFT JOIN areas s ON s.id = v.successor_id
                    WHERE v.retired_at IS NOT NULL AND p.{OPEN_PETITION} ORDER BY p.id LIMIT 1000"""
            )
        ).all()
        if not rows:
            break
        moved += move_petitions(
            [(r.id, r.from_id, r.successor_id, f"Sổ thôn: {r.from_name} → {r.to_name or '—'}") for r in rows],
            None,
            "system",
        )
    return moved


def _next_number(commune: Area) -> int:
    """The next free 3-digit number of the commune's village codes (retired ones keep theirs)."""
    top = db.session.execute(
        text(
            """SELECT max(substr(code, length(:c) + 1)::int) FROM areas
               WHERE parent_id = :id AND level = 'village' AND code ~ ('^' || :c || '[0-9]{3}$')"""
        ),
        {"id": commune.id, "c": commune.code},
    ).scalar()
    return (top or 0) + 1


def _described(v) -> dict:
    point = v.point
    return {
        "name": v.name,
        "unit_type": v.unit_type,
        "population": v.population,
        "lat": round(point.y, 6) if point is not None else None,
        "lon": round(point.x, 6) if point is not None else None,
        "surveyed": v.polygon is not None,
    }


def _change(village_id: int, action: str, data: dict, village: Village | None) -> dict:
    if village is not None and village.line is not None:
        data = {**data, "line": village.line}
    return {"village_id": village_id, "action": action, "data": data}


def changes(old: Stored, new: Village) -> list[str]:
    """What differs between a village as stored and as it will be: renamed, retyped, moved, population.

    The one rule of the preview's actions and the history's rows.
    """
    found = []
    if old.name != new.name:
        found.append("renamed")
    if old.unit_type != new.unit_type:
        found.append("retyped")
    if not _same_place(old, new):
        found.append("moved")
    if old.population != new.population:
        found.append("population")
    return found


def _same_place(old: Stored, new: Village) -> bool:
    if (old.polygon is None) != (new.polygon is None):
        return False
    if old.polygon is not None:
        return old.polygon.equals(new.polygon)
    if old.point is None or new.point is None:
        return old.point is None and new.point is None
    return old.point.distance(new.point) < 5e-6  # the export's 6 decimals


def _differences(old: Stored, new: Village) -> list[dict]:
    """The change rows of an existing village, one per change."""
    data = {"before": _described(old), "after": _described(new)}
    return [_change(old.id, action, data, new) for action in changes(old, new)]


def as_village(s: Stored) -> Village:
    return Village(s.id, s.code, s.name, s.unit_type, s.population, s.point, s.polygon)


# --- rename, merge, split ------------------------------------------------------


def village_for(actor: User, code: str) -> tuple[Area, Area]:
    """A village of the current register the officer may change, and its commune; RegisterRefused otherwise."""
    village = db.session.scalar(
        select(Area)
        .join(Generation, Area.generation_id == Generation.id)
        .where(Generation.is_current, Area.code == code, Area.level == "village", Area.in_register)
    )
    if village is None or not may_edit(actor, village.parent):
        raise RegisterRefused(_l("Không tìm thấy thôn, tổ dân phố này trong địa bàn bạn được sửa."))
    return village, village.parent


def rename(actor: User, code: str, new_name: str, new_type: str) -> None:
    village, commune = village_for(actor, code)
    name, unit = _checked_name(new_name), unit_type(new_type)
    if unit is None:
        raise RegisterRefused(_l("Loại «%(t)s» không có trong danh mục.", t=new_type))
    lock_communes([commune.id])
    stored = _still_there(commune, village)
    if any(s.id != village.id and name_key(s.unit_type, s.name) == name_key(unit, name) for s in stored):
        raise RegisterRefused(_l("Xã đã có %(name)s.", name=f"{unit} {name}"))
    after = []
    for s in stored:
        v = as_village(s)
        if s.id == village.id:
            v.name, v.unit_type = name, unit
        after.append(v)
    write_commune(commune, after, [], [], actor)
    new_boundary_edition(commune.generation_id)  # the maps fetch the new cells


@dataclass
class Proposal:
    """A change of the register page, before the officer confirms it: what it does and which petitions move."""

    what: str
    moves: list[Move]
    code: str = ""  # a split's new village, once written
    moved: int = 0  # petitions moved, once written


def merge(actor: User, code: str, into_code: str, write: bool = True) -> Proposal:
    """Merge a village into another of its commune: its open petitions move there (written only if write)."""
    village, commune = village_for(actor, code)
    into, into_commune = village_for(actor, into_code)
    if into.id == village.id or into_commune.id != commune.id:
        raise RegisterRefused(_l("Chỉ gộp được vào một thôn, tổ dân phố khác của cùng xã."))
    if write:
        lock_communes([commune.id])
    stored = _still_there(commune, village, into)
    after = [as_village(s) for s in stored if s.id != village.id]
    target = next(v for v in after if v.id == into.id)
    removal = Removal(next(s for s in stored if s.id == village.id), target, merged=True)
    moves = moves_for([removal], after, cells(commune_shape(commune.id), after))
    proposal = Proposal(f"{village.full_name} → {into.full_name}", moves)
    if write:
        written = write_commune(commune, after, [removal], moves, actor)
        new_boundary_edition(commune.generation_id)  # the maps fetch the new cells
        proposal.moved = written.moved
    return proposal


def split(actor: User, code: str, new_name: str, new_type: str, lat: float, lon: float, write: bool = True) -> Proposal:
    """Split a new village off one, at a point of its own: the open petitions now in its cell move to it."""
    village, commune = village_for(actor, code)
    name, unit = _checked_name(new_name), unit_type(new_type)
    if unit is None:
        raise RegisterRefused(_l("Loại «%(t)s» không có trong danh mục.", t=new_type))
    point = Point(lon, lat)
    if write:
        lock_communes([commune.id])
    region = commune_shape(commune.id)
    if not region.covers(point):
        raise RegisterRefused(_l("Điểm của thôn mới nằm ngoài xã."))
    stored = _still_there(commune, village)
    inside = db.session.execute(
        text("SELECT ST_Covers(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) FROM areas WHERE id = :id"),
        {"lon": lon, "lat": lat, "id": village.id},
    ).scalar()
    if not inside:
        raise RegisterRefused(_l("Điểm của thôn mới phải nằm trong thôn được tách."))
    if any(name_key(s.unit_type, s.name) == name_key(unit, name) for s in stored):
        raise RegisterRefused(_l("Xã đã có %(name)s.", name=f"{unit} {name}"))
    if any(s.point is not None and s.point.equals(point) for s in stored):
        raise RegisterRefused(_l("Điểm này đã là điểm của một thôn khác."))
    after = [as_village(s) for s in stored]
    new = Village(None, None, name, unit, None, point, action="split")
    after.append(new)
    old = next(s for s in stored if s.id == village.id)
    moves = split_moves(old, new, after, cells(region, after))
    proposal = Proposal(f"{village.full_name} → {village.full_name} + {unit} {name}", moves)
    if write:
        proposal.moved = write_commune(commune, after, [], moves, actor).moved
        new_boundary_edition(commune.generation_id)  # the maps fetch the new cells
        proposal.code = new.code
    return proposal


def _still_there(commune: Area, *villages: Area) -> list[Stored]:
    """The commune's register under its lock, refusing if a village asked for was removed meanwhile."""
    stored = stored_villages([commune.id])[commune.id]
    ids = {s.id for s in stored}
    if any(v.id not in ids for v in villages):
        raise RegisterRefused(_l("Sổ thôn của xã vừa thay đổi; hãy tải lại trang."))
    return stored


def _checked_name(typed: str) -> str:
    name = normalize_name(typed or "")
    problem = name_problem(name)
    if problem is not None:
        raise RegisterRefused(problem)
    return name


def name_problem(name: str):
    """Why a village name cannot be in the register, or None (one rule for lists and the register page)."""
    if not name:
        return _l("Thiếu tên thôn, tổ dân phố.")
    if len(name) > NAME_MAX:
        return _l("Tên thôn, tổ dân phố quá dài.")
    if name.startswith(FORMULA_STARTS):  # a spreadsheet would run it as a formula
        return _l("Tên thôn, tổ dân phố không được bắt đầu bằng =, +, - hoặc @.")
    return None


# --- reading -------------------------------------------------------------------


def register_rows(communes: list[Area]) -> list[dict]:
    """The villages of these communes in the upload's columns (what Xuất gives and Tải lên takes)."""
    if not communes:
        return []
    rows = db.session.execute(
        text(
            """SELECT c.code AS commune_code, c.unit_type || ' ' || c.name AS commune_name, v.code AS village_code,
                      v.name AS village_name, v.unit_type, v.population,
                      CASE WHEN v.geom_source <> 'none' THEN round(ST_Y(v.label_point)::numeric, 6) END AS lat,
                      CASE WHEN v.geom_source <> 'none' THEN round(ST_X(v.label_point)::numeric, 6) END AS lon
               FROM areas v JOIN areas c ON c.id = v.parent_id
               WHERE v.parent_id = ANY(:ids) AND v.level = 'village' AND v.retired_at IS NULL
               ORDER BY c.code, v.code"""
        ),
        {"ids": [c.id for c in communes]},
    ).mappings()
    return [{**r, "lat": _number(r["lat"]), "lon": _number(r["lon"])} for r in rows]


def _number(value):
    return float(value) if value is not None else None


def villages_of(commune: Area) -> list:
    """The commune's register for its page: each village with its open petitions, "Thôn 2" before "Thôn 10"."""
    rows = db.session.execute(
        text(
            f"""SELECT v.code, v.name, v.unit_type, v.population, v.geom_source,
                      (SELECT count(*) FROM petitions p WHERE p.village_id = v.id AND p.{OPEN_PETITION}) AS open
               FROM areas v WHERE v.parent_id = :id AND v.level = 'village' AND v.retired_at IS NULL"""
        ),
        {"id": commune.id},
    ).all()
    return sorted(rows, key=lambda v: (natural_key(v.unit_type), natural_key(v.name)))


def history(communes: list[Area], limit: int = 200) -> list:
    """The newest changes of these communes' registers: when, who, which upload, what."""
    if not communes:
        return []
    return db.session.execute(
        text(
            """SELECT ch.at, ch.actor_label, ch.action, ch.data, ch.upload_id, u.filename,
                      v.code, v.unit_type || ' ' || v.name AS village, c.unit_type || ' ' || c.name AS commune,
                      s.unit_type || ' ' || s.name AS successor
               FROM village_changes ch
               JOIN areas v ON v.id = ch.village_id JOIN areas c ON c.id = ch.commune_id
               LEFT JOIN areas s ON s.id = (ch.data ->> 'successor')::integer
               LEFT JOIN village_uploads u ON u.id = ch.upload_id
               WHERE ch.commune_id = ANY(:ids) ORDER BY ch.id DESC LIMIT :limit"""
        ),
        {"ids": [c.id for c in communes], "limit": limit},
    ).all()


def progress(province: Area | None = None) -> list:
    """Per province (or per commune of one province): lists uploaded, villages, with a point, last change.

    The figure the Front reports: how far each province's register is kept current.
    """
    group = "c.parent_id" if province is None else "c.id"
    where = "c.level = 'commune' AND ge.is_current" + ("" if province is None else " AND c.parent_id = :province")
    return db.session.execute(
        text(
            f"""WITH communes AS (
                  SELECT c.id, c.parent_id FROM areas c
                  JOIN generations ge ON ge.id = c.generation_id WHERE {where}),
                listed AS (
                  SELECT (jsonb_array_elements_text(summary -> 'communes'))::int AS commune_id,
                         max(applied_at) AS listed_at
                  FROM village_uploads WHERE status = 'applied' GROUP BY 1),
                villages AS (
                  SELECT v.parent_id AS commune_id, count(*) AS villages,
                         count(*) FILTER (WHERE v.geom_source <> 'none') AS located
                  FROM areas v JOIN communes c ON c.id = v.parent_id
                  WHERE v.level = 'village' AND v.retired_at IS NULL GROUP BY 1),
                changed AS (
                  SELECT commune_id, max(at) AS changed_at FROM village_changes GROUP BY 1)
                SELECT a.code, a.unit_type || ' ' || a.name AS name,
                       count(*) AS communes, count(l.commune_id) AS listed,
                       coalesce(sum(v.villages), 0) AS villages, coalesce(sum(v.located), 0) AS located,
                       greatest(max(l.listed_at), max(ch.changed_at)) AS updated_at
                FROM communes c JOIN areas a ON a.id = {group}
                LEFT JOIN listed l ON l.commune_id = c.id
                LEFT JOIN villages v ON v.commune_id = c.id
                LEFT JOIN changed ch ON ch.commune_id = c.id
                GROUP BY a.id ORDER BY a.code"""
        ),
        {"province": province.id if province else None},
    ).all()
