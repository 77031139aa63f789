"""Nobody sees outside their area: the scope matrix over the app's own URL map.

Every route that takes a petition id is tried by officers of another commune
and another province; they must get 404. A new route with a petition id is
in the matrix the moment it exists.
"""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.geodata.importer import import_features
from tests.factories import PASSWORD, csrf_token, log_in, mini_geography, officer, petition_in, slice_communes


def routes_taking(app, argument: str) -> list[tuple[str, str]]:
    """(rule, method) of every route with this URL argument."""
    found = []
    for rule in app.url_map.iter_rules():
        if argument in rule.arguments:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.append((rule.rule, method))
    return found


def url_for_rule(rule: str, petition_id: int) -> str:
    rule = re.sub(r"<(?:int:)?petition_id>", str(petition_id), rule)
    return re.sub(r"<int:\w+>", "1", rule)  # a photo, a flag, a notice: the first


@pytest.fixture
def world(app_ctx):
    """Two communes of province 46, and province 99 from the hand-made geography, each with a petition."""
    import_features(mini_geography(), "2025")  # province 99 beside 46 in the current generation
    a, b = slice_communes(2)
    return {
        "a": petition_in(a),
        "b": petition_in(b),
        "other_province": petition_in("99001"),
        "officer_a": officer("commune", a),
        "province_46": officer("province", "46"),
        "province_99": officer("province", "99"),
        "central": officer("central"),
    }


def test_the_matrix_covers_the_officer_routes(app):
    covered = {rule for rule, _ in routes_taking(app, "petition_id")}
    assert {
        "/officer/petitions/<int:petition_id>",
        "/officer/petitions/<int:petition_id>/act",
        "/officer/petitions/<int:petition_id>/contact",
    } <= covered


@pytest.mark.parametrize(
    "who, petition",
    [
        ("officer_a", "b"),
        ("officer_a", "other_province"),
        ("province_46", "other_province"),
        ("province_99", "a"),
    ],
)
def test_officers_get_404_for_petitions_outside_their_area_on_every_route(app, client, world, who, petition):
    log_in(client, world[who])
    token = csrf_token(client, "/officer/")
    target = world[petition]
    for rule, method in routes_taking(app, "petition_id"):
        url = url_for_rule(rule, target.id)
        response = client.open(url, method=method, data={"csrf_token": token, "action": "accept"})
        assert response.status_code == 404, f"{method} {rule} answered {response.status_code} for {who}"
    assert target.status == "received"  # and nothing happened to it


@pytest.mark.parametrize(
    "who, petition",
    [
        ("officer_a", "a"),
        ("province_46", "a"),
        ("province_46", "b"),
        ("province_99", "other_province"),
        ("central", "a"),
        ("central", "other_province"),
    ],
)
def test_officers_see_the_petitions_of_their_own_area(client, world, who, petition):
    log_in(client, world[who])
    response = client.get(f"/officer/petitions/{world[petition].id}")
    assert response.status_code == 200
    assert world[petition].reference in response.get_data(as_text=True)


def test_the_inbox_lists_only_the_officer_s_own_petitions(client, world):
    log_in(client, world["officer_a"])
    html = client.get("/officer/").get_data(as_text=True)
    assert world["a"].reference in html
    assert world["b"].reference not in html and world["other_province"].reference not in html


def test_every_officer_page_needs_a_login(app, client):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/officer"):
            url = url_for_rule(rule.rule, 1)
            method = "GET" if "GET" in rule.methods else "POST"
            response = client.open(url, method=method)
            assert response.status_code in (302, 400), rule.rule  # to the login page (or CSRF refusal on POST)
            if response.status_code == 302:
                assert "/login" in response.headers["Location"]


