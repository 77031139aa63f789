"""Referrals reach state agencies — by e-mail with a signed reply link, through an agency's Open311
endpoint, or by a signed webhook — and their answers come back into the petition for the officer."""

from __future__ import annotations

import io
import json
import re
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from rq import SimpleWorker
from sqlalchemy import select

from app import signing
from app.extensions import db
from app.models import Agency, AuditEvent, Referral
from app.queries.areas import area_by_code
from app.redis_conn import redis
from app.services import outbox, referrals
from app.services.workflow import WorkflowError, act
from tests.delivery_servers import OPEN311_KEY
from tests.factories import csrf_token, jpeg, log_in, officer, petition_in, slice_communes

pytest_plugins = ["tests.delivery_servers"]

SECRET_TEXT = "Nhà tôi ở số 12 ngõ 5, số điện thoại 0912345678."
PUBLIC_TEXT = "Đoạn đường qua thôn ngập sâu mỗi khi mưa."


@pytest.fixture
def setting(app, client, smtp_server, gateway, monkeypatch):
    """A commune, its officer, a petition accepted and redacted, the SMTP server and the agency servers."""
    for name, value in {
        "SMTP_URL": smtp_server.url,
        "SMTP_CA_FILE": smtp_server.ca_file,
        "NOTICE_RETRY_S": "0,0",
        "NOTICE_TIMEOUT_S": 0.5,
        "PORTAL_URL": "https://mattran.test",
    }.items():
        monkeypatch.setitem(app.config, name, value)
    commune = slice_communes(1)[0]
    who = officer("commune", commune)
    petition = petition_in(commune, body=SECRET_TEXT, email="dung@example.vn")
    act(petition, "accept", who)
    act(petition, "redact", who, note="Bỏ địa chỉ và số điện thoại", public_title="Đường ngập", public_body=PUBLIC_TEXT)
    return {"commune": commune, "officer": who, "petition": petition, "mail": smtp_server, "gateway": gateway}


def agency(channel: str, address: str, area_code: str | None = None, secret: str = "", **more) -> Agency:
    area = area_by_code(area_code) if area_code else None
    row = Agency(name=f"Sở Xây dựng ({channel})", area_id=area.id if area else None, channel=channel,
                 address=address, secret=secret, **more)  # fmt: skip
    db.session.add(row)
    db.session.flush()
    return row


def refer(setting, to: Agency) -> Referral:
    act(setting["petition"], "refer", setting["officer"], agency_id=to.id, due_on=date.today() + timedelta(days=15))
    return db.session.scalars(select(Referral).where(Referral.agency_id == to.id)).one()


def run_jobs() -> None:
    outbox.hand_over()
    SimpleWorker(["default"], connection=redis()).work(burst=True)


def reply_path(text: str) -> str:
    return urlsplit(re.search(r"https://mattran\.test/agency/reply/\S+", text).group(0)).path


def test_an_e_mail_agency_gets_the_redacted_petition_and_a_reply_link_without_the_citizen(client, setting):
    to = agency("email", "so.xay.dung@hue.gov.vn", "46")
    refer(setting, to)
    run_jobs()
    [mail] = [m for m in setting["mail"].messages if m["To"] == "so.xay.dung@hue.gov.vn"]
    text = mail.get_body(("plain",)).get_content()
    assert PUBLIC_TEXT in text and setting["petition"].reference in text
    for secret in (SECRET_TEXT, "0912345678", "Phạm Thị Dung", setting["petition"].display_code, "dung@example.vn"):
        assert secret not in text and secret not in mail.get_body(("html",)).get_content()
    assert client.get(reply_path(text)).status_code == 200


