"""'Add my voice': one voice per device on published petitions, bursts flagged, batches invalidated."""

from __future__ import annotations

import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text

from app.extensions import db
from app.geodata.importer import import_features
from app.models import AuditEvent, Notice, Petition, PetitionSupport, VoiceFlag
from app.services.voices import network_of
from tests.factories import csrf_token, log_in, mini_geography, officer, petition_in, slice_communes

JSON = {"Accept": "application/json"}


class Phone:
    """A citizen's browser: its own cookies (session, voter cookie) and client address."""

    def __init__(self, app, address: str = "203.0.113.7"):
        self.client = app.test_client()
        self.address = address
        self.token = csrf_token(self.client)

    def vote(self, petition: Petition, key: str | None = None, address: str | None = None, headers=JSON):
        return self.vote_at(petition.public_id, key, address, headers)

    def vote_at(self, public_id: str, key: str | None = None, address: str | None = None, headers=JSON):
        return self.client.post(
            f"/p/{public_id}/support",
            data={"csrf_token": self.token, "idempotency_key": key or uuid.uuid4().hex},
            headers=headers,
            environ_base={"REMOTE_ADDR": address or self.address},
        )

    def new_device(self) -> None:
        """The voter cookie gone, as in another browser behind the same address."""
        self.client.delete_cookie("voter", path="/p/")


def publish(petition: Petition) -> Petition:
    petition.accepted_at, petition.status = datetime.now(UTC), "accepted"
    db.session.flush()
    return petition


@pytest.fixture
def world(client, app_ctx):
    """A published petition in a commune of province 46, its officers, and province 99 beside it."""
    import_features(mini_geography(), "2025")
    commune = slice_communes(1)[0]
    return {
        "petition": publish(petition_in(commune)),
        "commune_officer": officer("commune", commune),
        "province_46": officer("province", "46"),
        "province_99": officer("province", "99"),
        "central": officer("central"),
    }


def officer_client(app, user):
    other = app.test_client()
    log_in(other, user)
    return other


def burst(phone: Phone, petition: Petition, voices: int, addresses=None) -> None:
    """Voices from as many devices, from the phone's address (or each from the next address given)."""
    for i in range(voices):
        phone.new_device()
        response = phone.vote(petition, address=addresses[i] if addresses else None)
        assert response.status_code == 200 and not response.json["already"], response.get_data(as_text=True)


def flags_of(petition: Petition) -> list[VoiceFlag]:
    return db.session.scalars(select(VoiceFlag).where(VoiceFlag.petition_id == petition.id)).all()


# ---------------------------------------------------------------- one voice per device


def test_a_voice_counts_once_per_device_and_a_new_device_behind_the_same_address_counts(app, world):
    petition, phone = world["petition"], Phone(app)
    first = phone.vote(petition)
    assert first.status_code == 200 and first.json["supporters"] == 2 and first.json["already"] is False
    cookie = first.headers["Set-Cookie"]
    assert cookie.startswith("voter=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/p/" in cookie
    assert "Secure" not in cookie and "Max-Age=" in cookie

    again = phone.vote(petition)  # the same device, another click
    assert again.status_code == 200 and again.json["supporters"] == 2 and again.json["already"] is True
    assert "mỗi thiết bị chỉ được tính một lần" in again.json["message"]

    neighbour = Phone(app)  # another phone behind the same carrier-grade NAT address
    counted = neighbour.vote(petition).json
    assert (counted["supporters"], counted["already"]) == (3, False)
    db.session.refresh(petition)
    assert petition.supporters == 3


def test_a_retried_click_counts_once(app, world):
    petition, phone = world["petition"], Phone(app)
    key = uuid.uuid4().hex
    assert phone.vote(petition, key=key).json["supporters"] == 2
    phone.new_device()  # the first answer (and its cookie) was lost on the way: the key still holds
    retried = phone.vote(petition, key=key)
    assert retried.status_code == 200 and retried.json["supporters"] == 2 and retried.json["already"] is False


def test_only_keyed_hashes_of_the_device_and_address_are_stored(app, world):
    petition, phone = world["petition"], Phone(app, "198.51.100.23")
    phone.vote(petition)
    voice = db.session.scalars(select(PetitionSupport).where(PetitionSupport.petition_id == petition.id)).one()
    hashes = (voice.device_hash, voice.client_hash, voice.network_hash)
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes) and len(set(hashes)) == 3
    row = db.session.execute(
        text("SELECT row_to_json(s)::text FROM petition_supports s WHERE id = :i"), {"i": voice.id}
    )
    stored = row.scalar()
    assert "198.51.100" not in stored and phone.client.get_cookie("voter", path="/p/").value not in stored


