"""Photos and exports in an S3-compatible object store: a real SeaweedFS server started for the session."""

from __future__ import annotations

import csv
import io
import re
import socket
import threading
import time
import uuid

import pytest
from flask import g
from PIL import Image
from rq import SimpleWorker
from sqlalchemy import select

from app import create_app
from app.config import ConfigError
from app.extensions import db
from app.models import Petition
from app.redis_conn import redis
from app.storage import S3Storage, StorageError, current_storage, from_url
from tests.conftest import bind_to_test_transaction
from tests.factories import jpeg, log_in, officer, petition_in, slice_communes, submit_petition
from tests.seaweedfs import SeaweedFS, assert_closed_to_anyone_without_its_keys

ACCESS_KEY, SECRET_KEY = "portal-test", "s3-secret-" + uuid.uuid4().hex
JSON = {"Accept": "application/json"}


@pytest.fixture(scope="session")
def seaweedfs():
    """SeaweedFS (master, volume, filer, S3 gateway) on random ports, with one identity; stopped at the end."""
    server = SeaweedFS(ACCESS_KEY, SECRET_KEY).start()
    yield server
    server.stop()


@pytest.fixture
def bucket(seaweedfs):
    """A fresh bucket of this test's own."""
    name = f"portal-{uuid.uuid4().hex[:12]}"
    seaweedfs.client().create_bucket(Bucket=name)
    return name


def objects(seaweedfs, bucket: str) -> dict[str, bytes]:
    """What the bucket holds, read with a plain S3 client (not the portal's code)."""
    s3 = seaweedfs.client()
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def s3_app(app, seaweedfs, bucket: str, secret_key: str = SECRET_KEY, **config):
    """The portal configured as a web node of a cluster: photos in the object store, nothing on local disk."""
    node = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": app.config["REDIS_URL"],
            "STORAGE_URL": f"s3://{bucket}?endpoint={seaweedfs.endpoint}&region=us-east-1&attempts=2",
            "S3_ACCESS_KEY": ACCESS_KEY,
            "S3_SECRET_KEY": secret_key,
            "STORAGE_ROOT": "/nonexistent/local-store-must-not-be-used",
            **config,
        }
    )
    # Its requests share the test's app context: nothing cached in g (the CSRF token) may outlive one.
    node.teardown_request(lambda exc: g.__dict__.clear())
    return node


def run_jobs():
    SimpleWorker(["default"], connection=redis()).work(burst=True)


def test_a_photo_sent_with_a_petition_is_kept_processed_and_served_from_the_object_store(
    app, app_ctx, seaweedfs, bucket
):
    redis().flushdb()
    node = s3_app(app, seaweedfs, bucket)
    photo = jpeg(size=(900, 600))
    with bind_to_test_transaction(node):
        assert isinstance(current_storage(), S3Storage)
        citizen = node.test_client()
        response = submit_petition(citizen, headers=JSON, photos=[(io.BytesIO(photo), "IMG_0001.jpg")])
        assert response.status_code == 201, response.get_data(as_text=True)
        petition = db.session.scalars(select(Petition)).one()
        (pending,) = petition.photos
        assert objects(seaweedfs, bucket) == {pending.incoming_key: photo}  # quarantined in the store, as sent

        run_jobs()  # the photo job reads the upload from the store and writes the clean image and thumbnail there
        db.session.expire_all()
        (ready,) = petition.photos
        held = objects(seaweedfs, bucket)
        assert ready.status == "ready"
        assert set(held) == {ready.image_key, ready.thumb_key}  # the quarantined upload is gone
        assert Image.open(io.BytesIO(held[ready.image_key])).size == (900, 600)
        assert max(Image.open(io.BytesIO(held[ready.thumb_key])).size) == 320

        desk = node.test_client()
        log_in(desk, officer("province", "46"))
        served = desk.get(f"/officer/petitions/{petition.id}/photos/{ready.id}")
        assert served.status_code == 200 and served.mimetype == "image/jpeg"
        assert served.data == held[ready.image_key]
        thumb = desk.get(f"/officer/petitions/{petition.id}/photos/{ready.id}?size=thumb")
        assert thumb.data == held[ready.thumb_key]
        code = response.json["tracking_code"]
        assert citizen.get(f"/petitions/{code}/photos/{ready.id}").data == held[ready.image_key]