def test_the_agency_answers_through_its_link_with_a_file_and_the_officer_publishes_it(client, setting):
    petition = setting["petition"]
    refer(setting, agency("email", "so.xay.dung@hue.gov.vn"))
    run_jobs()
    path = reply_path(setting["mail"].messages[-1].get_body(("plain",)).get_content())
    page = client.get(path)
    assert page.headers["Cache-Control"] == "no-store"  # the link is in the address
    assert PUBLIC_TEXT in page.get_data(as_text=True) and SECRET_TEXT not in page.get_data(as_text=True)
    answer = "Sở đã khảo sát và sẽ nâng nền đường trong tháng 1/2027."
    response = client.post(
        path,
        data={"csrf_token": csrf_token(client, path), "answer": answer, "responder": "Phòng Hạ tầng",
              "file": (io.BytesIO(b"%PDF-1.4\n% ke hoach\n"), "kế hoạch.pdf")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert response.status_code == 303
    again = client.get(path).get_data(as_text=True)
    assert "Đã nhận câu trả lời của cơ quan" in again and 'id="reply-form"' not in again  # answered once

    history = db.session.scalars(select(AuditEvent).where(AuditEvent.petition_id == petition.id)).all()
    assert ("agency_replied", answer) in [(e.action, e.note) for e in history]
    status_page = client.get(f"/petitions/{petition.display_code}").get_data(as_text=True)
    assert answer not in status_page  # not the citizen's until the officer publishes it

    log_in(client, setting["officer"])
    officer_page = client.get(f"/officer/petitions/{petition.id}").get_data(as_text=True)
    assert answer in officer_page and "Phòng Hạ tầng" in officer_page and "Cơ quan nhà nước đã trả lời" in officer_page
    link = re.search(r'href="(/officer/petitions/\d+/referrals/\d+/file)"', officer_page).group(1)
    download = client.get(link)
    assert download.data.startswith(b"%PDF") and "attachment" in download.headers["Content-Disposition"]
    act(petition, "resolve", setting["officer"], answer=answer)
    assert answer in client.get(f"/petitions/{petition.display_code}").get_data(as_text=True)


def test_a_photo_attached_by_the_agency_is_re_encoded_and_anything_else_refused(client, setting):
    refer(setting, agency("email", "so.xay.dung@hue.gov.vn"))
    run_jobs()
    path = reply_path(setting["mail"].messages[-1].get_body(("plain",)).get_content())
    refused = client.post(
        path,
        data={"csrf_token": csrf_token(client, path), "answer": "Đã xử lý xong đoạn đường.",
              "file": (io.BytesIO(b"MZ\x90\x00 not a document"), "tra-loi.exe")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert refused.status_code == 422 and "Chỉ nhận tệp PDF hoặc ảnh" in refused.get_data(as_text=True)
    assert "Đã xử lý xong đoạn đường." in refused.get_data(as_text=True)  # the answer typed is kept
    client.post(
        path,
        data={"csrf_token": csrf_token(client, path), "answer": "Đã xử lý xong đoạn đường.",
              "file": (io.BytesIO(jpeg(gps=(16.4, 107.6))), "anh.jpg")},
        content_type="multipart/form-data",
    )  # fmt: skip
    referral = db.session.scalars(select(Referral)).one()
    assert referral.reply_file_name == "anh.jpg"
    from app.storage import current_storage

    assert b"Exif" not in current_storage().get(referral.reply_file_key)


@pytest.mark.parametrize("damage", ["tampered", "revoked", "expired"])
def test_a_reply_link_that_is_tampered_revoked_or_expired_gets_a_clear_page(client, setting, app, monkeypatch, damage):
    referral = refer(setting, agency("email", "so.xay.dung@hue.gov.vn"))
    path = urlsplit(referrals.reply_url(referral)).path
    if damage == "tampered":
        path = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    elif damage == "revoked":
        referral.link_nonce = "moi"
    else:  # REPLY_LINK_DAYS (60) after its due date
        referral.due_on = date.today() - timedelta(days=61)
    response = client.get(path)
    html = response.get_data(as_text=True)
    assert response.status_code == (410 if damage == "expired" else 404)
    assert ("đã hết hạn" if damage == "expired" else "không hợp lệ") in html and 'role="alert"' in html
    assert PUBLIC_TEXT not in html


def test_an_open311_agency_gets_a_post_requests_and_its_answer_is_polled(client, setting):
    gateway = setting["gateway"]
    to = agency("open311", gateway.open311_url, secret=OPEN311_KEY, service_code="duong-bo")
    referral = refer(setting, to)
    run_jobs()
    [post] = [r for r in gateway.requests if r["path"] == "/open311/requests.json"]
    form = dict(pair.split("=", 1) for pair in post["raw"].decode().split("&"))
    assert form["service_code"] == "duong-bo"
    from urllib.parse import unquote_plus

    description = unquote_plus(form["description"])
    assert PUBLIC_TEXT in description and SECRET_TEXT not in description and "0912345678" not in description
    db.session.refresh(referral)
    assert (referral.external_id, referral.send_status) == ("HUE-2026-0042", "sent")

    assert referrals.poll_open311() == 0  # still open
    notes = "Đã nâng nền đường ngày 3/12."
    gateway.agency_request = {"status": "closed", "status_notes": notes, "agency_responsible": "Sở Xây dựng"}
    assert referrals.poll_open311() == 1
    db.session.refresh(referral)
    assert referral.reply == "Đã nâng nền đường ngày 3/12." and referral.replied_by == "Sở Xây dựng"
    assert referrals.poll_open311() == 0  # answered: not asked again


def test_an_agency_endpoint_that_answers_garbage_is_a_failed_sending_with_the_reason(client, setting):
    gateway = setting["gateway"]
    gateway.mode = "garbage"
    referral = refer(setting, agency("open311", gateway.open311_url, secret=OPEN311_KEY))
    run_jobs()
    db.session.refresh(referral)
    assert referral.send_status == "failed" and "not its API" in referral.send_error
    assert setting["petition"].status == "accepted"  # the referral stands; nothing else broke
    log_in(client, setting["officer"])
    page = client.get(f"/officer/petitions/{setting['petition'].id}").get_data(as_text=True)
    assert "Chưa gửi được" in page and "not its API" in page


def test_an_agency_away_is_retried_then_given_up(client, setting):
    gateway = setting["gateway"]
    gateway.mode = "503"
    referral = refer(setting, agency("webhook", gateway.hook_url, secret="bi-mat-cua-so"))
    run_jobs()
    db.session.refresh(referral)
    assert (referral.send_status, referral.send_attempts) == ("gave_up", 3)
    assert [r["path"] for r in gateway.requests].count("/hook") == 3


def test_a_webhook_agency_gets_a_signed_post_with_the_reply_link(client, setting):
    gateway = setting["gateway"]
    referral = refer(setting, agency("webhook", gateway.hook_url, secret="bi-mat-cua-so"))
    run_jobs()
    [hook] = [r for r in gateway.requests if r["path"] == "/hook"]
    headers = hook["headers"]
    expected = signing.sign("bi-mat-cua-so", hook["raw"], int(headers["X-Portal-Timestamp"]))
    assert headers["X-Portal-Signature"] == expected["X-Portal-Signature"]
    assert hook["json"]["referral_id"] == referral.id and hook["json"]["body"] == PUBLIC_TEXT
    assert client.get(urlsplit(hook["json"]["reply_url"]).path).status_code == 200


def _callback(client, agency_id: int, secret: str, payload: dict, **stamp):
    body = json.dumps(payload).encode()
    headers = {
        "X-Portal-Agency": str(agency_id),
        "Content-Type": "application/json",
        **signing.sign(secret, body, **stamp),
    }
    return client.post("/agency/updates", data=body, headers=headers)


def test_a_signed_update_from_the_agency_lands_and_a_replay_or_a_forgery_is_refused(client, setting):
    import time

    to = agency("webhook", setting["gateway"].hook_url, secret="bi-mat-cua-so")
    referral = refer(setting, to)
    update = {"referral_id": referral.id, "answer": "Đã sửa xong cống thoát nước.", "answered_by": "Sở Xây dựng"}
    body = json.dumps(update).encode()
    headers = {"X-Portal-Agency": str(to.id), "Content-Type": "application/json", **signing.sign("bi-mat-cua-so", body)}

    forged = {**headers, "X-Portal-Signature": "sha256=" + "0" * 64}
    assert client.post("/agency/updates", data=body, headers=forged).status_code == 401
    stale = _callback(client, to.id, "bi-mat-cua-so", update, timestamp=int(time.time()) - 3600)
    assert stale.status_code == 401 and "timestamp" in stale.json["error"]["message"]
    assert _callback(client, to.id, "sai-bi-mat", update).status_code == 401

    assert client.post("/agency/updates", data=body, headers=headers).status_code == 200
    db.session.refresh(referral)
    assert referral.reply == "Đã sửa xong cống thoát nước."
    replay = client.post("/agency/updates", data=body, headers=headers)
    assert replay.status_code == 401 and "replay" in replay.json["error"]["message"]

    other = agency("webhook", setting["gateway"].hook_url, secret="bi-mat-khac")
    assert _callback(client, other.id, "bi-mat-khac", update).status_code == 404  # not its referral


def test_an_officer_can_refer_only_to_an_agency_serving_the_petition_s_place(client, setting):
    elsewhere = agency("email", "so@hanoi.gov.vn", "01") if area_by_code("01") else None
    if elsewhere is None:  # the test slice holds one province: use a commune of it other than the petition's
        elsewhere = agency("email", "xa.khac@hue.gov.vn", slice_communes(2)[1])
    with pytest.raises(WorkflowError, match="không phục vụ địa bàn"):
        act(
            setting["petition"],
            "refer",
            setting["officer"],
            agency_id=elsewhere.id,
            due_on=date.today() + timedelta(days=9),
        )
    db.session.rollback()


def test_a_petition_not_yet_redacted_cannot_go_to_a_listed_agency(client, app_ctx, app, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_URL", "smtp://127.0.0.1:9")
    commune = slice_communes(1)[0]
    who = officer("commune", commune)
    petition = petition_in(commune, body=SECRET_TEXT)
    act(petition, "accept", who)
    to = agency("email", "so.xay.dung@hue.gov.vn")
    with pytest.raises(WorkflowError, match="Biên tập nội dung công khai"):
        act(petition, "refer", who, agency_id=to.id, due_on=date.today() + timedelta(days=9))
    db.session.rollback()
    assert db.session.scalars(select(Referral)).all() == []


def test_e_mail_agencies_are_offered_only_while_e_mail_is_on(client, setting, app, monkeypatch):
    by_mail, by_hook = agency("email", "so@hue.gov.vn"), agency("webhook", setting["gateway"].hook_url, secret="s")
    assert {a.id for a in referrals.agencies_for(setting["petition"])} == {by_mail.id, by_hook.id}
    monkeypatch.setitem(app.config, "SMTP_URL", "")
    assert [a.id for a in referrals.agencies_for(setting["petition"])] == [by_hook.id]


def test_an_open311_post_that_timed_out_is_not_sent_again(client, setting):
    gateway = setting["gateway"]
    gateway.mode = "slow"
    referral = refer(setting, agency("open311", gateway.open311_url, secret=OPEN311_KEY))
    run_jobs()
    db.session.refresh(referral)
    assert referral.send_status == "failed" and "may have received it" in referral.send_error
    assert [r["path"] for r in gateway.requests].count("/open311/requests.json") == 1


def test_a_poll_answer_the_database_cannot_keep_does_not_hold_up_the_others(client, setting):
    gateway = setting["gateway"]
    to = agency("open311", gateway.open311_url, secret=OPEN311_KEY)
    referral = refer(setting, to)
    run_jobs()
    gateway.agency_request = {"status": "closed", "status_notes": "Đã sửa\x00 xong."}
    assert referrals.poll_open311() == 1
    db.session.refresh(referral)
    assert referral.reply == "Đã sửa xong."


def test_the_reply_file_is_only_for_officers_of_the_petition_s_area(client, setting):
    refer(setting, agency("email", "so.xay.dung@hue.gov.vn"))
    run_jobs()
    path = reply_path(setting["mail"].messages[-1].get_body(("plain",)).get_content())
    client.post(
        path,
        data={"csrf_token": csrf_token(client, path), "answer": "Đã xử lý xong đoạn đường.",
              "file": (io.BytesIO(b"%PDF-1.4 ban ke hoach"), "kh.pdf")},
        content_type="multipart/form-data",
    )  # fmt: skip
    referral = db.session.scalars(select(Referral)).one()
    link = f"/officer/petitions/{setting['petition'].id}/referrals/{referral.id}/file"
    log_in(client, officer("commune", slice_communes(2)[1]))  # the next commune's officer
    assert client.get(link).status_code == 404
    client.delete_cookie("session")
    log_in(client, setting["officer"])
    assert client.get(link).status_code == 200
    other = petition_in(setting["commune"])
    assert client.get(f"/officer/petitions/{other.id}/referrals/{referral.id}/file").status_code == 404


def test_the_first_answer_stands(client, setting):
    referral = refer(setting, agency("webhook", setting["gateway"].hook_url, secret="bi-mat-cua-so"))
    assert referrals.record_reply(referral, "Trả lời thứ nhất của cơ quan.", "Sở")
    assert not referrals.record_reply(referral, "Trả lời thứ hai, gửi cùng lúc.", "Sở")
    assert referral.reply == "Trả lời thứ nhất của cơ quan."
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "agency_replied")).all()
    assert len(events) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Portal-Agency": "²"},
        {"X-Portal-Agency": "1", "X-Portal-Timestamp": "9" * 5000, "X-Portal-Signature": "sha256=" + "0" * 64},
        {"X-Portal-Agency": "1", "X-Portal-Timestamp": "1", "X-Portal-Signature": "sha256=é"},
        {"X-Portal-Agency": "99999999999999999999"},
        {},
    ],
)
def test_malformed_updates_get_a_json_refusal_never_a_server_error(client, setting, headers):
    response = client.post("/agency/updates", data=b'{"referral_id": 1e400}', headers=headers)
    assert response.status_code == 401 and response.json["error"]["code"] == "bad_signature"


def test_an_update_whose_numbers_overflow_is_a_400(client, setting):
    to = agency("webhook", setting["gateway"].hook_url, secret="bi-mat-cua-so")
    response = _callback(client, to.id, "bi-mat-cua-so", {"referral_id": 1e400, "answer": "x" * 20})
    assert response.status_code == 400 and response.json["error"]["code"] == "bad_update"


def test_an_open311_agency_cannot_sign_updates_with_its_api_key(client, setting):
    to = agency("open311", setting["gateway"].open311_url, secret=OPEN311_KEY)
    referral = refer(setting, to)
    response = _callback(client, to.id, OPEN311_KEY, {"referral_id": referral.id, "answer": "Đã xử lý xong."})
    assert response.status_code == 401


def test_an_agency_that_has_not_answered_is_reminded_once_through_its_channel(client, setting):
    from app.services import reminders

    to = agency("email", "so.xay.dung@hue.gov.vn")
    act(setting["petition"], "refer", setting["officer"], agency_id=to.id, due_on=date.today() + timedelta(days=1))
    run_jobs()
    assert reminders.run()["agencies_reminded"] == 1
    assert reminders.run()["agencies_reminded"] == 0  # once
    run_jobs()
    to_agency = [m for m in setting["mail"].messages if m["To"] == "so.xay.dung@hue.gov.vn"]
    assert len(to_agency) == 2 and to_agency[1]["Subject"].startswith("Nhắc:")
    assert "Nhắc lại" in to_agency[1].get_body(("plain",)).get_content()
