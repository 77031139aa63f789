"""Notices leave the portal: e-mail over a real SMTP server (STARTTLS and a
login), SMS and Zalo through local servers speaking their HTTP APIs, with
retries, failures and the administrators' page."""

from __future__ import annotations

import re

import pytest
from rq import SimpleWorker
from sqlalchemy import select
from sqlalchemy import text as sa_text

from app import create_app
from app.config import ConfigError
from app.extensions import db
from app.models import Notice, Petition
from app.redis_conn import redis
from app.services import outbox, retention
from app.services.workflow import act
from tests.delivery_servers import SMS_KEY, ZALO_TEMPLATES, ZALO_TOKEN
from tests.factories import log_in, officer, petition_in, slice_communes, submit_petition

pytest_plugins = ["tests.delivery_servers"]  # the SMTP server and the gateways as fixtures

ANSWER = "UBND xã đã nạo vét cống thoát nước thôn Đông ngày 4/12."


@pytest.fixture
def channels(app, client, smtp_server, gateway, monkeypatch):
    """E-mail, SMS and Zalo all on, each pointed at its real local server; retries without waiting."""
    settings = {
        "SMTP_URL": smtp_server.url,
        "SMTP_CA_FILE": smtp_server.ca_file,
        "MAIL_FROM": "Cổng Mặt trận số <no-reply@mattran.test>",
        "SMS_GATEWAY_URL": gateway.sms_url,
        "SMS_GATEWAY_KEY": SMS_KEY,
        "ZALO_ZNS_URL": gateway.zalo_url,
        "ZALO_ACCESS_TOKEN": ZALO_TOKEN,
        "ZALO_TEMPLATES": ",".join(f"{kind}={template}" for kind, template in ZALO_TEMPLATES.items()),
        "NOTICE_RETRY_S": "0,0",
        "NOTICE_TIMEOUT_S": 0.5,
        "PORTAL_URL": "https://mattran.test",
    }
    for name, value in settings.items():
        monkeypatch.setitem(app.config, name, value)
    return {"mail": smtp_server, "gateway": gateway, "app": app}


def run_jobs() -> None:
    """Hand waiting jobs to RQ as the sweeper does, then run them and their retries here, as a worker would."""
    outbox.hand_over()
    SimpleWorker(["default"], connection=redis()).work(burst=True)


def notices_of(petition_id: int) -> dict[str, Notice]:
    db.session.expire_all()
    rows = db.session.scalars(select(Notice).where(Notice.petition_id == petition_id).order_by(Notice.id))
    return {n.channel: n for n in rows}


def answered(petition: Petition, commune: str) -> Petition:
    who = officer("commune", commune)
    act(petition, "accept", who)
    act(petition, "resolve", who, answer=ANSWER)
    db.session.commit()
    return petition


def test_a_citizen_who_leaves_an_e_mail_address_gets_a_receipt_with_the_tracking_code(client, channels):
    response = submit_petition(client, email="Dung.Pham@Example.VN ")
    assert response.status_code == 303
    code = response.headers["Location"].split("?")[0].rsplit("/", 1)[1]
    run_jobs()

    [mail] = channels["mail"].messages
    assert channels["mail"].tls_sessions == 1  # the text went only after STARTTLS
    assert mail["To"] == "Dung.Pham@example.vn"
    assert code not in mail["Subject"]  # subjects show in previews and mail servers' logs
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert f"https://mattran.test/petitions/{code}" in text and f"https://mattran.test/petitions/{code}" in html
    # None of the sender's own words: the address is not verified, so the Front's mail
    # must not carry a stranger's text to whoever he names.
    assert "Đường làng ngập nước" not in text and "Đường làng ngập nước" not in html
    petition = db.session.scalars(select(Petition).where(Petition.contact_email.is_not(None))).one()
    notice = notices_of(petition.id)["email"]
    assert (notice.status, notice.attempts, notice.last_error) == ("sent", 1, None)
    assert notice.provider_id == mail["Message-ID"]
    assert code not in notice.body and code not in notice.subject  # the secret is not kept at rest
    assert channels["gateway"].requests == []  # receipts go by e-mail only


