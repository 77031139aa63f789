"""An uploaded village list: read, checked line by line, previewed, then applied in one transaction.

A list is the whole register of every commune it names: villages it lists
are added or updated (matched by their code, else by their name in the
commune), villages of those communes it leaves out are removed (their open
petitions go to the village that now covers them, listed in the preview).
Communes it does not name stay as they are. Nothing is written until the
officer applies the list; applying re-reads the register and refuses if the
preview no longer holds (someone changed those communes meanwhile).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import shapely
from flask_babel import lazy_gettext as _l
from shapely.geometry import Point, mapping
from shapely.geometry import shape as geojson_shape
from shapely.prepared import prep
from sqlalchemy import text

from app.extensions import db
from app.geodata.importer import as_multipolygon
from app.models import Area, User, VillageUpload
from app.queries.areas import new_boundary_edition
from app.services import village_register as register
from app.services.village_files import Line, Shape
from app.text import fold, normalize_name

MOSTLY_INSIDE = 0.5  # a surveyed polygon must lie at least half in its commune (it is clipped to it)


class ListRefused(ValueError):
    """The list cannot be applied (lines refused, or the register changed since the preview)."""


@dataclass(frozen=True)
class Scope:
    """Where a list may change villages: a province's communes, one commune, or (None, None) the country."""

    province_id: int | None = None
    commune_id: int | None = None

    @classmethod
    def of(cls, actor: User | None) -> Scope:
        if actor is None:
            return cls()
        if actor.role == "commune":
            return cls(actor.area.parent_id, actor.area_id)
        if actor.role == "province":
            return cls(actor.area_id, None)
        raise ListRefused(_l("Chỉ cán bộ tỉnh, xã gửi được danh sách thôn, tổ dân phố."))


@dataclass
class Step:
    """What one line (or one village left out) does, or the problems that refuse it."""

    line: int | None
    commune: str = ""
    village: str = ""
    code: str = ""
    actions: list[str] = field(default_factory=list)  # added renamed retyped moved population unchanged removed
    detail: str = ""
    problems: list = field(default_factory=list)


@dataclass
class Plan:
    steps: list[Step]
    moves: list[register.Move]
    communes: list[Area]
    shape_problems: list = field(default_factory=list)  # polygons of the GeoJSON that match no line
    # per commune: (villages after, removals, moves), kept for apply
    work: dict = field(default_factory=dict)

    @property
    def problems(self) -> int:
        return sum(len(s.problems) for s in self.steps) + len(self.shape_problems)

    def counts(self) -> dict[str, int]:
        found = defaultdict(int)
        for step in self.steps:
            if step.problems:
                found["refused"] += 1
            for action in step.actions:
                found[action] += 1
        found["moved_petitions"] = len(self.moves)
        return dict(found)

    def digest(self) -> str:
        """What the preview showed, to check at apply time that it still holds."""
        shown = [(s.line, s.code, s.village, s.actions, s.detail) for s in self.steps]
        shown += [(m.petition_id, m.to_village.key if m.to_village else None) for m in self.moves]
        return hashlib.sha256(json.dumps(shown, ensure_ascii=False, default=str).encode()).hexdigest()


# --- reading the lines ---------------------------------------------------------------


@dataclass
class _Row:
    line: Line
    step: Step
    commune: Area | None = None
    village: register.Village | None = None
    code: str = ""


def plan(lines: list[Line], shapes: list[Shape], scope: Scope) -> Plan:
    """Check every line against the register and say what applying the list would do."""
    communes = _communes(scope)
    rows = [_read(line, communes, scope) for line in lines]
    touched = sorted({r.commune.id: r.commune for r in rows if r.commune}.values(), key=lambda c: c.code)
    regions = register.commune_shapes([c.id for c in touched])
    inside = {c.id: prep(regions[c.id]) for c in touched}
    for r in rows:
        point = r.village.point
        if point is not None and r.commune is not None and not inside[r.commune.id].covers(point):
            values = r.line.values
            r.step.problems.append(
                _l(
                    "Điểm (%(lat)s, %(lon)s) nằm ngoài %(commune)s.",
                    lat=values["lat"],
                    lon=values["lon"],
                    commune=r.commune.full_name,
                )
            )
    stored = register.stored_villages([c.id for c in touched])
    shape_problems = _attach_shapes(rows, shapes, regions)
    result = Plan([r.step for r in rows], [], touched, shape_problems)
    for commune in touched:
        mine = [r for r in rows if r.commune is commune]
        _plan_commune(commune, mine, stored[commune.id], regions[commune.id], result)
    return result


