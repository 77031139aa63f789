"""What an operator sees: /metrics, the JSON log lines with their request id, /healthz."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rq import Queue, SimpleWorker, Worker
from rq.job import Job
from sqlalchemy import select, text

from app import create_app, logs, proxies
from app.extensions import db
from app.models import OutboxJob, Petition
from app.redis_conn import redis
from app.services import outbox
from tests.conftest import ROOT, bind_to_test_transaction
from tests.factories import jpeg, log_in, officer, slice_communes, submit_petition

PUBLIC = {"REMOTE_ADDR": "203.0.113.9"}  # an address on the internet (TEST-NET-3)


def scrape(client, **kwargs) -> dict[tuple[str, tuple], float]:
    """The samples of /metrics: (name, sorted labels) → value."""
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    return parse(response.get_data(as_text=True))


def parse(exposition: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def value(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def grew(before, after, name: str, **labels) -> float:
    """How much a series went up between two scrapes."""
    return value(after, name, **labels) - value(before, name, **labels)


@pytest.fixture
def village(app_ctx):
    """A village label point of the Huế slice: a point inside it."""
    return db.session.execute(
        text("SELECT ST_X(label_point) AS lon, ST_Y(label_point) AS lat FROM areas WHERE level = 'village' LIMIT 1")
    ).one()


@contextmanager
def log_lines():
    """The JSON lines the portal logs meanwhile, through its own handler (formatter and request-id filter)."""
    stream = io.StringIO()
    handler = logs.handler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    lines: list[dict] = []
    try:
        yield lines
    finally:
        root.removeHandler(handler)
        lines.extend(json.loads(line) for line in stream.getvalue().splitlines())


# --- /metrics ---


def test_metrics_count_a_petition_sent_through_the_form_and_time_its_route(client, village):
    before = scrape(client)
    response = submit_petition(client, lat=str(village.lat), lon=str(village.lon), location_source="gps")
    assert response.status_code == 303
    after = scrape(client)
    assert grew(before, after, "portal_petitions_accepted_total", channel="web") == 1
    assert grew(before, after, "portal_petitions_geotagged_total", method="inside", source="gps") == 1
    route = {"route": "petitions.create", "method": "POST", "status": "3xx"}
    assert grew(before, after, "portal_http_request_duration_seconds_count", **route) == 1
    assert value(after, "portal_http_request_duration_seconds_sum", **route) > value(
        before, "portal_http_request_duration_seconds_sum", **route
    )


def test_a_repeated_submission_is_not_counted_twice(client):
    before = scrape(client)
    first = submit_petition(client, idempotency_key="a" * 32)
    again = submit_petition(client, idempotency_key="a" * 32)
    assert first.status_code == again.status_code == 303
    after = scrape(client)
    assert grew(before, after, "portal_petitions_accepted_total", channel="web") == 1
    stored = db.session.scalars(select(Petition)).one()
    placed = {"method": stored.geotag_method, "source": stored.location_source or "none"}
    assert grew(before, after, "portal_petitions_geotagged_total", **placed) == 1


def test_an_officer_s_petition_is_counted_under_its_channel(client):
    commune = slice_communes(1)[0]
    log_in(client, officer("commune", commune))
    before = scrape(client)
    from tests.factories import csrf_token

    response = client.post(
        "/officer/petitions/new",
        data={
            "csrf_token": csrf_token(client, "/officer/petitions/new"),
            "idempotency_key": "9" * 32,
            "channel": "hotline",
            "title": "Đèn đường hỏng",
            "body": "Cả đoạn đường tối om mấy tuần nay.",
            "category": "roads",
            "province": "46",
            "commune": commune,
            "anonymous": "y",
            "consent": "y",
            "action": "submit",
        },
    )
    assert response.status_code == 303
    after = scrape(client)
    assert grew(before, after, "portal_petitions_accepted_total", channel="hotline") == 1


def test_route_series_are_named_by_endpoint_never_by_path(client):
    for guess in ("K7M4QX9PT", "ACDEGHKMN", "234567892"):
        client.get(f"/petitions/{guess}")
    client.get("/no/such/page/K7M4QX9PT")
    exposition = client.get("/metrics").get_data(as_text=True)
    assert "K7M4QX9PT" not in exposition and "ACDEGHKMN" not in exposition
    routes = {labels["route"] for name, labels in _label_dicts(exposition) if name.endswith("_count")}
    assert "petitions.status" in routes and "none" in routes
    assert all(not r.startswith("/") for r in routes)


def _label_dicts(exposition):
    for family in text_string_to_metric_families(exposition):
        if family.name == "portal_http_request_duration_seconds":
            for sample in family.samples:
                yield sample.name, sample.labels


def test_metrics_are_refused_to_the_internet_without_the_token(client, app, monkeypatch):
    assert client.get("/metrics", environ_base=PUBLIC).status_code == 403
    # the client address cannot be claimed in a header when no proxy is trusted
    spoofed = client.get("/metrics", environ_base=PUBLIC, headers={"X-Forwarded-For": "127.0.0.1"})
    assert spoofed.status_code == 403 and "portal_" not in spoofed.get_data(as_text=True)
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "s3cret-scraper-token")
    wrong = client.get("/metrics", environ_base=PUBLIC, headers={"Authorization": "Bearer s3cret-scraper-tokeX"})
    assert wrong.status_code == 403
    right = client.get("/metrics", environ_base=PUBLIC, headers={"Authorization": "Bearer s3cret-scraper-token"})
    assert right.status_code == 200 and "portal_petitions_accepted_total" in right.get_data(as_text=True)
    # loopback may read them without it; a private network only once it is named in METRICS_ALLOW_FROM
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::ffff:127.0.0.1"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 403
    monkeypatch.setitem(app.extensions, "metrics_networks", proxies.networks("10.0.0.0/8", "METRICS_ALLOW_FROM"))
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200


def test_a_client_past_the_proxy_cannot_claim_an_address_in_x_forwarded_for(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "TRUST_PROXY_HOPS", 1)
    # through nginx on loopback, the address nginx saw counts: an internet client is refused ...
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403
    # ... and one reaching the node directly cannot pass for loopback, nor bring nginx's request id
    direct = client.get(
        "/metrics",
        environ_base=PUBLIC,
        headers={"X-Forwarded-For": "127.0.0.1", "X-Request-Id": "0f3c9a4e5b6d7e8f9a0b1c2d3e4f5a6b"},
    )
    assert direct.status_code == 403 and "portal_" not in direct.get_data(as_text=True)
    assert direct.headers["X-Request-Id"] != "0f3c9a4e5b6d7e8f9a0b1c2d3e4f5a6b"


def test_metrics_report_the_outbox_queue_and_failed_jobs(client):
    before = scrape(client)
    submit_petition(client, photos=[(io.BytesIO(jpeg()), "a.jpg")])  # one photo job, handed to RQ
    waiting = scrape(client)
    assert value(waiting, "portal_outbox_waiting") - value(before, "portal_outbox_waiting") == 1
    assert value(waiting, "portal_rq_queued_jobs", queue="default") == 1
    Queue("default", connection=redis()).enqueue("app.jobs.tasks.no_such_job")
    SimpleWorker(["default"], connection=redis()).work(burst=True)
    done = scrape(client)
    assert value(done, "portal_outbox_waiting") == value(before, "portal_outbox_waiting")
    assert value(done, "portal_rq_queued_jobs", queue="default") == 0
    assert value(done, "portal_rq_failed_jobs", queue="default") == 1
    assert value(done, "portal_redis_up") == value(done, "portal_database_up") == 1


def test_metrics_still_answer_with_redis_away(app, client):
    away = create_app({**_test_config(app), "REDIS_URL": "redis://127.0.0.1:1/0"})
    with bind_to_test_transaction(away):
        samples = scrape(away.test_client())
    assert value(samples, "portal_redis_up") == 0 and value(samples, "portal_database_up") == 1
    assert ("portal_outbox_waiting", ()) in samples
    assert not any(name.startswith("portal_rq_") for name, _ in samples)


def test_metrics_still_answer_with_the_database_away(app, client):
    away = create_app({**_test_config(app), "SQLALCHEMY_DATABASE_URI": _closed_database(app)})
    with away.app_context():
        samples = scrape(away.test_client())
    assert value(samples, "portal_database_up") == 0 and value(samples, "portal_redis_up") == 1
    assert ("portal_outbox_waiting", ()) not in samples


def _test_config(app) -> dict:
    return {key: app.config[key] for key in ("TESTING", "SQLALCHEMY_DATABASE_URI", "REDIS_URL", "STORAGE_ROOT")}


def _closed_database(app) -> str:
    """The test database's URL on a port where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free once closed: nothing listens there
    url = re.sub(r"@([^/:]+):\d+/", rf"@\1:{port}/", app.config["SQLALCHEMY_DATABASE_URI"])
    return url + "?connect_timeout=2"


