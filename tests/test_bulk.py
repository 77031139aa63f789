"""One action on a selection of the inbox: each petition a legal transition of its own with its audit row,
the refused ones reported by line, nothing outside the officer's scope touched."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Petition
from app.services import bulk
from app.services.workflow import act
from tests.factories import csrf_token, log_in, officer, petition_in, slice_communes


@pytest.fixture
def inbox(app_ctx):
    here, there = slice_communes(2)
    return {"here": here, "there": there, "officer": officer("commune", here, username="can.bo.hang.loat")}


def post_bulk(client, ids, action, **fields):
    token = csrf_token(client, "/officer/")
    data = {"csrf_token": token, "action": action, "ids": [str(i) for i in ids], **fields}
    return client.post("/officer/bulk", data=data)


def test_accepting_a_selection_with_one_illegal_transition_reports_it_and_does_the_rest(client, inbox):
    fresh = [petition_in(inbox["here"]) for _ in range(3)]
    rejected = petition_in(inbox["here"], title="Đã không thụ lý")
    act(rejected, "reject", inbox["officer"], note="Không thuộc thẩm quyền.")
    log_in(client, inbox["officer"])
    response = post_bulk(client, [fresh[0].id, rejected.id, fresh[1].id, fresh[2].id], "accept")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Thụ lý: 3/4" in page
    lines = re.findall(r'<li class="(done|refused)"><strong>([^<]+)</strong>', page)
    assert lines == [
        ("done", fresh[0].reference),
        ("refused", rejected.reference),
        ("done", fresh[1].reference),
        ("done", fresh[2].reference),
    ]
    assert "Không thể «Thụ lý» kiến nghị đang ở trạng thái «Không thụ lý»" in page
    db.session.expire_all()
    assert [p.status for p in fresh] == ["accepted"] * 3 and rejected.status == "rejected"
    audited = db.session.scalars(select(AuditEvent.petition_id).where(AuditEvent.action == "accept")).all()
    assert sorted(audited) == sorted(p.id for p in fresh)  # one audit row each


def test_a_petition_outside_the_officer_s_scope_is_reported_and_untouched(client, inbox):
    mine, theirs = petition_in(inbox["here"]), petition_in(inbox["there"])
    lines = bulk.apply(inbox["officer"], [mine.id, theirs.id], "accept")
    assert [line.done for line in lines] == [True, False] and lines[1].reference == f"#{theirs.id}"
    assert db.session.get(Petition, theirs.id).status == "received"


def test_merging_a_selection_into_one(client, inbox):
    keep = petition_in(inbox["here"], title="Giữ lại")
    copies = [petition_in(inbox["here"]) for _ in range(2)]
    lines = bulk.apply(inbox["officer"], [c.id for c in copies] + [keep.id], "merge", into_code=keep.reference)
    assert [line.done for line in lines] == [True, True, False]  # the kept one cannot merge into itself
    db.session.refresh(keep)
    assert keep.supporters == 3 and all(db.session.get(Petition, c.id).merged_into_id == keep.id for c in copies)


def test_assigning_and_forwarding_a_selection(client, inbox):
    officer("commune", inbox["here"], username="nguoi.phu.trach")
    picked = [petition_in(inbox["here"]) for _ in range(2)]
    log_in(client, inbox["officer"])
    assert "2/2" in post_bulk(client, [p.id for p in picked], "assign", assignee="nguoi.phu.trach").get_data(
        as_text=True
    )
    assert "2/2" in post_bulk(client, [p.id for p in picked], "forward", area_code=inbox["there"]).get_data(
        as_text=True
    )
    db.session.expire_all()
    assert all(p.status == "forwarded" and p.assignee_id is None for p in picked)


def test_an_action_that_is_not_offered_in_bulk_is_a_400(client, inbox):
    p = petition_in(inbox["here"])
    log_in(client, inbox["officer"])
    assert post_bulk(client, [p.id], "resolve", answer="x").status_code == 400
