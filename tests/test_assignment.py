"""A petition assigned to a named officer of its inbox: "my petitions", reassignment in the history,
the overdue reminder to the assignee first, and the assignment ended when the petition leaves the inbox."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Notice
from app.services import reminders
from app.services.workflow import WorkflowError, act
from tests.factories import csrf_token, log_in, officer, petition_in, slice_communes


@pytest.fixture
def team(app_ctx):
    here, there = slice_communes(2)
    return {
        "here": here,
        "lan": officer("commune", here, username="nguyen.thi.lan"),
        "minh": officer("commune", here, username="tran.van.minh"),
        "elsewhere": officer("commune", there, username="le.van.khac"),
        "there": there,
    }


def test_assigning_and_reassigning_are_in_the_history(team):
    petition = petition_in(team["here"])
    act(petition, "assign", team["lan"], assignee="nguyen.thi.lan")
    act(petition, "assign", team["lan"], assignee="tran.van.minh")
    assert petition.assignee.username == "tran.van.minh"
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "assign").order_by(AuditEvent.id)).all()
    assert [(r.data["from"], r.data["to"]) for r in rows] == [
        (None, "nguyen.thi.lan"),
        ("nguyen.thi.lan", "tran.van.minh"),
    ]


def test_only_an_officer_of_the_inbox_holding_it_can_be_assigned(team):
    petition = petition_in(team["here"])
    with pytest.raises(WorkflowError, match="cán bộ của đơn vị đang giữ kiến nghị"):
        act(petition, "assign", team["lan"], assignee="le.van.khac")


def test_my_petitions_lists_only_those_assigned_to_me(client, team):
    mine, theirs, _ = (
        petition_in(team["here"], title="Của tôi"),
        petition_in(team["here"], title="Của anh Minh"),
        petition_in(team["here"], title="Chưa giao ai"),
    )
    act(mine, "assign", team["lan"], assignee="nguyen.thi.lan")
    act(theirs, "assign", team["lan"], assignee="tran.van.minh")
    log_in(client, team["lan"])
    page = client.get("/officer/?mine=y").get_data(as_text=True)
    assert "Của tôi" in page and "Của anh Minh" not in page and "Chưa giao ai" not in page
    shown = client.get(f"/officer/petitions/{theirs.id}").get_data(as_text=True)
    assert 'id="assignee">tran.van.minh</dd>' in shown


def test_the_overdue_reminder_goes_to_the_assignee_not_the_whole_commune(team):
    petition = petition_in(team["here"])
    act(petition, "assign", team["lan"], assignee="tran.van.minh")
    petition.due_at = datetime.now(UTC) - timedelta(hours=1)
    db.session.commit()
    reminders.run()
    told = set(db.session.scalars(select(Notice.recipient).where(Notice.petition_id == petition.id)))
    assert "tran.van.minh" in told and "nguyen.thi.lan" not in told


def test_an_unassigned_overdue_petition_still_reminds_every_officer_of_the_inbox(team):
    petition = petition_in(team["here"])
    petition.due_at = datetime.now(UTC) - timedelta(hours=1)
    db.session.commit()
    reminders.run()
    told = set(db.session.scalars(select(Notice.recipient).where(Notice.petition_id == petition.id)))
    assert {"tran.van.minh", "nguyen.thi.lan"} <= told


def test_forwarding_ends_the_assignment(team):
    petition = petition_in(team["here"])
    act(petition, "assign", team["lan"], assignee="nguyen.thi.lan")
    act(petition, "forward", team["lan"], area_code=team["there"])
    assert petition.assignee_id is None


def test_an_officer_assigns_from_the_petition_page(client, team):
    petition = petition_in(team["here"])
    log_in(client, team["lan"])
    page = f"/officer/petitions/{petition.id}"
    html = client.get(page).get_data(as_text=True)
    assert '<option value="tran.van.minh"' in html and "le.van.khac" not in html  # only this inbox's officers
    data = {"csrf_token": csrf_token(client, page), "action": "assign", "version": petition.version}
    assert client.post(f"{page}/act", data={**data, "assignee": "tran.van.minh"}).status_code == 303
    db.session.refresh(petition)
    assert petition.assignee.username == "tran.van.minh"


def test_an_assignee_who_left_the_inbox_is_not_reminded_and_the_inbox_is(team):
    petition = petition_in(team["here"])
    act(petition, "assign", team["lan"], assignee="tran.van.minh")
    team["minh"].area_id = team["elsewhere"].area_id  # moved to another commune since
    petition.due_at = datetime.now(UTC) - timedelta(hours=1)
    db.session.commit()
    reminders.run()
    told = set(db.session.scalars(select(Notice.recipient).where(Notice.petition_id == petition.id)))
    assert "nguyen.thi.lan" in told and "tran.van.minh" not in told


def test_an_officer_named_like_a_system_actor_keeps_their_name_in_the_history(team):
    from app.services.workflow import actor_name

    assert actor_name("system") == "Hệ thống" and actor_name("system", actor_id=7) == "system"