def _communes(scope: Scope) -> dict:
    """The current communes a list may name, by code and by folded name (a name may be ambiguous)."""
    where = "a.level = 'commune' AND ge.is_current"
    if scope.commune_id is not None:
        where += " AND a.id = :commune"
    elif scope.province_id is not None:
        where += " AND a.parent_id = :province"
    ids = db.session.execute(
        text(f"SELECT a.id FROM areas a JOIN generations ge ON ge.id = a.generation_id WHERE {where}"),
        {"commune": scope.commune_id, "province": scope.province_id},
    ).scalars()
    areas = db.session.query(Area).filter(Area.id.in_(list(ids))).all()
    by_name = defaultdict(list)
    for a in areas:
        by_name[fold(a.name)].append(a)
        by_name[fold(a.full_name)].append(a)
    # Every current commune's code (3,321): a code outside the scope is told apart from no commune at all.
    everywhere = set(
        db.session.execute(
            text("""SELECT a.code FROM areas a JOIN generations ge ON ge.id = a.generation_id AND ge.is_current
                    WHERE a.level = 'commune'""")
        ).scalars()
    )
    return {"code": {a.code: a for a in areas}, "name": by_name, "everywhere": everywhere}


def _read(line: Line, communes: dict, scope: Scope) -> _Row:
    v = line.values
    step = Step(line.number)
    row = _Row(line, step)
    row.commune = _commune(v["commune_code"], v["commune_name"], communes, scope, step)
    if row.commune is not None:
        step.commune = row.commune.full_name
    typed_unit, name = register.split_unit_type(normalize_name(v["village_name"]), v["unit_type"])
    problem = register.name_problem(name)
    if problem is not None:
        step.problems.append(problem)
    unit = register.unit_type(typed_unit) if typed_unit else None
    if not typed_unit:
        step.problems.append(_l("Thiếu loại (Thôn, Bản, Tổ dân phố, Ấp, …)."))
    elif unit is None:
        step.problems.append(_l("Loại «%(t)s» không có trong danh mục.", t=typed_unit))
    step.village = f"{unit or typed_unit} {name}".strip()
    point = _point(v["lat"], v["lon"], step)
    population = _population(v["population"], step)
    code = v["village_code"].strip()
    if code:
        row.code = code.zfill(8) if code.isdigit() else code
        step.code = row.code
    row.village = register.Village(None, None, name, unit or "", population, point, line=line.number)
    return row


def _commune(code: str, name: str, communes: dict, scope: Scope, step: Step) -> Area | None:
    code = code.strip()
    if code:
        code = code.zfill(5) if code.isdigit() else code
        found = communes["code"].get(code)
        if found is None:
            step.problems.append(_outside(code, scope, code in communes["everywhere"]))
            return None
        if name and found not in communes["name"].get(fold(name), []):
            step.problems.append(
                _l("Mã xã %(code)s là %(name)s, không phải «%(typed)s».", code=code, name=found.full_name, typed=name)
            )
            return None
        return found
    if not name:
        step.problems.append(_l("Thiếu mã xã hoặc tên xã."))
        return None
    found = communes["name"].get(fold(name), [])
    if len({a.id for a in found}) > 1:
        step.problems.append(_l("Có nhiều xã tên «%(typed)s»; hãy ghi mã xã.", typed=name))
        return None
    if not found:
        step.problems.append(_l("Không có xã «%(typed)s» trong địa bàn của bạn.", typed=name))
        return None
    return found[0]


def _outside(code: str, scope: Scope, exists: bool):
    if exists and scope.commune_id is not None:
        return _l("Xã %(code)s không phải xã của bạn.", code=code)
    if exists:
        return _l("Xã %(code)s không thuộc tỉnh của bạn.", code=code)
    return _l("Không có xã mã %(code)s.", code=code)


