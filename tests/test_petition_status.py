"""After sending: the status page, the tracking code, adding a voice, rating, nearby petitions."""

from __future__ import annotations

import pytest
import shapely
import shapely.geometry
from sqlalchemy import select, text

from app.extensions import db
from app.models import Petition, PetitionAnswer
from tests.factories import csrf_token, submit_petition

JSON = {"Accept": "application/json"}


@pytest.fixture
def point(app_ctx):
    return db.session.execute(
        text(
            "SELECT ST_X(label_point) AS lon, ST_Y(label_point) AS lat FROM areas "
            "WHERE level = 'village' ORDER BY code LIMIT 1"
        )
    ).one()


@pytest.fixture
def sent(client, point):
    """A petition sent with a name and phone, placed by GPS."""
    response = submit_petition(
        client,
        headers=JSON,
        anonymous="n",
        name="Lê Văn Cường",
        phone="0987654321",
        lat=str(point.lat),
        lon=str(point.lon),
        location_source="gps",
    )
    return db.session.scalars(select(Petition)).one(), response.json


def test_status_page_shows_status_and_place_but_never_personal_data(client, sent):
    petition, receipt = sent
    html = client.get(receipt["status_url"]).get_data(as_text=True)
    assert petition.title in html and "Đã tiếp nhận" in html
    assert petition.village.name in html and petition.commune.name in html
    assert "Lê Văn Cường" not in html and "0987654321" not in html


def test_public_answers_appear_and_internal_ones_do_not(client, sent):
    petition, receipt = sent
    db.session.add_all(
        [
            PetitionAnswer(petition_id=petition.id, body="UBND xã đã cho nạo vét cống.", is_public=True),
            PetitionAnswer(petition_id=petition.id, body="Ghi chú nội bộ của cán bộ.", is_public=False),
        ]
    )
    db.session.flush()
    html = client.get(receipt["status_url"]).get_data(as_text=True)
    assert "UBND xã đã cho nạo vét cống." in html
    assert "Ghi chú nội bộ" not in html


def test_citizen_text_is_escaped_on_the_status_page(client, point):
    submit_petition(client, title="<img src=x onerror=alert(1)>", body="<script>alert(2)</script> nội dung dài")
    petition = db.session.scalars(select(Petition)).one()
    html = client.get(f"/petitions/{petition.display_code}").get_data(as_text=True)
    assert "<img src=x" not in html and "<script>alert(2)" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_a_code_typed_loosely_on_the_home_page_opens_the_petition(client, sent):
    petition, _ = sent
    loose = petition.tracking_code.lower()[:4] + " " + petition.tracking_code.lower()[4:]
    response = client.get(f"/petitions/track?code={loose}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/petitions/{petition.display_code}")


def test_an_unknown_code_says_so_on_the_home_page(client):
    response = client.get("/petitions/track?code=AAA-AAA-AAA")
    assert response.status_code == 404
    assert "Không tìm thấy kiến nghị có mã này" in response.get_data(as_text=True)
    assert client.get("/petitions/AAAAAAAAA").status_code == 404


def test_adding_a_voice_counts_once_per_key_and_per_device(client, sent):
    petition, _ = sent
    petition.status, petition.accepted_at = "accepted", petition.created_at  # published: it takes voices
    db.session.flush()
    token = csrf_token(client)
    for _ in range(2):
        response = client.post(
            f"/p/{petition.public_id}/support",
            headers=JSON,
            data={"csrf_token": token, "idempotency_key": "a1b2c3d4e5f6a7b8"},
        )
    assert (response.json["supporters"], response.json["already"]) == (2, False)
    response = client.post(
        f"/p/{petition.public_id}/support",
        headers=JSON,
        data={"csrf_token": token, "idempotency_key": "ffffeeeeddddcccc"},
    )
    assert (response.json["supporters"], response.json["already"]) == (2, True)  # the same device: once


def test_an_answered_petition_can_be_rated(client, sent):
    petition, receipt = sent
    token = csrf_token(client)
    refused = client.post(f"{receipt['status_url']}/rating", data={"csrf_token": token, "satisfied": "y"})
    assert refused.status_code == 422 and "chưa có câu trả lời" in refused.get_data(as_text=True)
    db.session.add(PetitionAnswer(petition_id=petition.id, body="Đã sửa xong đường.", is_public=True))
    petition.status = "resolved"
    db.session.flush()
    db.session.expire_all()  # as a new request would see it
    response = client.post(
        f"{receipt['status_url']}/rating", data={"csrf_token": token, "satisfied": "n", "comment": "Mới sửa một nửa."}
    )
    assert response.status_code == 303
    db.session.refresh(petition)
    assert (petition.satisfied, petition.rating_comment) == (False, "Mới sửa một nửa.")
    assert "Chưa hài lòng" in client.get(receipt["status_url"]).get_data(as_text=True)