def test_the_voter_cookie_is_secure_behind_https(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_COOKIE_SECURE", True)
    assert "Secure" in Phone(app).vote(world["petition"]).headers["Set-Cookie"]


def test_a_voice_without_javascript_gets_a_page_that_says_it_counted(app, world):
    response = Phone(app).vote(world["petition"], headers={})
    assert response.status_code == 200 and "Đã ghi nhận ý kiến của bạn" in response.get_data(as_text=True)


# ---------------------------------------------------------------- which petitions take voices


def test_an_unpublished_petition_takes_no_voice(app, world):
    phone = Phone(app)
    unpublished = petition_in(slice_communes(1)[0])  # received, not yet accepted by an officer
    refused = phone.vote(unpublished)
    assert refused.status_code == 404 and refused.json["error"]["code"] == "not_found"
    private = publish(petition_in(slice_communes(1)[0]))
    private.publishable = False  # the citizen did not allow publication
    db.session.flush()
    assert phone.vote(private).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(PetitionSupport)) == 0
    assert phone.vote_at("0123456789abcdef").status_code == 404  # no such petition
    assert phone.vote_at("not-an-id").status_code == 404


def test_a_published_petition_that_is_closed_says_so(app, world):
    petition = world["petition"]
    petition.status = "resolved"
    db.session.flush()
    refused = Phone(app).vote(petition)
    assert refused.status_code == 422 and refused.json["error"]["code"] == "closed"
    db.session.refresh(petition)
    assert petition.supporters == 1


def test_the_tracking_code_no_longer_adds_a_voice(app, world):
    petition, phone = world["petition"], Phone(app)
    response = phone.client.post(
        f"/petitions/{petition.display_code}/support",
        data={"csrf_token": phone.token, "idempotency_key": uuid.uuid4().hex},
        headers=JSON,
    )
    assert response.status_code in (404, 405)


def test_a_voice_needs_a_sound_key(app, world):
    petition, phone = world["petition"], Phone(app)
    for key in ("", "x" * 65):
        response = phone.client.post(
            f"/p/{petition.public_id}/support", data={"csrf_token": phone.token, "idempotency_key": key}, headers=JSON
        )
        assert response.status_code == 422 and response.json["error"]["code"] == "invalid"


def test_a_key_used_for_another_petition_is_refused(app, world):
    other = publish(petition_in(slice_communes(1)[0]))
    phone, key = Phone(app), uuid.uuid4().hex
    phone.vote(world["petition"], key=key)
    assert phone.vote(other, key=key).status_code == 422


# ---------------------------------------------------------------- rate limits


def test_voices_are_limited_per_client_address(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "VOICE_LIMIT", "3 per minute")
    phone = Phone(app)
    statuses = []
    for _ in range(4):
        phone.new_device()
        statuses.append(phone.vote(world["petition"]).status_code)
    assert statuses == [200, 200, 200, 429]


def test_voices_are_limited_per_petition_whatever_the_address(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "VOICE_PETITION_LIMIT", "2 per minute")
    statuses = [Phone(app, f"198.51.100.{i}").vote(world["petition"]).status_code for i in range(3)]
    assert statuses == [200, 200, 429]
    other = publish(petition_in(slice_communes(1)[0]))
    assert Phone(app, "198.51.100.9").vote(other).status_code == 200  # another petition has its own budget


# ---------------------------------------------------------------- bursts


def test_network_of_names_the_ipv4_24_or_ipv6_48_never_the_address():
    assert network_of("113.160.12.34") == ("113.160.12.0/24", "113.160.12.x")
    assert network_of("::ffff:113.160.12.34") == ("113.160.12.0/24", "113.160.12.x")
    assert network_of("2402:800:abcd:12::5") == ("2402:800:abcd::/48", "2402:800:abcd::/48")
    assert network_of(None) == ("unknown", "?") and network_of("not an address") == ("unknown", "?")