def test_the_answer_reaches_the_citizen_by_e_mail_sms_and_zalo(client, channels):
    commune = slice_communes(1)[0]
    petition = answered(petition_in(commune, email="dung@example.vn"), commune)
    run_jobs()

    mail = channels["mail"].messages[-1]
    assert ANSWER in mail.get_body(("plain",)).get_content()
    assert ANSWER in mail.get_body(("html",)).get_content()
    sms, zalo = channels["gateway"].requests
    assert sms["path"] == "/sms" and sms["headers"]["Authorization"] == f"Bearer {SMS_KEY}"
    assert sms["json"]["phone"] == "84912345678" and sms["json"]["brandname"]
    assert petition.display_code in sms["json"]["message"]
    assert sms["json"]["message"].isascii()  # one 160-character part, no diacritics
    assert zalo["json"]["template_id"] == ZALO_TEMPLATES["answered"] and zalo["json"]["phone"] == "84912345678"
    assert zalo["json"]["template_data"]["ma_theo_doi"] == petition.display_code
    sent = notices_of(petition.id)
    assert {channel: n.status for channel, n in sent.items()} == {"email": "sent", "sms": "sent", "zalo": "sent"}
    assert sent["sms"].provider_id.startswith("sms-") and sent["zalo"].provider_id == "zns-1"


def test_a_second_answer_after_a_reopening_is_told_again(client, channels):
    from app.services.petitions import rate

    commune = slice_communes(1)[0]
    petition = answered(petition_in(commune, email="dung@example.vn", phone=None, anonymous=True), commune)
    run_jobs()
    rate(petition, False, "Vẫn còn ngập.")
    act(petition, "resolve", officer("commune", commune), answer="Đã nạo vét lần hai.")
    db.session.commit()
    run_jobs()
    answers = [m for m in channels["mail"].messages if "đã có trả lời" in m["Subject"]]  # the receipt aside
    bodies = [m.get_body(("plain",)).get_content() for m in answers]
    assert [ANSWER in b for b in bodies] == [True, False] and "Đã nạo vét lần hai." in bodies[1]


@pytest.mark.parametrize(
    ("mode", "reason"), [("503", "answered HTTP 503"), ("slow", "did not answer within 0.5 s")], ids=["503", "timeout"]
)
def test_a_gateway_that_stays_away_is_retried_then_given_up_and_shown_to_administrators(client, channels, mode, reason):
    commune = slice_communes(1)[0]
    channels["gateway"].mode = mode
    petition = answered(petition_in(commune), commune)
    run_jobs()

    gateway_calls = [r["path"] for r in channels["gateway"].requests]
    assert gateway_calls.count("/sms") == 3  # the first attempt and NOTICE_RETRY_S's two retries
    sms = notices_of(petition.id)["sms"]
    assert (sms.status, sms.attempts) == ("gave_up", 3) and reason in sms.last_error

    log_in(client, officer("admin"))
    page = client.get("/officer/notices").get_data(as_text=True)
    rows = re.findall(r"<tr>\s*<td>" + re.escape(petition.reference) + r".*?</tr>", page, re.S)
    [row] = [r for r in rows if "<td>SMS</td>" in r]
    assert "Đã dừng thử lại" in row and reason in row
    assert "0912345678" not in page and "0912•••678" in row  # enough to tell which, not to use


def test_a_notice_given_up_is_sent_again_from_the_page_once_the_gateway_is_back(client, channels):
    commune = slice_communes(1)[0]
    channels["gateway"].mode = "503"
    petition = answered(petition_in(commune), commune)
    run_jobs()
    given_up = notices_of(petition.id)
    assert {n.status for n in given_up.values()} == {"gave_up"}  # SMS and Zalo, through the same server
    channels["gateway"].mode = "ok"

    log_in(client, officer("admin"))
    page = client.get("/officer/notices").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    for notice in given_up.values():
        response = client.post(f"/officer/notices/{notice.id}/send-again", data={"csrf_token": token})
        assert response.status_code == 302
    run_jobs()
    assert {c: n.status for c, n in notices_of(petition.id).items()} == {"sms": "sent", "zalo": "sent"}
    assert petition.reference not in client.get("/officer/notices").get_data(as_text=True)
    assert (
        client.post(f"/officer/notices/{given_up['sms'].id}/send-again", data={"csrf_token": token}).status_code == 404
    )


