"""A second factor for the accounts that see a province or the country: enrolment at the first login,
codes taken once, recovery codes, wrong codes backing off, an administrator's reset (audited)."""

from __future__ import annotations

import hashlib
import re
import time

import pyotp
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, RecoveryCode
from app.services.accounts import create_officer
from tests.factories import PASSWORD, csrf_token, log_in, next_code, officer, slice_communes


def password_step(client, username: str):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"csrf_token": token, "username": username, "password": PASSWORD})


def code_step(client, code: str, path: str = "/login/code"):
    return client.post(path, data={"csrf_token": csrf_token(client, path), "code": code})


def enrol_at_first_login(client, username: str) -> tuple[str, list[str]]:
    """The first login of an account that needs a second factor: its key and its recovery codes."""
    assert password_step(client, username).headers["Location"].endswith("/login/enrol")
    page = client.get("/login/enrol")
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert "<svg" in html and "<script" not in html.split('id="enrol-qr"')[1].split("</div>")[0]
    secret = re.search(r'id="enrol-secret">([A-Z2-7]+)<', html).group(1)
    done = code_step(client, pyotp.TOTP(secret).now(), "/login/enrol")
    assert done.status_code == 200
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", done.get_data(as_text=True))
    return secret, codes


@pytest.mark.parametrize("role, area", [("province", "46"), ("central", None), ("admin", None)])
def test_an_account_that_sees_a_province_or_more_enrols_at_its_first_login(client, app_ctx, role, area):
    create_officer(f"moi.{role}", role, area, PASSWORD)
    assert password_step(client, f"moi.{role}").headers["Location"].endswith("/login/enrol")
    assert client.get("/officer/").status_code == 302  # the password alone opens nothing
    secret, codes = enrol_at_first_login(client, f"moi.{role}")
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/officer/").status_code == 200  # enrolled: logged in
    stored = set(db.session.scalars(select(RecoveryCode.code_hash)))
    raw = [code.replace("-", "") for code in codes]
    assert {hashlib.sha256(r.encode()).hexdigest() for r in raw} == stored  # their hashes, and only those
    assert not stored & (set(raw) | set(codes))
    events = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action == "second_factor_enrolled"))
    assert list(events) == ["second_factor_enrolled"]


def test_a_wrong_code_at_enrolment_keeps_it_off(client, app_ctx):
    create_officer("moi.tinh", "province", "46", PASSWORD)
    password_step(client, "moi.tinh")
    client.get("/login/enrol")
    refused = code_step(client, "000000", "/login/enrol")
    assert refused.status_code == 401 and "Mã chưa đúng" in refused.get_data(as_text=True)
    assert client.get("/officer/").status_code == 302


def test_an_enrolled_officer_needs_the_app_s_code_and_each_code_works_once(client, app_ctx):
    user = officer("province", "46")
    assert password_step(client, user.username).headers["Location"].endswith("/login/code")
    assert client.get("/officer/").status_code == 302
    code = next_code(user)
    assert code_step(client, code).status_code == 302
    assert client.get("/officer/").status_code == 200
    client.delete_cookie("session")
    password_step(client, user.username)
    replayed = code_step(client, code)  # the same code again: seen over a shoulder, or replayed
    assert replayed.status_code == 401 and "đã dùng rồi" in replayed.get_data(as_text=True)


def test_a_wrong_code_is_refused_and_many_make_the_client_wait(client, app_ctx):
    user = officer("central")
    password_step(client, user.username)
    answers = [code_step(client, "123456").get_data(as_text=True) for _ in range(6)]
    assert all("Mã xác thực không đúng" in a for a in answers[:5])
    assert "Nhập sai nhiều lần" in answers[5]
    assert code_step(client, next_code(user)).status_code == 401  # even the right code waits its turn


def test_a_recovery_code_stands_in_once_when_the_phone_is_lost(client, app_ctx):
    create_officer("mat.dien.thoai", "province", "46", PASSWORD)
    _, codes = enrol_at_first_login(client, "mat.dien.thoai")
    client.delete_cookie("session")
    password_step(client, "mat.dien.thoai")
    assert code_step(client, codes[3].upper()).status_code == 302  # typed in capitals: still taken
    client.delete_cookie("session")
    password_step(client, "mat.dien.thoai")
    assert code_step(client, codes[3]).status_code == 401  # once only
    used = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "recovery_code_used")).one()
    assert used.data["left"] == 9


def test_the_code_step_expires_and_never_opens_without_the_password(client, app_ctx, monkeypatch):
    user = officer("admin")
    assert client.get("/login/code").headers["Location"].endswith("/login")
    password_step(client, user.username)
    from app.auth import routes

    monkeypatch.setattr(routes.time, "time", lambda: time.monotonic() + 10**10)  # long after the password
    assert client.get("/login/code").headers["Location"].endswith("/login")