def test_a_large_export_is_written_to_the_object_store_and_downloaded_from_it(app, app_ctx, seaweedfs, bucket):
    redis().flushdb()
    node = s3_app(app, seaweedfs, bucket, EXPORT_SYNC_MAX=1)
    with bind_to_test_transaction(node):
        (commune,) = slice_communes(1)
        for n in range(3):
            petition_in(commune, title=f"Cống thoát nước số {n} bị tắc")
        desk = node.test_client()
        log_in(desk, officer("province", "46"))
        started = desk.get("/officer/export.csv")
        assert started.status_code == 303
        run_jobs()
        page = desk.get(started.headers["Location"]).get_data(as_text=True)
        download = re.search(r'id="download" href="([^"]+)"', page).group(1)
        body = desk.get(download).get_data()
    (stored,) = objects(seaweedfs, bucket).values()
    assert body == stored
    titles = {row["Tiêu đề"] for row in csv.DictReader(io.StringIO(body.decode("utf-8-sig")))}
    assert titles == {f"Cống thoát nước số {n} bị tắc" for n in range(3)}


def test_a_missing_key_is_a_key_error_and_deleting_it_is_no_error(seaweedfs, bucket):
    store = from_url(f"s3://{bucket}?endpoint={seaweedfs.endpoint}", ACCESS_KEY, SECRET_KEY)
    with pytest.raises(KeyError):
        store.get("photos/1/404.jpg")
    assert not store.exists("photos/1/404.jpg")
    store.delete("photos/1/404.jpg")
    store.put("photos/1/2.jpg", b"first")
    store.put("photos/1/2.jpg", b"second")
    assert store.exists("photos/1/2.jpg") and store.get("photos/1/2.jpg") == b"second"
    store.delete("photos/1/2.jpg")
    with pytest.raises(KeyError):
        store.get("photos/1/2.jpg")


def test_a_prefix_in_the_url_keeps_the_portal_s_objects_under_it(seaweedfs, bucket):
    store = from_url(f"s3://{bucket}/cong-mat-tran/prod?endpoint={seaweedfs.endpoint}", ACCESS_KEY, SECRET_KEY)
    store.put("photos/7/8.jpg", b"jpeg")
    assert objects(seaweedfs, bucket) == {"cong-mat-tran/prod/photos/7/8.jpg": b"jpeg"}
    assert store.get("photos/7/8.jpg") == b"jpeg"


@pytest.mark.parametrize("key", ["../x", "/etc/passwd", "a/../../b", "a\\b", "..", "", "photos/..", "a\x00b"])
def test_the_object_store_refuses_the_keys_local_storage_refuses(seaweedfs, bucket, key):
    store = from_url(f"s3://{bucket}?endpoint={seaweedfs.endpoint}", ACCESS_KEY, SECRET_KEY)
    for call in (lambda: store.put(key, b"x"), lambda: store.get(key), lambda: store.exists(key)):
        with pytest.raises(ValueError):
            call()
    assert objects(seaweedfs, bucket) == {}


def test_only_the_s3_gateway_answers_its_master_volume_server_and_filer_refuse_anyone_without_its_keys(
    seaweedfs, bucket
):
    store = from_url(f"s3://{bucket}?endpoint={seaweedfs.endpoint}", ACCESS_KEY, SECRET_KEY)
    original = b"quarantined original, GPS tags and all " + uuid.uuid4().bytes
    store.put("incoming/abc.bin", original)
    assert store.get("incoming/abc.bin") == original  # the portal, with its S3 keys, writes and reads

    assert_closed_to_anyone_without_its_keys(seaweedfs, bucket, "incoming/abc.bin", original)
    assert store.get("incoming/abc.bin") == original  # nothing overwritten or deleted past the gateway
    store.put("incoming/abc.bin", b"replaced by the portal")
    assert store.get("incoming/abc.bin") == b"replaced by the portal"