_NUMBER = re.compile(r"^-?\d+([.,]\d+)?$")


def _point(lat: str, lon: str, step: Step) -> Point | None:
    if not lat and not lon:
        return None
    if not lat or not lon:
        step.problems.append(_l("Cần cả vĩ độ và kinh độ, hoặc bỏ trống cả hai."))
        return None
    if not (_NUMBER.match(lat) and _NUMBER.match(lon)):
        step.problems.append(_l("Vĩ độ, kinh độ phải là số (ví dụ 16.4637 và 107.5909)."))
        return None
    y, x = float(lat.replace(",", ".")), float(lon.replace(",", "."))
    if not (-90 <= y <= 90 and -180 <= x <= 180):
        step.problems.append(_l("Vĩ độ, kinh độ không hợp lệ."))
        return None
    return Point(x, y)


_THOUSANDS = re.compile(r"^\d{1,3}([., ]\d{3})+$")


def _population(typed: str, step: Step) -> int | None:
    typed = typed.strip()
    if not typed:
        return None
    digits = typed.replace(".", "").replace(",", "").replace(" ", "") if _THOUSANDS.match(typed) else typed
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 8:
        shown = typed if len(typed) <= 40 else typed[:40] + "…"
        step.problems.append(_l("Dân số «%(typed)s» không phải là một số nguyên.", typed=shown))
        return None
    return int(digits)


def _attach_shapes(rows: list[_Row], shapes: list[Shape], regions: dict) -> list:
    """Give lines their surveyed polygons from the companion GeoJSON; the polygons that match no line."""
    usable = [r for r in rows if r.commune is not None]
    by_code = {r.code: r for r in usable if r.code}
    by_name = {(r.commune.code, fold(r.village.name)): r for r in usable}
    by_name.update({(r.commune.code, r.village.key): r for r in usable})
    problems = []
    for s in shapes:
        commune_code = s.commune_code.zfill(5) if s.commune_code.isdigit() else s.commune_code
        code = s.village_code.zfill(8) if s.village_code.isdigit() else s.village_code
        row = by_code.get(code) if code else by_name.get((commune_code, fold(s.village_name)))
        if row is None:
            problems.append(_l("Vùng thứ %(n)s của tệp ranh giới không khớp dòng nào của danh sách.", n=s.number))
            continue
        region = regions[row.commune.id]
        inside = as_multipolygon(shapely.intersection(s.geometry, region))
        if inside.is_empty or inside.area < MOSTLY_INSIDE * s.geometry.area:
            row.step.problems.append(_l("Ranh giới của thôn nằm phần lớn ngoài xã."))
            continue
        row.village.polygon = inside
    return problems


# --- what applying does, commune by commune ------------------------------------------------


def _plan_commune(commune: Area, rows: list[_Row], stored: list[register.Stored], region, result: Plan) -> None:
    matched = _match(rows, stored)
    _check_places(rows)
    if any(r.step.problems for r in rows):
        return
    after = [r.village for r in rows]
    shapes = register.cells(region, after)
    for r, shape in zip(rows, shapes):
        if r.village.source == "derived" and (shape is None or shape.is_empty):
            r.step.problems.append(_l("Thôn không còn phần đất nào trong xã (điểm nằm ngoài phần chưa đo)."))
    if any(r.step.problems for r in rows):
        return
    removals = []
    for s in stored:
        if s.id in matched:
            continue
        successor = register.successor_of(s, after, shapes)
        removals.append(register.Removal(s, successor))
        detail = f"→ {successor.unit_type} {successor.name}" if successor else ""
        result.steps.append(Step(None, commune.full_name, f"{s.unit_type} {s.name}", s.code, ["removed"], detail))
    moves = register.moves_for(removals, after, shapes)
    result.moves.extend(moves)
    result.work[commune.id] = (after, shapes, removals, moves)


