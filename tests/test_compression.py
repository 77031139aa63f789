"""Compressed answers: Brotli or gzip for text when the client takes it, never for images, streams kept streaming."""

from __future__ import annotations

import gzip
import random
import re
from pathlib import Path

import brotli
import pytest

from app import create_app
from app.extensions import db
from app.models import PetitionPhoto
from tests.factories import jpeg, log_in, officer, petition_in, slice_communes

STATIC = Path(__file__).resolve().parent.parent / "static"
DECODE = {"gzip": gzip.decompress, "br": brotli.decompress}


def static_urls(html: str) -> list[str]:
    """Every /static/… address a page names (links, scripts, data attributes)."""
    return sorted(set(re.findall(r'"(/static/[^"?#]+)"', html)))


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_scripts_styles_and_json_are_compressed_for_a_client_that_accepts_it(client, encoding):
    page = client.get("/petitions/new").get_data(as_text=True)
    script = next(u for u in static_urls(page) if "petition-form" in u)
    style = next(u for u in static_urls(page) if "petition." in u and u.endswith(".css"))
    for url in (script, style, "/api/openapi.json", "/api/v1/boundaries?parent=46"):
        plain = client.get(url)
        packed = client.get(url, headers={"Accept-Encoding": encoding})
        assert plain.status_code == packed.status_code == 200, url
        assert "Content-Encoding" not in plain.headers, url
        assert packed.headers["Content-Encoding"] == encoding, url
        assert "Accept-Encoding" in plain.headers["Vary"] and "Accept-Encoding" in packed.headers["Vary"], url
        assert DECODE[encoding](packed.data) == plain.data, url
        assert len(packed.data) < len(plain.data) / 2, url


def test_a_page_is_compressed_and_reads_the_same(client):
    plain = client.get("/petitions/new")
    packed = client.get("/petitions/new", headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert "Content-Encoding" not in plain.headers and packed.headers["Content-Encoding"] == "br"
    html = brotli.decompress(packed.data).decode("utf-8")
    assert '<html lang="vi">' in html and 'name="csrf_token"' in html and html.rstrip().endswith("</html>")
    # The same page but for its fresh idempotency key and CSRF token.
    strip = lambda text: re.sub(r'value="[^"]{20,}"', "", text)  # noqa: E731
    assert strip(html) == strip(plain.get_data(as_text=True))
    assert int(packed.headers["Content-Length"]) == len(packed.data) < len(plain.data) / 3


def test_the_public_map_is_compressed_to_a_fraction(client):
    packed = client.get("/map", headers={"Accept-Encoding": "br"})
    assert packed.status_code == 200 and packed.headers["Content-Encoding"] == "br"
    html = brotli.decompress(packed.data)
    assert html.startswith(b"<!doctype html>") and html.rstrip().endswith(b"</html>")
    assert len(packed.data) < len(html) / 2


def test_tiny_bodies_images_and_photos_are_sent_as_they_are(app_ctx, client):
    icon = client.get("/favicon.ico", headers={"Accept-Encoding": "gzip, br"})
    assert icon.status_code == 200 and "Content-Encoding" not in icon.headers
    assert icon.data == (STATIC / "favicon.ico").read_bytes()
    tiny = client.get("/api/v1/areas?parent=00000", headers={"Accept-Encoding": "gzip, br"})  # a short JSON error
    assert len(tiny.data) < 500 and "Content-Encoding" not in tiny.headers
    png = client.get("/static/vendor/leaflet/images/layers.png", headers={"Accept-Encoding": "gzip, br"})
    assert png.status_code == 200 and "Content-Encoding" not in png.headers

    (commune,) = slice_communes(1)
    petition = petition_in(commune)
    photo = PetitionPhoto(petition_id=petition.id, position=0, status="ready", incoming_key="incoming/x")
    db.session.add(photo)
    db.session.flush()
    photo.image_key = photo.thumb_key = f"photos/{petition.id}/{photo.id}.jpg"
    from app.storage import current_storage

    current_storage().put(photo.image_key, jpeg(size=(400, 300)))
    log_in(client, officer("province", "46"))
    served = client.get(f"/officer/petitions/{petition.id}/photos/{photo.id}", headers={"Accept-Encoding": "gzip"})
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert "Content-Encoding" not in served.headers and served.data == current_storage().get(photo.image_key)


def test_a_streamed_csv_export_is_gzipped_as_it_streams_not_gathered_first(app_ctx, client):
    rng = random.Random(12)
    vocabulary = ["".join(rng.choices("abcdeghiklmnopqrstuvxyđơưăâêô", k=rng.randint(2, 7))) for _ in range(3000)]
    words = rng.choices(vocabulary, k=80_000)
    (commune,) = slice_communes(1)
    for n in range(150):  # ~0.7 MB of CSV
        petition_in(commune, body=" ".join(words[n * 500 : n * 500 + 500])[:4900])
    log_in(client, officer("province", "46"))
    plain = client.get("/officer/export.csv").get_data()
    streamed = client.get("/officer/export.csv", headers={"Accept-Encoding": "gzip, deflate, br"}, buffered=False)
    assert streamed.is_streamed and streamed.headers["Content-Encoding"] == "gzip"
    assert "Content-Length" not in streamed.headers  # not gathered to be measured
    chunks = [chunk for chunk in streamed.response if chunk]
    streamed.close()
    assert len(chunks) > 5  # compressed output left as the rows were written, piece by piece
    assert gzip.decompress(b"".join(chunks)) == plain
    assert len(plain) > 500_000 and sum(map(len, chunks)) < len(plain) / 2


def test_an_etag_names_its_encoding_so_each_representation_revalidates_as_itself(client):
    page = client.get("/petitions/new").get_data(as_text=True)
    url = next(u for u in static_urls(page) if u.endswith(".js") and "petition-form" in u)
    plain = client.get(url)
    packed = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert packed.headers["ETag"] == plain.headers["ETag"][:-1] + ':gzip"'
    again = client.get(url, headers={"Accept-Encoding": "gzip", "If-None-Match": packed.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert client.get(url, headers={"If-None-Match": plain.headers["ETag"]}).status_code == 304
    # The plain validator does not stand for the compressed body, nor the other way round.
    assert client.get(url, headers={"If-None-Match": packed.headers["ETag"]}).status_code == 200


def test_compression_can_be_turned_off_where_nginx_compresses(app):
    behind_nginx = create_app(
        {
            "TESTING": True,
            "COMPRESS_RESPONSES": False,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": app.config["REDIS_URL"],
        }
    )
    response = behind_nginx.test_client().get("/api/openapi.json", headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200 and len(response.data) > 5000
    assert "Content-Encoding" not in response.headers
