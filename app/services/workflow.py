"""A petition's life: every change goes through act(), with one table of what is allowed.

received → accepted | rejected (reason required) → in_progress → resolved
(answer required); forwarded to another commune or up to the province (the
receiving inbox accepts or rejects it again); merged into a duplicate;
re-placed to another village (note required); referred to a state agency;
redacted for the public. A citizen unsatisfied with the answer reopens it.
Every change writes one audit row; deadlines follow each change of status.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from flask_babel import lazy_gettext as _l
from psycopg.errors import LockNotAvailable
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.models import Area, AuditEvent, Petition, PetitionAnswer, Referral, User
from app.models.petition import OPEN_STATUSES, STATUS_NAMES, normalize_reference
from app.services import areas, deadlines, outbox, publication, scope


class WorkflowError(ValueError):
    """An action refused; the message is for the officer, in the officer's language when read."""

    def __init__(self, message):
        super().__init__(message)
        self._message = message  # a lazy translation: read in the request that shows it

    @property
    def message(self) -> str:
        return str(self._message)


class AreaChoice(WorkflowError):
    """The name typed matches several areas: the officer picks one of the choices (area code, label)."""

    def __init__(self, message: str, choices):
        super().__init__(message)
        self.choices = choices


def _area_typed(typed: str, levels: tuple[str, ...], what: str, **within) -> Area:
    """The area an officer typed by name or code, or WorkflowError (AreaChoice when the name is shared)."""
    try:
        return areas.pick(typed, levels, **within)
    except areas.NotOneArea as found:
        if found.choices:
            raise AreaChoice(
                _l("Có nhiều %(what)s trùng với «%(typed)s»: hãy chọn một.", what=what, typed=typed.strip()),
                found.choices,
            ) from None
        raise WorkflowError(
            _l("Không tìm thấy %(what)s nào có tên hoặc mã «%(typed)s».", what=what, typed=typed.strip()[:60])
        ) from None


@dataclass(frozen=True)
class Transition:
    label: str  # the button an officer presses
    sources: tuple[str, ...]  # statuses it may start from
    target: str | None  # the status it leads to (None: unchanged)


ALL = tuple(STATUS_NAMES)
TRANSITIONS = {
    "accept": Transition(_l("Thụ lý"), ("received", "forwarded"), "accepted"),
    "reject": Transition(_l("Không thụ lý"), ("received", "forwarded"), "rejected"),
    "start": Transition(_l("Bắt đầu giải quyết"), ("accepted",), "in_progress"),
    "resolve": Transition(_l("Trả lời công dân"), ("accepted", "in_progress"), "resolved"),
    "forward": Transition(_l("Chuyển xử lý"), OPEN_STATUSES, "forwarded"),
    "merge": Transition(_l("Gộp vào kiến nghị trùng"), OPEN_STATUSES, "merged"),
    "replace": Transition(_l("Đổi thôn, tổ dân phố"), OPEN_STATUSES, None),
    "refer": Transition(_l("Chuyển cơ quan nhà nước"), ("accepted", "in_progress"), None),
    "redact": Transition(_l("Biên tập nội dung công khai"), ALL, None),
    "release_photos": Transition(_l("Công khai ảnh"), ALL, None),
    "withhold_photos": Transition(_l("Thôi công khai ảnh"), ALL, None),
    "reopen": Transition(_l("Mở lại"), ("resolved",), "in_progress"),
    "assign": Transition(_l("Giao cho cán bộ"), OPEN_STATUSES, None),
}

# Actions that also depend on more than the status.
_ONLY_WHEN = {
    "release_photos": lambda p: bool(p.photos) and not p.photos_released,
    "withhold_photos": lambda p: p.photos_released,
}

# Who acted, as the history names them: the officer's username, or one of these (a partner's, an agency's name).
ACTOR_NAMES = {
    "citizen": _l("Công dân"),
    "system": _l("Hệ thống"),
    "email": _l("Thư điện tử"),
    "sms": _l("Tin nhắn SMS"),
}


def actor_name(label: str, actor_id: int | None = None) -> str:
    """An audit row's actor in the reader's language: "citizen" → Công dân, "partner:zalo-oa" → Đối tác zalo-oa.

    An officer's username stays as it is, whatever it is (an account may be named "system").
    """
    if actor_id is not None:
        return label
    if label in ACTOR_NAMES:
        return str(ACTOR_NAMES[label])
    kind, _, name = label.partition(":")
    if kind == "partner" and name:
        return str(_l("Đối tác %(name)s", name=name))
    if kind == "agency" and name:
        return str(_l("Cơ quan %(name)s", name=name))
    return label


