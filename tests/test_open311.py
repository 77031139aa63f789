"""Open311 GeoReport v2 under /open311/v2/: partners' keys (only in the X-Api-Key header) and their
scope, every endpoint in JSON and XML, the spec's errors, idempotency, per-partner limits, the published
view by public id (never the tracking code, never contacts), filters, the round trip through a commune
officer's inbox, and the OpenAPI document kept true to the URL map."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from geoalchemy2.shape import to_shape
from sqlalchemy import text

from app.extensions import db
from app.models import AuditEvent
from app.openapi import document
from app.queries.areas import area_by_code
from app.services import partners, workflow
from app.services.petitions import by_public_id
from app.services.workdays import local_date
from tests.factories import csrf_token, log_in, officer, petition_in, slice_communes

V2 = "/open311/v2"
PUBLIC_ID = re.compile(r"^[0-9a-f]{16}$")
REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
    "extended_attributes",
}
XML_ROOTS = {"discovery", "services", "service_definition", "service_requests", "errors"}
EXTENDED = {"village_code", "commune_code", "province_code", "detailed_status", "supporters", "published"}
BODY = "Đường vào thôn ngập sâu\nMỗi khi mưa lớn, nước ngập quá đầu gối, học sinh không đến trường được."


@pytest.fixture
def commune(app_ctx) -> str:
    return slice_communes(1)[0]


@pytest.fixture
def village_point(app_ctx):
    """A point inside a village of the test slice, at least 50 m from the village's label point.

    Row of lat, lon (the point), label_lat, label_lon, code (the village), commune (its code).
    """
    return db.session.execute(
        text(
            """SELECT ST_Y(pt) AS lat, ST_X(pt) AS lon, ST_Y(v.label_point) AS label_lat,
                      ST_X(v.label_point) AS label_lon, v.code, c.code AS commune
               FROM (SELECT *, ST_PointOnSurface(ST_Difference(geom, ST_Buffer(label_point::geography, 50)::geometry))
                               AS pt
                     FROM areas WHERE level = 'village' AND label_point IS NOT NULL ORDER BY code LIMIT 1) v
               JOIN areas c ON c.id = v.parent_id"""
        )
    ).one()


@pytest.fixture
def partner(app_ctx):
    """A partner with a generous limit and no scope (it reads the published view), and its key."""
    return partners.create("zalo-oa", "1000 per minute")


def with_key(key: str | None) -> dict:
    """The headers that carry a partner's key: X-Api-Key, nothing else."""
    return {"X-Api-Key": key} if key is not None else {}


def post(client, key, fmt="json", headers=None, **fields):
    """A partner's POST requests.<fmt>, its key in the X-Api-Key header (no header when key is None)."""
    data = {"service_code": "roads", "description": BODY, "publish": "true", **fields}  # the citizen agreed
    data = {k: v for k, v in data.items() if v is not None}
    return client.post(f"{V2}/requests.{fmt}", data=data, headers={**with_key(key), **(headers or {})})


def filed_by(response):
    """The petition a POST's answer names by its public id."""
    assert response.status_code in (200, 201), response.get_data(as_text=True)
    [answer] = response.json
    assert PUBLIC_ID.match(answer["service_request_id"]), answer
    return by_public_id(answer["service_request_id"])


def publish(*petitions) -> None:
    """A commune officer accepts each petition: it enters the published view."""
    for p in petitions:
        workflow.act(p, "accept", officer("commune", p.commune.code))


def open311_count() -> int:
    return db.session.scalar(text("SELECT count(*) FROM petitions WHERE channel = 'open311'"))


def xml(response) -> ET.Element:
    assert response.content_type.startswith("text/xml"), response.content_type
    raw = response.get_data(as_text=True)
    assert raw.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(raw.encode("utf-8"))


def assert_errors(response, status: int, fmt: str = "json", contains: str = "") -> list[str]:
    """The spec's error list, in either format; returns the descriptions."""
    assert response.status_code == status, response.get_data(as_text=True)
    if fmt == "xml":
        root = xml(response)
        assert root.tag == "errors" and len(root) >= 1
        for error in root:
            assert error.tag == "error" and [c.tag for c in error] == ["code", "description"]
            assert error.find("code").text == str(status)
        descriptions = [e.find("description").text for e in root]
    else:
        assert response.content_type.startswith("application/json")
        body = response.json
        assert isinstance(body, list) and body
        assert all(set(e) == {"code", "description"} and e["code"] == status for e in body)
        descriptions = [e["description"] for e in body]
    assert all(descriptions)
    if contains:
        assert any(contains in d for d in descriptions), descriptions
    return descriptions


# ---------------------------------------------------------------- partners and their keys


def test_a_key_is_shown_once_stored_hashed_and_stops_working_when_revoked(app_ctx):
    created, key = partners.create("cong-1022-hue", "120 per minute")
    assert len(key) >= 43 and created.key_hash != key and len(created.key_hash) == 64
    assert partners.by_key(key) == created
    assert partners.by_key(key + "x") is None and partners.by_key("") is None and partners.by_key(None) is None
    partners.revoke("cong-1022-hue")
    assert partners.by_key(key) is None and created.revoked_at is not None


@pytest.mark.parametrize("name, rate", [("", "60 per minute"), ("x" * 51, "60 per minute"), ("ok", "2 per fortnight")])
def test_bad_partners_are_refused(app_ctx, name, rate):
    with pytest.raises(partners.PartnerError):
        partners.create(name, rate)