# --- request ids and log lines ---


def test_each_request_gets_an_id_in_its_response_and_its_log_line(client):
    with log_lines() as lines:
        first = client.get("/petitions/new")
        second = client.get("/petitions/new")
    ids = [first.headers["X-Request-Id"], second.headers["X-Request-Id"]]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids) and ids[0] != ids[1]
    access = [line for line in lines if line["logger"] == "portal.access"]
    assert [(a["request_id"], a["route"], a["status"]) for a in access] == [
        (ids[0], "petitions.new", 200),
        (ids[1], "petitions.new", 200),
    ]
    assert {"time", "level", "message"} <= set(access[0])


HOSTILE_IDS = [
    'abc\r\n{"level": "ERROR", "message": "forged"}',
    "tab\there-and-more",
    "x" * 65,
    "short",
    'quote"d-request-id',
    "<script>alert(1)</script>",
    "../../etc/passwd-0000",
]


@pytest.mark.parametrize("forged", HOSTILE_IDS)
def test_a_malformed_request_id_is_replaced_even_from_a_trusted_proxy(client, app, monkeypatch, forged):
    monkeypatch.setitem(app.config, "TRUST_PROXY_HOPS", 1)
    with log_lines() as lines:
        response = client.get("/healthz", environ_base={"HTTP_X_REQUEST_ID": forged})  # raw, as a server passes it
    given = response.headers["X-Request-Id"]
    assert given != forged and re.fullmatch(r"[0-9a-f]{32}", given)
    assert [line["request_id"] for line in lines if line["logger"] == "portal.access"] == [given]
    assert not any(line.get("message") == "forged" for line in lines)


