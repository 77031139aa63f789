"""One action on many petitions an officer picked in the inbox: each still a legal transition of its own.

Every petition goes through the workflow on its own (its row locked, its
status checked, its audit row written, its own commit), so one refused
leaves the others done; the officer gets a line per petition saying which.
Only petitions of the officer's scope are touched.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.models import Petition, User
from app.services import scope, workflow

ACTIONS = ("accept", "assign", "forward", "merge")
MAX_PETITIONS = 200


@dataclass(frozen=True)
class Line:
    reference: str
    done: bool
    message: str


def apply(user: User, petition_ids: list[int], action: str, note: str = "", **details) -> list[Line]:
    """Apply the action to each petition; a line per petition, in the order picked."""
    if action not in ACTIONS:
        raise workflow.WorkflowError(_l("Thao tác không hợp lệ."))
    lines = []
    for petition_id in list(dict.fromkeys(petition_ids))[:MAX_PETITIONS]:
        petition = db.session.scalar(scope.petitions_visible_to(user).where(Petition.id == petition_id))
        if petition is None:
            lines.append(Line(f"#{petition_id}", False, str(_l("Không tìm thấy trong địa bàn của bạn."))))
            continue
        reference = petition.reference
        try:
            workflow.act(petition, action, user, note=note, **details)
        except workflow.WorkflowError as refused:
            db.session.rollback()
            lines.append(Line(reference, False, refused.message))
        else:
            lines.append(Line(reference, True, str(workflow.TRANSITIONS[action].label)))
    return lines