def test_a_key_s_area_is_a_province_or_a_commune_of_the_current_boundaries(app_ctx, commune, village_point):
    by_commune, _ = partners.create("xa-mot", area_code=commune, sees_unpublished=True)
    assert by_commune.area_id == area_by_code(commune).id and by_commune.sees_unpublished
    by_province, _ = partners.create("tinh-46", area_code="46")
    assert by_province.area_id == area_by_code("46").id and not by_province.sees_unpublished
    nationwide, _ = partners.create("toan-quoc")
    assert nationwide.area_id is None and not nationwide.sees_unpublished
    for refused in ("99999", village_point.code, "x"):  # unknown; a village has no inbox; not a code
        with pytest.raises(partners.PartnerError):
            partners.create(f"bad-{refused}", area_code=refused)
    assert partners.by_name(f"bad-{village_point.code}") is None


def test_the_cli_creates_lists_and_revokes_partners(runner):
    result = runner.invoke(args=["partners", "create", "cong-doan", "--rate", "120 per minute"])
    assert result.exit_code == 0, result.output
    key = re.search(r"API key: (\S+)", result.output).group(1)
    assert "will not be shown again" in result.output
    created = partners.by_key(key)
    assert created.rate_limit == "120 per minute" and created.area_id is None and not created.sees_unpublished
    listed = runner.invoke(args=["partners", "list"])
    assert "cong-doan" in listed.output and key not in listed.output
    assert runner.invoke(args=["partners", "create", "cong-doan"]).exit_code == 1  # the name is taken
    assert runner.invoke(args=["partners", "revoke", "cong-doan"]).exit_code == 0
    assert partners.by_key(key) is None
    assert "revoked" in runner.invoke(args=["partners", "list"]).output


def test_the_cli_gives_a_key_an_area_and_the_right_to_see_unpublished_petitions(runner, commune):
    args = ["partners", "create", "so-tnmt-46", "--area", "46", "--sees-unpublished"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    scoped = partners.by_key(re.search(r"API key: (\S+)", result.output).group(1))
    assert scoped.area_id == area_by_code("46").id and scoped.sees_unpublished
    assert runner.invoke(args=["partners", "create", "xa-doan", "--area", commune]).exit_code == 0
    lines = {line.split("\t")[0]: line for line in runner.invoke(args=["partners", "list"]).output.splitlines()}
    assert "area 46" in lines["so-tnmt-46"] and "unpublished too" in lines["so-tnmt-46"]
    assert f"area {commune}" in lines["xa-doan"] and "unpublished too" not in lines["xa-doan"]

    unknown = runner.invoke(args=["partners", "create", "lac-dia-ban", "--area", "99999"])
    assert unknown.exit_code == 1 and "99999" in unknown.output and partners.by_name("lac-dia-ban") is None


# ---------------------------------------------------------------- discovery and services


def test_discovery_in_both_formats(client):
    body = client.get(f"{V2}/discovery.json").json
    assert {"changeset", "contact", "key_service", "endpoints"} <= set(body)
    endpoint = body["endpoints"][0]
    assert endpoint["url"] == "http://localhost/open311/v2"
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}
    assert "90 ngày" in body["description"] and "1000" in body["description"]
    assert "X-Api-Key" in body["key_service"]
    root = xml(client.get(f"{V2}/discovery.xml"))
    assert root.tag == "discovery"
    assert root.find("endpoints/endpoint/url").text == "http://localhost/open311/v2"
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == ["text/xml", "application/json"]


def test_services_are_the_categories_in_both_formats(client):
    services = client.get(f"{V2}/services.json").json
    roads = next(s for s in services if s["service_code"] == "roads")
    assert roads["service_name"] == "Giao thông, hạ tầng"
    assert roads["metadata"] is False and roads["type"] == "realtime"
    assert set(roads) == {"service_code", "service_name", "description", "metadata", "type", "keywords", "group"}
    root = xml(client.get(f"{V2}/services.xml"))
    assert root.tag == "services" and {child.tag for child in root} == {"service"}
    first = root[0]
    assert [c.tag for c in first] == [
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    ]
    assert first.find("metadata").text == "false"
    assert len(root) == len(services)


def test_a_service_definition_and_an_unknown_service(client):
    assert client.get(f"{V2}/services/roads.json").json == {"service_code": "roads", "attributes": []}
    root = xml(client.get(f"{V2}/services/roads.xml"))
    assert root.tag == "service_definition" and [c.tag for c in root] == ["service_code", "attributes"]
    assert root.find("service_code").text == "roads" and len(root.find("attributes")) == 0
    assert_errors(client.get(f"{V2}/services/nope.json"), 404)
    assert_errors(client.get(f"{V2}/services/nope.xml"), 404, "xml")


# ---------------------------------------------------------------- POST requests