def test_a_commune_officer_may_enrol_with_the_password_again_and_is_then_asked_for_a_code(client, app_ctx):
    commune = slice_communes(1)[0]
    create_officer("xa.tu.nguyen", "commune", commune, PASSWORD)
    assert password_step(client, "xa.tu.nguyen").headers["Location"].endswith("/officer/")  # optional
    page = client.get("/officer/").get_data(as_text=True)
    assert "Bật xác thực hai bước" in page
    secret = re.search(r'id="enrol-secret">([A-Z2-7]+)<', client.get("/login/enrol").get_data(as_text=True)).group(1)
    assert "enrol" not in str(client.get_cookie("session").value)  # the key is never in the cookie
    token = csrf_token(client, "/login/enrol")
    code = pyotp.TOTP(secret).now()
    # An open session alone (a stolen cookie) enrols no one's phone: the password again.
    stolen = client.post("/login/enrol", data={"csrf_token": token, "code": code})
    assert stolen.status_code == 401 and "Mật khẩu không đúng" in stolen.get_data(as_text=True)
    done = client.post("/login/enrol", data={"csrf_token": token, "code": code, "password": PASSWORD})
    assert done.status_code == 200 and "recovery-codes" in done.get_data(as_text=True)
    client.delete_cookie("session")
    assert password_step(client, "xa.tu.nguyen").headers["Location"].endswith("/login/code")


def test_a_reset_ends_the_sessions_the_old_factor_opened(client, app_ctx):
    from app.services import second_factor

    user, admin = officer("province", "46"), officer("admin")
    log_in(client, user)
    assert client.get("/officer/").status_code == 200
    second_factor.reset(user, admin)
    db.session.commit()
    assert client.get("/officer/").status_code == 302  # the thief's copy of the session is out too
    assert client.get("/login/enrol").headers["Location"].endswith("/login")


def test_a_session_that_never_passed_a_required_second_factor_is_not_logged_in(client, app_ctx):
    user = officer("central")
    with client.session_transaction() as session:  # as a session from before the second factor existed
        session["_user_id"], session["_fresh"] = str(user.id), True
    assert client.get("/officer/").status_code == 302


def test_wrong_codes_from_many_addresses_back_off_for_the_account(client, app_ctx):
    user = officer("province", "46")
    password_step(client, user.username)
    answers = []
    for i in range(7):  # each from another address, with the same pending login
        token = csrf_token(client, "/login/code")
        response = client.post(
            "/login/code", data={"csrf_token": token, "code": "123456"}, environ_base={"REMOTE_ADDR": f"203.0.113.{i}"}
        )
        answers.append(response.get_data(as_text=True))
    assert "Nhập sai nhiều lần" in answers[6]


@pytest.mark.parametrize("code", ["١٢٣٤٥٦", "１２３４５６"])
def test_digits_of_other_scripts_are_a_wrong_code_not_a_server_error(client, app_ctx, code):
    user = officer("admin")
    password_step(client, user.username)
    assert code_step(client, code).status_code == 401


def test_the_page_after_enrolment_never_links_to_another_site(client, app_ctx):
    create_officer("moi.tinh2", "province", "46", PASSWORD)
    token = csrf_token(client, "/login")
    client.post(
        "/login?next=/%5Cevil.example", data={"csrf_token": token, "username": "moi.tinh2", "password": PASSWORD}
    )
    html = client.get("/login/enrol").get_data(as_text=True)
    secret = re.search(r'id="enrol-secret">([A-Z2-7]+)<', html).group(1)
    page = code_step(client, pyotp.TOTP(secret).now(), "/login/enrol").get_data(as_text=True)
    assert re.search(r'id="continue"', page) and "evil.example" not in page


def test_an_administrator_resets_a_lost_second_factor_and_the_reset_is_audited(runner, app_ctx):
    user, admin = officer("province", "46"), officer("admin", username="quan.tri.vien")
    db.session.commit()
    result = runner.invoke(args=["officers", "reset-second-factor", user.username, "--admin", "quan.tri.vien"])
    assert result.exit_code == 0, result.output
    db.session.refresh(user)
    assert user.totp_secret is None and user.totp_enabled_at is None
    reset = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "second_factor_reset")).one()
    assert (reset.actor_id, reset.data["user"]) == (admin.id, user.username)
    not_admin = runner.invoke(args=["officers", "reset-second-factor", user.username, "--admin", user.username])
    assert not_admin.exit_code == 1 and "no active administrator" in not_admin.output


def test_the_log_in_helper_passes_the_second_step_like_an_officer(client, app_ctx):
    user = officer("province", "46")
    log_in(client, user)
    assert client.get("/officer/").status_code == 200