def test_garbage_from_a_gateway_is_a_failure_with_the_reason_and_the_other_channels_still_go(client, channels):
    commune = slice_communes(1)[0]
    channels["gateway"].mode = "garbage"
    petition = answered(petition_in(commune, email="dung@example.vn"), commune)
    run_jobs()
    sent = notices_of(petition.id)
    assert sent["sms"].status == "failed" and "not its API" in sent["sms"].last_error
    assert sent["sms"].attempts == 1  # not sent again: the gateway may have sent it
    assert sent["zalo"].status == "failed" and sent["email"].status == "sent"
    assert [m["Subject"].endswith("đã có trả lời") for m in channels["mail"].messages] == [False, True]


def test_refusals_are_failures_with_the_channel_s_own_reason(client, channels):
    commune = slice_communes(1)[0]
    channels["gateway"].mode = "refuse"
    channels["mail"].refused.add("khong-co@example.vn")
    petition = answered(petition_in(commune, email="khong-co@example.vn"), commune)
    run_jobs()
    sent = notices_of(petition.id)
    assert sent["email"].status == "failed" and "550" in sent["email"].last_error
    assert sent["sms"].status == "failed" and "Số điện thoại không hợp lệ" in sent["sms"].last_error
    assert sent["zalo"].status == "failed" and "-118" in sent["zalo"].last_error
    assert all(n.attempts == 1 for n in sent.values())
    # What the servers echoed back is kept and shown masked: no address, number or tracking code.
    reasons = " ".join(n.last_error for n in sent.values())
    assert "khong-co@example.vn" not in reasons and "kh•••@example.vn" in reasons
    assert petition.display_code not in reasons and "84912345678" not in reasons


