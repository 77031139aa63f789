"""The commune officer's inbox: filters, search, counts, pages; filing for a citizen; demo accounts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.models import AuditEvent, Petition
from app.services.inbox import InboxFilter, counts, page
from app.services.workflow import act
from tests.factories import csrf_token, log_in, officer, petition_in, slice_communes


@pytest.fixture
def commune(app_ctx):
    code = slice_communes(1)[0]
    villages = (
        db.session.execute(
            text(
                "SELECT v.code FROM areas v JOIN areas c ON c.id = v.parent_id "
                "WHERE c.code = :c ORDER BY v.code LIMIT 2"
            ),
            {"c": code},
        )
        .scalars()
        .all()
    )
    return {"code": code, "villages": villages, "officer": officer("commune", code)}


def codes(result) -> list[str]:
    return [p.tracking_code for p in result.petitions]


def test_filters_each_narrow_the_inbox(commune):
    user = commune["officer"]
    water = petition_in(
        commune["code"], title="Nước sinh hoạt nhiễm bẩn", category="power_water", chosen_code=commune["villages"][0]
    )
    road = petition_in(commune["code"], title="Ổ gà trên đường liên thôn", chosen_code=commune["villages"][1])
    act(road, "accept", user)
    road.due_at = road.created_at - timedelta(days=1)
    water.created_at = water.created_at - timedelta(days=40)
    db.session.flush()
    assert set(codes(page(user, InboxFilter()))) == {water.tracking_code, road.tracking_code}
    assert codes(page(user, InboxFilter(status="accepted"))) == [road.tracking_code]
    assert codes(page(user, InboxFilter(category="power_water"))) == [water.tracking_code]
    assert codes(page(user, InboxFilter(village=commune["villages"][1]))) == [road.tracking_code]
    assert codes(page(user, InboxFilter(overdue=True))) == [road.tracking_code]
    assert codes(page(user, InboxFilter(since=(road.created_at - timedelta(days=1)).date()))) == [road.tracking_code]
    assert codes(page(user, InboxFilter(until=(water.created_at + timedelta(days=1)).date()))) == [water.tracking_code]
    assert codes(page(user, InboxFilter(method="chosen"))) == [road.tracking_code, water.tracking_code]
    assert codes(page(user, InboxFilter(method="unlocated"))) == []


def test_text_search_ignores_diacritics_and_case(commune):
    user = commune["officer"]
    water = petition_in(commune["code"], title="Nước sinh hoạt nhiễm bẩn")
    petition_in(commune["code"], title="Ổ gà trên đường")
    for query in ("nuoc sinh hoat", "NƯỚC", "nhiem ban"):
        assert codes(page(user, InboxFilter(q=query))) == [water.tracking_code], query
    assert codes(page(user, InboxFilter(q="100%_"))) == []


def test_counts_per_status_equal_the_rows(commune):
    user = commune["officer"]
    made = [petition_in(commune["code"]) for _ in range(3)]
    act(made[0], "accept", user)
    act(made[1], "reject", user, note="Trùng nội dung đã trả lời.")
    assert counts(user, InboxFilter()) == {"received": 1, "accepted": 1, "rejected": 1}


def test_pages_follow_each_other_without_gaps_or_repeats(commune):
    user = commune["officer"]
    made = [petition_in(commune["code"], title=f"Kiến nghị số {i}") for i in range(7)]
    seen, cursor = [], ""
    while True:
        result = page(user, InboxFilter(after=cursor), size=3)
        seen += codes(result)
        if not result.next_cursor:
            break
        cursor = result.next_cursor
    assert sorted(seen) == sorted(p.tracking_code for p in made) and len(seen) == 7


def test_most_urgent_first_puts_the_earliest_deadline_on_top(commune):
    user = commune["officer"]
    later, sooner = petition_in(commune["code"]), petition_in(commune["code"])
    sooner.due_at = later.due_at - timedelta(days=2)
    db.session.flush()
    assert codes(page(user, InboxFilter(sort="urgent")))[:2] == [sooner.tracking_code, later.tracking_code]


def test_a_mangled_cursor_starts_from_the_first_page(commune):
    petition_in(commune["code"])
    assert len(page(commune["officer"], InboxFilter(after="not-a-cursor!!")).petitions) == 1


def test_the_inbox_page_shows_counts_and_filters(client, commune):
    petition_in(commune["code"], title="Nước sinh hoạt nhiễm bẩn")
    log_in(client, commune["officer"])
    html = client.get("/officer/?q=nuoc&status=received").get_data(as_text=True)
    assert "Nước sinh hoạt nhiễm bẩn" in html
    assert re.search(r'data-status="received">1<', html)


def test_an_officer_files_a_petition_for_a_citizen_with_the_channel(client, commune):
    log_in(client, commune["officer"])
    token = csrf_token(client, "/officer/petitions/new")
    response = client.post(
        "/officer/petitions/new",
        data={
            "csrf_token": token,
            "idempotency_key": "5b0c2f1e9d8a7b6c5d4e3f2a1b0c9d8e",
            "channel": "voter_meeting",
            "title": "Cử tri kiến nghị sửa cầu",
            "body": "Cây cầu tạm đã xuống cấp nguy hiểm.",
            "category": "roads",
            "province": "46",
            "commune": commune["code"],
            "anonymous": "n",
            "name": "Đỗ Văn Em",
            "phone": "0356789123",
            "consent": "y",
            "action": "submit",
        },
    )
    assert response.status_code == 303
    petition = db.session.scalars(select(Petition).where(Petition.title == "Cử tri kiến nghị sửa cầu")).one()
    assert (petition.channel, petition.filed_by_id, petition.commune.code) == (
        "voter_meeting",
        commune["officer"].id,
        commune["code"],
    )
    first = db.session.scalars(select(AuditEvent).where(AuditEvent.petition_id == petition.id)).first()
    assert (first.action, first.actor_id, first.data["channel"]) == ("received", commune["officer"].id, "voter_meeting")


def officer_files(client, **fields):
    token = csrf_token(client, "/officer/petitions/new")
    data = {
        "csrf_token": token,
        "idempotency_key": "7c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f",
        "channel": "hotline",
        "title": "Cử tri báo cầu hỏng",
        "body": "Cây cầu tạm đã xuống cấp nguy hiểm.",
        "category": "roads",
        "anonymous": "y",
        "consent": "y",
        "action": "submit",
        **fields,
    }
    return client.post("/officer/petitions/new", data=data)


def test_an_officer_filing_without_a_place_files_it_in_their_own_commune(client, commune):
    log_in(client, commune["officer"])
    assert "Không chọn nơi thì kiến nghị thuộc" in client.get("/officer/petitions/new").get_data(as_text=True)
    assert officer_files(client).status_code == 303
    petition = db.session.scalars(select(Petition).where(Petition.title == "Cử tri báo cầu hỏng")).one()
    assert (petition.commune.code, petition.geotag_method) == (commune["code"], "chosen")
    assert petition.assigned_area_id == petition.commune_id
    page = client.get(f"/officer/petitions/{petition.id}").get_data(as_text=True)
    assert re.search(r'id="channel">\s*Đường dây nóng', page)  # the channel by name, not its code


def test_central_staff_filing_for_a_citizen_must_pick_a_place(client, app_ctx):
    log_in(client, officer("central"))
    refused = officer_files(client)
    assert refused.status_code == 422
    assert "Hãy cho biết nơi xảy ra" in refused.get_data(as_text=True)
    assert db.session.scalar(select(Petition.id)) is None
    assert officer_files(client, province="46").status_code == 303


def test_demo_accounts_can_log_in(runner, client):
    from app.geodata.importer import import_features
    from tests.factories import mini_geography

    features = mini_geography()
    for f in features:  # the demo lives in province 01; rename the hand-made one for the test
        f.code = "01" + f.code[2:] if f.level != "province" else "01"
        f.parent_code = None if f.level == "province" else ("01" + f.parent_code[2:])
    import_features(features, "2025")
    result = runner.invoke(args=["officers", "demo"])
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.strip().startswith("demo.xa"))
    username, password = line.split()[:2]
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"csrf_token": token, "username": username, "password": password})
    assert response.status_code == 302


def inbox_places(client) -> list[str]:
    page = client.get("/officer/").get_data(as_text=True)
    return [" ".join(p.split()) for p in re.findall(r'<td data-label="Nơi" class="place">(.*?)</td>', page, re.S)]


def test_beyond_a_commune_the_inbox_names_each_village_s_commune(client, app_ctx):
    # Two residential groups of the slice share a name: "Tổ dân phố 1" of Phường Đại Đức and of Phường Hiệp Phú.
    petition_in("17594001", title="Cống thoát nước tắc")
    petition_in("17597001", title="Cống thoát nước tắc")
    log_in(client, officer("province", "46"))
    assert set(inbox_places(client)) >= {"Tổ dân phố 1 — Phường Đại Đức", "Tổ dân phố 1 — Phường Hiệp Phú"}
    log_in(client, officer("commune", "17594"))  # in a commune's own inbox the village is enough
    assert inbox_places(client) == ["Tổ dân phố 1"]