def test_a_burst_from_one_address_opens_one_flag_and_tells_the_province(app, world):
    petition, phone = world["petition"], Phone(app, "113.160.12.34")
    burst(phone, petition, 20)
    assert flags_of(petition) == []  # 20 in ten minutes: not more than the threshold
    burst(phone, petition, 5)
    [flag] = flags_of(petition)
    assert (flag.kind, flag.status, flag.voices, flag.source_label) == ("client", "open", 25, "113.160.12.x")
    assert flag.first_at <= flag.last_at
    in_flag = db.session.scalar(select(func.count()).where(PetitionSupport.flag_id == flag.id))
    assert in_flag == 25
    told = db.session.scalars(select(Notice).where(Notice.kind == f"voice_flag:{flag.id}")).all()
    assert [n.user_id for n in told] == [world["province_46"].id]  # once, to the province of the inbox
    assert "113.160.12.x" in told[0].body and "113.160.12.34" not in told[0].body
    assert f"/officer/voices/{flag.id}" in told[0].body
    flagged = db.session.scalars(
        select(AuditEvent).where(AuditEvent.petition_id == petition.id, AuditEvent.action == "voices_flagged")
    ).all()
    assert len(flagged) == 1 and flagged[0].data["voices"] == 21


def test_a_burst_from_one_network_opens_a_network_flag(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "VOICE_BURST_NETWORK", 5)
    petition = world["petition"]
    burst(Phone(app), petition, 7, addresses=[f"113.160.12.{i}" for i in range(1, 8)])
    Phone(app, "198.51.100.1").vote(petition)  # another network: not in the flag
    [flag] = flags_of(petition)
    assert (flag.kind, flag.voices, flag.source_label) == ("network", 7, "113.160.12.x")


def test_a_client_flag_takes_its_voices_from_the_network_s_flag(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "VOICE_BURST_NETWORK", 3)
    monkeypatch.setitem(app.config, "VOICE_BURST_CLIENT", 4)
    petition = world["petition"]
    burst(Phone(app), petition, 4, addresses=[f"113.160.12.{i}" for i in range(1, 5)])  # a network flag opens
    burst(Phone(app, "113.160.12.99"), petition, 5)  # then one address of that network bursts
    flags = {flag.kind: flag for flag in flags_of(petition)}
    assert (flags["network"].voices, flags["client"].voices) == (4, 5)
    total = db.session.scalar(select(func.count()).where(PetitionSupport.flag_id == flags["client"].id))
    assert total == 5


# ---------------------------------------------------------------- officers: preview, invalidate, keep


@pytest.fixture
def flagged(app, world, monkeypatch):
    """A client flag of 6 voices (threshold 5) and 2 genuine voices from elsewhere."""
    monkeypatch.setitem(app.config, "VOICE_BURST_CLIENT", 5)
    petition = world["petition"]
    burst(Phone(app, "113.160.12.34"), petition, 6)
    for i in range(2):
        Phone(app, f"198.51.100.{i}").vote(petition)
    [flag] = flags_of(petition)
    db.session.refresh(petition)
    assert petition.supporters == 1 + 6 + 2
    return flag


def test_the_list_shows_the_open_flags_of_the_officer_s_petitions(app, world, flagged):
    mine = officer_client(app, world["province_46"]).get("/officer/voices").get_data(as_text=True)
    assert f"/officer/voices/{flagged.id}" in mine and "113.160.12.x" in mine
    theirs = officer_client(app, world["province_99"]).get("/officer/voices").get_data(as_text=True)
    assert f"/officer/voices/{flagged.id}" not in theirs


