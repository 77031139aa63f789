"""A petition placed in a province only: in that province's queue to place, seen by nobody else below central."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.extensions import db
from app.geodata.importer import import_features
from app.models import Area, Petition
from app.services import workflow
from app.services.inbox import InboxFilter, page, unplaced_count
from tests.factories import csrf_token, log_in, mini_geography, officer, slice_communes, submit_petition

TITLE = "Sạt lở bờ sông chưa rõ xã nào"


@pytest.fixture
def world(client):
    """Province 46 and the hand-made province 99 side by side; a citizen's petition placed in 46 only."""
    import_features(mini_geography(), "2025")
    assert submit_petition(client, title=TITLE, province="46").status_code == 303
    petition = db.session.scalars(select(Petition).where(Petition.title == TITLE)).one()
    commune = slice_communes(1)[0]
    return {
        "petition": petition,
        "commune_code": commune,
        "province_46": officer("province", "46"),
        "province_99": officer("province", "99"),
        "commune_46": officer("commune", commune),
        "central": officer("central"),
    }


def inbox_html(client, user, query: str = "") -> str:
    log_in(client, user)
    response = client.get(f"/officer/{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_province_s_officer_finds_it_in_the_unplaced_queue(client, world):
    html = inbox_html(client, world["province_46"], "?unplaced=1")
    tab = re.search(r'<a id="unplaced-tab"[^>]*>(.*?)</a>', html, re.S)
    assert 'aria-current="page"' in tab.group(0) and "Chưa xác định xã" in tab.group(1)
    assert re.search(r'data-queue="unplaced">1<', html)
    assert world["petition"].reference in html and TITLE in html
    placed = submit_petition(client, title="Đèn đường hỏng ở thôn", province="46", commune=world["commune_code"])
    assert placed.status_code == 303
    queue = page(world["province_46"], InboxFilter(unplaced=True)).petitions
    assert [p.title for p in queue] == [TITLE]  # the one with a commune is not in the queue
    assert {p.title for p in page(world["province_46"], InboxFilter()).petitions} == {TITLE, "Đèn đường hỏng ở thôn"}
    assert unplaced_count(world["province_46"], InboxFilter()) == 1


def test_another_province_s_officer_does_not_see_it(client, world):
    html = inbox_html(client, world["province_99"], "?unplaced=1")
    assert TITLE not in html and world["petition"].reference not in html
    assert re.search(r'data-queue="unplaced">0<', html)
    assert client.get(f"/officer/petitions/{world['petition'].id}").status_code == 404


def test_commune_officers_have_no_such_queue_and_do_not_see_it(client, world):
    html = inbox_html(client, world["commune_46"], "?unplaced=1")
    assert 'id="unplaced-tab"' not in html
    assert TITLE not in html
    assert client.get(f"/officer/petitions/{world['petition'].id}").status_code == 404
    assert page(world["commune_46"], InboxFilter()).petitions == []


def test_central_staff_see_it_too(client, world):
    assert TITLE in inbox_html(client, world["central"], "?unplaced=1")


def test_placing_it_in_a_village_hands_it_to_that_commune(client, world):
    petition, province_officer = world["petition"], world["province_46"]
    commune = db.session.scalars(select(Area).where(Area.code == world["commune_code"])).one()
    village = db.session.scalars(select(Area).where(Area.parent_id == commune.id).order_by(Area.code)).first()
    log_in(client, province_officer)
    token = csrf_token(client, "/officer/")
    response = client.post(
        f"/officer/petitions/{petition.id}/act",
        data={
            "csrf_token": token,
            "action": "replace",
            "version": petition.version,
            "village_code": village.code,
            "note": "Cán bộ tỉnh xác minh qua điện thoại.",
        },
    )
    assert response.status_code == 303
    db.session.refresh(petition)
    assert (petition.village_id, petition.commune_id, petition.assigned_area_id) == (
        village.id,
        village.parent_id,
        village.parent_id,
    )
    assert page(province_officer, InboxFilter(unplaced=True)).petitions == []
    assert [p.id for p in page(world["commune_46"], InboxFilter()).petitions] == [petition.id]


def test_re_placing_a_petition_the_commune_sent_up_leaves_it_with_the_province(client, world):
    commune_officer = world["commune_46"]
    submit_petition(client, title="Xã chuyển lên tỉnh", province="46", commune=world["commune_code"])
    sent_up = db.session.scalars(select(Petition).where(Petition.title == "Xã chuyển lên tỉnh")).one()
    workflow.act(sent_up, "forward", commune_officer, area_code="46")
    village = db.session.scalars(select(Area).where(Area.parent_id == sent_up.commune_id)).first()
    workflow.act(sent_up, "replace", world["province_46"], note="Đúng thôn khác.", village_code=village.code)
    assert sent_up.assigned_area_id == sent_up.province_id  # it was sent up on purpose: it stays up