def test_a_wrong_smtp_login_is_retried_not_taken_for_a_bad_address(client, channels, app, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_URL", channels["mail"].url.replace("mat-khau-thu", "sai"))
    submit_petition(client, email="dung@example.vn")
    run_jobs()
    notice = db.session.scalars(select(Notice).where(Notice.channel == "email")).one()
    assert (notice.status, notice.attempts) == ("gave_up", 3) and "login" in notice.last_error
    assert channels["mail"].messages == []


def test_with_no_channel_configured_nothing_is_sent_or_pretended(client, app_ctx):
    commune = slice_communes(1)[0]
    petition = answered(petition_in(commune, email="dung@example.vn"), commune)
    submit_petition(client, email="dung@example.vn")
    run_jobs()
    assert db.session.scalars(select(Notice).where(Notice.petition_id == petition.id)).all() == []
    assert db.session.scalars(select(Notice)).all() == []


def test_only_administrators_see_the_failures(client, app_ctx):
    commune = slice_communes(1)[0]
    for role, area in (("commune", commune), ("province", "46"), ("central", None)):
        log_in(client, officer(role, area))
        assert client.get("/officer/notices").status_code == 403
        client.delete_cookie("session")


@pytest.mark.parametrize("address", ["dung@@example", "nguyễn@example.vn"])
def test_a_bad_e_mail_address_gets_a_vietnamese_message_and_the_text_is_kept(client, channels, address):
    response = submit_petition(client, email=address)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Địa chỉ thư điện tử không đúng" in html and "Đường làng ngập nước" in html
    assert db.session.scalars(select(Petition)).all() == []


def test_an_internationalised_domain_is_kept_in_the_form_every_mail_server_takes(client, channels):
    assert submit_petition(client, email="dung@ví-dụ.vn").status_code == 303
    assert db.session.scalars(select(Petition.contact_email)).one() == "dung@xn--v-d-rma6749a.vn"


def test_the_form_offers_the_e_mail_field_only_when_e_mail_is_on(client, app, monkeypatch):
    assert 'name="email"' not in client.get("/petitions/new").get_data(as_text=True)
    monkeypatch.setitem(app.config, "SMTP_URL", "smtp://127.0.0.1:9")
    assert 'name="email"' in client.get("/petitions/new").get_data(as_text=True)


def test_an_anonymous_citizen_s_address_is_not_shown_to_officers(client, app_ctx):
    commune = slice_communes(1)[0]
    anonymous = petition_in(commune, anonymous=True, name=None, phone=None, email="an.danh@example.vn")
    named = petition_in(commune, email="co.ten@example.vn")
    db.session.commit()
    log_in(client, officer("commune", commune))
    for petition, address, shown in ((anonymous, "an.danh@example.vn", False), (named, "co.ten@example.vn", True)):
        page = client.get(f"/officer/petitions/{petition.id}").get_data(as_text=True)
        assert address not in page  # not before the officer asks, and the asking is audited
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        revealed = client.post(f"/officer/petitions/{petition.id}/contact", data={"csrf_token": token})
        assert (address in revealed.get_data(as_text=True)) is shown


def test_a_delivery_rq_still_retries_is_not_handed_over_again_by_the_sweeper(client, channels):
    from app.models import OutboxJob

    photo, delivery = OutboxJob(job="process_photo", args=[1]), OutboxJob(job="deliver_notice", args=[1])
    db.session.add_all([photo, delivery])
    db.session.flush()
    db.session.execute(
        sa_text("UPDATE job_outbox SET enqueued_at = now() - interval '20 minutes' WHERE id IN (:a, :b)"),
        {"a": photo.id, "b": delivery.id},
    )
    app = channels["app"]
    app.config["NOTICE_RETRY_S"] = "30,120,600,1800"  # its retries may wait 42.5 minutes in all
    redis().flushdb()
    assert outbox.hand_over([photo.id, delivery.id]) == 1
    assert db.session.scalar(select(OutboxJob.attempts).where(OutboxJob.id == delivery.id)) == 0


def test_the_e_mail_address_is_erased_with_the_rest_of_the_contact(client, channels):
    from datetime import UTC, datetime, timedelta

    commune = slice_communes(1)[0]
    petition = answered(petition_in(commune, email="dung@example.vn"), commune)
    run_jobs()
    petition.status_changed_at = datetime.now(UTC) - timedelta(days=31 * 25)
    db.session.commit()
    assert retention.anonymise_batch() == 1
    db.session.expire_all()
    assert petition.contact_email is None
    assert {n.recipient for n in notices_of(petition.id).values()} == {retention.ERASED}


@pytest.mark.parametrize(
    ("setting", "value"),
    [("SMTP_URL", "http://mail.example"), ("SMS_GATEWAY_URL", "gateway.example/sms"), ("NOTICE_RETRY_S", "30,soon")],
)
def test_a_channel_setting_that_cannot_work_stops_the_portal_at_start(setting, value):
    with pytest.raises(ConfigError, match="Notices"):
        create_app({"TESTING": True, setting: value})


def test_a_long_vietnamese_subject_arrives_whole_in_lines_mail_servers_take(client, channels):
    from app.senders import Message
    from app.senders.email import Email

    subject = "Kiến nghị mới tại Phường Đại Đức — Thành phố Huế, một tiêu đề đủ dài để phải gấp dòng nhiều lần"
    sender = Email(channels["mail"].url, "Cổng Mặt trận số <no-reply@mattran.test>", channels["mail"].ca_file, 5)
    sender.send(Message(recipient="a@dan.vn", subject=subject, text="Nội dung " * 200, html="<p>Nội dung</p>"))
    mail = channels["mail"].messages[-1]
    assert mail["Subject"] == subject and mail["From"].addresses[0].display_name == "Cổng Mặt trận số"
    raw = channels["mail"].raw[-1]
    assert max(len(line) for line in raw.splitlines()) <= 78  # encoded words and base64 lines as RFCs want