CHANGED_MEANWHILE = _l("Kiến nghị này vừa được thay đổi. Hãy xem lại trạng thái mới rồi thao tác lại.")


# How each audit row reads in a petition's history.
EVENT_NAMES = {
    **{name: t.label for name, t in TRANSITIONS.items()},
    "received": _l("Tiếp nhận"),
    "viewed_contact": _l("Xem thông tin liên hệ"),
    "merged_in": _l("Nhận kiến nghị trùng gộp vào"),
    "escalated": _l("Nhắc quá hạn, báo cáo tỉnh"),
    "referral_no_reply": _l("Cơ quan không trả lời đúng hạn"),
    "agency_replied": _l("Cơ quan nhà nước đã trả lời"),
    "rated": _l("Công dân đánh giá"),
    "voices_flagged": _l("Phát hiện ý kiến ủng hộ dồn dập"),
    "voices_invalidated": _l("Hủy ý kiến ủng hộ bất thường"),
    "voices_kept": _l("Giữ ý kiến ủng hộ bị gắn cờ"),
    "contact_erased": _l("Ẩn danh thông tin liên hệ sau thời hạn lưu giữ"),
}


def allowed_actions(petition: Petition) -> list[str]:
    """The actions an officer may take on the petition now (reopen is the citizen's)."""
    return [
        name
        for name, t in TRANSITIONS.items()
        if petition.status in t.sources and name != "reopen" and _ONLY_WHEN.get(name, lambda p: True)(petition)
    ]


def act(
    petition: Petition,
    action: str,
    actor: User | None,
    *,
    note: str = "",
    expected_version: int | None = None,
    **details,
) -> None:
    """Apply one action, or raise WorkflowError; writes the audit row and commits.

    The petition's row is locked first, so of two officers acting at once one
    wins and the other is told it changed meanwhile (expected_version is the
    version the officer's page showed).
    """
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise WorkflowError(_l("Thao tác không hợp lệ."))
    _lock(petition)
    if expected_version is not None and petition.version != expected_version:
        raise WorkflowError(CHANGED_MEANWHILE)
    if not _ONLY_WHEN.get(action, lambda p: True)(petition):
        raise WorkflowError(_l("Thao tác không hợp lệ."))
    if petition.status not in transition.sources:
        raise WorkflowError(
            _l(
                "Không thể «%(action)s» kiến nghị đang ở trạng thái «%(status)s».",
                action=transition.label,
                status=petition.status_name,
            )
        )
    note = (note or "").strip()
    data = _HANDLERS[action](petition, actor, note, **details) or {}
    from_status = petition.status
    if transition.target:
        _set_status(petition, transition.target)
        if petition.due_at is not None:  # the deadline this step set, for the citizen's timeline
            data["due_at"] = petition.due_at.isoformat()
    record(petition, actor, action, note=note, from_status=from_status, to_status=transition.target, data=data)
    _announce(petition, action, from_status)
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        raise WorkflowError(CHANGED_MEANWHILE) from None


def _announce(petition: Petition, action: str, from_status: str) -> None:
    """Queue what this action tells others: partners' webhooks (a change of status, an answer), and the
    area alerts of a petition it published."""
    from app.services import webhooks

    if petition.status != from_status:
        webhooks.emit(petition, "petition.status_changed")
    if action == "resolve":
        webhooks.emit(petition, "petition.answered")
    if action == "accept" and publication.is_published(petition):
        outbox.add("send_alerts", petition.id)  # news for the area's alerts


def _lock(petition: Petition) -> None:
    """Lock the petition's row until the transaction ends and read it afresh."""
    db.session.execute(select(Petition.id).where(Petition.id == petition.id).with_for_update())
    db.session.refresh(petition)


def _lock_other(petition: Petition) -> None:
    """Lock a second petition without waiting (waiting could deadlock with an officer locking them the other way)."""
    try:
        with db.session.begin_nested():
            db.session.execute(select(Petition.id).where(Petition.id == petition.id).with_for_update(nowait=True))
    except OperationalError as exc:
        if isinstance(exc.orig, LockNotAvailable):
            raise WorkflowError(CHANGED_MEANWHILE) from None
        raise
    db.session.refresh(petition)


def record(
    petition: Petition | None,
    actor: User | None,
    action: str,
    *,
    note: str = "",
    from_status=None,
    to_status=None,
    data: dict | None = None,
    label: str | None = None,
) -> None:
    """Append one audit row (the table refuses updates and deletes)."""
    db.session.add(
        AuditEvent(
            actor_id=actor.id if actor else None,
            actor_label=label or (actor.username if actor else "system"),
            petition_id=petition.id if petition else None,
            action=action,
            from_status=from_status,
            to_status=to_status,
            note=note or None,
            data=data or {},
        )
    )