def test_the_preview_shows_the_batch_and_changes_nothing(app, world, flagged):
    petition = world["petition"]
    page = officer_client(app, world["province_46"]).get(f"/officer/voices/{flagged.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert re.search(r'id="preview-voices">6<', html)
    assert re.search(r'id="supporters-before">9<', html) and re.search(r'id="supporters-after">3<', html)
    db.session.expire_all()
    assert petition.supporters == 9 and flagged.status == "open"
    assert db.session.scalar(select(func.count()).where(PetitionSupport.invalidated_at.is_not(None))) == 0


def preview_form(officer_http, flag_id: int) -> dict:
    html = officer_http.get(f"/officer/voices/{flag_id}").get_data(as_text=True)
    form = html[html.index(f'action="/officer/voices/{flag_id}/invalidate"') :]
    return {
        name: re.search(rf'name="{name}"[^>]*value="([^"]*)"', form).group(1)
        for name in ("csrf_token", "voices", "upto")
    }


def test_invalidating_takes_exactly_the_batch_off_and_writes_one_audit_row(app, world, flagged):
    petition, staff = world["petition"], world["province_46"]
    http = officer_client(app, staff)
    response = http.post(f"/officer/voices/{flagged.id}/invalidate", data=preview_form(http, flagged.id))
    assert response.status_code == 303
    db.session.expire_all()
    assert petition.supporters == 3  # 9 - 6
    invalidated = db.session.scalars(select(PetitionSupport).where(PetitionSupport.invalidated_at.is_not(None))).all()
    assert len(invalidated) == 6 and {v.flag_id for v in invalidated} == {flagged.id}
    assert (flagged.status, flagged.resolved_by_id) == ("invalidated", staff.id) and flagged.resolved_at
    [audit] = db.session.scalars(
        select(AuditEvent).where(AuditEvent.petition_id == petition.id, AuditEvent.action == "voices_invalidated")
    ).all()
    assert audit.actor_id == staff.id
    assert {k: audit.data[k] for k in ("voices", "supporters_before", "supporters_after", "source")} == {
        "voices": 6,
        "supporters_before": 9,
        "supporters_after": 3,
        "source": "113.160.12.x",
    }
    again = http.post(f"/officer/voices/{flagged.id}/invalidate", data=preview_form_after(http, flagged.id))
    assert again.status_code == 409  # decided already: nothing taken twice
    db.session.expire_all()
    assert petition.supporters == 3


def preview_form_after(officer_http, flag_id: int) -> dict:
    return {"csrf_token": csrf_token(officer_http, "/officer/voices"), "voices": "0", "upto": "0"}


def test_a_preview_gone_stale_is_refused(app, world, flagged):
    petition, http = world["petition"], officer_client(app, world["central"])
    form = preview_form(http, flagged.id)
    phone = Phone(app, "113.160.12.34")
    phone.vote(petition)  # one more voice joins the flag after the preview
    response = http.post(f"/officer/voices/{flagged.id}/invalidate", data=form)
    assert response.status_code == 409 and "đã thay đổi" in response.get_data(as_text=True)
    db.session.expire_all()
    assert petition.supporters == 10 and flagged.status == "open" and flagged.voices == 7


def test_dismissing_keeps_the_voices_and_they_are_not_flagged_again(app, world, flagged):
    petition, http = world["petition"], officer_client(app, world["province_46"])
    token = csrf_token(http, f"/officer/voices/{flagged.id}")
    assert http.post(f"/officer/voices/{flagged.id}/dismiss", data={"csrf_token": token}).status_code == 303
    db.session.expire_all()
    assert flagged.status == "dismissed" and petition.supporters == 9
    kept = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "voices_kept")).all()
    assert [e.petition_id for e in kept] == [petition.id]
    Phone(app, "113.160.12.34").vote(petition)  # the kept voices no longer count towards a burst
    assert [f.status for f in flags_of(petition)] == ["dismissed"]


def test_a_commune_officer_may_look_but_not_decide(app, world, flagged):
    http = officer_client(app, world["commune_officer"])
    page = http.get(f"/officer/voices/{flagged.id}")
    assert page.status_code == 200 and "/invalidate" not in page.get_data(as_text=True)
    token = csrf_token(http, "/officer/voices")
    for decision in ("invalidate", "dismiss"):
        response = http.post(f"/officer/voices/{flagged.id}/{decision}", data={"csrf_token": token, "voices": "6"})
        assert response.status_code == 403
    db.session.expire_all()
    assert flagged.status == "open" and world["petition"].supporters == 9


