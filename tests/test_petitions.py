"""A citizen sends a petition: validation, placing, duplicates, photos, limits, failures."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from rq import SimpleWorker
from sqlalchemy import select, text

from app import create_app
from app.extensions import db
from app.models import OutboxJob, Petition, PetitionPhoto
from app.redis_conn import redis
from app.services import outbox
from app.services.petitions import ALPHABET, CODE_LENGTH
from app.storage import current_storage
from tests.factories import jpeg, petition_fields, submit_petition

JSON = {"Accept": "application/json"}


@pytest.fixture
def village(app_ctx):
    """A village of the Huế slice with its label point (lon, lat) and parents."""
    row = db.session.execute(
        text(
            """SELECT v.code, ST_X(v.label_point) AS lon, ST_Y(v.label_point) AS lat,
                  c.code AS commune, p.code AS province
           FROM areas v JOIN areas c ON c.id = v.parent_id JOIN areas p ON p.id = c.parent_id
           WHERE v.level = 'village' ORDER BY v.code LIMIT 1"""
        )
    ).one()
    return row


def only_petition() -> Petition:
    return db.session.scalars(select(Petition)).one()


def run_jobs(app):
    """Run what RQ holds, in this process and transaction, like a worker would."""
    SimpleWorker(["default"], connection=redis()).work(burst=True)


# --- the form and its fields ---


def test_form_page_is_in_vietnamese_with_csrf_and_is_light(client):
    response = client.get("/petitions/new")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<html lang="vi">' in html
    assert "Gửi kiến nghị" in html and 'name="csrf_token"' in html
    assert len(response.data) < 100_000
    assert "https://" not in html and "http://" not in html.replace("http://localhost", "")


def test_form_is_available_in_english(client):
    html = client.get("/petitions/new?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Send a petition" in html


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"title": ""}, "title", "Hãy viết tiêu đề."),
        ({"title": "abc"}, "title", "Tiêu đề dài từ 5 đến 150 ký tự."),
        ({"title": "x" * 151}, "title", "Tiêu đề dài từ 5 đến 150 ký tự."),
        ({"body": "ngắn"}, "body", "Nội dung dài từ 10 đến 5.000 ký tự."),
        ({"body": "x" * 5001}, "body", "Nội dung dài từ 10 đến 5.000 ký tự."),
        ({"category": ""}, "category", "Hãy chọn lĩnh vực."),
        ({"category": "weather"}, "category", "Hãy chọn lĩnh vực."),
        ({"consent": None}, "consent", "Cần sự đồng ý của bạn để gửi kiến nghị."),
        (
            {"anonymous": "n", "name": "Nguyễn Văn An", "phone": ""},
            "phone",
            "Hãy nhập số điện thoại, hoặc chọn gửi ẩn danh.",
        ),
        (
            {"anonymous": "n", "name": "Nguyễn Văn An", "phone": "0212345678"},
            "phone",
            "Số điện thoại di động không đúng, ví dụ 0912 345 678.",
        ),
        (
            {"anonymous": "n", "name": "Nguyễn Văn An", "phone": "091234567"},
            "phone",
            "Số điện thoại di động không đúng, ví dụ 0912 345 678.",
        ),
        ({"anonymous": "n", "name": " ", "phone": "0912345678"}, "name", "Hãy nhập họ tên, hoặc chọn gửi ẩn danh."),
        ({"lat": "nan", "lon": "107.5"}, "lat", "Vĩ độ và kinh độ phải là số hữu hạn."),
        ({"lat": "48.85", "lon": "2.35"}, "lat", "Vị trí này nằm ngoài lãnh thổ Việt Nam."),
        (
            {"location_source": "psychic", "lat": "16.4", "lon": "107.6"},
            "location_source",
            "Nguồn vị trí không hợp lệ.",
        ),
        ({"website": "http://spam.example"}, "website", "Không gửi được biểu mẫu này."),
    ],
)
def test_each_bad_field_gets_its_vietnamese_message_and_nothing_is_saved(client, overrides, field, message):
    response = submit_petition(client, headers=JSON, **overrides)
    assert response.status_code == 422
    assert message in response.json["errors"][field]
    assert db.session.scalar(select(Petition.id)) is None


def test_bad_input_redisplays_the_form_with_what_was_typed(client):
    response = submit_petition(client, title="abc", body="Nội dung này được giữ lại khi biểu mẫu báo lỗi.")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Tiêu đề dài từ 5 đến 150 ký tự." in html
    assert "Nội dung này được giữ lại khi biểu mẫu báo lỗi." in html


def test_a_vietnamese_mobile_number_is_kept_in_one_form(client):
    submit_petition(client, anonymous="n", name="Trần Thị Bình", phone="+84 912-345-678")
    petition = only_petition()
    assert (petition.is_anonymous, petition.contact_name, petition.contact_phone) == (
        False,
        "Trần Thị Bình",
        "0912345678",
    )


def test_missing_csrf_token_is_refused(client):
    response = client.post("/petitions", data=petition_fields(), headers=JSON)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "csrf"


# --- the three ways of placing, and the receipt ---


def test_gps_location_places_the_petition_in_its_village(client, village):
    response = submit_petition(
        client, headers=JSON, lat=str(village.lat), lon=str(village.lon), accuracy_m="12", location_source="gps"
    )
    assert response.status_code == 201
    assert response.json["village"]["code"] == village.code
    assert response.json["commune"]["code"] == village.commune
    petition = only_petition()
    assert (petition.geotag_method, petition.location_source, petition.location_accuracy_m) == ("inside", "gps", 12)
    assert petition.village.code == village.code and petition.province.code == village.province


def test_a_tap_on_the_map_places_the_petition(client, village):
    submit_petition(client, lat=str(village.lat), lon=str(village.lon), location_source="map")
    petition = only_petition()
    assert (petition.village.code, petition.location_source, petition.location_accuracy_m) == (
        village.code,
        "map",
        None,
    )


def test_pickers_alone_place_the_petition_in_the_chosen_village(client, village):
    submit_petition(client, province=village.province, commune=village.commune, village=village.code)
    petition = only_petition()
    assert (petition.geotag_method, petition.village.code, petition.commune.code) == (
        "chosen",
        village.code,
        village.commune,
    )
    assert petition.location is None


def test_a_point_outside_the_picked_commune_is_flagged(client, village):
    other = db.session.execute(
        text("SELECT code FROM areas WHERE level = 'commune' AND code <> :c ORDER BY code LIMIT 1"),
        {"c": village.commune},
    ).scalar_one()
    submit_petition(client, lat=str(village.lat), lon=str(village.lon), commune=other, province=village.province)
    petition = only_petition()
    assert petition.commune.code == village.commune and petition.geotag_disagrees is True


NO_PLACE = "Hãy cho biết nơi xảy ra: chọn tỉnh, thành phố (và xã, thôn nếu biết) ở danh sách"


def test_a_petition_with_no_place_is_refused_beside_the_place_pickers_and_the_text_kept(client):
    response = submit_petition(client, province=None, body="Nội dung của tôi vẫn còn khi chưa chọn nơi.")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert db.session.scalar(select(Petition.id)) is None
    # the message stands in the province picker's own field, which is marked invalid
    province_field = re.search(r'<div class="field has-error">\s*<label for="province".*?</div>', html, re.S).group(0)
    assert NO_PLACE in province_field and 'aria-invalid="true"' in province_field
    assert "Nội dung của tôi vẫn còn khi chưa chọn nơi." in html
    assert 'value="Đường làng ngập nước"' in html


def test_a_petition_with_no_place_is_refused_in_json_and_in_english(client):
    response = submit_petition(client, headers=JSON, province=None)
    assert response.status_code == 422
    assert response.json["errors"] == {"province": [NO_PLACE + ", hoặc dùng vị trí hiện tại, hoặc chọn trên bản đồ."]}
    client.get("/petitions/new?lang=en")  # the language is remembered in a cookie
    english = submit_petition(client, headers=JSON, province=None)
    assert english.status_code == 422
    assert english.json["errors"]["province"][0].startswith("Tell us where it happens")
    assert db.session.scalar(select(Petition.id)) is None


def test_an_unknown_province_code_is_no_place(client):
    response = submit_petition(client, headers=JSON, province="98")
    assert response.status_code == 422 and NO_PLACE in response.json["errors"]["province"][0]


def test_a_province_alone_is_a_place_and_its_petition_waits_in_the_province_s_queue(client):
    assert submit_petition(client, province="46").status_code == 303
    petition = only_petition()
    assert (petition.geotag_method, petition.province.code, petition.commune, petition.village) == (
        "chosen",
        "46",
        None,
        None,
    )
    assert petition.assigned_area_id == petition.province_id == petition.assigned_province_id


def test_a_point_in_no_commune_needs_a_province(client):
    at_sea = {"lat": "12.0", "lon": "113.0", "location_source": "map"}  # inside the national extent, far from land
    refused = submit_petition(client, headers=JSON, province=None, **at_sea)
    assert refused.status_code == 422
    assert refused.json["errors"]["province"] == [
        "Vị trí đã chọn không thuộc xã, phường nào; hãy chọn tỉnh, thành phố (và xã, thôn nếu biết) ở danh sách."
    ]
    assert db.session.scalar(select(Petition.id)) is None
    accepted = submit_petition(client, headers=JSON, province="46", **at_sea)
    assert accepted.status_code == 201 and accepted.json["province"]["code"] == "46"


def test_a_photo_taken_in_no_commune_is_no_place_and_leaves_nothing_behind(client):
    store = current_storage()
    before = set(store.root.rglob("*")) if hasattr(store, "root") else set()
    photo = jpeg(size=(400, 300), gps=(12.0, 113.0))  # at sea, inside the national extent
    response = submit_petition(client, headers=JSON, province=None, photos=[(io.BytesIO(photo), "bien.jpg")])
    assert response.status_code == 422
    assert response.json["errors"]["province"][0].startswith("Vị trí đã chọn không thuộc xã, phường nào")
    assert db.session.scalar(select(Petition.id)) is None
    assert db.session.scalar(text("SELECT count(*) FROM audit_events")) == 0
    if hasattr(store, "root"):
        assert {p for p in store.root.rglob("*") if p.is_file()} <= before  # the quarantined photo is gone


def test_a_point_alone_is_a_place(client, village):
    response = submit_petition(client, headers=JSON, province=None, lat=str(village.lat), lon=str(village.lon))
    assert response.status_code == 201 and response.json["commune"]["code"] == village.commune


def test_the_service_refuses_a_submission_with_no_place_whatever_the_adapter(app_ctx):
    from app.services.petitions import NoPlace, Submission, submit

    with pytest.raises(NoPlace) as refused:
        submit(Submission(title="Đèn hỏng", body="Đèn đường hỏng nhiều tháng.", category="roads"))
    assert refused.value.reason == "missing"
    assert db.session.scalar(select(Petition.id)) is None


def test_submitting_redirects_to_the_status_page_with_a_readable_code(client, village):
    response = submit_petition(client, lat=str(village.lat), lon=str(village.lon))
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    code = re.search(r'id="tracking-code">([^<]+)<', page).group(1)
    assert re.fullmatch(rf"[{ALPHABET}]{{3}}-[{ALPHABET}]{{3}}-[{ALPHABET}]{{3}}", code)
    assert len(code.replace("-", "")) == CODE_LENGTH
    assert "Đã nhận kiến nghị của bạn" in page


def test_the_no_javascript_pickers_fill_in_step_by_step(client, village):
    from tests.factories import csrf_token

    data = {
        "csrf_token": csrf_token(client),
        "action": "pick",
        "province": village.province,
        "title": "Giữ lại tiêu đề",
    }
    html = client.post("/petitions", data=data).get_data(as_text=True)
    assert f'value="{village.commune}"' in html  # the province's communes are now offered
    assert "Giữ lại tiêu đề" in html and "field-error" not in html
    assert db.session.scalar(select(Petition.id)) is None


# --- never twice, never lost ---


def test_the_same_form_sent_twice_makes_one_petition(client):
    fields = {"idempotency_key": "3f1c8a0e9b2d4c6e8f0a1b2c3d4e5f60"}
    first = submit_petition(client, headers=JSON, **fields)
    second = submit_petition(client, headers=JSON, **fields)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json["tracking_code"] == second.json["tracking_code"]
    assert db.session.scalar(select(text("count(*)")).select_from(Petition)) == 1


def test_with_redis_down_the_petition_is_saved_and_its_work_done_later(app, client, tmp_path):
    down = create_app(
        {
            **{k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "STORAGE_ROOT")},
            "TESTING": True,
            "REDIS_URL": "redis://127.0.0.1:1/0",
        }
    )
    # The broken app shares this test's transaction through the same engine binding.
    from tests.conftest import bind_to_test_transaction

    with bind_to_test_transaction(down):
        down_client = down.test_client()
        from tests.factories import csrf_token

        token = csrf_token(down_client)
        response = down_client.post(
            "/petitions",
            content_type="multipart/form-data",
            headers=JSON,
            data={**petition_fields(), "csrf_token": token, "photos": [(io.BytesIO(jpeg()), "a.jpg")]},
        )
    assert response.status_code == 201
    petition = only_petition()
    job = db.session.scalars(select(OutboxJob)).one()
    assert job.enqueued_at is None and job.done_at is None  # kept, waiting
    assert petition.photos[0].status == "pending"

    assert outbox.hand_over() == 1  # Redis is back: the sweeper hands it over
    run_jobs(app)
    db.session.expire_all()
    assert petition.photos[0].status == "ready"
    assert db.session.get(OutboxJob, job.id).done_at is not None


def portal_without_database(app, **config):
    """The portal with its database unreachable (nothing listens on port 1), its Redis as the tests'."""
    return create_app(
        {
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "REDIS_URL": app.config["REDIS_URL"],
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:1/none",
            **config,
        }
    )