def _set_status(petition: Petition, status: str) -> None:
    now = datetime.now(UTC)
    petition.status = status
    petition.status_changed_at = now
    petition.updated_at = now
    petition.due_at = deadlines.due(status, petition.category_code, now) if status in OPEN_STATUSES else None


def _need(value, message: str):
    if not value:
        raise WorkflowError(message)
    return value


def _accept(petition, actor, note):
    petition.accepted_at = petition.accepted_at or datetime.now(UTC)  # published from now on, if the citizen allowed


def _reject(petition, actor, note):
    _need(note, _l("Cần ghi lý do không thụ lý."))


def _start(petition, actor, note):
    return None


def _resolve(petition, actor, note, answer: str = ""):
    answer = _need((answer or "").strip(), _l("Cần nội dung trả lời công dân."))
    entry = PetitionAnswer(petition_id=petition.id, body=answer, is_public=True, author_id=actor.id if actor else None)
    db.session.add(entry)
    db.session.flush()
    outbox.add("notify_citizen", petition.id, f"answered:{entry.id}")  # each answer round told anew
    on_time = petition.due_at is None or datetime.now(UTC) <= petition.due_at
    return {"answer_id": entry.id, "on_time": on_time}


def _forward(petition, actor, note, area_code: str = ""):
    typed = _need((area_code or "").strip(), _l("Cần chọn nơi nhận."))
    what, levels = _l("xã, phường hoặc tỉnh, thành phố"), ("commune", "province")
    own = (
        db.session.get(Area, _province_of(actor))
        if actor is not None and actor.role in ("commune", "province")
        else None
    )
    try:  # an officer of a commune or province names places of his own province first
        target = _area_typed(typed, levels, what, province=own)
    except AreaChoice:
        raise
    except WorkflowError:
        if own is None:
            raise
        target = _area_typed(typed, levels, what)  # elsewhere: refused below, with the reason
    if target.id == petition.assigned_area_id:
        raise WorkflowError(_l("Kiến nghị đang ở chính nơi này."))
    province_id = target.id if target.level == "province" else target.parent_id
    if actor is not None and actor.role in ("commune", "province") and province_id != _province_of(actor):
        raise WorkflowError(_l("Chỉ chuyển được trong tỉnh của mình; hãy chuyển lên tỉnh để tỉnh chuyển tiếp."))
    data = {"from_area": petition.assigned_area_id, "to_area": target.id, "to_code": target.code}
    petition.assigned_area_id = target.id
    petition.assignee_id = None  # the other inbox's officers assign it among themselves
    if petition.province_id is None:
        petition.province_id = province_id
    return data


def _communes_to_search(petition: Petition, actor: User | None) -> list[int]:
    """Where a village typed by name is looked for: the officer's commune, else the province's communes."""
    if actor is not None and actor.role == "commune":
        return [actor.area_id]
    province_id = _province_of(actor) if actor is not None and actor.role == "province" else petition.province_id
    if province_id is None:
        return []
    return list(db.session.scalars(select(Area.id).where(Area.parent_id == province_id, Area.level == "commune")))


def _province_of(user: User) -> int | None:
    return user.area.parent_id if user.role == "commune" else user.area_id


def _merge(petition, actor, note, into_code: str = ""):
    # By the petition's reference (its public id): officers never need the citizen's tracking code.
    public_id = normalize_reference(_need(into_code, _l("Cần mã kiến nghị được gộp vào.")))
    query = scope.petitions_visible_to(actor) if actor else select(Petition)
    target = db.session.scalar(query.where(Petition.public_id == public_id)) if public_id else None
    if target is None or target.id == petition.id:
        raise WorkflowError(_l("Không tìm thấy kiến nghị đang mở có mã này trong địa bàn của bạn."))
    _lock_other(target)
    # Only an open petition takes a merge, and a merged one is closed: no chain, no cycle.
    if not target.is_open or target.merged_into_id is not None:
        raise WorkflowError(_l("Không tìm thấy kiến nghị đang mở có mã này trong địa bàn của bạn."))
    petition.merged_into_id = target.id
    target.supporters = Petition.supporters + petition.supporters  # in SQL: no voice lost to one added meanwhile
    record(target, actor, "merged_in", data={"from": petition.id})
    return {"into": target.id}


