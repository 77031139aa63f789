"""What anonymous callers can learn or forge: the published view, the citizen's secret, forms and officers at once."""

from __future__ import annotations

import re
import threading
import uuid

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.models import Petition, PetitionPhoto
from app.services import partners, workflow
from app.storage import current_storage
from tests.factories import csrf_token, jpeg, officer, petition_fields, petition_in, slice_communes

JSON = {"Accept": "application/json"}


def _village_point():
    return db.session.execute(
        text(
            "SELECT code, ST_X(label_point) AS lon, ST_Y(label_point) AS lat FROM areas "
            "WHERE level = 'village' ORDER BY code LIMIT 1"
        )
    ).one()


@pytest.fixture
def world(app_ctx):
    """A published petition (redacted, with an unreleased photo) and an unpublished one, both with contacts."""
    village = _village_point()
    exact = (village.lon + 0.00123, village.lat + 0.00067)
    published = petition_in(
        None,
        chosen_code=None,
        lon=exact[0],
        lat=exact[1],
        location_source="gps",
        title="Cống thoát nước bị tắc",
        body="Nguyên văn: ông chủ tịch xã Nguyễn Văn Bí Mật nhận tiền.",
        name="Trần Thị Bí Danh",
        phone="0911222333",
    )
    hidden = petition_in(
        slice_communes(1)[0],
        title="Chuyện chưa thụ lý",
        body="Nội dung chưa được cán bộ thụ lý, không được lộ ra ngoài.",
        name="Đỗ Văn Kín",
        phone="0977888999",
    )
    commune_officer = officer("commune", published.commune.code)
    workflow.act(published, "accept", commune_officer)
    workflow.act(
        published,
        "redact",
        commune_officer,
        note="Bỏ tên người",
        public_title="Cống thoát nước bị tắc",
        public_body="Cống thoát nước của thôn bị tắc lâu ngày.",
    )
    store = current_storage()
    store.put(f"test/{published.id}.jpg", jpeg())
    photo = PetitionPhoto(
        petition_id=published.id,
        position=0,
        status="ready",
        image_key=f"test/{published.id}.jpg",
        thumb_key=f"test/{published.id}.jpg",
    )
    db.session.add(photo)
    db.session.commit()
    return {
        "published": published,
        "hidden": hidden,
        "exact": exact,
        "village": village,
        "photo": photo,
        "officer": commune_officer,
    }


def _secrets(world) -> list[str]:
    published, hidden = world["published"], world["hidden"]
    lon, lat = world["exact"]
    return [
        published.tracking_code,
        published.display_code,
        hidden.tracking_code,
        hidden.display_code,
        "Bí Mật",  # the original text of a redacted petition
        "không được lộ ra ngoài",  # an unpublished petition's text
        "Chuyện chưa thụ lý",
        "Bí Danh",
        "0911222333",
        "Đỗ Văn Kín",
        "0977888999",
        f"{lon:.4f}",  # the exact point, to ~10 m
        f"{lat:.4f}",
    ]


def _anonymous_urls(app, world) -> list[str]:
    """Every GET route of the app, filled with the ids an outsider could hold (never a tracking code)."""
    published, hidden = world["published"], world["hidden"]
    commune = published.commune.code
    fill = {
        "public_id": [published.public_id, hidden.public_id],
        "service_request_id": [published.public_id, hidden.public_id],
        "token": [published.public_id, hidden.public_id],
        "code": [commune, published.public_id],
        "photo_id": [str(world["photo"].id)],
        "fmt": ["json", "xml"],
        "petition_id": [str(published.id)],
        "job_id": ["x"],
        "filename": ["css/portal.css"],
    }
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        variants = [rule.rule]
        for argument in rule.arguments:
            variants = [
                re.sub(rf"<(?:[a-z]+(?:\([^)]*\))?:)?{argument}>", value, url)
                for url in variants
                for value in fill.get(argument, ["x"])
            ]
        urls += variants
    village = world["village"]
    urls += [
        f"/api/v1/petitions/similar?lat={village.lat}&lon={village.lon}&category=roads",
        f"/open311/v2/requests.json?service_request_id={published.public_id},{hidden.public_id}",
        "/open311/v2/requests.xml?status=open",
        f"/map?province={published.province.code}",
        f"/scorecard/{commune}",
    ]
    return urls


def test_no_anonymous_response_carries_a_code_an_exact_point_or_unpublished_text(app, client, world):
    secrets = _secrets(world)
    urls = _anonymous_urls(app, world)
    assert len(urls) > 30  # the walk reached the app's routes
    for url in urls:
        response = client.get(url)
        body = response.get_data(as_text=True) if response.mimetype.startswith(("text", "application")) else ""
        for secret in secrets:
            assert secret not in body, f"GET {url} ({response.status_code}) shows {secret!r}"