def test_the_proxy_s_request_id_is_kept_only_when_a_proxy_is_trusted(client, app, monkeypatch):
    nginx_id = "0f3c9a4e5b6d7e8f9a0b1c2d3e4f5a6b"
    assert client.get("/healthz", headers={"X-Request-Id": nginx_id}).headers["X-Request-Id"] != nginx_id
    monkeypatch.setitem(app.config, "TRUST_PROXY_HOPS", 1)
    assert client.get("/healthz", headers={"X-Request-Id": nginx_id}).headers["X-Request-Id"] == nginx_id


def test_a_petition_is_followed_by_its_request_id_from_the_form_into_its_photo_job(client):
    with log_lines() as lines:
        response = submit_petition(
            client, anonymous=None, name="Trần Thị Bích", phone="0912345678", photos=[(io.BytesIO(jpeg()), "a.jpg")]
        )
        request_id = response.headers["X-Request-Id"]
        row = db.session.scalars(select(OutboxJob).where(OutboxJob.job == "process_photo")).one()
        job = Job.fetch(f"outbox-{row.id}-0", connection=redis())
        assert job.meta["request_id"] == request_id  # handed to RQ with the id of the request that caused it
        SimpleWorker(["default"], connection=redis()).work(burst=True)
    petition = db.session.scalars(select(Petition)).one()
    assert petition.photos[0].status == "ready"
    ours = [line for line in lines if line.get("request_id") == request_id]
    messages = [line["message"] for line in ours]
    assert "petition stored" in messages and "request" in messages
    assert messages.count("job started") == messages.count("job done") == 1
    stored = next(line for line in ours if line["message"] == "petition stored")
    assert stored["petition_id"] == petition.id and stored["outbox_ids"] == [row.id]
    done = next(line for line in ours if line["message"] == "job done")
    assert done["job"] == "process_photo" and done["job_id"] == job.id
    everything = json.dumps(lines, ensure_ascii=False)
    for secret in (petition.tracking_code, petition.display_code, "0912345678", "Trần Thị Bích", petition.body):
        assert secret not in everything


def test_a_job_the_sweeper_hands_over_later_still_carries_its_request_s_id(client):
    from app import request_ids

    with request_ids.bound("0f3c9a4e5b6d7e8f9a0b1c2d3e4f5a6b"):
        row = outbox.add("process_photo", 0)  # recorded by the request; not handed over (Redis was away)
        db.session.commit()
    assert outbox.hand_over() >= 1  # the sweeper, outside any request
    assert Job.fetch(f"outbox-{row.id}-0", connection=redis()).meta["request_id"] == "0f3c9a4e5b6d7e8f9a0b1c2d3e4f5a6b"


def test_a_job_caused_by_no_request_carries_no_request_id(client):
    row = outbox.add("process_photo", 0)
    db.session.commit()
    assert outbox.hand_over() >= 1
    assert "request_id" not in (Job.fetch(f"outbox-{row.id}-0", connection=redis()).meta or {})


def test_an_unhandled_error_is_logged_by_route_without_the_path_or_the_message(app, client, monkeypatch):
    from app.petitions import routes

    def explode(raw):
        raise ValueError(f"cannot read {raw}")

    monkeypatch.setattr(routes.petition_service, "by_code", explode)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # answered by the 500 page, as in production
    with log_lines() as lines:
        response = client.get("/petitions/K7M4QX9PT")
    assert response.status_code == 500
    (error,) = [line for line in lines if line["level"] == "ERROR"]
    assert error["request_id"] == response.headers["X-Request-Id"]
    assert "petitions.status" in error["message"] and "builtins.ValueError" in error["exc_info"]
    assert "K7M4QX9PT" not in json.dumps(lines)


