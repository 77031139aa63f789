"""Every inbound path for images: what can be served has been re-encoded without any metadata.

The citizen's form and an officer filing for a citizen both hand their photos
to the same quarantine and photo job; Open311's media_url is never fetched
and never shown again.
"""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from rq import SimpleWorker
from sqlalchemy import select, text

from app.extensions import db
from app.models import Petition
from app.redis_conn import redis
from app.services import partners
from app.storage import current_storage
from tests.factories import csrf_token, jpeg, log_in, officer, petition_fields, slice_communes, submit_petition

JSON = {"Accept": "application/json"}
SECRETS = (b"PNG-TEXT-SECRET", b"PNG-ZTXT-SECRET", b"PNG-ITXT-SECRET", b"PNG-XMP-SECRET", b"ICC-SECRET")
# Every JPEG segment that can carry metadata: APP1–APP15 (EXIF, XMP, ICC, Photoshop, …) and COM.
# In the compressed data a 0xFF byte is always followed by 0x00 or a restart marker, so the search is exact.
METADATA_MARKER = re.compile(rb"\xff[\xe1-\xef\xfe]")


def png_with_text() -> bytes:
    """A PNG carrying text chunks (tEXt, zTXt, iTXt), XMP and an ICC profile."""
    info = PngInfo()
    info.add_text("Comment", "PNG-TEXT-SECRET")
    info.add_text("Description", "PNG-ZTXT-SECRET", zip=True)
    info.add_itxt("Author", "PNG-ITXT-SECRET", lang="vi", tkey="Tác giả")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>PNG-XMP-SECRET</x:xmpmeta>")
    buf = io.BytesIO()
    Image.new("RGB", (90, 60), (20, 120, 200)).save(buf, "PNG", pnginfo=info, icc_profile=b"ICC-SECRET" * 20)
    return buf.getvalue()


def assert_no_metadata_at_all(data: bytes) -> None:
    img = Image.open(io.BytesIO(data))
    img.load()
    assert img.format == "JPEG"
    assert len(img.getexif()) == 0
    assert not {"exif", "icc_profile", "comment", "xmp", "photoshop", "adobe"} & set(img.info), img.info
    assert METADATA_MARKER.search(data) is None
    # APP0 is only ever the bare JFIF header.
    assert all(data[m.end() + 2 : m.end() + 7] == b"JFIF\x00" for m in re.finditer(rb"\xff\xe0", data))
    for secret in (*SECRETS, b"Exif", b"GPS", b"http://ns.adobe.com"):
        assert secret not in data


def run_jobs() -> None:
    SimpleWorker(["default"], connection=redis()).work(burst=True)


@pytest.fixture
def gps_jpeg(app_ctx) -> bytes:
    """A JPEG whose EXIF places it inside a village of the test slice."""
    row = db.session.execute(
        text("SELECT ST_X(label_point) AS lon, ST_Y(label_point) AS lat FROM areas WHERE level = 'village' LIMIT 1")
    ).one()
    data = jpeg(size=(640, 480), gps=(row.lat, row.lon))
    assert b"Exif" in data
    return data


def test_a_gps_jpeg_and_a_png_with_text_from_the_form_come_out_with_no_metadata(client, gps_jpeg):
    source_png = png_with_text()
    carried = Image.open(io.BytesIO(source_png)).info
    assert {"Comment", "Description", "Author", "xmp", "icc_profile"} <= set(carried), carried
    uploads = [(io.BytesIO(gps_jpeg), "IMG_0001.jpg"), (io.BytesIO(source_png), "scan.png")]
    response = submit_petition(client, headers=JSON, photos=uploads)
    assert response.status_code == 201, response.get_data(as_text=True)
    run_jobs()
    db.session.expire_all()
    petition = db.session.scalars(select(Petition)).one()
    assert petition.location_source == "exif"  # the GPS was read, then dropped from the image
    assert [p.status for p in petition.photos] == ["ready", "ready"]
    for photo in petition.photos:
        for key in (photo.image_key, photo.thumb_key):
            assert_no_metadata_at_all(current_storage().get(key))
        assert not current_storage().exists(photo.incoming_key)  # the original is gone
        served = client.get(f"/petitions/{petition.tracking_code}/photos/{photo.id}")
        assert served.status_code == 200 and served.data == current_storage().get(photo.image_key)


def test_a_photo_an_officer_files_for_a_citizen_takes_the_same_path(client, app_ctx):
    commune = slice_communes(1)[0]
    log_in(client, officer("commune", commune))
    token = csrf_token(client, "/officer/petitions/new")
    fields = petition_fields(channel="paper", commune=commune, province="46", csrf_token=token)
    response = client.post(
        "/officer/petitions/new",
        data={**fields, "photos": [(io.BytesIO(png_with_text()), "don-giay.png")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    petition = db.session.scalars(select(Petition)).one()
    [photo] = petition.photos
    assert photo.status == "pending" and photo.image_key is None  # nothing servable before the photo job
    assert client.get(f"/officer/petitions/{petition.id}/photos/{photo.id}").status_code == 404
    run_jobs()
    db.session.expire_all()
    assert photo.status == "ready"
    served = client.get(f"/officer/petitions/{petition.id}/photos/{photo.id}")
    assert served.status_code == 200
    assert_no_metadata_at_all(served.data)


def test_an_open311_media_url_is_neither_fetched_nor_kept_nor_shown(client, app_ctx):
    commune = slice_communes(1)[0]
    _, key = partners.create("zalo-oa", "1000 per minute")
    url = "https://photos.example.net/private-token-4711/IMG_0001.jpg"
    response = client.post(
        "/open311/v2/requests.json",
        data={
            "service_code": "roads",
            "description": "Đường vào thôn ngập sâu\nNước ngập quá đầu gối.",
            "address_id": commune,
            "media_url": url,
        },
        headers={"X-Api-Key": key},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert "private-token-4711" not in response.get_data(as_text=True)
    petition = db.session.scalars(select(Petition)).one()
    assert petition.photos == []
    for table in ("petitions", "audit_events", "job_outbox", "petition_photos"):
        rows = db.session.scalars(text(f"SELECT t::text FROM {table} t")).all()
        assert not any("private-token-4711" in row for row in rows), table
    listing = client.get("/open311/v2/requests.json", headers={"X-Api-Key": key})
    assert "private-token-4711" not in listing.get_data(as_text=True)


def test_an_upload_the_photo_job_cannot_read_is_failed_and_its_original_not_kept(client, app_ctx):
    from app.models import PetitionPhoto
    from app.services import petition_photos
    from tests.factories import petition_in

    petition = petition_in(slice_communes(1)[0])
    store = current_storage()
    store.put("incoming/cut-short", jpeg()[:200])  # a JPEG cut short: it cannot be decoded
    photo = PetitionPhoto(petition_id=petition.id, position=0, incoming_key="incoming/cut-short", status="pending")
    db.session.add(photo)
    db.session.flush()
    petition_photos.process(photo.id)
    assert photo.status == "failed" and photo.image_key is None
    assert not store.exists("incoming/cut-short")