def test_a_partner_files_a_petition_through_the_web_forms_path(client, partner, village_point):
    created, key = partner
    at = village_point
    response = post(
        client, key, lat=str(at.lat), long=str(at.lon), phone="+84 912-345-678", first_name="An", last_name="Lê"
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    [answer] = response.json
    assert set(answer) == {"service_request_id", "service_notice", "account_id"}
    assert PUBLIC_ID.match(answer["service_request_id"]) and answer["account_id"] is None

    petition = by_public_id(answer["service_request_id"])
    # the id is the public one; the citizen's tracking code travels only in the notice, to the partner that filed it
    assert petition.display_code in answer["service_notice"]
    assert petition.tracking_code not in answer["service_request_id"].upper()
    assert petition.channel == "open311" and petition.status == "received"
    assert db.session.scalar(text("SELECT partner_id FROM petitions WHERE id = :id"), {"id": petition.id}) == (
        created.id
    )
    assert petition.title == "Đường vào thôn ngập sâu" and petition.body == BODY
    assert petition.village.code == at.code and petition.commune.code == at.commune
    assert petition.geotag_method == "inside" and petition.location_source == "open311"
    assert not petition.is_anonymous
    assert (petition.contact_name, petition.contact_phone) == ("An Lê", "0912345678")
    audit = db.session.scalars(db.select(AuditEvent).where(AuditEvent.petition_id == petition.id)).one()
    assert (audit.action, audit.actor_label, audit.data["channel"]) == ("received", "partner:zalo-oa", "open311")


def test_a_petition_placed_by_an_area_code_in_xml_and_anonymous_without_a_phone(client, partner, commune):
    _, key = partner
    root = xml(post(client, key, "xml", address_id=commune, email="a@example.org", first_name="Ẩn"))
    assert root.tag == "service_requests" and [r.tag for r in root] == ["request"]
    assert [c.tag for c in root[0]] == ["service_request_id", "service_notice", "account_id"]
    assert root[0].find("account_id").text is None
    public_id = root[0].find("service_request_id").text
    assert PUBLIC_ID.match(public_id)
    petition = by_public_id(public_id)
    assert petition.display_code in root[0].find("service_notice").text
    assert petition.geotag_method == "chosen" and petition.commune.code == commune
    assert petition.is_anonymous and petition.contact_name is None and petition.contact_phone is None
    assert petition.contact_email == "a@example.org"  # for the citizen's receipt and answers only


def test_a_long_first_line_is_cut_at_a_word_for_the_title(client, partner, commune):
    _, key = partner
    first_line = " ".join(["Cống thoát nước"] * 20)  # 300 characters
    title = filed_by(post(client, key, address_id=commune, description=first_line + "\nChi tiết.")).title
    assert len(title) <= 150 and first_line.startswith(title) and first_line[len(title)] == " "


def test_a_free_text_address_travels_with_the_description(client, partner, commune):
    _, key = partner
    petition = filed_by(post(client, key, address_id=commune, address_string="Ngõ 5, đường Lê Lợi"))
    assert petition.body.endswith("Địa chỉ: Ngõ 5, đường Lê Lợi")


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_missing_unknown_or_revoked_key_is_403(client, partner, commune, fmt):
    _, key = partner
    assert_errors(post(client, None, fmt, address_id=commune), 403, fmt, "X-Api-Key")
    assert_errors(post(client, "not-a-key", fmt, address_id=commune), 403, fmt)
    partners.revoke("zalo-oa")
    assert_errors(post(client, key, fmt, address_id=commune), 403, fmt)
    assert open311_count() == 0


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_key_in_the_query_string_or_the_body_is_refused(client, partner, commune, fmt):
    _, key = partner
    form = {"service_code": "roads", "description": BODY, "address_id": commune}
    in_body = client.post(f"{V2}/requests.{fmt}", data={**form, "api_key": key})
    assert_errors(in_body, 400, fmt, "X-Api-Key")
    in_query = client.post(f"{V2}/requests.{fmt}?api_key={key}", data=form)
    assert_errors(in_query, 400, fmt, "X-Api-Key")
    # refused even alongside a good header: a key that was in a URL or a body is not to be used
    both = client.post(f"{V2}/requests.{fmt}?api_key={key}", data=form, headers=with_key(key))
    assert_errors(both, 400, fmt, "X-Api-Key")
    assert open311_count() == 0
    for read in ("requests", "requests/0123456789abcdef", "tokens/0123456789abcdef", "services", "discovery"):
        assert_errors(client.get(f"{V2}/{read}.{fmt}?api_key={key}"), 400, fmt, "X-Api-Key")
    assert post(client, key, fmt, address_id=commune).status_code == 201  # the same key in its header works


@pytest.mark.parametrize(
    "fields, status, says",
    [
        ({"description": None}, 400, "description"),
        ({"description": "   "}, 400, "description"),
        ({"description": "Quá ngắn"}, 400, "10 đến 5.000"),
        ({"description": "Hi\nDòng sau đủ dài nhưng dòng đầu là tiêu đề."}, 400, "tiêu đề"),
        ({"service_code": None}, 400, "service_code"),
        ({"service_code": "nope"}, 404, "service_code"),
        ({"address_id": None, "lat": "NaN", "long": "105.8"}, 400, "hữu hạn"),
        ({"address_id": None, "lat": "13.75", "long": "100.5"}, 400, "ngoài lãnh thổ Việt Nam"),
        ({"address_id": None, "lat": "95", "long": "105"}, 400, "khoảng -90 đến 90"),
        ({"address_id": None, "lat": "abc", "long": "105"}, 400, "phải là số"),
        ({"address_id": None, "lat": "16.4"}, 400, "(long)"),
        ({"address_id": None}, 400, "address_id"),
        ({"address_id": None, "address_string": "Ngõ 5, đường Lê Lợi"}, 400, "address_string bằng chữ"),
        ({"address_id": None, "lat": "12.0", "long": "113.0"}, 400, "không thuộc xã, phường nào"),  # at sea
        ({"address_id": "99999"}, 400, "address_id"),
        ({"phone": "12345"}, 400, "phone"),
        ({"email": "a@@example"}, 400, "email"),
        ({"first_name": "A" * 121}, 400, "first_name"),
    ],
)
def test_what_the_spec_and_the_form_refuse(client, partner, commune, fields, status, says):
    _, key = partner
    response = post(client, key, **{"address_id": commune, **fields})
    assert_errors(response, status, contains=says)
    assert open311_count() == 0


def test_a_point_at_sea_is_placed_by_the_area_code_sent_with_it(client, partner):
    _, key = partner
    petition = filed_by(post(client, key, lat="12.0", long="113.0", address_id="46"))
    assert (petition.geotag_method, petition.province.code, petition.assigned_area_id) == (
        "chosen",
        "46",
        petition.province_id,
    )


def test_a_request_with_no_location_is_refused_in_the_spec_s_xml_form(client, partner):
    _, key = partner
    response = post(client, key, "xml", address_string="Ngõ 5, đường Lê Lợi")
    [description] = assert_errors(response, 400, "xml")
    assert "lat, long" in description and "address_id" in description
    assert open311_count() == 0


def test_several_problems_are_listed_together_and_in_xml(client, partner):
    _, key = partner
    response = post(client, key, "xml", description=None, phone="1", lat="NaN", long="1")
    assert len(assert_errors(response, 400, "xml")) == 3


def test_the_same_idempotency_key_gives_one_petition(client, partner, commune):
    _, key = partner
    headers = {"Idempotency-Key": "zalo-msg-8812"}
    first = post(client, key, headers=headers, address_id=commune)
    again = post(client, key, headers=headers, address_id=commune)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json[0]["service_request_id"] == again.json[0]["service_request_id"]
    by_param = post(client, key, address_id=commune, idempotency_key="zalo-msg-8812")
    assert (by_param.status_code, by_param.json[0]["service_request_id"]) == (200, first.json[0]["service_request_id"])
    assert open311_count() == 1
    stored = filed_by(first)
    assert stored.idempotency_key == f"p{partner[0].id}:zalo-msg-8812"

    _, other_key = partners.create("union-app", "100 per minute")  # keys are per partner
    other = post(client, other_key, headers=headers, address_id=commune)
    assert other.status_code == 201 and other.json[0]["service_request_id"] != first.json[0]["service_request_id"]
    assert_errors(post(client, key, headers={"Idempotency-Key": "bad key!"}, address_id=commune), 400)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_idempotency_key_seen_again_with_other_content_is_409_and_the_first_petition_stays(
    client, partner, commune, fmt
):
    _, key = partner
    headers = {"Idempotency-Key": "zalo-msg-9001"}
    first = filed_by(post(client, key, headers=headers, address_id=commune))
    other = "Cột điện nghiêng sắp đổ\nCột điện đầu ngõ nghiêng hẳn sau cơn bão, rất nguy hiểm cho người đi."
    refused = post(client, key, fmt, headers=headers, address_id=commune, description=other)
    assert_errors(refused, 409, fmt, "Idempotency-Key")
    assert_errors(
        post(client, key, fmt, address_id=commune, service_code="land", idempotency_key="zalo-msg-9001"), 409, fmt
    )
    assert open311_count() == 1
    db.session.refresh(first)
    assert first.body == BODY and first.category_code == "roads"
    same = post(client, key, headers=headers, address_id=commune)  # the same content again is still the same petition
    assert (same.status_code, same.json[0]["service_request_id"]) == (200, first.public_id)


def test_each_partner_has_its_own_rate_limit(client, commune):
    _, slow = partners.create("slow-partner", "2 per minute")
    _, other = partners.create("other-partner", "100 per minute")
    assert [post(client, slow, address_id=commune).status_code for _ in range(2)] == [201, 201]
    assert_errors(post(client, slow, address_id=commune), 429)
    assert_errors(post(client, slow, "xml", address_id=commune), 429, "xml")
    assert post(client, other, address_id=commune).status_code == 201


def test_reads_are_limited_per_client_address(client, app_ctx, monkeypatch):
    monkeypatch.setitem(app_ctx.config, "OPEN311_READ_LIMIT", "2 per minute")
    assert [client.get(f"{V2}/services.json").status_code for _ in range(2)] == [200, 200]
    assert_errors(client.get(f"{V2}/services.json"), 429)
    other = client.get(f"{V2}/services.json", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200


# ---------------------------------------------------------------- GET requests


@pytest.fixture
def filed(client, partner, commune):
    """Four petitions in a commune: three published — two roads (one from a partner, one from the web form path),
    one land — and one an officer has not accepted yet."""
    _, key = partner
    from_partner = filed_by(
        post(client, key, address_id=commune, phone="0987654321", first_name="Trần", last_name="Bình")
    )
    made = {
        "partner": from_partner,
        "web": petition_in(commune, name="Phạm Thị Dung", phone="0912345678"),
        "land": petition_in(commune, category="land", body="Tranh chấp đất đai giữa hai hộ gia đình."),
    }
    publish(*made.values())
    made["hidden"] = petition_in(
        commune,
        title="Chuyện chưa thụ lý",
        body="Nội dung chưa được cán bộ thụ lý, không được lộ ra ngoài.",
        name="Đỗ Văn Kín",
        phone="0977888999",
    )
    return made


def codes(response) -> set[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return {r["service_request_id"] for r in response.json}


def published_ids(filed) -> set[str]:
    return {p.public_id for name, p in filed.items() if name != "hidden"}


def test_a_request_in_both_formats(client, filed, commune):
    p = filed["web"]
    [body] = client.get(f"{V2}/requests/{p.public_id}.json").json
    assert set(body) == REQUEST_FIELDS and set(body["extended_attributes"]) == EXTENDED
    assert body["service_request_id"] == p.public_id
    assert (body["status"], body["status_notes"]) == ("open", "Đã thụ lý")
    assert body["service_code"] == "roads" and body["service_name"] == "Giao thông, hạ tầng"
    assert body["description"] == "Cả đoạn đường tối om từ tháng trước."
    assert (
        body["agency_responsible"].startswith("Ban Công tác Mặt trận ") and p.commune.name in body["agency_responsible"]
    )
    assert body["service_notice"].endswith(f"http://localhost/p/{p.public_id}")
    assert body["address"] == f"{p.commune.full_name}, {p.province.full_name}" and body["address_id"] == commune
    assert body["requested_datetime"].endswith("+07:00") and body["expected_datetime"].endswith("+07:00")
    # placed by its commune, with no point: the commune's label point stands for it
    label = to_shape(p.commune.label_point)
    assert (body["long"], body["lat"]) == (round(label.x, 5), round(label.y, 5))
    assert body["zipcode"] is None and body["media_url"] is None
    assert body["extended_attributes"] == {
        "village_code": None,
        "commune_code": commune,
        "province_code": "46",
        "detailed_status": "accepted",
        "supporters": 1,
        "published": True,
    }
    root = xml(client.get(f"{V2}/requests/{p.public_id}.xml"))
    assert root.tag == "service_requests" and [r.tag for r in root] == ["request"]
    assert {c.tag for c in root[0]} == REQUEST_FIELDS
    assert {c.tag for c in root[0].find("extended_attributes")} == EXTENDED
    assert root[0].find("zipcode").text is None and root[0].find("status").text == "open"
    assert root[0].find("service_request_id").text == p.public_id
    assert root[0].find("extended_attributes/published").text == "true"
    # the public id typed in capitals works too
    assert codes(client.get(f"{V2}/requests/{p.public_id.upper()}.json")) == {p.public_id}


def test_a_point_is_shown_as_its_village_to_every_reader(client, partner, village_point):
    _, key = partner
    at = village_point
    petition = filed_by(post(client, key, lat=str(at.lat), long=str(at.lon)))
    publish(petition)
    village_label = (round(at.label_lat, 5), round(at.label_lon, 5))
    assert village_label != (round(at.lat, 5), round(at.lon, 5))  # the point is 50 m or more from the label
    for headers in ({}, with_key(key)):  # anyone, and a key without that right: the village's label point
        [body] = client.get(f"{V2}/requests/{petition.public_id}.json", headers=headers).json
        assert (body["lat"], body["long"]) == village_label
        assert body["address_id"] == at.code and body["extended_attributes"]["village_code"] == at.code
        root = xml(client.get(f"{V2}/requests/{petition.public_id}.xml", headers=headers))
        assert (float(root[0].find("lat").text), float(root[0].find("long").text)) == village_label
    _, insider = partners.create("so-xay-dung", "1000 per minute", area_code=at.commune, sees_unpublished=True)
    [seen] = client.get(f"{V2}/requests/{petition.public_id}.json", headers=with_key(insider)).json
    assert (seen["lat"], seen["long"]) == village_label  # no reader gets the exact point


def test_a_partner_s_petition_stays_private_unless_the_citizen_agreed_to_publish(client, partner, commune):
    _, key = partner
    private = filed_by(post(client, key, address_id=commune, publish=None))
    public = filed_by(post(client, key, address_id=commune, publish="true", description=BODY + " Thêm."))
    publish(private, public)
    assert codes(client.get(f"{V2}/requests.json")) == {public.public_id}
    assert_errors(post(client, key, address_id=commune, publish="maybe"), 400, contains="publish")


def test_a_key_that_sees_unpublished_petitions_needs_an_area(app_ctx):
    with pytest.raises(partners.PartnerError):
        partners.create("ca-nuoc", "1000 per minute", sees_unpublished=True)


def test_unknown_ids_and_tracking_codes_are_404_for_requests_and_tokens(client, filed):
    known = filed["web"]  # published: its public id opens it, its tracking code does not
    for missing in ("0123456789abcdef", "nothing", known.display_code, known.tracking_code):
        for fmt in ("json", "xml"):
            assert_errors(client.get(f"{V2}/requests/{missing}.{fmt}"), 404, fmt)
            assert_errors(client.get(f"{V2}/tokens/{missing}.{fmt}"), 404, fmt)
    assert codes(client.get(f"{V2}/requests/{known.public_id}.json")) == {known.public_id}


def test_a_token_is_the_public_id(client, filed):
    public_id = filed["partner"].public_id
    assert client.get(f"{V2}/tokens/{public_id}.json").json == [{"service_request_id": public_id, "token": public_id}]
    root = xml(client.get(f"{V2}/tokens/{public_id}.xml"))
    assert root.tag == "service_requests" and [c.tag for c in root[0]] == ["service_request_id", "token"]
    assert root[0].find("token").text == public_id == root[0].find("service_request_id").text
    assert_errors(client.get(f"{V2}/tokens/{filed['partner'].display_code}.json"), 404)  # a tracking code is no token
    assert_errors(client.get(f"{V2}/tokens/{filed['hidden'].public_id}.json"), 404)  # nor is an unpublished id


def test_no_read_in_json_or_xml_carries_a_contact_a_redacted_text_or_a_tracking_code(client, filed, commune):
    workflow.act(filed["web"], "redact", None, note="Có thông tin cá nhân.", public_body="Nội dung đã biên tập.")
    _, insider = partners.create("uy-ban-xa", "1000 per minute", area_code=commune, sees_unpublished=True)
    contacts = ["Phạm Thị Dung", "0912345678", "912345678", "Trần Bình", "0987654321", "987654321"]
    contacts += ["Đỗ Văn Kín", "0977888999", "977888999"]
    tracking_codes = [code for p in filed.values() for code in (p.tracking_code, p.display_code)]
    unpublished_text = ["Chuyện chưa thụ lý", "không được lộ ra ngoài"]
    readers = {
        "anyone": ({}, contacts + tracking_codes + ["tối om"] + unpublished_text, published_ids(filed)),
        "a key that sees unpublished": (
            with_key(insider),
            contacts + tracking_codes + ["tối om"],
            published_ids(filed) | {filed["hidden"].public_id},
        ),
    }
    for reader, (headers, secrets, visible) in readers.items():
        responses = []
        for fmt in ("json", "xml"):
            responses.append(client.get(f"{V2}/requests.{fmt}", headers=headers))
            responses.append(client.get(f"{V2}/requests.{fmt}?status=open,closed", headers=headers))
            for public_id in visible:
                responses.append(client.get(f"{V2}/requests/{public_id}.{fmt}", headers=headers))
                responses.append(client.get(f"{V2}/tokens/{public_id}.{fmt}", headers=headers))
        for response in responses:
            raw = response.get_data(as_text=True)
            assert response.status_code == 200, (reader, response.request.path, raw)
            for secret in secrets:
                assert secret not in raw, (reader, secret, response.request.path)
        assert codes(responses[0]) == visible, reader
        assert {r.find("service_request_id").text for r in xml(responses[len(responses) // 2])} == visible, reader
        assert "Nội dung đã biên tập." in responses[0].get_data(as_text=True), reader


def test_an_unpublished_petition_is_seen_only_by_a_key_that_sees_unpublished_within_its_area(client, filed):
    here, there = slice_communes(2)
    hidden = filed["hidden"]  # in the first commune
    elsewhere = petition_in(there, title="Trạm bơm hỏng", body="Trạm bơm của xóm hỏng đã hai tuần, chưa ai sửa.")
    _, plain = partners.create("nguoi-doc", "1000 per minute")
    _, inside = partners.create("xa-nay", "1000 per minute", area_code=here, sees_unpublished=True)
    _, outside = partners.create("xa-kia", "1000 per minute", area_code=there, sees_unpublished=True)

    anyone = codes(client.get(f"{V2}/requests.json"))
    assert anyone == published_ids(filed)
    assert codes(client.get(f"{V2}/requests.json", headers=with_key(plain))) == anyone
    seen_inside = codes(client.get(f"{V2}/requests.json", headers=with_key(inside)))
    assert hidden.public_id in seen_inside and elsewhere.public_id not in seen_inside
    seen_outside = codes(client.get(f"{V2}/requests.json", headers=with_key(outside)))
    assert elsewhere.public_id in seen_outside and hidden.public_id not in seen_outside

    for fmt in ("json", "xml"):
        for headers in ({}, with_key(plain), with_key(outside)):
            assert_errors(client.get(f"{V2}/requests/{hidden.public_id}.{fmt}", headers=headers), 404, fmt)
            assert_errors(client.get(f"{V2}/tokens/{hidden.public_id}.{fmt}", headers=headers), 404, fmt)
        assert client.get(f"{V2}/tokens/{hidden.public_id}.{fmt}", headers=with_key(inside)).status_code == 200
    [entry] = client.get(f"{V2}/requests/{hidden.public_id}.json", headers=with_key(inside)).json
    assert entry["extended_attributes"]["published"] is False and entry["service_notice"] is None
    assert entry["description"] == "Nội dung chưa được cán bộ thụ lý, không được lộ ra ngoài."
    root = xml(client.get(f"{V2}/requests/{hidden.public_id}.xml", headers=with_key(inside)))
    assert root[0].find("extended_attributes/published").text == "false"


def test_filters_status_service_dates_and_codes(client, filed):
    everything = published_ids(filed)  # the unpublished petition is in none of the answers
    assert codes(client.get(f"{V2}/requests.json")) == everything
    done = filed["web"]
    workflow.act(done, "resolve", None, answer="Đã sửa đèn đường.")
    assert codes(client.get(f"{V2}/requests.json?status=closed")) == {done.public_id}
    assert codes(client.get(f"{V2}/requests.json?status=open")) == everything - {done.public_id}
    assert codes(client.get(f"{V2}/requests.json?status=open,closed")) == everything
    [closed] = client.get(f"{V2}/requests.json?status=closed").json
    assert (closed["status"], closed["status_notes"], closed["expected_datetime"]) == (
        "closed",
        "Đã sửa đèn đường.",
        None,
    )
    assert closed["extended_attributes"]["detailed_status"] == "resolved"

    assert codes(client.get(f"{V2}/requests.json?service_code=land")) == {filed["land"].public_id}
    assert codes(client.get(f"{V2}/requests.json?service_code=roads,land")) == everything
    assert codes(client.get(f"{V2}/requests.json?service_code=nope")) == set()

    today = local_date(datetime.now(UTC))  # start_date and end_date without a zone are Vietnam's days
    tomorrow, yesterday = today + timedelta(days=1), today - timedelta(days=1)
    assert codes(client.get(f"{V2}/requests.json?start_date={tomorrow}")) == set()
    assert codes(client.get(f"{V2}/requests.json?end_date={yesterday}T00:00:00Z")) == set()
    window = f"start_date={yesterday}T00:00:00%2B07:00&end_date={tomorrow}T23:59:59Z"
    assert codes(client.get(f"{V2}/requests.json?{window}")) == everything
    unencoded_plus = f"start_date={yesterday}T00:00:00+07:00"  # the "+" arrives as a space
    assert codes(client.get(f"{V2}/requests.json?{unencoded_plus}")) == everything
    assert codes(client.get(f"{V2}/requests.json?{window}&status=closed&service_code=roads")) == {done.public_id}

    two = f"{filed['land'].public_id},{filed['partner'].public_id.upper()}"
    assert codes(client.get(f"{V2}/requests.json?service_request_id={two}")) == {
        filed["land"].public_id,
        filed["partner"].public_id,
    }
    # the ids win over every other filter, as the spec says
    assert codes(client.get(f"{V2}/requests.json?service_request_id={two}&status=closed&start_date={tomorrow}")) == {
        filed["land"].public_id,
        filed["partner"].public_id,
    }
    # but not over publication, nor does a tracking code name a petition
    hidden, land = filed["hidden"], filed["land"]
    asked = f"{hidden.public_id},{land.display_code},{land.tracking_code}"
    assert codes(client.get(f"{V2}/requests.json?service_request_id={asked}")) == set()
    root = xml(client.get(f"{V2}/requests.xml?status=closed"))
    assert [r.find("service_request_id").text for r in root] == [done.public_id]


@pytest.mark.parametrize(
    "query, says",
    [
        ("status=pending", "status"),
        ("start_date=hôm-qua", "start_date"),
        ("end_date=2026-13-01", "end_date"),
        ("start_date=2026-01-01&end_date=2026-06-01", "90 ngày"),
        ("start_date=2026-06-01&end_date=2026-01-01", "trước"),
        ("end_date=0001-01-02", ""),
    ],
)
def test_bad_filters_are_400(client, query, says):
    assert_errors(client.get(f"{V2}/requests.json?{query}"), 400, contains=says)
    assert_errors(client.get(f"{V2}/requests.xml?{query}"), 400, "xml", says)


def test_unknown_paths_formats_and_methods_under_open311_answer_in_the_spec_form(client):
    assert_errors(client.get(f"{V2}/services.html"), 404)
    assert_errors(client.get(f"{V2}/nothing.xml"), 404, "xml")
    assert_errors(client.get("/open311/"), 404)
    assert_errors(client.get("/open311/v3/services.json"), 404)
    response = client.delete(f"{V2}/services.json")
    assert_errors(response, 405)
    assert "GET" in response.headers["Allow"]
    assert_errors(client.put(f"{V2}/requests.xml"), 405, "xml")
    assert client.get("/no-such-page").status_code == 404  # the rest of the app keeps its own pages


def test_control_characters_in_citizen_text_keep_the_xml_well_formed(client, commune):
    p = petition_in(commune, body="Nội dung có ký tự lạ \x01\x08 ở giữa câu.")
    publish(p)
    root = xml(client.get(f"{V2}/requests/{p.public_id}.xml"))
    assert root[0].find("description").text == "Nội dung có ký tự lạ  ở giữa câu."


def test_nul_bytes_are_refused_before_they_reach_the_database(client, partner, commune):
    _, key = partner
    assert_errors(
        post(client, key, address_id=commune, description="Nội dung có\x00 ký tự NUL.", phone="0912345678"), 400
    )
    assert_errors(post(client, key, service_code="nope\x00", address_id=commune), 400)
    assert_errors(post(client, key, address_id="\x00"), 400)
    assert_errors(post(client, key, address_id=commune, headers={"Idempotency-Key": "a\x00b"}), 400)
    assert_errors(client.get(f"{V2}/requests.json?service_code=roads%00"), 400)
    assert_errors(client.get(f"{V2}/requests.json?status=open%00"), 400)
    assert_errors(client.get(f"{V2}/requests.json?start_date=2026-01-01%00"), 400)
    assert_errors(client.get(f"{V2}/requests/%00.json"), 400)
    assert_errors(client.get(f"{V2}/services/%00.xml"), 400, "xml")


# ---------------------------------------------------------------- the round trip


def test_round_trip_partner_to_commune_officer_and_back(client, partner, village_point):
    _, key = partner
    at = village_point
    petition = filed_by(post(client, key, lat=str(at.lat), long=str(at.lon)))
    public_id = petition.public_id
    # not public until an officer accepts it, not even to the partner that filed it
    assert_errors(client.get(f"{V2}/requests/{public_id}.json"), 404)
    assert_errors(client.get(f"{V2}/requests/{public_id}.json", headers=with_key(key)), 404)

    log_in(client, officer("commune", at.commune))
    assert petition.reference in client.get("/officer/").get_data(as_text=True)
    page = client.get(f"/officer/petitions/{petition.id}").get_data(as_text=True)
    assert "open311" in page
    token = csrf_token(client, "/officer/")
    act = f"/officer/petitions/{petition.id}/act"
    assert client.post(act, data={"csrf_token": token, "action": "accept"}).status_code == 303
    answer = "Xã đã nạo vét cống, đường hết ngập từ ngày 20."
    assert client.post(act, data={"csrf_token": token, "action": "resolve", "answer": answer}).status_code == 303
    client.post("/logout", data={"csrf_token": token})

    [seen] = client.get(f"{V2}/requests/{public_id}.json").json
    assert (seen["status"], seen["status_notes"]) == ("closed", answer)
    assert seen["extended_attributes"]["detailed_status"] == "resolved"
    assert seen["extended_attributes"]["published"] is True
    assert seen["service_notice"].endswith(f"/p/{public_id}")
    root = xml(client.get(f"{V2}/requests/{public_id}.xml"))
    assert root[0].find("status").text == "closed" and root[0].find("status_notes").text == answer


# ---------------------------------------------------------------- the OpenAPI document


def json_variant(rule: str) -> str:
    """A URL rule as an OpenAPI path: the .json form, {arguments}."""
    rule = re.sub(r"<any\([^)]*\):fmt>", "json", rule)
    return re.sub(r"<(?:[a-z]+:)?(\w+)>", r"{\1}", rule)


def test_the_openapi_document_matches_the_url_map(app, client):
    served = client.get("/api/openapi.json")
    assert served.status_code == 200 and served.json == document()
    routes = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/api/v1/", "/open311/v2/")):
            methods = {m.lower() for m in rule.methods - {"HEAD", "OPTIONS"}}
            routes.setdefault(json_variant(rule.rule), set()).update(methods)
    documented = {path: set(operations) for path, operations in document()["paths"].items()}
    assert routes == documented


def test_the_openapi_document_puts_the_key_in_its_header_and_names_petitions_by_public_id():
    doc = document()
    scheme = doc["components"]["securitySchemes"]["partnerKey"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "X-Api-Key")
    create = doc["paths"][f"{V2}/requests.json"]["post"]
    assert create["security"] == [{"partnerKey": []}]
    form = create["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert "api_key" not in form["properties"] and "api_key" not in form["required"]
    assert "409" in create["responses"] and "Idempotency-Key" in create["responses"]["409"]["description"]
    for path, operations in doc["paths"].items():
        for operation in operations.values():
            assert all(parameter["name"] != "api_key" for parameter in operation.get("parameters", [])), path
            if path.startswith(V2):
                assert "X-Api-Key" in operation["responses"]["400"]["description"], path
    schemas = doc["components"]["schemas"]
    for name, field in (("ServiceRequests", "service_request_id"), ("ServiceRequestCreated", "service_request_id")):
        assert schemas[name]["items"]["properties"][field]["pattern"] == "^[0-9a-f]{16}$"
    assert schemas["Tokens"]["items"]["properties"]["token"]["pattern"] == "^[0-9a-f]{16}$"
    assert "published" in schemas["ServiceRequests"]["items"]["properties"]["extended_attributes"]["properties"]
    similar = schemas["SimilarPetitions"]["properties"]["petitions"]["items"]["properties"]
    assert "tracking_code" not in similar and similar["id"]["pattern"] == "^[0-9a-f]{16}$"


def test_the_openapi_document_loads_with_every_operation():
    import schemathesis

    schema = schemathesis.openapi.from_dict(document())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == sum(len(ops) for ops in document()["paths"].values())


# ---------------------------------------------------------------- property-based: the document against the app


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_generated_requests_get_answers_the_document_allows(app_ctx, client, partner, commune, mode, monkeypatch):
    """Schemathesis draws requests for every operation of /api/openapi.json (a valid partner key in the
    X-Api-Key header of each) and calls the app in this test's transaction: never a 500, and every answer —
    status, content type, body — is one the document describes."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    monkeypatch.setitem(app_ctx.config, "OPEN311_READ_LIMIT", "100000 per minute")
    _, key = partner
    listed = petition_in(commune)  # something to list, published
    workflow.act(listed, "accept", officer("commune", commune))
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app_ctx)
    checks = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

    exercised, statuses, xml_statuses = [], [], []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=25,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(GenerationMode(mode)))
        def call(case):
            case.headers = {**(case.headers or {}), "X-Api-Key": key}  # the key in its header, never the body
            # Schemathesis asks for gzip like any client but, calling the app in-process, does not inflate
            # the answer: the bodies are checked as sent plain (compression has tests of its own).
            case.headers["Accept-Encoding"] = "identity"
            if case.method == "POST" and isinstance(case.body, dict):
                if mode == "positive":  # a known service and a place, so that some get through to submit()
                    case.body.update(service_code="roads", address_id=commune)
            response = case.call_and_validate(checks=checks)
            statuses.append(response.status_code)
            if case.path.startswith(V2):  # the same request in XML: no 500, well-formed, the spec's roots
                twin = case.as_transport_kwargs()
                twin["path"] = re.sub(r"\.json$", ".xml", twin["path"])
                answer = client.open(**twin)
                assert answer.status_code < 500 and answer.content_type.startswith("text/xml"), twin
                assert ET.fromstring(answer.get_data()).tag in XML_ROOTS
                xml_statuses.append(answer.status_code)

        try:
            call()
        except Unsatisfiable:
            if mode == "positive":
                raise
            continue  # only free-form strings, or nothing at all: no request breaks this operation's schema
        exercised.append(operation.label)
    if mode == "positive":
        assert len(exercised) == sum(len(operations) for operations in document()["paths"].values())
        assert 201 in statuses and 200 in statuses and 201 in xml_statuses
    else:
        assert {"GET /api/v1/locate", "POST /open311/v2/requests.json"} <= set(exercised), exercised
        assert all(status < 500 for status in statuses)
