"""Open311 GeoReport v2 under /open311/v2/: partners' keys, every endpoint in JSON and XML,
the spec's errors, idempotency, per-partner limits, privacy, filters, the round trip
through a commune officer's inbox, and the OpenAPI document kept true to the URL map."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from app.extensions import db
from app.models import AuditEvent
from app.openapi import document
from app.services import partners, workflow
from app.services.petitions import by_code
from app.services.workdays import local_date
from tests.factories import csrf_token, log_in, officer, petition_in, slice_communes

V2 = "/open311/v2"
CODE = re.compile(r"^[2-9A-Z]{3}-[2-9A-Z]{3}-[2-9A-Z]{3}$")
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
EXTENDED = {"village_code", "commune_code", "province_code", "detailed_status", "supporters"}
BODY = "Đường vào thôn ngập sâu\nMỗi khi mưa lớn, nước ngập quá đầu gối, học sinh không đến trường được."


@pytest.fixture
def commune(app_ctx) -> str:
    return slice_communes(1)[0]


@pytest.fixture
def village_point(app_ctx):
    """(lat, long, village code, commune code) of a point inside a village of the test slice."""
    row = db.session.execute(
        text(
            """SELECT ST_Y(pt) AS lat, ST_X(pt) AS lon, v.code, c.code AS commune
               FROM (SELECT *, ST_PointOnSurface(geom) AS pt FROM areas WHERE level = 'village'
                     ORDER BY code LIMIT 1) v JOIN areas c ON c.id = v.parent_id"""
        )
    ).one()
    return row.lat, row.lon, row.code, row.commune


@pytest.fixture
def partner(app_ctx):
    """A partner with a generous limit, and its key."""
    return partners.create("zalo-oa", "1000 per minute")


def post(client, key, fmt="json", headers=None, **fields):
    data = {"api_key": key, "service_code": "roads", "description": BODY, **fields}
    data = {k: v for k, v in data.items() if v is not None}
    return client.post(f"{V2}/requests.{fmt}", data=data, headers=headers or {})


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


def test_the_cli_creates_lists_and_revokes_partners(runner):
    result = runner.invoke(args=["partners", "create", "cong-doan", "--rate", "120 per minute"])
    assert result.exit_code == 0, result.output
    key = re.search(r"API key: (\S+)", result.output).group(1)
    assert "will not be shown again" in result.output
    assert partners.by_key(key).rate_limit == "120 per minute"
    listed = runner.invoke(args=["partners", "list"])
    assert "cong-doan" in listed.output and key not in listed.output
    assert runner.invoke(args=["partners", "create", "cong-doan"]).exit_code == 1  # the name is taken
    assert runner.invoke(args=["partners", "revoke", "cong-doan"]).exit_code == 0
    assert partners.by_key(key) is None
    assert "revoked" in runner.invoke(args=["partners", "list"]).output


# ---------------------------------------------------------------- discovery and services


def test_discovery_in_both_formats(client):
    body = client.get(f"{V2}/discovery.json").json
    assert {"changeset", "contact", "key_service", "endpoints"} <= set(body)
    endpoint = body["endpoints"][0]
    assert endpoint["url"] == "http://localhost/open311/v2"
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}
    assert "90 ngày" in body["description"] and "1000" in body["description"]
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
    lat, lon, village, commune = village_point
    response = post(client, key, lat=str(lat), long=str(lon), phone="+84 912-345-678", first_name="An", last_name="Lê")
    assert response.status_code == 201, response.get_data(as_text=True)
    [answer] = response.json
    assert set(answer) == {"service_request_id", "service_notice", "account_id"}
    assert CODE.match(answer["service_request_id"]) and answer["account_id"] is None
    assert answer["service_request_id"] in answer["service_notice"]

    petition = by_code(answer["service_request_id"])
    assert petition.channel == "open311" and petition.status == "received"
    assert db.session.scalar(text("SELECT partner_id FROM petitions WHERE id = :id"), {"id": petition.id}) == (
        created.id
    )
    assert petition.title == "Đường vào thôn ngập sâu" and petition.body == BODY
    assert petition.village.code == village and petition.commune.code == commune
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
    petition = by_code(root[0].find("service_request_id").text)
    assert petition.geotag_method == "chosen" and petition.commune.code == commune
    assert petition.is_anonymous and petition.contact_name is None and petition.contact_phone is None


def test_a_long_first_line_is_cut_at_a_word_for_the_title(client, partner, commune):
    _, key = partner
    first_line = " ".join(["Cống thoát nước"] * 20)  # 300 characters
    response = post(client, key, address_id=commune, description=first_line + "\nChi tiết.")
    title = by_code(response.json[0]["service_request_id"]).title
    assert len(title) <= 150 and first_line.startswith(title) and first_line[len(title)] == " "


def test_a_free_text_address_travels_with_the_description(client, partner, commune):
    _, key = partner
    response = post(client, key, address_id=commune, address_string="Ngõ 5, đường Lê Lợi")
    assert by_code(response.json[0]["service_request_id"]).body.endswith("Địa chỉ: Ngõ 5, đường Lê Lợi")


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_a_missing_unknown_or_revoked_key_is_403(client, partner, commune, fmt):
    _, key = partner
    assert_errors(post(client, None, fmt, address_id=commune), 403, fmt, "api_key")
    assert_errors(post(client, "not-a-key", fmt, address_id=commune), 403, fmt)
    partners.revoke("zalo-oa")
    assert_errors(post(client, key, fmt, address_id=commune), 403, fmt)
    assert db.session.scalar(text("SELECT count(*) FROM petitions WHERE channel = 'open311'")) == 0


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
        ({"address_id": "99999"}, 400, "address_id"),
        ({"phone": "12345"}, 400, "phone"),
        ({"first_name": "A" * 121}, 400, "first_name"),
    ],
)
def test_what_the_spec_and_the_form_refuse(client, partner, commune, fields, status, says):
    _, key = partner
    response = post(client, key, **{"address_id": commune, **fields})
    assert_errors(response, status, contains=says)
    assert db.session.scalar(text("SELECT count(*) FROM petitions WHERE channel = 'open311'")) == 0


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
    assert db.session.scalar(text("SELECT count(*) FROM petitions WHERE channel = 'open311'")) == 1
    stored = by_code(first.json[0]["service_request_id"])
    assert stored.idempotency_key == f"p{partner[0].id}:zalo-msg-8812"

    _, other_key = partners.create("union-app", "100 per minute")  # keys are per partner
    other = post(client, other_key, headers=headers, address_id=commune)
    assert other.status_code == 201 and other.json[0]["service_request_id"] != first.json[0]["service_request_id"]
    assert_errors(post(client, key, headers={"Idempotency-Key": "bad key!"}, address_id=commune), 400)


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
    """Three petitions in a commune: two roads (one from a partner, one from the web form path), one land."""
    _, key = partner
    from_partner = post(client, key, address_id=commune, phone="0987654321", first_name="Trần", last_name="Bình")
    return {
        "partner": by_code(from_partner.json[0]["service_request_id"]),
        "web": petition_in(commune, name="Phạm Thị Dung", phone="0912345678"),
        "land": petition_in(commune, category="land", body="Tranh chấp đất đai giữa hai hộ gia đình."),
    }


def codes(response) -> set[str]:
    assert response.status_code == 200, response.get_data(as_text=True)
    return {r["service_request_id"] for r in response.json}


def test_a_request_in_both_formats(client, filed, commune):
    p = filed["web"]
    [body] = client.get(f"{V2}/requests/{p.display_code}.json").json
    assert set(body) == REQUEST_FIELDS and set(body["extended_attributes"]) == EXTENDED
    assert body["service_request_id"] == p.display_code
    assert (body["status"], body["status_notes"]) == ("open", "Đã tiếp nhận")
    assert body["service_code"] == "roads" and body["service_name"] == "Giao thông, hạ tầng"
    assert body["description"] == "Cả đoạn đường tối om từ tháng trước."
    assert (
        body["agency_responsible"].startswith("Ban Công tác Mặt trận ") and p.commune.name in body["agency_responsible"]
    )
    assert body["address"] == f"{p.commune.full_name}, {p.province.full_name}" and body["address_id"] == commune
    assert body["requested_datetime"].endswith("+07:00") and body["expected_datetime"].endswith("+07:00")
    assert body["zipcode"] is None and body["lat"] is None and body["long"] is None and body["media_url"] is None
    assert body["extended_attributes"] == {
        "village_code": None,
        "commune_code": commune,
        "province_code": "46",
        "detailed_status": "received",
        "supporters": 1,
    }
    root = xml(client.get(f"{V2}/requests/{p.display_code}.xml"))
    assert root.tag == "service_requests" and [r.tag for r in root] == ["request"]
    assert {c.tag for c in root[0]} == REQUEST_FIELDS
    assert {c.tag for c in root[0].find("extended_attributes")} == EXTENDED
    assert root[0].find("zipcode").text is None and root[0].find("status").text == "open"
    # the raw code typed without dashes works too
    assert codes(client.get(f"{V2}/requests/{p.tracking_code.lower()}.json")) == {p.display_code}


def test_a_point_is_given_back(client, partner, village_point):
    _, key = partner
    lat, lon, village, _ = village_point
    code = post(client, key, lat=str(lat), long=str(lon)).json[0]["service_request_id"]
    [body] = client.get(f"{V2}/requests/{code}.json").json
    assert body["lat"] == pytest.approx(lat, abs=1e-6) and body["long"] == pytest.approx(lon, abs=1e-6)
    assert body["address_id"] == village and body["extended_attributes"]["village_code"] == village


def test_unknown_requests_and_tokens_are_404(client):
    assert_errors(client.get(f"{V2}/requests/AAA-AAA-AAA.json"), 404)
    assert_errors(client.get(f"{V2}/requests/nothing.xml"), 404, "xml")
    assert_errors(client.get(f"{V2}/tokens/AAA-AAA-AAA.json"), 404)
    assert_errors(client.get(f"{V2}/tokens/AAA-AAA-AAA.xml"), 404, "xml")


def test_a_token_is_the_tracking_code(client, filed):
    code = filed["partner"].display_code
    assert client.get(f"{V2}/tokens/{code}.json").json == [{"service_request_id": code, "token": code}]
    root = xml(client.get(f"{V2}/tokens/{code}.xml"))
    assert root.tag == "service_requests" and [c.tag for c in root[0]] == ["service_request_id", "token"]
    assert root[0].find("token").text == code


def test_public_reads_never_show_the_contact_nor_the_redacted_text(client, filed):
    workflow.act(filed["web"], "redact", None, note="Có thông tin cá nhân.", public_body="Nội dung đã biên tập.")
    secrets = ["Phạm Thị Dung", "0912345678", "912345678", "Trần Bình", "0987654321", "987654321", "tối om"]
    responses = [client.get(f"{V2}/requests.{fmt}") for fmt in ("json", "xml")]
    for p in filed.values():
        for fmt in ("json", "xml"):
            responses.append(client.get(f"{V2}/requests/{p.display_code}.{fmt}"))
    for response in responses:
        raw = response.get_data(as_text=True)
        assert response.status_code == 200
        for secret in secrets:
            assert secret not in raw, (secret, response.request.path)
    assert "Nội dung đã biên tập." in responses[0].get_data(as_text=True)


def test_filters_status_service_dates_and_codes(client, filed):
    everything = {p.display_code for p in filed.values()}
    assert codes(client.get(f"{V2}/requests.json")) == everything
    done = filed["web"]
    workflow.act(done, "accept", None)
    workflow.act(done, "resolve", None, answer="Đã sửa đèn đường.")
    assert codes(client.get(f"{V2}/requests.json?status=closed")) == {done.display_code}
    assert codes(client.get(f"{V2}/requests.json?status=open")) == everything - {done.display_code}
    assert codes(client.get(f"{V2}/requests.json?status=open,closed")) == everything
    [closed] = client.get(f"{V2}/requests.json?status=closed").json
    assert (closed["status"], closed["status_notes"], closed["expected_datetime"]) == (
        "closed",
        "Đã sửa đèn đường.",
        None,
    )
    assert closed["extended_attributes"]["detailed_status"] == "resolved"

    assert codes(client.get(f"{V2}/requests.json?service_code=land")) == {filed["land"].display_code}
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
    assert codes(client.get(f"{V2}/requests.json?{window}&status=closed&service_code=roads")) == {done.display_code}

    two = f"{filed['land'].display_code},{filed['partner'].tracking_code}"
    assert codes(client.get(f"{V2}/requests.json?service_request_id={two}")) == {
        filed["land"].display_code,
        filed["partner"].display_code,
    }
    # the codes win over every other filter, as the spec says
    assert codes(client.get(f"{V2}/requests.json?service_request_id={two}&status=closed&start_date={tomorrow}")) == {
        filed["land"].display_code,
        filed["partner"].display_code,
    }
    root = xml(client.get(f"{V2}/requests.xml?status=closed"))
    assert [r.find("service_request_id").text for r in root] == [done.display_code]


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
    root = xml(client.get(f"{V2}/requests/{p.display_code}.xml"))
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
    lat, lon, _, commune = village_point
    code = post(client, key, lat=str(lat), long=str(lon)).json[0]["service_request_id"]
    petition = by_code(code)

    log_in(client, officer("commune", commune))
    assert code in client.get("/officer/").get_data(as_text=True)
    page = client.get(f"/officer/petitions/{petition.id}").get_data(as_text=True)
    assert "open311" in page
    token = csrf_token(client, "/officer/")
    act = f"/officer/petitions/{petition.id}/act"
    assert client.post(act, data={"csrf_token": token, "action": "accept"}).status_code == 303
    answer = "Xã đã nạo vét cống, đường hết ngập từ ngày 20."
    assert client.post(act, data={"csrf_token": token, "action": "resolve", "answer": answer}).status_code == 303
    client.post("/logout", data={"csrf_token": token})

    [seen] = client.get(f"{V2}/requests/{code}.json").json
    assert (seen["status"], seen["status_notes"]) == ("closed", answer)
    assert seen["extended_attributes"]["detailed_status"] == "resolved"
    root = xml(client.get(f"{V2}/requests/{code}.xml"))
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


def test_the_openapi_document_loads_with_every_operation():
    import schemathesis

    schema = schemathesis.openapi.from_dict(document())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == sum(len(ops) for ops in document()["paths"].values())


# ---------------------------------------------------------------- property-based: the document against the app


@pytest.mark.parametrize("mode", ["positive", "negative"])
def test_generated_requests_get_answers_the_document_allows(app_ctx, client, partner, commune, mode, monkeypatch):
    """Schemathesis draws requests for every operation of /api/openapi.json (a valid api_key put into the
    POSTs) and calls the app in this test's transaction: never a 500, and every answer — status, content
    type, body — is one the document describes."""
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
    petition_in(commune)  # something to list
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
            if case.method == "POST" and isinstance(case.body, dict):
                case.body["api_key"] = key
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