def _match(rows: list[_Row], stored: list[register.Stored]) -> dict[int, _Row]:
    """Match each line to the village it updates (by code first, then by name), or to none: it adds one."""
    by_code = {s.code: s for s in stored}
    by_key = {register.name_key(s.unit_type, s.name): s for s in stored}
    by_name: dict[str, list] = defaultdict(list)
    for s in stored:
        by_name[fold(s.name)].append(s)
    seen_keys: dict[str, int] = {}
    for r in rows:
        if r.village.name and r.village.unit_type:
            if r.village.key in seen_keys:
                r.step.problems.append(_l("Tên này đã có ở dòng %(n)s (cùng xã).", n=seen_keys[r.village.key]))
            seen_keys.setdefault(r.village.key, r.line.number)
    matched: dict[int, _Row] = {}
    for r in [r for r in rows if r.code] + [r for r in rows if not r.code]:  # codes are claimed first
        step, village = r.step, r.village
        existing = None
        if r.code:
            existing = by_code.get(r.code)
            if existing is None:
                step.problems.append(_l("Mã thôn %(code)s không có trong sổ của xã này.", code=r.code))
            elif existing.id in matched:
                step.problems.append(_l("Mã thôn này đã có ở dòng %(n)s.", n=matched[existing.id].line.number))
                existing = None
        elif village.name and village.unit_type:
            existing = by_key.get(village.key)
            if existing is None:
                # "Thôn Đông" listed again as "Xóm Đông": matched by its name alone when only one has it
                same = by_name.get(fold(village.name), [])
                existing = same[0] if len(same) == 1 else None
            if existing is not None and existing.id in matched:
                existing = None  # its code is claimed by another line: this line adds a village
        if step.problems:
            continue
        if existing is None:
            step.actions.append("added")
            continue
        matched[existing.id] = r
        village.id, village.code = existing.id, existing.code
        step.code = existing.code
        if village.population is None and r.line.values["population"] == "":
            village.population = existing.population  # an empty cell keeps what the register has
        if village.point is None and village.polygon is None:
            # a line without a point keeps the village's place
            village.point, village.polygon = existing.point, existing.polygon
        elif village.polygon is None and existing.polygon is not None and existing.polygon.covers(village.point):
            village.polygon = existing.polygon  # a surveyed village's label point, as exported: still surveyed
        step.actions.extend(register.changes(existing, village) or ["unchanged"])
        if "renamed" in step.actions or "retyped" in step.actions:
            step.detail = f"{existing.unit_type} {existing.name} → {village.unit_type} {village.name}"
    return matched


def _check_places(rows: list[_Row]) -> None:
    """Every village's place its own: no two points alike, no point in a surveyed polygon, no polygons overlapping."""
    ok = [r for r in rows if not r.step.problems]
    surveyed = [r for r in ok if r.village.polygon is not None]
    for i, r in enumerate(surveyed):
        for first in surveyed[:i]:
            overlap = r.village.polygon.intersection(first.village.polygon).area
            if overlap > 1e-9 * max(r.village.polygon.area, 1e-12):
                r.step.problems.append(
                    _l(
                        "Ranh giới chồng lên ranh giới của %(village)s (dòng %(n)s).",
                        village=first.step.village,
                        n=first.line.number,
                    )
                )
                break
    places: dict[tuple, _Row] = {}
    for r in ok:
        point = r.village.point if r.village.polygon is None else None
        if point is None:
            continue
        first = places.setdefault((round(point.x, 7), round(point.y, 7)), r)
        if first is not r:  # two villages at one point would share one cell
            r.step.problems.append(
                _l("Điểm này trùng điểm của %(village)s (dòng %(n)s).", village=first.step.village, n=first.line.number)
            )
            continue
        inside = next((s for s in surveyed if s.village.polygon.covers(point)), None)
        if inside is not None:
            r.step.problems.append(
                _l(
                    "Điểm nằm trong ranh giới đã đo của %(village)s (dòng %(n)s).",
                    village=inside.step.village,
                    n=inside.line.number,
                )
            )


# --- keeping and applying an upload ---------------------------------------------------------