def test_with_the_database_down_the_citizen_gets_a_clear_page_and_keeps_the_text(app, client):
    from tests.factories import csrf_token

    token = csrf_token(client)
    down = portal_without_database(app)
    response = down.test_client().post(
        "/petitions", data={**petition_fields(body="Nội dung của tôi không mất."), "csrf_token": token}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "Hệ thống đang tạm thời gián đoạn" in html
    assert "Nội dung của tôi không mất." in html
    json_response = down.test_client().post("/petitions", data=petition_fields(), headers=JSON)
    assert json_response.status_code == 503 and json_response.json["error"]["code"] == "unavailable"


def test_forms_the_portal_could_not_take_do_not_spend_the_citizens_submissions(app, client):
    from tests.factories import csrf_token

    token = csrf_token(client)
    down = portal_without_database(app, SUBMIT_LIMIT="1 per minute")
    phone = down.test_client()
    form = {**petition_fields(), "csrf_token": token}
    for _ in range(3):  # the phone's offline queue sends the form again (its same key) while the database is away
        response = phone.post("/petitions", data=form)
        assert response.status_code == 503
    # a new form is counted as any other: the one submission of the minute went to the first send
    assert phone.post("/petitions", data={**petition_fields(), "csrf_token": token}).status_code == 429


# --- photos ---


def test_a_photo_with_gps_places_the_petition_and_loses_its_exif(app, client, village):
    photo = jpeg(size=(800, 600), gps=(village.lat, village.lon))
    response = submit_petition(client, headers=JSON, province=None, photos=[(io.BytesIO(photo), "IMG_0001.jpg")])
    assert response.status_code == 201  # the photo's position is the petition's place
    petition = only_petition()
    assert (petition.location_source, petition.village.code) == ("exif", village.code)
    run_jobs(app)
    db.session.expire_all()
    stored = current_storage().get(petition.photos[0].image_key)
    image = Image.open(io.BytesIO(stored))
    assert image.format == "JPEG" and len(image.getexif()) == 0 and "exif" not in image.info
    assert not current_storage().exists(petition.photos[0].incoming_key)
    served = client.get(f"/petitions/{petition.display_code}/photos/{petition.photos[0].id}")
    assert served.status_code == 200 and served.data == stored


def test_a_text_file_named_jpg_is_refused_beside_the_field_and_the_text_kept(client):
    response = submit_petition(
        client,
        photos=[(io.BytesIO(b"<html>not an image</html>"), "photo.jpg")],
        body="Nội dung vẫn còn sau khi ảnh bị từ chối.",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "photo.jpg: Tệp này không phải là ảnh JPEG, PNG hoặc WebP." in html
    assert "Nội dung vẫn còn sau khi ảnh bị từ chối." in html
    assert db.session.scalar(select(PetitionPhoto.id)) is None


def test_a_pixel_bomb_is_refused(client):
    bomb = io.BytesIO()
    Image.new("1", (20000, 20000)).save(bomb, "PNG")
    response = submit_petition(client, headers=JSON, photos=[(io.BytesIO(bomb.getvalue()), "bomb.png")])
    assert response.status_code == 422
    assert "bomb.png: Ảnh có quá nhiều điểm ảnh (tối đa 40 triệu)." in response.json["errors"]["photos"]


def test_more_than_five_photos_are_refused(client):
    photos = [(io.BytesIO(jpeg()), f"{i}.jpg") for i in range(6)]
    response = submit_petition(client, headers=JSON, photos=photos)
    assert response.json["errors"]["photos"] == ["Tối đa 5 ảnh."]


# --- abuse ---


def test_the_rate_limit_turns_away_a_flood_with_a_clear_message(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "SUBMIT_LIMIT", "2 per minute")
    assert submit_petition(client).status_code == 303
    assert submit_petition(client).status_code == 303
    refused = submit_petition(client)
    assert refused.status_code == 429
    assert "Bạn đã gửi quá nhiều lần" in refused.get_data(as_text=True)
    assert db.session.scalar(select(text("count(*)")).select_from(Petition)) == 2


def test_forms_sent_all_at_once_cannot_pass_the_limit_together(live_server, monkeypatch):
    """Each form is counted when it is checked, before it is stored: twelve at once from one address, two stored."""
    import threading
    import uuid
    from concurrent.futures import ThreadPoolExecutor

    import requests

    from app.redis_conn import redis
    from tests.factories import petition_fields

    monkeypatch.setitem(live_server.config, "SUBMIT_LIMIT", "2 per minute")
    with live_server.app_context():
        for key in redis().scan_iter("LIMIT*"):  # this address's earlier submissions in the minute
            redis().delete(key)
    marker = uuid.uuid4().hex[:12]
    base = live_server.config["LIVE_URL"]
    ready = threading.Barrier(12)

    def one(_):
        session = requests.Session()
        page = session.get(f"{base}/petitions/new", timeout=30).text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        ready.wait(timeout=60)
        fields = {**petition_fields(title=f"Đồng loạt {marker}"), "csrf_token": token}
        return session.post(f"{base}/petitions", data=fields, headers={"Accept": "application/json"}, timeout=60)

    with ThreadPoolExecutor(12) as pool:
        statuses = sorted(r.status_code for r in pool.map(one, range(12)))
    with live_server.app_context():
        mine = select(text("count(*)")).select_from(Petition).where(Petition.title.contains(marker))
        stored = db.session.scalar(mine)
        db.session.remove()
    assert statuses.count(201) == stored <= 2 and statuses.count(429) >= 10, statuses


def test_behind_a_trusted_proxy_the_real_client_address_is_limited(app, client):
    from tests.conftest import bind_to_test_transaction

    proxied = create_app(
        {
            **{k: app.config[k] for k in ("SQLALCHEMY_DATABASE_URI", "STORAGE_ROOT", "REDIS_URL")},
            "TESTING": True,
            "SUBMIT_LIMIT": "1 per minute",
            "TRUST_PROXY_HOPS": 1,
        }
    )
    with bind_to_test_transaction(proxied):
        browser = proxied.test_client()
        first = submit_petition(browser, headers={"X-Forwarded-For": "203.0.113.7"})
        other = submit_petition(browser, headers={"X-Forwarded-For": "203.0.113.8"})
        again = submit_petition(browser, headers={"X-Forwarded-For": "203.0.113.7"})
    assert (first.status_code, other.status_code, again.status_code) == (303, 303, 429)


def test_without_a_trusted_proxy_a_forged_forwarded_address_changes_nothing(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "SUBMIT_LIMIT", "1 per minute")
    first = submit_petition(client, headers={"X-Forwarded-For": "203.0.113.7"})
    forged = submit_petition(client, headers={"X-Forwarded-For": "203.0.113.8"})
    assert (first.status_code, forged.status_code) == (303, 429)


def test_the_form_is_never_cached_and_its_service_worker_covers_the_site(client):
    page = client.get("/petitions/new")
    assert page.headers["Cache-Control"] == "no-store"
    sw_url = re.search(r'data-sw-url="([^"]+)"', page.get_data(as_text=True)).group(1)
    assert re.fullmatch(r"/sw\.js\?v=[0-9a-f]{12}", sw_url)
    worker = client.get(sw_url)
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    assert worker.headers["Service-Worker-Allowed"] == "/"