def test_a_commune_officer_cannot_forward_outside_the_province(client, world):
    log_in(client, world["officer_a"])
    token = csrf_token(client, "/officer/")
    response = client.post(
        f"/officer/petitions/{world['a'].id}/act", data={"csrf_token": token, "action": "forward", "area_code": "99001"}
    )
    assert response.status_code == 422
    assert "Chỉ chuyển được trong tỉnh của mình" in response.get_data(as_text=True)


def test_viewing_the_contact_is_itself_an_audit_row(client, world):
    from sqlalchemy import select

    from app.models import AuditEvent

    log_in(client, world["officer_a"])
    page = client.get(f"/officer/petitions/{world['a'].id}").get_data(as_text=True)
    assert "0912345678" not in page
    token = csrf_token(client, f"/officer/petitions/{world['a'].id}")
    shown = client.post(f"/officer/petitions/{world['a'].id}/contact", data={"csrf_token": token})
    assert "Phạm Thị Dung · 0912345678" in shown.get_data(as_text=True)
    views = db.session.scalars(
        select(AuditEvent).where(AuditEvent.petition_id == world["a"].id, AuditEvent.action == "viewed_contact")
    ).all()
    assert [v.actor_id for v in views] == [world["officer_a"].id]


def test_central_staff_do_not_see_personal_data(client, world):
    log_in(client, world["central"])
    token = csrf_token(client, f"/officer/petitions/{world['a'].id}")
    assert client.post(f"/officer/petitions/{world['a'].id}/contact", data={"csrf_token": token}).status_code == 403


def test_repeated_failures_make_that_client_wait_but_not_the_officer_elsewhere(client, world):
    user, stranger = world["officer_a"], {"REMOTE_ADDR": "198.51.100.7"}
    for password in ["sai"] * 5 + [PASSWORD]:
        token = csrf_token(client, "/login")
        refused = client.post(
            "/login", data={"csrf_token": token, "username": user.username, "password": password}, environ_base=stranger
        )
        assert refused.status_code == 401
    assert "Không đăng nhập được" in refused.get_data(as_text=True)
    log_in(client.application.test_client(), user)  # the officer, from another address


def test_login_is_throttled_per_client(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_LIMIT", "3 per minute")
    codes = []
    for i in range(4):
        token = csrf_token(client, "/login")
        codes.append(
            client.post("/login", data={"csrf_token": token, "username": f"x{i}", "password": "y"}).status_code
        )
    assert codes == [401, 401, 401, 429]


def test_the_session_cookie_is_http_only_and_expires_when_idle(app, client, world):
    token = csrf_token(client, "/login")
    response = client.post(
        "/login", data={"csrf_token": token, "username": world["officer_a"].username, "password": PASSWORD}
    )
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Expires=" in cookie
    assert app.permanent_session_lifetime.total_seconds() == 30 * 60


def test_login_never_redirects_to_another_site(client, world):
    token = csrf_token(client, "/login")
    response = client.post(
        "/login?next=https://evil.example/",
        data={"csrf_token": token, "username": world["officer_a"].username, "password": PASSWORD},
    )
    assert response.headers["Location"] == "/officer/"


def test_a_petition_central_staff_forward_into_another_province_is_seen_and_counted_there(client, world):
    from app.queries.report_stats import count
    from app.services import aggregates, workflow

    petition = world["a"]
    before_99 = count(aggregates.selection(world["province_99"]))
    before_46 = count(aggregates.selection(world["province_46"]))
    workflow.act(petition, "forward", world["central"], area_code="99002")

    log_in(client, world["province_99"])
    assert client.get(f"/officer/petitions/{petition.id}").status_code == 200
    assert petition.reference in client.get("/officer/").get_data(as_text=True)
    assert count(aggregates.selection(world["province_99"])) == before_99 + 1
    assert count(aggregates.selection(world["province_46"])) == before_46 - 1
    client.post("/logout", data={"csrf_token": csrf_token(client, "/officer/")})

    log_in(client, world["province_46"])
    assert client.get(f"/officer/petitions/{petition.id}").status_code == 404
