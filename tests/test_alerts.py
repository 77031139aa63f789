"""Area alerts: asked on a public page, confirmed from the mail (a real SMTP server receives it), then a mail
for each new published petition of the area — at once or daily — and none once ended."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from rq import SimpleWorker
from sqlalchemy import select

from app.extensions import db
from app.models import AlertSubscription
from app.redis_conn import redis
from app.services import alerts, outbox
from app.services.workflow import act
from tests.factories import csrf_token, officer, petition_in, slice_communes

pytest_plugins = ["tests.delivery_servers"]

PRIVATE = "Số nhà 12, điện thoại 0912345678"


@pytest.fixture
def mail(app, client, smtp_server, monkeypatch):
    for name, value in {
        "SMTP_URL": smtp_server.url,
        "SMTP_CA_FILE": smtp_server.ca_file,
        "NOTICE_RETRY_S": "0",
        "PORTAL_URL": "https://mattran.test",
    }.items():
        monkeypatch.setitem(app.config, name, value)
    return smtp_server


def run_jobs() -> None:
    outbox.hand_over()
    SimpleWorker(["default"], connection=redis()).work(burst=True)


def link(message, kind: str) -> str:
    text = message.get_body(("plain",)).get_content()
    return urlsplit(re.search(rf"https://mattran\.test/alerts/{kind}/\S+", text).group(0)).path


def ask(client, area: str, frequency: str = "now", categories: list[str] = (), email: str = "truong.thon@dan.vn"):
    data = {"csrf_token": csrf_token(client, "/alerts"), "email": email, "area": area, "frequency": frequency,
            "categories": list(categories)}  # fmt: skip
    return client.post("/alerts", data=data)


def confirm(client, mail) -> None:
    path = link(mail.messages[-1], "confirm")
    assert client.get(path).status_code == 200  # opening the link (a scanner would) confirms nothing
    assert db.session.scalars(select(AlertSubscription.confirmed_at)).one() is None
    client.post(path, data={"csrf_token": csrf_token(client, path)})


def published(commune: str, **fields):
    petition = petition_in(commune, publishable=True, body=PRIVATE, **fields)
    who = officer("commune", commune)
    act(
        petition,
        "redact",
        who,
        note="Bỏ thông tin cá nhân",
        public_title="Đèn đường hỏng",
        public_body="Đèn hỏng cả tháng.",
    )
    act(petition, "accept", who)
    return petition


def test_an_alert_confirmed_from_its_mail_brings_each_new_published_petition_of_the_commune(client, mail):
    commune = slice_communes(1)[0]
    response = ask(client, "Đại Đức")
    assert response.status_code == 200 and "Đã gửi thư xác nhận" in response.get_data(as_text=True)
    run_jobs()
    assert mail.messages[-1]["To"] == "truong.thon@dan.vn" and "Xác nhận" in mail.messages[-1]["Subject"]
    confirm(client, mail)
    petition = published(commune)
    private = petition_in(commune, publishable=False, title="Kiến nghị riêng")  # the citizen kept it private
    act(private, "accept", officer("commune", commune))  # accepted, still never in an alert
    run_jobs()
    [alert] = [m for m in mail.messages if m["Subject"].startswith("Kiến nghị mới tại")]
    text = alert.get_body(("plain",)).get_content()
    assert "Đèn hỏng cả tháng." in text and f"https://mattran.test/p/{petition.public_id}" in text
    assert PRIVATE not in text and petition.display_code not in text and "0912345678" not in text

    path = link(alert, "unsubscribe")
    client.post(path, data={"csrf_token": csrf_token(client, path)})
    published(commune)
    run_jobs()
    assert len([m for m in mail.messages if m["Subject"].startswith("Kiến nghị mới tại")]) == 1  # ended


def test_an_unconfirmed_alert_sends_nothing_but_its_confirmation(client, mail):
    ask(client, "Đại Đức")
    published(slice_communes(1)[0])
    run_jobs()
    assert [m["Subject"].split(" tại")[0] for m in mail.messages] == ["Xác nhận nhận tin kiến nghị mới"]


def test_a_daily_alert_gets_one_digest_of_the_day_s_petitions_of_its_categories(client, mail):
    commune = slice_communes(1)[0]
    ask(client, "Thành phố Huế", frequency="daily", categories=["roads"])
    run_jobs()
    confirm(client, mail)
    sub = db.session.scalars(select(AlertSubscription)).one()
    sub.last_digest_at = datetime.now(UTC) - timedelta(minutes=1)
    roads = [published(commune) for _ in range(2)]
    other = published(commune, category="environment")
    private = petition_in(commune, publishable=False)
    act(private, "accept", officer("commune", commune))
    assert len(alerts.digests()) == 1
    run_jobs()
    [digest] = [m for m in mail.messages if "trong ngày" in m["Subject"]]
    text = digest.get_body(("plain",)).get_content()
    assert all(f"/p/{p.public_id}" in text for p in roads) and f"/p/{other.public_id}" not in text
    assert f"/p/{private.public_id}" not in text
    assert alerts.digests() == []  # nothing new since


def test_a_shared_name_asks_which_place_and_a_bad_address_is_refused(client, mail):
    asked = ask(client, "hoa")
    assert asked.status_code == 422 and 'id="area-choices"' in asked.get_data(as_text=True)
    bad = ask(client, "Đại Đức", email="khong-phai-thu")
    assert bad.status_code == 422 and "Địa chỉ thư điện tử không đúng" in bad.get_data(as_text=True)
    assert db.session.scalars(select(AlertSubscription)).all() == []


def test_alerts_are_off_while_e_mail_is(client, app_ctx):
    assert client.get("/alerts").status_code == 404


def test_an_unknown_link_is_a_404(client, mail):
    assert client.get("/alerts/confirm/khong-co").status_code == 404
    assert client.get("/alerts/unsubscribe/" + "x" * 100).status_code == 404


def test_an_address_gets_few_confirmation_mails_whoever_asks_and_however_it_is_written(client, mail):
    pages = [ask(client, "Đại Đức", email=email) for email in ("Nan.Nhan@dan.vn", "nan.nhan@dan.vn", "NAN.NHAN@DAN.VN")]
    assert len(db.session.scalars(select(AlertSubscription)).all()) == 2
    # The third is refused without saying so: the page tells no one what an address already holds.
    assert [p.status_code for p in pages] == [200, 200, 200]
    assert all("Đã gửi thư xác nhận" in p.get_data(as_text=True) for p in pages)


def test_an_alert_ended_or_a_petition_unpublished_after_the_mail_was_queued_sends_nothing(client, mail):
    commune = slice_communes(1)[0]
    ask(client, "Đại Đức")
    run_jobs()
    confirm(client, mail)
    petition = published(commune)
    petition.publishable = False  # withdrawn from publication before the mail went
    db.session.commit()
    run_jobs()
    assert not [m for m in mail.messages if m["Subject"].startswith("Kiến nghị mới tại")]


def test_an_alert_never_confirmed_is_forgotten_after_a_week(client, mail):
    ask(client, "Đại Đức")
    assert alerts.forget_unconfirmed(datetime.now(UTC) + timedelta(days=8)) == 1
    assert db.session.scalars(select(AlertSubscription)).all() == []