def keep(actor: User | None, filename: str, lines: list[Line], shapes: list[Shape], label: str = "") -> VillageUpload:
    """Keep an uploaded list as read (pending), with its preview's digest; nothing of the register changes."""
    scope = Scope.of(actor)
    result = plan(lines, shapes, scope)
    upload = VillageUpload(
        province_id=scope.province_id,
        commune_id=scope.commune_id,
        uploaded_by_id=actor.id if actor else None,
        uploaded_by_label=label or (actor.username if actor else "operator"),
        filename=re.sub(r"[\x00-\x1f\x7f]", "", filename)[:200],
        content={
            "lines": [line.as_json() for line in lines],
            "shapes": [
                {
                    "number": s.number,
                    "village_code": s.village_code,
                    "commune_code": s.commune_code,
                    "village_name": s.village_name,
                    "geometry": mapping(s.geometry),
                }
                for s in shapes
            ],
        },
        summary={"digest": result.digest(), "counts": result.counts(), "problems": result.problems},
    )
    db.session.add(upload)
    db.session.flush()
    return upload


def _content(upload: VillageUpload) -> tuple[list[Line], list[Shape]]:
    lines = [Line(x["number"], x["values"]) for x in upload.content["lines"]]
    shapes = [
        Shape(s["number"], s["village_code"], s["commune_code"], s["village_name"], geojson_shape(s["geometry"]))
        for s in upload.content["shapes"]
    ]
    return lines, shapes


def _named_communes(lines: list[Line], scope: Scope) -> list[int]:
    """The ids of the communes the lines name (those a plan of them touches)."""
    communes = _communes(scope)
    named = (_commune(x.values["commune_code"], x.values["commune_name"], communes, scope, Step(0)) for x in lines)
    return sorted({c.id for c in named if c is not None})


def replan(upload: VillageUpload) -> Plan:
    """What the kept upload would do now (its preview)."""
    lines, shapes = _content(upload)
    return plan(lines, shapes, Scope(upload.province_id, upload.commune_id))


def upload_for(actor: User, upload_id: int) -> VillageUpload | None:
    """An upload the officer may see: one of their own province's (or their commune's)."""
    upload = db.session.get(VillageUpload, upload_id)
    if upload is None:
        return None
    scope = Scope.of(actor) if actor.role in ("province", "commune") else None
    if scope is None or upload.province_id != scope.province_id:
        return None
    if scope.commune_id is not None and upload.commune_id != scope.commune_id:
        return None
    return upload


def apply(upload: VillageUpload, actor: User | None, label: str = "") -> Plan:
    """Write the whole list in the caller's transaction, or raise ListRefused and write nothing."""
    if upload.status != "pending":
        raise ListRefused(_l("Danh sách này đã được áp dụng hoặc đã huỷ."))
    if actor is not None and actor.role == "commune" and not register.communes_may_upload(upload.province_id):
        raise ListRefused(_l("Tỉnh chưa cho phép cán bộ xã cập nhật sổ thôn."))
    db.session.execute(text("SELECT id FROM village_uploads WHERE id = :id FOR UPDATE"), {"id": upload.id})
    scope = Scope(upload.province_id, upload.commune_id)
    lines, shapes = _content(upload)
    register.lock_communes(_named_communes(lines, scope))
    result = plan(lines, shapes, scope)  # under the communes' locks: what is written is what is checked
    if result.problems:
        raise ListRefused(_l("Danh sách còn dòng lỗi; hãy sửa và gửi lại."))
    if result.digest() != upload.summary.get("digest"):
        raise ListRefused(_l("Sổ thôn của các xã này đã thay đổi từ lúc xem trước; hãy xem lại danh sách."))
    moved = changes = 0
    for commune in result.communes:
        after, shapes, removals, moves = result.work[commune.id]
        written = register.write_commune(commune, after, removals, moves, actor, upload, label or None, shapes)
        moved += written.moved
        changes += written.changes
    generations = {c.generation_id for c in result.communes}
    for generation_id in generations:
        new_boundary_edition(generation_id)  # the maps fetch the new cells
    upload.status = "applied"
    upload.applied_at = datetime.now(UTC)
    upload.summary = {
        **upload.summary,
        "communes": [c.id for c in result.communes],
        "changes": changes,
        "moved_petitions": moved,
    }
    return result


def discard(upload: VillageUpload) -> None:
    if upload.status == "pending":
        upload.status = "discarded"
