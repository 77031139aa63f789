"""Notices to citizens and officers (SMS, Zalo, e-mail) behind one interface.

The default backend ("record") only writes the message to the notices table,
so it can be checked; a real gateway is another class with the same send().
"""

from __future__ import annotations

from typing import Protocol

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import Notice, Petition, User


class Backend(Protocol):
    def send(self, channel: str, recipient: str, body: str) -> None: ...


class RecordOnly:
    """Delivers nothing; the notices table is the record of what would have been sent."""

    def send(self, channel: str, recipient: str, body: str) -> None:
        return None


BACKENDS = {"record": RecordOnly}


def _deliver(channel: str, recipient: str, body: str, kind: str, *, petition_id=None, user_id=None) -> Notice:
    BACKENDS[current_app.config["NOTICE_BACKEND"]]().send(channel, recipient, body)
    notice = Notice(
        petition_id=petition_id, user_id=user_id, channel=channel, recipient=recipient, body=body, kind=kind
    )
    db.session.add(notice)
    return notice


def already_sent(petition_id: int, kind: str) -> bool:
    return (
        db.session.scalar(select(Notice.id).where(Notice.petition_id == petition_id, Notice.kind == kind).limit(1))
        is not None
    )


def notify_citizen(petition: Petition, kind: str) -> Notice | None:
    """Tell the citizen (by SMS) that their petition has an answer; anonymous citizens cannot be told."""
    if petition.is_anonymous or not petition.contact_phone or already_sent(petition.id, kind):
        return None
    body = (
        f"Mat tran To quoc: kien nghi {petition.display_code} da co tra loi. Xem tai /petitions/{petition.display_code}"
    )
    return _deliver("sms", petition.contact_phone, body, kind, petition_id=petition.id)


def notify_officers(petition: Petition, officers: list[User], kind: str, body: str) -> None:
    for officer in officers:
        _deliver("portal", officer.username, body, kind, petition_id=petition.id, user_id=officer.id)