def test_wrong_credentials_fail_clearly_and_the_citizen_gets_a_503_not_a_lost_petition(app, app_ctx, seaweedfs, bucket):
    store = from_url(f"s3://{bucket}?endpoint={seaweedfs.endpoint}&attempts=1", ACCESS_KEY, "not-the-secret")
    for call in (lambda: store.put("incoming/a", b"x"), lambda: store.get("incoming/a")):
        with pytest.raises(StorageError, match="refused.*SignatureDoesNotMatch.*S3_ACCESS_KEY / S3_SECRET_KEY"):
            call()
    with pytest.raises(StorageError) as refused:
        store.put("incoming/a", b"x")
    assert "not-the-secret" not in str(refused.value)  # never the secret in a message (or a log)

    redis().flushdb()
    node = s3_app(app, seaweedfs, bucket, secret_key="not-the-secret")
    with bind_to_test_transaction(node):
        response = submit_petition(node.test_client(), headers=JSON, photos=[(io.BytesIO(jpeg()), "a.jpg")])
        assert response.status_code == 503 and response.json["error"]["code"] == "unavailable"
        assert db.session.scalars(select(Petition)).all() == []  # no tracking code was given for it
    assert objects(seaweedfs, bucket) == {}


def test_a_store_that_never_answers_fails_the_call_within_its_timeouts():
    """A server that accepts connections and then says nothing: the call ends, it does not hang a web worker."""
    listener = socket.create_server(("127.0.0.1", 0))
    held = []
    stop = threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        port = listener.getsockname()[1]
        store = from_url(
            f"s3://photos?endpoint=http://127.0.0.1:{port}&read_timeout=0.5&connect_timeout=0.5&attempts=2",
            ACCESS_KEY,
            SECRET_KEY,
        )
        started = time.monotonic()
        with pytest.raises(StorageError, match="unreachable"):
            store.get("photos/1/2.jpg")
        assert time.monotonic() - started < 5
        assert len(held) == 2  # tried twice, as configured
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()


@pytest.mark.parametrize(
    "url, message",
    [
        ("http://bucket", "must start with s3://"),
        ("s3://?endpoint=http://127.0.0.1:8333", "names no bucket"),
        ("s3://photos?endpont=http://127.0.0.1:8333", "unknown options"),
        ("s3://photos?endpoint=127.0.0.1:8333", "http(s)://"),
        ("s3://photos?read_timeout=0", "timeouts must be above 0"),
        ("s3://key-only@photos", "both S3_ACCESS_KEY and S3_SECRET_KEY"),
    ],
)
def test_an_unusable_storage_url_stops_the_portal_at_start_with_what_is_wrong(url, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        create_app({"TESTING": True, "STORAGE_URL": url})


def test_storage_check_creates_the_bucket_and_names_wrong_keys(app, seaweedfs):
    bucket = f"portal-{uuid.uuid4().hex[:12]}"
    good = s3_app(app, seaweedfs, bucket).test_cli_runner().invoke(args=["storage", "check", "--create-bucket"])
    assert good.exit_code == 0, good.output
    assert f"created bucket {bucket!r}" in good.output and "storage: ok" in good.output
    assert bucket in [b["Name"] for b in seaweedfs.client().list_buckets()["Buckets"]]
    assert objects(seaweedfs, bucket) == {}  # the probe is gone

    bad = s3_app(app, seaweedfs, bucket, secret_key="wrong").test_cli_runner().invoke(args=["storage", "check"])
    assert bad.exit_code == 1 and "S3_ACCESS_KEY / S3_SECRET_KEY" in bad.output
