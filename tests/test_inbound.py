"""Petitions by e-mail (the portal's own SMTP receiver) and by SMS (the gateway's signed webhook)
become received petitions in the right inbox, for an officer to confirm."""

from __future__ import annotations

import json
import smtplib
import socket
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from app import signing
from app.extensions import db
from app.inbound.mail import controller
from app.models import Notice, OutboxJob, Petition, PetitionPhoto
from tests.factories import jpeg, log_in, officer, slice_communes

SMS_SECRET = "bi-mat-cong-sms"


@pytest.fixture
def receiver(app, app_ctx, monkeypatch):
    """The portal's SMTP receiver for kiennghi@mattran.test on a free port, filing into this test's transaction."""
    monkeypatch.setitem(app.config, "INBOUND_EMAIL_ADDRESS", "kiennghi@mattran.test")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    running = controller(app, "127.0.0.1", port)
    running.start()
    yield port
    running.stop()


def mail(port: int, to: str, subject: str, text: str, image: bytes | None = None, message_id: str = "<m1@dan.vn>"):
    message = EmailMessage()
    message["From"], message["To"], message["Subject"], message["Message-ID"] = (
        "Trần Văn Bình <binh@dan.vn>", to, subject, message_id,
    )  # fmt: skip
    message.set_content(text)
    if image:
        message.add_attachment(image, maintype="image", subtype="jpeg", filename="anh.jpg")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(message)


def test_a_mail_to_a_commune_s_address_is_a_received_petition_in_its_inbox(client, receiver):
    commune = slice_communes(1)[0]
    mail(receiver, f"kiennghi+{commune}@mattran.test", "Cầu tre sắp sập", "Cây cầu tre qua kênh đã mục.", jpeg())
    petition = db.session.scalars(select(Petition)).one()
    assert (petition.channel, petition.status, petition.commune.code) == ("email", "received", commune)
    assert petition.title == "Cầu tre sắp sập" and petition.body.startswith("Cây cầu tre qua kênh đã mục.")
    assert (petition.contact_email, petition.contact_name, petition.category_code) == (
        "binh@dan.vn",
        "Trần Văn Bình",
        "other",
    )
    assert not petition.publishable  # the sender chose nothing about publication
    assert db.session.scalars(select(PetitionPhoto).where(PetitionPhoto.petition_id == petition.id)).one()
    assert db.session.scalars(select(OutboxJob).where(OutboxJob.job == "notify_citizen")).one().args[1] == "received"

    log_in(client, officer("commune", commune))
    assert "Cầu tre sắp sập" in client.get("/officer/").get_data(as_text=True)
    assert "Thư điện tử" in client.get(f"/officer/petitions/{petition.id}").get_data(as_text=True)  # its channel


def test_the_same_mail_delivered_twice_is_filed_once(client, receiver):
    commune = slice_communes(1)[0]
    for _ in range(2):
        mail(receiver, f"kiennghi+{commune}@mattran.test", "Cầu tre sắp sập", "Cây cầu tre qua kênh đã mục.")
    assert len(db.session.scalars(select(Petition)).all()) == 1


def test_a_mail_naming_no_place_bounces_unless_a_default_area_is_set(client, receiver, app, monkeypatch):
    with pytest.raises(smtplib.SMTPDataError) as refused:
        mail(receiver, "kiennghi@mattran.test", "Đường hỏng", "Đường hỏng nặng.")
    assert refused.value.smtp_code == 550 and b"kiennghi+" in refused.value.smtp_error
    assert db.session.scalars(select(Petition)).all() == []
    monkeypatch.setitem(app.config, "INBOUND_DEFAULT_AREA", "46")
    mail(receiver, "kiennghi@mattran.test", "Đường hỏng", "Đường hỏng nặng.", message_id="<m2@dan.vn>")
    assert db.session.scalars(select(Petition.province_id)).one() is not None


def test_mail_for_any_other_address_is_refused(client, receiver):
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        mail(receiver, "admin@mattran.test", "Xin chào", "Thư rác.")
    assert db.session.scalars(select(Petition)).all() == []


def sms(client, payload: dict, secret: str = SMS_SECRET, **stamp):
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", **signing.sign(secret, body, **stamp)}
    return client.post("/inbound/sms", data=body, headers=headers)


@pytest.fixture
def sms_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "INBOUND_SMS_SECRET", SMS_SECRET)
    monkeypatch.setitem(app.config, "SMS_GATEWAY_URL", "http://127.0.0.1:9/sms")  # the receipt goes back by SMS


def test_an_sms_starting_with_a_commune_code_is_filed_there_and_answered_with_a_receipt(client, sms_on):
    commune = slice_communes(1)[0]
    response = sms(client, {"from": "+84912345678", "text": f"{commune} Den duong hong ca thang", "message_id": "s1"})
    assert response.status_code == 200 and response.json["new"] is True
    petition = db.session.scalars(select(Petition)).one()
    assert (petition.channel, petition.commune.code, petition.contact_phone) == ("sms", commune, "0912345678")
    assert petition.body == "Den duong hong ca thang" and petition.display_code not in response.get_data(as_text=True)
    from app.jobs.tasks import notify_citizen

    job = db.session.scalars(select(OutboxJob).where(OutboxJob.job == "notify_citizen")).one()
    notify_citizen(job.id, *job.args)
    assert db.session.scalars(select(Notice.channel).where(Notice.petition_id == petition.id)).all() == ["sms"]


def test_an_sms_sent_again_by_the_gateway_is_filed_once_and_a_replay_or_forgery_is_refused(client, sms_on):
    import time

    commune = slice_communes(1)[0]
    payload = {"from": "0912345678", "text": f"{commune} Nuoc sinh hoat bi duc", "message_id": "s2"}
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json", **signing.sign(SMS_SECRET, body)}
    assert client.post("/inbound/sms", data=body, headers=headers).status_code == 200
    assert client.post("/inbound/sms", data=body, headers=headers).status_code == 401  # the same request again
    again = sms(client, payload, timestamp=int(time.time()) + 1)  # the gateway's retry, signed anew
    assert again.status_code == 200 and again.json["new"] is False
    assert sms(client, payload, secret="sai").status_code == 401
    assert sms(client, payload, timestamp=int(time.time()) - 3600).status_code == 401
    assert len(db.session.scalars(select(Petition)).all()) == 1


@pytest.mark.parametrize(
    "payload",
    [{"from": "0912345678", "text": "Khong co ma"}, {"from": "0912345678"}, ["not", "an", "object"], {}],
)
def test_an_sms_the_portal_cannot_file_gets_a_json_answer_that_says_why(client, sms_on, payload):
    response = sms(client, payload)
    assert response.status_code == 400 and response.json["error"]["message"]


def test_an_sms_naming_no_place_is_422_without_a_default_area(client, sms_on):
    response = sms(client, {"from": "0912345678", "text": "Den duong hong", "message_id": "s3"})
    assert response.status_code == 422 and response.json["error"]["code"] == "no_place"


def test_inbound_sms_is_off_without_its_secret(client, app_ctx):
    assert sms(client, {"from": "0912345678", "text": "x", "message_id": "s4"}).status_code == 404