def test_another_province_s_officer_gets_404_on_the_flag(app, world, flagged):
    http = officer_client(app, world["province_99"])
    assert http.get(f"/officer/voices/{flagged.id}").status_code == 404
    token = csrf_token(http, "/officer/voices")
    for decision in ("invalidate", "dismiss"):
        data = {"csrf_token": token, "voices": "6", "upto": "999999"}
        assert http.post(f"/officer/voices/{flagged.id}/{decision}", data=data).status_code == 404
    db.session.expire_all()
    assert flagged.status == "open" and world["petition"].supporters == 9


def test_every_flag_route_is_404_outside_the_officer_s_scope(app, world, flagged):
    http = officer_client(app, world["province_99"])
    token = csrf_token(http, "/officer/voices")
    rules = [r for r in app.url_map.iter_rules() if "flag_id" in r.arguments]
    assert len(rules) >= 3
    for rule in rules:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            url = rule.rule.replace("<int:flag_id>", str(flagged.id))
            assert http.open(url, method=method, data={"csrf_token": token}).status_code == 404, (method, url)


# ---------------------------------------------------------------- at once


def test_concurrent_voices_lose_no_count_and_open_one_flag(live_server, monkeypatch):
    """20 phones at once, each its own request, app context and database connection, on the live server."""
    import requests

    from app.services.accounts import create_officer

    with live_server.app_context():
        commune = db.session.execute(
            text("SELECT code FROM areas WHERE level = 'commune' ORDER BY code DESC LIMIT 1")
        ).scalar()
        staff, _ = create_officer(f"tinh.{uuid.uuid4().hex[:8]}", "province", "46", "mat-khau-du-dai-2026")
        petition = publish(petition_in(commune, title="Kiểm thử ý kiến cùng lúc"))
        db.session.commit()
        petition_id, public_id, staff_id = petition.id, petition.public_id, staff.id
        db.session.remove()
    monkeypatch.setitem(live_server.config, "VOICE_LIMIT", "1000 per minute")
    monkeypatch.setitem(live_server.config, "VOICE_BURST_CLIENT", 10)
    base, phones = live_server.config["LIVE_URL"], 20
    ready = threading.Barrier(phones)

    def one_phone(_):
        session = requests.Session()
        html = session.get(f"{base}/petitions/new", timeout=30).text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
        ready.wait(timeout=60)
        response = session.post(
            f"{base}/p/{public_id}/support",
            data={"csrf_token": token, "idempotency_key": uuid.uuid4().hex},
            headers=JSON,
            timeout=60,
        )
        return response.status_code, response.json()

    with ThreadPoolExecutor(phones) as pool:
        answers = list(pool.map(one_phone, range(phones)))
    assert [status for status, _ in answers] == [200] * phones
    assert sorted(body["supporters"] for _, body in answers) == list(range(2, phones + 2))
    with live_server.app_context():
        assert db.session.get(Petition, petition_id).supporters == 1 + phones
        flags = db.session.scalars(select(VoiceFlag).where(VoiceFlag.petition_id == petition_id)).all()
        assert [(f.kind, f.voices) for f in flags] == [("client", phones)]  # opened once, all 20 in it
        told = db.session.scalars(select(Notice.user_id).where(Notice.kind == f"voice_flag:{flags[0].id}")).all()
        assert told.count(staff_id) == 1 and len(told) == len(set(told))
        db.session.remove()


def test_a_voice_for_a_petition_merged_after_it_was_read_is_not_counted(app_ctx):
    """The petition is read, then merged by an officer, then the voice arrives: refused, nothing counted."""
    from app.services import voices

    petition = publish(petition_in(slice_communes(1)[0]))
    seen = voices.target(petition.public_id)
    db.session.execute(text("UPDATE petitions SET status = 'merged' WHERE id = :id"), {"id": petition.id})
    source = voices.source_of(voices.new_device_token(), "198.51.100.7")
    with pytest.raises(voices.Closed):
        voices.add(seen, "k" * 32, source)
    assert (
        db.session.execute(text("SELECT supporters FROM petitions WHERE id = :id"), {"id": petition.id}).scalar() == 1
    )
    assert (
        db.session.execute(
            text("SELECT count(*) FROM petition_supports WHERE petition_id = :id"), {"id": petition.id}
        ).scalar()
        == 0
    )