def test_open311_shows_the_published_view_coarsened_to_the_village(client, world):
    published, hidden = world["published"], world["hidden"]
    listed = client.get("/open311/v2/requests.json").json
    assert [r["service_request_id"] for r in listed] == [published.public_id]
    entry = listed[0]
    assert entry["description"] == "Cống thoát nước của thôn bị tắc lâu ngày."
    assert (entry["long"], entry["lat"]) == (round(world["village"].lon, 5), round(world["village"].lat, 5))
    assert entry["media_url"] is None  # the photo was not released
    assert client.get(f"/open311/v2/requests/{hidden.public_id}.json").status_code == 404
    assert client.get(f"/open311/v2/requests/{published.tracking_code}.json").status_code == 404


def test_released_photos_are_public_and_a_citizen_s_own_are_never_cached_by_others(client, world):
    published, photo = world["published"], world["photo"]
    public_url = f"/p/{published.public_id}/photos/{photo.id}"
    assert client.get(public_url).status_code == 404
    own = client.get(f"/petitions/{published.display_code}/photos/{photo.id}")
    assert own.status_code == 200 and own.headers["Cache-Control"] == "private, no-store"
    workflow.act(published, "release_photos", world["officer"])
    released = client.get(public_url)
    assert released.status_code == 200 and released.headers["Cache-Control"].startswith("public")
    assert client.get("/open311/v2/requests.json").json[0]["media_url"].endswith(public_url)


def test_the_public_page_shows_the_redacted_text_and_nothing_personal(client, world):
    published, hidden = world["published"], world["hidden"]
    html = client.get(f"/p/{published.public_id}").get_data(as_text=True)
    assert "Cống thoát nước của thôn bị tắc lâu ngày." in html
    assert "Bí Mật" not in html and published.display_code not in html and "0911222333" not in html
    assert client.get(f"/p/{hidden.public_id}").status_code == 404


def test_a_petition_about_officials_stays_private_unless_the_citizen_publishes_it(client, world):
    commune = slice_communes(1)[0]
    by_default = petition_in(commune, category="officials")
    opted_in = petition_in(commune, category="officials", publishable=True)
    declined = petition_in(commune, category="roads", publishable=False)
    someone = officer("commune", commune)
    for petition in (by_default, opted_in, declined):
        workflow.act(petition, "accept", someone)
    listed = {r["service_request_id"] for r in client.get("/open311/v2/requests.json").json}
    assert opted_in.public_id in listed
    assert by_default.public_id not in listed and declined.public_id not in listed


def test_the_form_offers_and_stores_the_citizen_s_choice_to_publish(client, world):
    token = csrf_token(client)
    for choice, expected in (("n", False), ("y", True)):
        fields = petition_fields(csrf_token=token, publish=choice, province=world["published"].province.code)
        client.post("/petitions", data=fields, headers=JSON, content_type="multipart/form-data")
        stored = db.session.scalar(select(Petition).where(Petition.idempotency_key == fields["idempotency_key"]))
        assert stored.publishable is expected


def test_a_partner_key_only_counts_in_its_header_and_carries_its_scope(client, world):
    partner, key = partners.create("doi-tac-tinh")
    partner.sees_unpublished = True
    partner.area_id = world["hidden"].commune.parent_id
    db.session.commit()
    query = client.get(f"/open311/v2/requests.json?api_key={key}")
    assert query.status_code == 400 and "X-Api-Key" in query.json[0]["description"]
    seen = client.get("/open311/v2/requests.json", headers={"X-Api-Key": key}).json
    by_id = {r["service_request_id"]: r for r in seen}
    assert world["hidden"].public_id in by_id  # not yet published, but within the key's province
    assert "0977888999" not in str(seen) and world["hidden"].tracking_code not in str(seen)


def test_a_link_cannot_plant_the_form_s_idempotency_key(client):
    planted = "a" * 32
    html = client.get(f"/petitions/new?idempotency_key={planted}&category=roads").get_data(as_text=True)
    assert planted not in html
    assert re.search(r'name="idempotency_key"[^>]*value="[0-9a-f]{32}"', html)


