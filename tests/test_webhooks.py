"""Partners' webhooks: events in a partner's scope, signed, retried, and kept in a delivery log."""

from __future__ import annotations

import re

import pytest
from rq import SimpleWorker
from sqlalchemy import select

from app import signing
from app.extensions import db
from app.models import WebhookDelivery
from app.redis_conn import redis
from app.services import outbox, partners, webhooks
from app.services.workflow import act
from tests.factories import log_in, officer, petition_in, slice_communes

pytest_plugins = ["tests.delivery_servers"]

V2 = "/open311/v2"


@pytest.fixture
def hooked(app, client, gateway, monkeypatch):
    """A partner subscribed to every event at the local receiver; RQ's retries without waiting."""
    monkeypatch.setitem(app.config, "NOTICE_RETRY_S", "0,0")
    monkeypatch.setitem(app.config, "NOTICE_TIMEOUT_S", 0.5)
    partner, key = partners.create("zalo-oa", "1000 per minute")
    subscription, secret = webhooks.subscribe(partner, gateway.hook_url, list(webhooks.EVENTS))
    return {"partner": partner, "key": key, "secret": secret, "gateway": gateway}


def run_jobs() -> None:
    outbox.hand_over()
    SimpleWorker(["default"], connection=redis()).work(burst=True)


def received(gateway) -> list[dict]:
    return [r for r in gateway.requests if r["path"] == "/hook"]


def file_through_open311(client, key: str, commune: str):
    from app.services.petitions import by_public_id

    response = client.post(
        f"{V2}/requests.json",
        data={"service_code": "roads", "description": "Cống thoát nước bị tắc\nNước tràn ra đường.",
              "address_id": commune, "publish": "true"},
        headers={"X-Api-Key": key},
    )  # fmt: skip
    assert response.status_code == 201, response.get_data(as_text=True)
    return by_public_id(response.json[0]["service_request_id"])


def test_the_partner_is_told_of_its_petition_signed_through_its_life(client, hooked):
    commune = slice_communes(1)[0]
    petition = file_through_open311(client, hooked["key"], commune)
    who = officer("commune", commune)
    act(petition, "accept", who)
    act(petition, "resolve", who, answer="Đã thông cống.")
    run_jobs()

    hooks = received(hooked["gateway"])
    events = [h["json"]["event"] for h in hooks]
    assert events == ["petition.created", "petition.status_changed", "petition.status_changed", "petition.answered"]
    for hook in hooks:
        headers = hook["headers"]
        signed = signing.sign(hooked["secret"], hook["raw"], int(headers["X-Portal-Timestamp"]))
        assert headers["X-Portal-Signature"] == signed["X-Portal-Signature"]  # over the exact body sent
        assert headers["X-Portal-Event"] == hook["json"]["event"]
        assert hook["json"]["petition"]["service_request_id"] == petition.public_id
    assert hooks[-1]["json"]["petition"]["status_notes"] == "Đã thông cống."
    assert [h["json"]["petition"]["detailed_status"] for h in hooks[1:3]] == ["accepted", "resolved"]
    assert all(d.status == "sent" for d in webhooks.log(hooked["partner"]))


def test_nothing_private_reaches_a_partner_and_others_petitions_only_once_published(client, hooked):
    commune = slice_communes(1)[0]
    private = petition_in(commune, publishable=False)  # the citizen kept it for the Front's officers
    public = petition_in(commune, publishable=True)
    who = officer("commune", commune)
    act(private, "accept", who)
    act(public, "accept", who)
    run_jobs()
    hooks = received(hooked["gateway"])
    assert [h["json"]["petition"]["service_request_id"] for h in hooks] == [public.public_id]
    raw = hooks[0]["raw"].decode()
    for secret in ("0912345678", "Phạm Thị Dung", public.display_code, public.title):
        assert secret not in raw


def test_a_partner_s_server_away_is_retried_then_given_up_and_a_refusal_is_not_retried(client, hooked):
    commune = slice_communes(1)[0]
    gateway = hooked["gateway"]
    gateway.mode = "503"
    file_through_open311(client, hooked["key"], commune)
    run_jobs()
    [away] = webhooks.log(hooked["partner"])
    assert (away.status, away.attempts, away.response_status) == ("gave_up", 3, 503)
    gateway.mode = "refuse"
    file_through_open311(client, hooked["key"], commune)
    run_jobs()
    refused = webhooks.log(hooked["partner"])[0]
    assert (refused.status, refused.attempts, refused.response_status) == ("failed", 1, 410)

    log_in(client, officer("admin"))
    page = client.get("/officer/webhooks").get_data(as_text=True)
    rows = re.findall(r"<tr>.*?</tr>", page, re.S)
    assert any("zalo-oa" in r and "Đã dừng thử lại" in r and "503" in r for r in rows)
    assert any("zalo-oa" in r and "Thất bại" in r and "410" in r for r in rows)


def test_a_subscription_needs_a_web_address_and_known_events(app_ctx):
    partner, _ = partners.create("doi-tac", "10 per minute")
    with pytest.raises(webhooks.WebhookError):
        webhooks.subscribe(partner, "ftp://example.vn/hook", ["petition.created"])
    with pytest.raises(webhooks.WebhookError, match="petition.deleted"):
        webhooks.subscribe(partner, "https://example.vn/hook", ["petition.deleted"])


def test_the_command_subscribes_prints_the_secret_once_and_lists_deliveries(runner, app_ctx):
    partners.create("zalo-oa", "10 per minute")
    db.session.commit()
    result = runner.invoke(
        args=["partners", "webhook", "zalo-oa", "https://zalo.example.vn/hook", "--event", "petition.answered"]
    )  # noqa: E501
    assert result.exit_code == 0, result.output
    assert "petition.answered" in result.output and re.search(r"Signing secret: \S{40,}", result.output)
    assert runner.invoke(args=["partners", "deliveries", "zalo-oa"]).exit_code == 0
    assert db.session.scalars(select(WebhookDelivery)).all() == []


def test_a_petition_the_citizen_kept_private_is_never_sent_even_to_the_partner_that_filed_it(client, hooked):
    commune = slice_communes(1)[0]
    response = client.post(
        f"{V2}/requests.json",
        data={"service_code": "roads", "description": "Cống thoát nước bị tắc\nNước tràn ra đường.",
              "address_id": commune, "publish": "false"},
        headers={"X-Api-Key": hooked["key"]},
    )  # fmt: skip
    assert response.status_code == 201
    from app.services.petitions import by_public_id

    petition = by_public_id(response.json[0]["service_request_id"])
    act(petition, "accept", officer("commune", commune))
    run_jobs()
    assert received(hooked["gateway"]) == [] and webhooks.log(hooked["partner"]) == []