def _replace(petition, actor, note, village_code: str = ""):
    _need(note, _l("Cần ghi chú lý do đổi thôn, tổ dân phố."))
    typed = _need((village_code or "").strip(), _l("Cần chọn thôn, tổ dân phố."))
    village = _area_typed(typed, ("village",), _l("thôn, tổ dân phố"), communes=_communes_to_search(petition, actor))
    allowed = scope.areas_visible_to(actor).where(Area.id == village.parent_id) if actor else None
    if allowed is not None and db.session.scalar(allowed) is None:  # a code names villages anywhere
        raise WorkflowError(_l("Thôn, tổ dân phố này không thuộc địa bàn của bạn."))
    data = {"from_village": petition.village_id, "to_village": village.id}
    # The inbox follows the commune when it was the commune's, or when the petition had no commune
    # (a province's or central staff's queue of unplaced petitions): placing it hands it to the commune.
    if petition.commune_id is None or petition.assigned_area_id == petition.commune_id:
        if petition.assigned_area_id != village.parent_id:
            petition.assignee_id = None  # handed to another inbox
        petition.assigned_area_id = village.parent_id
    petition.village_id, petition.commune_id = village.id, village.parent_id
    petition.province_id = village.parent.parent_id  # central staff may move it to another province
    return data


def _refer(petition, actor, note, agency: str = "", due_on: date | None = None, agency_id: int | None = None):
    from app.services import referrals

    listed = None
    if agency_id:  # a listed agency serving the petition's place, sent the referral through its channel
        listed = next((a for a in referrals.agencies_for(petition) if a.id == agency_id), None)
        if listed is None:
            raise WorkflowError(_l("Cơ quan đã chọn không phục vụ địa bàn của kiến nghị này."))
        if petition.public_title is None or petition.public_body is None:
            # The agency is sent the text as the public would read it: the officer has looked for personal data.
            raise WorkflowError(
                _l(
                    "Hãy «Biên tập nội dung công khai» (bỏ họ tên, số điện thoại, địa chỉ của công dân) "
                    "trước khi chuyển kiến nghị đến cơ quan."
                )
            )
        agency = listed.name
    agency = _need((agency or "").strip(), _l("Cần chọn cơ quan nhận, hoặc ghi tên cơ quan."))
    if due_on is None or due_on <= datetime.now(UTC).date():
        raise WorkflowError(_l("Hạn trả lời của cơ quan phải là một ngày sau hôm nay."))
    referral = Referral(
        petition_id=petition.id,
        agency=agency[:200],
        agency_row=listed,
        due_on=due_on,
        created_by_id=actor.id if actor else None,
    )
    db.session.add(referral)
    db.session.flush()
    referrals.queue_sending(referral)
    return {"referral_id": referral.id, "agency": referral.agency, "due_on": due_on.isoformat()}


def current_assignee(petition: Petition) -> User | None:
    """The officer the petition is assigned to, while that officer is active and of the inbox holding it."""
    user = petition.assignee
    if user is None or not user.active or user.area_id != petition.assigned_area_id:
        return None
    return user


def assignable(petition: Petition) -> list[User]:
    """The officers a petition may be assigned to: the active officers of the inbox that holds it."""
    if petition.assigned_area_id is None:
        return []
    return list(
        db.session.scalars(
            select(User)
            .where(User.area_id == petition.assigned_area_id, User.active, User.role.in_(("commune", "province")))
            .order_by(User.full_name, User.username)
        )
    )


def _assign(petition, actor, note, assignee: str = ""):
    chosen = next((u for u in assignable(petition) if u.username == (assignee or "").strip()), None)
    if chosen is None:
        raise WorkflowError(_l("Hãy chọn một cán bộ của đơn vị đang giữ kiến nghị."))
    if chosen.id == petition.assignee_id:
        raise WorkflowError(_l("Kiến nghị đã giao cho cán bộ này."))
    before = db.session.get(User, petition.assignee_id) if petition.assignee_id else None
    petition.assignee_id = chosen.id
    return {"from": before.username if before else None, "to": chosen.username}


def _redact(petition, actor, note, public_title: str = "", public_body: str = ""):
    _need(note, _l("Cần ghi lý do biên tập."))
    data = {
        "title_changed": bool(public_title) and public_title != petition.shown_title,
        "body_changed": bool(public_body) and public_body != petition.shown_body,
    }
    petition.public_title = public_title.strip() or None
    petition.public_body = public_body.strip() or None
    return data  # the original text stays in title and body


def _release_photos(petition, actor, note):
    petition.photos_released = True  # shown on the published view only once the petition is published


def _withhold_photos(petition, actor, note):
    petition.photos_released = False


def _reopen(petition, actor, note):
    return None


_HANDLERS = {
    "accept": _accept,
    "reject": _reject,
    "start": _start,
    "resolve": _resolve,
    "forward": _forward,
    "merge": _merge,
    "replace": _replace,
    "refer": _refer,
    "redact": _redact,
    "release_photos": _release_photos,
    "withhold_photos": _withhold_photos,
    "reopen": _reopen,
    "assign": _assign,
}