def test_a_key_seen_again_with_other_content_is_refused_and_the_first_petition_stays(client, world):
    token = csrf_token(client)
    province = world["published"].province.code
    first = petition_fields(csrf_token=token, province=province)
    made = client.post("/petitions", data=first, headers=JSON, content_type="multipart/form-data")
    assert made.status_code == 201
    repeat = client.post("/petitions", data=first, headers=JSON, content_type="multipart/form-data")
    assert (repeat.status_code, repeat.json["tracking_code"]) == (200, made.json["tracking_code"])
    other = {**first, "title": "Một kiến nghị hoàn toàn khác", "body": "Nội dung khác hẳn kiến nghị trước đó."}
    refused = client.post("/petitions", data=other, headers=JSON, content_type="multipart/form-data")
    assert refused.status_code == 409 and refused.json["error"]["code"] == "key_reused"
    html = client.post("/petitions", data=other, content_type="multipart/form-data").get_data(as_text=True)
    assert "Nội dung khác hẳn kiến nghị trước đó." in html  # the citizen's text stays in the form
    stored = db.session.scalar(select(Petition).where(Petition.idempotency_key == first["idempotency_key"]))
    assert stored.title == first["title"]


def test_guessing_tracking_codes_is_throttled_per_client_and_for_everyone(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "CODE_MISS_LIMIT", "3 per hour")
    monkeypatch.setitem(app.config, "CODE_MISS_LIMIT_ALL", "5 per hour")
    own = f"/petitions/{world['published'].display_code}"
    guesses = [client.get(f"/petitions/{c * 9}").status_code for c in "ACDE"]
    assert guesses == [404, 404, 404, 429]
    assert client.get(own, environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code == 200
    other = [client.get(f"/petitions/{c * 9}", environ_base={"REMOTE_ADDR": "10.9.9.9"}).status_code for c in "GHK"]
    assert other == [404, 404, 429]  # five misses in all: the overall limit holds for another client too
    # Nobody can spend that budget to lock citizens out: a client that has not missed is still served.
    assert client.get(own, environ_base={"REMOTE_ADDR": "10.7.7.7"}).status_code == 200
    assert client.get("/petitions/MMMMMMMMM", environ_base={"REMOTE_ADDR": "10.7.7.7"}).status_code == 404


def test_an_ipv6_client_is_counted_by_its_64_network(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "CODE_MISS_LIMIT", "2 per hour")
    hosts = [f"2001:db8:1:2::{n:x}" for n in range(1, 4)]
    seen = [
        client.get(f"/petitions/{c * 9}", environ_base={"REMOTE_ADDR": h}).status_code for c, h in zip("ACD", hosts)
    ]
    assert seen == [404, 404, 429]
    other_network = client.get("/petitions/EEEEEEEEE", environ_base={"REMOTE_ADDR": "2001:db8:1:3::1"})
    assert other_network.status_code == 404


def test_an_officer_acting_on_a_stale_page_is_told_it_changed_meanwhile(client, world):
    from tests.factories import log_in

    hidden = world["hidden"]
    commune_officer = officer("commune", hidden.commune.code)
    log_in(client, commune_officer)
    seen_version = hidden.version
    workflow.act(hidden, "accept", officer("commune", hidden.commune.code))  # a colleague, meanwhile
    token = csrf_token(client, f"/officer/petitions/{hidden.id}")
    response = client.post(
        f"/officer/petitions/{hidden.id}/act",
        data={"csrf_token": token, "action": "reject", "note": "Trùng", "version": str(seen_version)},
    )
    assert response.status_code == 422 and "vừa được thay đổi" in response.get_data(as_text=True)
    db.session.refresh(hidden)
    assert hidden.status == "accepted"


def _committed_petitions(live_server, count: int):
    """Petitions committed in the live server's database (its sessions are real connections)."""
    from app.services.accounts import create_officer
    from tests.factories import PASSWORD

    with live_server.app_context():
        commune = slice_communes(1)[0]
        made = [petition_in(commune) for _ in range(count)]
        user, _ = create_officer(f"song.song.{uuid.uuid4().hex[:8]}", "commune", commune, PASSWORD)
        db.session.commit()
        ids = [p.id for p in made] + [user.id]
        db.session.remove()
    return ids


def _at_once(live_server, work) -> list[str]:
    """Run the works in threads released together; each its own app context and connection."""
    start, outcomes = threading.Barrier(len(work)), []

    def run(job):
        with live_server.app_context():
            start.wait()
            try:
                job()
                outcomes.append("done")
            except workflow.WorkflowError as refused:
                outcomes.append(refused.message)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(job,)) for job in work]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def test_two_officers_acting_at_once_one_wins_the_other_is_told(live_server):
    from app.models import User

    petition_id, user_id = _committed_petitions(live_server, 1)

    def acting(action, note):
        def job():
            petition, user = db.session.get(Petition, petition_id), db.session.get(User, user_id)
            workflow.act(petition, action, user, note=note, expected_version=1)

        return job

    outcomes = _at_once(live_server, [acting("accept", ""), acting("reject", "Không thuộc thẩm quyền")])
    assert sorted(outcomes, key=len) == ["done", str(workflow.CHANGED_MEANWHILE)]
    with live_server.app_context():
        events = db.session.scalars(
            text("SELECT action FROM audit_events WHERE petition_id = :p AND action IN ('accept', 'reject')"),
            {"p": petition_id},
        ).all()
        assert len(events) == 1