def test_readable_text_lines_carry_the_request_id_too(client):
    stream = io.StringIO()
    handler = logs.handler(stream, fmt="text")
    logging.getLogger().addHandler(handler)
    try:
        response = client.get("/petitions/new")
    finally:
        logging.getLogger().removeHandler(handler)
    (line,) = [x for x in stream.getvalue().splitlines() if "portal.access" in x]
    assert f"[{response.headers['X-Request-Id']}] request" in line


@pytest.mark.parametrize("setting", [{"LOG_LEVEL": "LOUD"}, {"LOG_FORMAT": "xml"}])
def test_an_unknown_log_setting_is_refused_at_start(app, setting):
    from app.config import ConfigError

    with pytest.raises(ConfigError, match="LOG_FORMAT must be json or text"):
        create_app({**_test_config(app), **setting})


# --- /healthz ---


def test_healthz_is_degraded_without_a_worker_heartbeat(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json
    assert body["status"] == "degraded"
    assert body["database"] == {"ok": True} and body["redis"] == {"ok": True}
    assert body["worker"] == {"ok": False, "count": 0, "heartbeat_age_s": None}
    assert set(body["outbox"]) == {"waiting", "oldest_age_s"}


def test_healthz_sees_a_running_rq_worker_and_its_heartbeat(client, app):
    worker = subprocess.Popen(
        [str(Path(sys.executable).with_name("rq")), "worker", "--url", app.config["REDIS_URL"], "default"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while Worker.count(connection=redis()) == 0:
            assert time.monotonic() < deadline, "the worker never registered"
            time.sleep(0.1)
        body = client.get("/healthz").json
        assert body["status"] == "ok"
        assert body["worker"]["ok"] is True and body["worker"]["count"] == 1
        assert 0 <= body["worker"]["heartbeat_age_s"] < 10
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=20)
    assert client.get("/healthz").json["status"] == "degraded"  # it left: no heartbeat any more


def test_healthz_is_degraded_not_down_with_redis_away(app, client):
    away = create_app({**_test_config(app), "REDIS_URL": "redis://127.0.0.1:1/0"})
    with bind_to_test_transaction(away):
        response = away.test_client().get("/healthz")
    assert response.status_code == 200  # the node still takes petitions: the outbox keeps their jobs
    assert response.json["status"] == "degraded"
    assert response.json["database"] == {"ok": True}
    assert response.json["redis"]["ok"] is False and response.json["worker"]["ok"] is False


def test_healthz_is_503_when_the_database_is_unreachable(app):
    down = create_app({**_test_config(app), "SQLALCHEMY_DATABASE_URI": _closed_database(app)})
    started = time.monotonic()
    with down.app_context():
        response = down.test_client().get("/healthz")
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"
    assert response.json["database"] == {"ok": False, "error": "OperationalError"}
    assert "127.0.0.1" not in response.get_data(as_text=True)


def test_healthz_tells_the_internet_only_what_is_up(client):
    body = client.get("/healthz", environ_base=PUBLIC).json
    assert body == {"status": "degraded", "database": {"ok": True}, "redis": {"ok": True}, "worker": {"ok": False}}


# --- several gunicorn workers ---


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def test_gunicorn_workers_add_up_their_counts_and_keep_them_across_a_restart(app, tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": app.config["REDIS_URL"],
        "SECRET_KEY": "gunicorn-test",
        "INSTANCE_PATH": str(tmp_path),
        "STORAGE_ROOT": str(tmp_path / "storage"),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    gunicorn = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "--bind", f"127.0.0.1:{port}", "--workers", "2", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_served(base)
        for _ in range(12):
            _get(f"{base}/healthz")
        gunicorn.send_signal(signal.SIGHUP)  # every worker is replaced by a new one
        time.sleep(1)
        _wait_until_served(base)
        samples = parse(_get(f"{base}/metrics"))
        healthz = {"route": "health.healthz", "method": "GET", "status": "2xx"}
        assert value(samples, "portal_http_request_duration_seconds_count", **healthz) == 12
        assert list((tmp_path / "metrics").iterdir()), "the counts live in the instance folder"
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)


def _wait_until_served(base: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            _get(f"{base}/metrics")
            return
        except OSError:
            assert time.monotonic() < deadline, "gunicorn never answered"
            time.sleep(0.2)
