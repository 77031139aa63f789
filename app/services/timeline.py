"""What a citizen and the public read of a petition's history: who handles it, and its timeline.

Both come from what the portal itself acts on, never from a parallel guess:
who handles a petition is the Front committee whose inbox holds it (the
column app/services/scope.py gives officers their scope by); the timeline is
the audit trail (app/models/audit.py) that every change writes through
app/services/workflow.py, read through the table below.

A step is shown only when it is in STEPS: received, accepted, rejected,
started, forwarded (to which Front committee), referred (to which state
agency, and by when it must answer), answered, merged, reopened and the
citizen's rating. Never shown, to anyone outside the officers: who acted
(officers' names and accounts, partners), notes and reasons typed by
officers, views of contact details, reminders and escalations, voice flags,
redactions, re-placing, photo releases. Deadlines are those each step set
(recorded with it), and "overdue" is the petition's own (Petition.is_overdue).

The citizen (the status page, opened by the tracking code) reads every step,
with its date and time and the text of each public answer. The public
(/p/<public id>, a published petition) reads a shorter timeline: days
without hours, no answer text (the page shows the published answers apart)
and no rating.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import Area, AuditEvent, Petition
from app.services import publication, scope
from app.services.workdays import VIETNAM, end_of_day

# audit action → (step, what the reader is told happened)
STEPS = {
    "received": ("received", _l("Đã tiếp nhận")),
    "accept": ("accepted", _l("Đã thụ lý")),
    "reject": ("rejected", _l("Không thụ lý")),
    "start": ("started", _l("Bắt đầu giải quyết")),
    "forward": ("forwarded", _l("Đã chuyển xử lý")),
    "refer": ("referred", _l("Đã chuyển đến cơ quan nhà nước")),
    "resolve": ("answered", _l("Đã trả lời")),
    "merge": ("merged", _l("Đã gộp vào kiến nghị trùng nội dung")),
    "reopen": ("reopened", _l("Mở lại để tiếp tục giải quyết")),
    "rated": ("rated", _l("Công dân đánh giá câu trả lời")),
}
NOT_PUBLIC = ("rated",)  # steps the public timeline leaves out
# What a status's deadline is for.
DUE_LABELS = {
    "received": _l("Hạn xem xét thụ lý"),
    "forwarded": _l("Hạn xem xét thụ lý"),
    "accepted": _l("Hạn giải quyết"),
    "in_progress": _l("Hạn giải quyết"),
}
AGENCY_DUE = _l("Hạn cơ quan trả lời")
CENTRAL = _l("Ủy ban Trung ương Mặt trận Tổ quốc Việt Nam")


def committee(area: Area | None) -> str:
    """The Front committee of an area ("Ủy ban Mặt trận Tổ quốc Việt Nam xã Hương Long"); None: the central one."""
    if area is None:
        return str(CENTRAL)
    return str(_l("Ủy ban Mặt trận Tổ quốc Việt Nam %(area)s", area=f"{area.unit_type.lower()} {area.name}"))


@dataclass(frozen=True)
class Handler:
    name: str  # the Front committee that handles the petition now
    note: str | None  # why there, while no commune's committee has it


def handler(petition: Petition) -> Handler:
    """Who handles the petition now: the committee whose inbox holds it (scope.inbox_of)."""
    inbox = scope.inbox_of(petition)
    if inbox is None:
        return Handler(committee(None), str(_l("Chưa xác định được tỉnh, thành phố; Trung ương sẽ phân loại.")))
    if inbox.level == "province" and petition.commune_id is None:
        note = _l("Chưa xác định được xã, phường; cán bộ tỉnh sẽ xác định nơi và chuyển về xã.")
        return Handler(committee(inbox), str(note))
    return Handler(committee(inbox), None)


@dataclass(frozen=True)
class Step:
    kind: str  # a value of STEPS
    at: datetime
    what: str
    to: str | None = None  # the Front committee or the state agency it went to
    due: datetime | None = None  # the deadline this step set
    due_label: str | None = None
    due_is_day: bool = False  # an agency's due date: a whole day
    detail: str | None = None  # the rating
    answer: str | None = None  # the answer's text (the citizen's timeline only)
    link: str | None = None  # the public id of the petition it was merged into, when that one is published
    current: bool = False  # the step an open petition is at (its deadline runs now)
    overdue: bool = False

    @property
    def at_iso(self) -> str:
        return self.at.astimezone(VIETNAM).isoformat(timespec="minutes")

    @property
    def day_iso(self) -> str:
        return self.at.astimezone(VIETNAM).date().isoformat()

    @property
    def due_iso(self) -> str:
        local = self.due.astimezone(VIETNAM)
        return local.date().isoformat() if self.due_is_day else local.isoformat(timespec="minutes")


def for_citizen(petition: Petition) -> list[Step]:
    """The whole timeline the citizen reads on the status page."""
    return _steps(petition, public=False)


def for_public(petition: Petition) -> list[Step]:
    """The shorter timeline of the published page: no answer text, no rating."""
    return _steps(petition, public=True)


def _steps(petition: Petition, public: bool) -> list[Step]:
    events = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.petition_id == petition.id, AuditEvent.action.in_(list(STEPS)))
        .order_by(AuditEvent.id)
    ).all()
    areas = _areas({e.data.get("to_area") for e in events if e.action == "forward"})
    answers = {a.id: a for a in petition.public_answers}
    current = _current_event(events, petition)
    steps, shown_answers = [], set()
    for event in events:
        kind, what = STEPS[event.action]
        if public and kind in NOT_PUBLIC:
            continue
        step = {"kind": kind, "at": event.at, "what": str(what)}
        due = event.data.get("due_at")
        if event is current and petition.is_open:
            step.update(current=True, overdue=petition.is_overdue)
            due = petition.due_at  # the live deadline: the one "overdue" is judged by
        elif due:
            due = datetime.fromisoformat(due)
        if due and event.to_status in DUE_LABELS:
            step.update(due=due, due_label=str(DUE_LABELS[event.to_status]))
        if kind == "forwarded":
            step["to"] = committee(areas.get(event.data.get("to_area")))
        elif kind == "referred":
            step["to"] = event.data.get("agency")
            if event.data.get("due_on"):
                due_on = date.fromisoformat(event.data["due_on"])
                step.update(due=end_of_day(due_on), due_label=str(AGENCY_DUE), due_is_day=True)
        elif kind == "answered":
            answer = answers.get(event.data.get("answer_id"))
            if answer is None:
                continue  # an answer no longer public is not announced either
            shown_answers.add(answer.id)
            step["answer"] = None if public else answer.body
        elif kind == "rated":
            satisfied = event.data.get("satisfied")
            step["detail"] = str(_l("Hài lòng") if satisfied else _l("Chưa hài lòng"))
        elif kind == "merged":
            into = db.session.get(Petition, event.data.get("into")) if event.data.get("into") else None
            step["link"] = into.public_id if into is not None and publication.is_published(into) else None
        steps.append(Step(**step))
    # Public answers no audit row announces (entered before the trail recorded them) still reach the reader.
    for answer in answers.values():
        if answer.id not in shown_answers:
            steps.append(
                Step("answered", answer.created_at, str(STEPS["resolve"][1]), answer=None if public else answer.body)
            )
    return sorted(steps, key=lambda s: s.at)


def _current_event(events: list[AuditEvent], petition: Petition) -> AuditEvent | None:
    """The last change of status, when it led to the status the petition is in (its deadline runs now)."""
    for event in reversed(events):
        if event.to_status:
            return event if event.to_status == petition.status else None
    return None


def _areas(ids: set) -> dict[int, Area]:
    ids = {i for i in ids if isinstance(i, int)}
    return {a.id: a for a in db.session.scalars(select(Area).where(Area.id.in_(ids)))} if ids else {}