def test_two_merges_the_other_way_round_at_once_never_form_a_cycle(live_server):
    from app.models import User

    a_id, b_id, user_id = _committed_petitions(live_server, 2)

    def merging(source_id, target_id):
        def job():
            source, target = db.session.get(Petition, source_id), db.session.get(Petition, target_id)
            workflow.act(source, "merge", db.session.get(User, user_id), into_code=target.tracking_code)

        return job

    for _ in range(3):  # the race is real: try it a few times
        outcomes = _at_once(live_server, [merging(a_id, b_id), merging(b_id, a_id)])
        assert outcomes.count("done") <= 1
        with live_server.app_context():
            rows = db.session.execute(
                select(Petition.id, Petition.merged_into_id, Petition.supporters).where(Petition.id.in_([a_id, b_id]))
            ).all()
            merged = [r for r in rows if r.merged_into_id is not None]
            assert len(merged) == outcomes.count("done")
            if merged:
                survivor = next(r for r in rows if r.merged_into_id is None)
                assert survivor.supporters == 2  # the merged petition's supporter added up
                break


def test_rating_is_limited_per_petition_whatever_the_address(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "RATING_PETITION_LIMIT", "2 per hour")
    url = f"/petitions/{world['published'].display_code}/rating"
    token = csrf_token(client)
    codes = [
        client.post(url, data={"csrf_token": token, "satisfied": "y"}, environ_base={"REMOTE_ADDR": f"10.0.0.{i}"})
        for i in range(3)
    ]
    assert [r.status_code for r in codes] == [422, 422, 429]  # not answered yet; then throttled


def test_guesses_spread_over_several_routes_share_one_budget(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "CODE_MISS_LIMIT", "3 per hour")
    misses = [
        client.get("/petitions/AAAAAAAAA").status_code,
        client.get("/p/0000000000000000").status_code,
        client.get("/open311/v2/tokens/0000000000000001.json").status_code,
        client.get("/petitions/CCCCCCCCC").status_code,
    ]
    assert misses == [404, 404, 404, 429]


def test_officers_pages_and_exports_name_petitions_by_reference_never_by_tracking_code(client, world):
    from tests.factories import log_in

    published = world["published"]
    log_in(client, world["officer"])
    pages = [
        client.get("/officer/").get_data(as_text=True),
        client.get(f"/officer/petitions/{published.id}").get_data(as_text=True),
        client.get("/officer/export.csv").get_data(as_text=True),
        client.get("/officer/export.geojson").get_data(as_text=True),
    ]
    for page in pages:
        assert published.tracking_code not in page and published.display_code not in page
    assert published.reference in pages[0] and published.reference in pages[2]


def test_similar_petitions_are_found_and_measured_from_their_public_point_only(client, world):
    published, village = world["published"], world["village"]
    workflow.act(published, "start", world["officer"])  # still open and published
    # From the exact point (~140 m from the village's label point) and from the label point itself.
    lon, lat = world["exact"]
    near_exact = client.get(f"/api/v1/petitions/similar?lat={lat}&lon={lon}&category=roads").json["petitions"]
    at_label = client.get(f"/api/v1/petitions/similar?lat={village.lat}&lon={village.lon}&category=roads")
    assert [p["id"] for p in at_label.json["petitions"]] == [published.public_id]
    assert at_label.json["petitions"][0]["distance_m"] == 50  # 0 m to the public point, shown as the first step
    assert near_exact[0]["distance_m"] == 150  # ~140 m to the label point, not 0 m to the exact point
    # ~250 m beyond the exact point, ~390 m from the label point: out, so the exact point cannot be traced.
    beyond = f"lat={lat + 0.0015}&lon={lon + 0.0017}"
    assert client.get(f"/api/v1/petitions/similar?{beyond}&category=roads").json["petitions"] == []


def test_the_status_page_is_kept_by_no_cache_and_its_address_sent_to_no_one(client, world):
    page = client.get(f"/petitions/{world['published'].display_code}")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "same-origin"