def test_an_answer_is_rated_once_and_the_next_answer_again(client, sent):
    from app.services import workflow

    petition, receipt = sent
    token = csrf_token(client)
    petition.status = "accepted"
    db.session.flush()
    workflow.act(petition, "resolve", None, answer="Đã sửa xong đường.")
    first = client.post(f"{receipt['status_url']}/rating", data={"csrf_token": token, "satisfied": "y"})
    assert first.status_code == 303
    again = client.post(f"{receipt['status_url']}/rating", data={"csrf_token": token, "satisfied": "n"})
    assert again.status_code == 422 and "chỉ được đánh giá một lần" in again.get_data(as_text=True)
    db.session.refresh(petition)
    assert (petition.status, petition.satisfied) == ("resolved", True)  # the second attempt reopened nothing

    petition.status = "in_progress"  # reopened by the officer, answered anew: a new round
    db.session.flush()
    workflow.act(petition, "resolve", None, answer="Đã sửa nốt đoạn còn lại.")
    assert client.get(receipt["status_url"]).get_data(as_text=True).count('name="satisfied"') == 2
    assert (
        client.post(f"{receipt['status_url']}/rating", data={"csrf_token": token, "satisfied": "n"}).status_code == 303
    )
    db.session.refresh(petition)
    assert (petition.status, petition.satisfied) == ("in_progress", False)


def test_similar_open_petitions_nearby_are_offered_once_published_without_their_tracking_code(client, sent, point):
    petition, _ = sent
    url = f"/api/v1/petitions/similar?lat={point.lat + 0.001}&lon={point.lon}&category=roads"
    assert client.get(url).json["petitions"] == []  # not yet accepted by an officer: not public
    petition.status, petition.accepted_at = "accepted", petition.created_at
    db.session.flush()
    near = client.get(url)
    assert [p["id"] for p in near.json["petitions"]] == [petition.public_id]
    assert petition.tracking_code not in near.get_data(as_text=True)
    assert near.json["petitions"][0]["distance_m"] == 100  # ~111 m, to the nearest 50 m
    assert near.json["petitions"][0]["supporters"] == 1
    assert near.json["petitions"][0]["status_url"] == f"/p/{petition.public_id}"
    other_category = client.get(f"/api/v1/petitions/similar?lat={point.lat}&lon={point.lon}&category=land").json
    far = client.get(f"/api/v1/petitions/similar?lat={point.lat + 0.01}&lon={point.lon}&category=roads").json
    assert other_category["petitions"] == [] and far["petitions"] == []
    petition.status = "resolved"
    db.session.flush()
    closed = client.get(f"/api/v1/petitions/similar?lat={point.lat}&lon={point.lon}&category=roads").json
    assert closed["petitions"] == []


def test_similar_refuses_bad_input_with_json(client):
    assert client.get("/api/v1/petitions/similar?lat=x&lon=1&category=roads").status_code == 400
    assert client.get("/api/v1/petitions/similar?lat=16.4&lon=107.6&category=nope").json["error"]["code"] == (
        "unknown_category"
    )


def test_boundaries_of_the_provinces_and_of_a_province(client):
    provinces = client.get("/api/v1/boundaries").json
    assert provinces["type"] == "FeatureCollection"
    assert [f["properties"]["code"] for f in provinces["features"]] == ["46"]
    communes = client.get("/api/v1/boundaries?parent=46").json
    assert len(communes["features"]) == 40
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in communes["features"])
    # Simplified together, neighbours still meet: no overlaps, no gaps in the picker map.
    shapes = [shapely.geometry.shape(f["geometry"]) for f in communes["features"]]
    union = shapely.union_all(shapes)
    assert sum(shape.area for shape in shapes) == pytest.approx(union.area, rel=1e-6)
    assert len(shapely.get_parts(union)) == 1 and all(len(part.interiors) == 0 for part in shapely.get_parts(union))
    assert client.get("/api/v1/boundaries?parent=99999").status_code == 404
