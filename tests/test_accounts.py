"""Officers' accounts: roles and areas, passwords, logging in and its back-off, activation, CSV import, the CLI."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher, extract_parameters
from sqlalchemy import select, text

from app.accounts.cli import officers_cli
from app.auth import browsers
from app.extensions import db
from app.models import LoginFailure, User
from app.services import accounts
from app.services.accounts import AccountError, LoginRefused, PasswordRefused
from tests.factories import csrf_token

PASSWORD = "mat-khau-du-dai"
PROVINCE = "46"
STRANGER, OFFICE = "198.51.100.7", "203.0.113.20"  # client addresses


@pytest.fixture(scope="module", autouse=True)
def officers_command(app):
    """The lead registers the group in create_app; until then, register it once here (app is session-wide)."""
    if "officers" not in app.cli.commands:
        app.cli.add_command(officers_cli)


@pytest.fixture
def communes(app_ctx) -> list[str]:
    return list(db.session.scalars(text("SELECT code FROM areas WHERE level = 'commune' ORDER BY code")))


@pytest.fixture
def village(app_ctx) -> str:
    return db.session.scalar(text("SELECT code FROM areas WHERE level = 'village' ORDER BY code LIMIT 1"))


def officer(username="nguyen.van.a", role="commune", area=None, password=PASSWORD, communes=None) -> User:
    if role == "commune" and area is None:
        area = communes[0]
    user, _ = accounts.create_officer(username, role, area, password)
    return user


def refusal(username, password, client=OFFICE) -> LoginRefused:
    with pytest.raises(LoginRefused) as caught:
        accounts.authenticate(username, password, client)
    return caught.value


# Roles and areas -------------------------------------------------------------


def test_each_role_is_created_with_the_area_it_needs(app_ctx, communes):
    commune, code = accounts.create_officer("Xa.Officer", "commune", communes[0], PASSWORD, full_name="Lê Thị B")
    province, _ = accounts.create_officer("tinh_officer", "province", PROVINCE, PASSWORD)
    central, _ = accounts.create_officer("tw-officer", "central", None, PASSWORD)
    admin, _ = accounts.create_officer("admin1", "admin", "", PASSWORD)

    assert code is None
    assert commune.username == "xa.officer" and commune.full_name == "Lê Thị B"
    assert (commune.area.level, commune.area.code) == ("commune", communes[0])
    assert (province.area.level, province.area.code) == ("province", PROVINCE)
    assert central.area_id is None and admin.area_id is None
    assert db.session.get(User, commune.id).role == "commune"


@pytest.mark.parametrize(
    "role, area, expected",
    [
        ("commune", PROVINCE, "Mã «46» là tỉnh/thành phố, nhưng tài khoản cán bộ xã cần mã xã/phường."),
        ("province", "COMMUNE", "là xã/phường, nhưng tài khoản cán bộ tỉnh cần mã tỉnh/thành phố."),
        ("commune", "VILLAGE", "là thôn/tổ dân phố, nhưng tài khoản cán bộ xã cần mã xã/phường."),
        ("commune", None, "Tài khoản cán bộ xã cần mã xã/phường (area_code)."),
        ("province", "", "Tài khoản cán bộ tỉnh cần mã tỉnh/thành phố (area_code)."),
        ("commune", "99999", "Không có đơn vị hành chính mã «99999» trong bộ ranh giới hiện hành."),
        ("central", PROVINCE, "Vai trò central không gắn với đơn vị hành chính nào; để trống mã địa bàn."),
        ("admin", "COMMUNE", "Vai trò admin không gắn với đơn vị hành chính nào"),
        ("chairman", None, "Vai trò «chairman» không hợp lệ; chọn một trong: commune, province, central, admin."),
    ],
)
def test_a_wrong_role_or_area_is_refused_with_a_message(app_ctx, communes, village, role, area, expected):
    area = {"COMMUNE": communes[0], "VILLAGE": village}.get(area, area)
    with pytest.raises(AccountError) as caught:
        accounts.create_officer("can.bo", role, area, PASSWORD)
    assert expected in caught.value.message
    assert db.session.scalar(select(User).where(User.username == "can.bo")) is None


@pytest.mark.parametrize("username", ["ab", "nguyễn.văn.a", "has space", "x" * 65, "semi;colon", ""])
def test_a_bad_username_is_refused(app_ctx, username):
    with pytest.raises(AccountError) as caught:
        accounts.create_officer(username, "central", None, PASSWORD)
    assert "tên đăng nhập" in caught.value.message.lower()


def test_a_taken_username_is_refused_whatever_its_case(app_ctx, communes):
    officer(communes=communes)
    with pytest.raises(AccountError) as caught:
        accounts.create_officer("Nguyen.Van.A", "central", None, PASSWORD)
    assert caught.value.message == "Tên đăng nhập «nguyen.van.a» đã có."


# Passwords ------------------------------------------------------------------


def test_the_password_is_stored_as_argon2id_and_verified(app_ctx, communes):
    user = officer(communes=communes)
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    assert accounts.verify_password(user, PASSWORD)
    assert not accounts.verify_password(user, PASSWORD + "x")


def test_a_short_password_is_refused(app_ctx):
    with pytest.raises(PasswordRefused) as caught:
        accounts.create_officer("can.bo", "central", None, "123456789")
    assert caught.value.message == "Mật khẩu cần ít nhất 10 ký tự."
    assert isinstance(caught.value, ValueError)


def test_a_hash_with_old_parameters_is_replaced_on_a_right_password(app_ctx, communes):
    user = officer(communes=communes)
    user.password_hash = PasswordHasher(time_cost=1, memory_cost=8192).hash(PASSWORD)
    old = user.password_hash
    assert accounts.verify_password(user, PASSWORD)
    assert user.password_hash != old and not PasswordHasher().check_needs_rehash(user.password_hash)


def test_an_account_without_a_password_verifies_nothing(app_ctx, communes):
    user, code = accounts.create_officer("can.bo", "commune", communes[1], None)
    assert user.password_hash is None and code
    assert not accounts.verify_password(user, "")


# Logging in -----------------------------------------------------------------


def failures_of(user, client=OFFICE) -> LoginFailure | None:
    return db.session.get(LoginFailure, (user.id, accounts._client_key(client)))


def wait_passes(user, client=OFFICE) -> None:
    """Move the client's last failure back past its wait, as time would."""
    row = failures_of(user, client)
    row.last_failed_at -= accounts.backoff(row.failures) + timedelta(seconds=1)
    db.session.commit()


def test_the_right_password_logs_in(app_ctx, communes):
    user = officer(communes=communes)
    assert accounts.authenticate("  Nguyen.Van.A ", PASSWORD, OFFICE) is user
    assert user.last_login_at is not None and user.last_login_at > datetime.now(UTC) - timedelta(minutes=1)


def test_every_refusal_gives_the_one_message(app_ctx, communes):
    officer(communes=communes)
    accounts.create_officer("chua.kich.hoat", "commune", communes[1], None)
    officer("da.nghi", communes=communes).active = False
    for _ in range(accounts.BACKOFF_AFTER):
        refusal("nguyen.van.a", "sai-mat-khau-roi", STRANGER)

    refusals = [
        refusal("khong.co.ai", PASSWORD),  # unknown
        refusal("nguyen.van.a", "sai-mat-khau-roi"),  # wrong password
        refusal("nguyen.van.a", PASSWORD, STRANGER),  # that client must wait
        refusal("da.nghi", PASSWORD),  # disabled
        refusal("chua.kich.hoat", ""),  # not activated
    ]
    assert {str(refused.message) for refused in refusals} == {
        "Không đăng nhập được: tên đăng nhập hoặc mật khẩu không đúng, hoặc đã nhập sai nhiều lần (hãy chờ vài "
        "phút rồi thử lại). Tài khoản mới chưa kích hoạt: dùng mã kích hoạt tại /activate."
    }
    assert all(vars(refused) == vars(refusals[0]) for refused in refusals)


def test_one_argon2_verification_on_every_path(app_ctx, communes, monkeypatch):
    user = officer(communes=communes)
    accounts.create_officer("chua.kich.hoat", "commune", communes[1], None)
    officer("da.nghi", communes=communes).active = False
    for _ in range(accounts.BACKOFF_AFTER):
        refusal("nguyen.van.a", "sai-mat-khau-roi", STRANGER)
    verified = []
    real_verify = PasswordHasher.verify
    monkeypatch.setattr(PasswordHasher, "verify", lambda self, *args: verified.append(1) or real_verify(self, *args))

    for attempt in (
        lambda: refusal("khong.co.ai", PASSWORD),
        lambda: refusal("chua.kich.hoat", PASSWORD),
        lambda: refusal("da.nghi", PASSWORD),
        lambda: refusal("nguyen.van.a", "sai-mat-khau-roi"),
        lambda: refusal("nguyen.van.a", PASSWORD, STRANGER),  # waiting: checked all the same
        lambda: accounts.authenticate("nguyen.van.a", PASSWORD, OFFICE),
    ):
        verified.clear()
        attempt()
        assert len(verified) == 1
    # The dummy costs what a real verification costs: the same Argon2 parameters.
    assert extract_parameters(accounts._dummy_hash()) == extract_parameters(user.password_hash)


def test_five_wrong_passwords_make_that_client_wait_even_with_the_right_one(app_ctx, communes):
    user = officer(communes=communes)
    for _ in range(accounts.BACKOFF_AFTER):
        refusal("nguyen.van.a", "sai-mat-khau-roi", STRANGER)
    assert failures_of(user, STRANGER).failures == accounts.BACKOFF_AFTER

    refusal("nguyen.van.a", PASSWORD, STRANGER)  # even the right password waits
    assert accounts.authenticate("nguyen.van.a", PASSWORD, OFFICE) is user  # another client does not
    assert failures_of(user, OFFICE) is None


def test_attempts_in_the_wait_do_not_count(app_ctx, communes):
    user = officer(communes=communes)
    for _ in range(accounts.BACKOFF_AFTER):
        refusal("nguyen.van.a", "sai-mat-khau-roi")
    last = failures_of(user).last_failed_at
    for _ in range(3):
        refusal("nguyen.van.a", "sai-mat-khau-roi")
    assert (failures_of(user).failures, failures_of(user).last_failed_at) == (accounts.BACKOFF_AFTER, last)


def test_the_wait_doubles_with_each_failure_up_to_15_minutes(app_ctx, communes):
    assert [accounts.backoff(n).total_seconds() for n in range(4, 12)] == [0, 30, 60, 120, 240, 480, 900, 900]
    assert accounts.backoff(10_000) == timedelta(minutes=15)

    user = officer(communes=communes)
    for _ in range(accounts.BACKOFF_AFTER):
        refusal("nguyen.van.a", "sai-mat-khau-roi")
    for failures in range(accounts.BACKOFF_AFTER, accounts.BACKOFF_AFTER + 3):
        row = failures_of(user)
        wait = row.last_failed_at + accounts.backoff(failures) - datetime.now(UTC)
        assert accounts.backoff(failures) - timedelta(seconds=5) < wait <= accounts.backoff(failures)
        wait_passes(user)
        refusal("nguyen.van.a", "sai-mat-khau-roi")  # counts: the wait was over
        assert failures_of(user).failures == failures + 1


def test_a_success_after_the_wait_clears_the_client_s_failures(app_ctx, communes):
    user = officer(communes=communes)
    for _ in range(accounts.BACKOFF_AFTER + 1):
        refusal("nguyen.van.a", "sai-mat-khau-roi")
        wait_passes(user)
    assert accounts.authenticate("nguyen.van.a", PASSWORD, OFFICE) is user
    assert failures_of(user) is None
    # The count starts again from nothing: four more mistakes do not make the client wait.
    for _ in range(accounts.BACKOFF_AFTER - 1):
        refusal("nguyen.van.a", "sai-mat-khau-roi")
    assert accounts.authenticate("nguyen.van.a", PASSWORD, OFFICE) is user


def test_failures_a_day_old_are_forgotten(app_ctx, communes):
    user = officer(communes=communes)
    for _ in range(accounts.BACKOFF_AFTER + 1):
        refusal("nguyen.van.a", "sai-mat-khau-roi")
    failures_of(user).last_failed_at = datetime.now(UTC) - timedelta(days=1, minutes=1)
    db.session.commit()
    refusal("nguyen.van.a", "sai-mat-khau-roi")
    assert failures_of(user).failures == 1


def test_failures_are_committed_though_the_login_fails(app_ctx, communes):
    user = officer(communes=communes)
    db.session.commit()
    refusal("nguyen.van.a", "sai-mat-khau-roi")
    db.session.rollback()  # what a failed request does afterwards
    assert failures_of(user).failures == 1


def test_the_address_is_kept_only_as_a_keyed_hash(app, app_ctx, communes):
    user = officer(communes=communes)
    refusal("nguyen.van.a", "sai-mat-khau-roi")
    stored = failures_of(user).client_hash
    assert OFFICE not in stored and len(stored) == 64
    app.secret_key, original = "another-key", app.secret_key
    try:
        assert accounts._client_key(OFFICE) != stored
    finally:
        app.secret_key = original


def test_an_inactive_account_is_refused_even_with_the_right_password(app_ctx, communes):
    user = officer(communes=communes)
    user.active = False
    refusal("nguyen.van.a", PASSWORD)
    user.active = True
    assert accounts.authenticate("nguyen.van.a", PASSWORD, OFFICE) is user


# Logging in through the page ---------------------------------------------------


def post_login(client, username, password, address=OFFICE):
    """Post the login form from a client address, as a browser there would."""
    token = csrf_token(client, "/login")
    return client.post(
        "/login",
        data={"csrf_token": token, "username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def page_without(response, *variables: str) -> str:
    """The page's text with its CSRF token and the given typed values taken out."""
    html = re.sub(r'name="csrf_token" type="hidden" value="[^"]*"', "", response.get_data(as_text=True))
    for value in variables:
        html = html.replace(value, "…")
    return html


def test_every_refusal_is_the_same_page(client, communes):
    officer(communes=communes)
    accounts.create_officer("chua.kich.hoat", "commune", communes[1], None)
    officer("da.nghi", communes=communes).active = False
    for _ in range(accounts.BACKOFF_AFTER):
        assert post_login(client, "nguyen.van.a", "sai-mat-khau-roi", STRANGER).status_code == 401

    attempts = {
        "unknown": post_login(client, "khong.co.ai", PASSWORD),
        "wrong password": post_login(client, "nguyen.van.a", "sai-mat-khau-roi"),
        "made to wait": post_login(client, "nguyen.van.a", PASSWORD, STRANGER),
        "disabled": post_login(client, "da.nghi", PASSWORD),
        "not activated": post_login(client, "chua.kich.hoat", "mot-mat-khau-nao"),
    }
    assert {name: response.status_code for name, response in attempts.items()} == dict.fromkeys(attempts, 401)
    names = ("khong.co.ai", "nguyen.van.a", "da.nghi", "chua.kich.hoat")
    pages = {page_without(response, *names) for response in attempts.values()}
    assert len(pages) == 1
    assert "dùng mã kích hoạt tại /activate" in pages.pop()


def test_the_refusal_is_in_english_too(client):
    client.get("/login?lang=en")
    english = post_login(client, "khong.co.ai", PASSWORD)
    assert english.status_code == 401
    assert "use your activation code at /activate" in english.get_data(as_text=True)


def test_a_stranger_s_failures_do_not_stop_the_officer_at_another_address(client, communes):
    officer(communes=communes)
    for _ in range(accounts.BACKOFF_AFTER + 2):
        assert post_login(client, "nguyen.van.a", "sai-mat-khau-roi", STRANGER).status_code == 401
    assert post_login(client, "nguyen.van.a", PASSWORD, STRANGER).status_code == 401
    assert post_login(app_client(client), "nguyen.van.a", PASSWORD, OFFICE).status_code == 302


def app_client(client):
    """Another browser on the same portal (cookies of its own)."""
    return client.application.test_client()


def test_a_stranger_spending_the_account_s_budget_leaves_its_known_browsers_alone(app, client, communes, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_ACCOUNT_LIMIT", "3 per minute")
    officer(communes=communes)
    office = client
    assert post_login(office, "nguyen.van.a", PASSWORD, OFFICE).status_code == 302  # remembered from now on

    stranger = app_client(client)
    codes = [post_login(stranger, "nguyen.van.a", "sai", f"198.51.100.{i}").status_code for i in range(1, 5)]
    assert codes == [401, 401, 429, 429]  # the officer's own login spent one of the three
    assert post_login(app_client(client), "nguyen.van.a", PASSWORD, "192.0.2.50").status_code == 429  # new browser
    assert post_login(office, "nguyen.van.a", PASSWORD, OFFICE).status_code == 302
    forged = app_client(client)
    forged.set_cookie(browsers.COOKIE, "nguyen.van.a", path="/login")
    assert post_login(forged, "nguyen.van.a", PASSWORD, "192.0.2.51").status_code == 429


# Activation -----------------------------------------------------------------


def test_an_account_without_a_password_logs_in_only_once_activated(app_ctx, communes):
    user, code = accounts.create_officer("can.bo", "commune", communes[2], None)
    assert len(code) == 10 and set(code) <= set(accounts.ACTIVATION_ALPHABET)
    assert user.activation_hash == accounts.activation_hash(code) and code not in user.activation_hash
    refusal("can.bo", "")

    with pytest.raises(AccountError) as caught:
        accounts.activate("can.bo", "2222222222", PASSWORD)
    assert caught.value.message == "Tên đăng nhập hoặc mã kích hoạt không đúng."
    with pytest.raises(AccountError):
        accounts.activate("khong.co.ai", code, PASSWORD)
    with pytest.raises(PasswordRefused):
        accounts.activate("can.bo", code, "ngan")

    assert accounts.activate("can.bo", f" {code[:5].lower()}-{code[5:]} ", PASSWORD) is user
    assert user.activation_hash is None and user.password_hash.startswith("$argon2id$")
    assert accounts.authenticate("can.bo", PASSWORD, OFFICE) is user
    with pytest.raises(AccountError):  # a code works once
        accounts.activate("can.bo", code, "mot-mat-khau-khac")


def test_an_officer_who_tried_to_log_in_before_activating_need_not_wait(app_ctx, communes):
    user, code = accounts.create_officer("can.bo", "commune", communes[2], None)
    for _ in range(accounts.BACKOFF_AFTER + 1):
        refusal("can.bo", PASSWORD)
    accounts.activate("can.bo", code, PASSWORD)
    assert accounts.authenticate("can.bo", PASSWORD, OFFICE) is user


def post_activation(client, username, code, address=OFFICE):
    token = csrf_token(client, "/activate")
    return client.post(
        "/activate",
        data={"csrf_token": token, "username": username, "code": code, "password": PASSWORD, "confirm": PASSWORD},
        environ_base={"REMOTE_ADDR": address},
    )


def test_the_activation_page_does_not_tell_whether_an_account_exists(client, communes):
    accounts.create_officer("can.bo", "commune", communes[2], None)
    officer(communes=communes)
    attempts = [
        post_activation(client, "khong.co.ai", "2222222222"),  # no such account
        post_activation(client, "can.bo", "2222222222"),  # wrong code
        post_activation(client, "nguyen.van.a", "2222222222"),  # already activated
    ]
    assert {response.status_code for response in attempts} == {422}
    pages = {page_without(response, "khong.co.ai", "can.bo", "nguyen.van.a") for response in attempts}
    assert len(pages) == 1 and "Tên đăng nhập hoặc mã kích hoạt không đúng." in pages.pop()


def test_activation_codes_are_random(app_ctx):
    assert len({accounts.new_activation_code() for _ in range(1000)}) == 1000


# CSV import -----------------------------------------------------------------


def officers_csv(communes: list[str]) -> str:
    return "\n".join(
        [
            "username,role,area_code,full_name",  # line 1
            f"tran.van.b,commune,{communes[0]},Trần Văn B",  # 2
            f"le.thi.c,chairman,{communes[1]},Lê Thị C",  # 3 bad role
            f"pham.d,province,{PROVINCE},Phạm D",  # 4
            "hoang.e,commune,99999,Hoàng E",  # 5 unknown area
            f"tran.van.b,commune,{communes[2]},Trần Văn B khác",  # 6 duplicate of line 2
            f"vo.f,commune,{PROVINCE},Võ F",  # 7 a province for a commune officer
            "dang.g,commune",  # 8 no area_code
            "",  # 9 blank: skipped
            'ngo.h,central,,"Ngô, H"',  # 10
            f"ly.i,Commune, {communes[3]} ,",  # 11
        ]
    )


def test_an_import_creates_the_good_rows_and_reports_the_bad_by_line(app_ctx, communes):
    result = accounts.import_officers_csv(io.StringIO(officers_csv(communes)))
    db.session.commit()

    assert [line for line, _ in result.errors] == [3, 5, 6, 7, 8]
    messages = dict(result.errors)
    assert "Vai trò «chairman» không hợp lệ" in messages[3]
    assert "99999" in messages[5]
    assert messages[6] == "Tên đăng nhập «tran.van.b» trùng với dòng 2."
    assert "cần mã xã/phường" in messages[7]
    assert "cần mã xã/phường (area_code)" in messages[8]

    assert result.created == 4
    assert [name for name, _ in result.codes] == ["tran.van.b", "pham.d", "ngo.h", "ly.i"]
    users = {u.username: u for u in db.session.scalars(select(User).where(User.username.in_(dict(result.codes))))}
    assert users["tran.van.b"].area.code == communes[0] and users["tran.van.b"].full_name == "Trần Văn B"
    assert users["pham.d"].area.code == PROVINCE
    assert users["ngo.h"].area_id is None and users["ngo.h"].full_name == "Ngô, H"
    assert users["ly.i"].role == "commune" and users["ly.i"].area.code == communes[3]
    assert all(u.password_hash is None for u in users.values())

    for username, code in result.codes:
        accounts.activate(username, code, PASSWORD)
    assert accounts.authenticate("ly.i", PASSWORD, OFFICE) is users["ly.i"]


def test_an_import_refuses_usernames_already_in_the_database(app_ctx, communes):
    officer(communes=communes)
    source = f"username,role,area_code,full_name\nNguyen.Van.A,commune,{communes[0]},\nmoi.nguoi,admin,,\n"
    result = accounts.import_officers_csv(io.StringIO(source))
    assert result.errors == [(2, "Tên đăng nhập «nguyen.van.a» đã có.")]
    assert result.created == 1 and [name for name, _ in result.codes] == ["moi.nguoi"]


def test_an_import_reads_a_byte_order_mark_and_extra_cells(app_ctx, communes):
    source = f"\ufeffUsername,Role,Area_Code,Full_Name\ncan.bo.a,commune,{communes[0]},Nguyễn A\n"
    source += f"can.bo.b,commune,{communes[0]},Nguyễn, B\n"
    result = accounts.import_officers_csv(io.StringIO(source))
    assert result.created == 1
    assert result.errors[0][0] == 3 and "nhiều cột hơn tiêu đề" in result.errors[0][1]


def test_a_bom_file_read_as_plain_utf8_imports(app_ctx, communes, tmp_path):
    path = tmp_path / "officers.csv"
    path.write_bytes(
        f"username,role,area_code,full_name\r\ncan.bo.a,commune,{communes[0]},Nguyễn A\r\n".encode("utf-8-sig")
    )
    with open(path, encoding="utf-8", newline="") as stream:
        result = accounts.import_officers_csv(stream)
    assert (result.created, result.errors) == (1, [])


def test_a_file_without_its_header_is_refused_whole(app_ctx, communes):
    with pytest.raises(AccountError) as caught:
        accounts.import_officers_csv(io.StringIO(f"can.bo.a,commune,{communes[0]},Nguyễn A\n"))
    assert "tiêu đề" in caught.value.message
    with pytest.raises(AccountError):
        accounts.import_officers_csv(io.StringIO(""))


# The command line -----------------------------------------------------------


def test_cli_create_reads_the_password_from_stdin(runner, communes):
    args = ["officers", "create", "--role", "commune", "--area", communes[0], "--username", "nguyen.van.a"]
    result = runner.invoke(args=[*args, "--full-name", "Nguyễn Văn A"], input=f"{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert f"Created nguyen.van.a (commune, {communes[0]})" in result.output
    assert PASSWORD not in result.output
    assert accounts.authenticate("nguyen.van.a", PASSWORD, OFFICE).full_name == "Nguyễn Văn A"

    again = runner.invoke(args=args, input=f"{PASSWORD}\n")
    assert again.exit_code == 1 and "đã có" in again.output


def test_cli_create_refuses_a_short_password_or_a_wrong_area(runner, communes):
    short = runner.invoke(args=["officers", "create", "--role", "admin", "--username", "quan.tri"], input="ngan\n")
    assert short.exit_code == 1 and "Mật khẩu cần ít nhất 10 ký tự." in short.output
    wrong = runner.invoke(
        args=["officers", "create", "--role", "province", "--area", communes[0], "--username", "tinh.a"],
        input=f"{PASSWORD}\n",
    )
    assert wrong.exit_code == 1 and "cần mã tỉnh/thành phố" in wrong.output
    assert db.session.scalar(select(User).where(User.username.in_(["quan.tri", "tinh.a"]))) is None


def test_cli_create_without_a_password_prints_an_activation_code(runner):
    result = runner.invoke(
        args=["officers", "create", "--role", "province", "--area", PROVINCE, "--username", "tinh.b", "--no-password"]
    )
    assert result.exit_code == 0, result.output
    assert "Created tinh.b (province, 46)" in result.output
    code = result.output.split("Activation code: ")[1].strip()
    assert accounts.activate("tinh.b", code, PASSWORD).username == "tinh.b"


def test_cli_import_reports_bad_lines_and_writes_the_codes(runner, communes, tmp_path):
    source, out = tmp_path / "officers.csv", tmp_path / "codes.csv"
    source.write_text(officers_csv(communes), encoding="utf-8")
    result = runner.invoke(args=["officers", "import", str(source), "--codes", str(out)])
    assert result.exit_code == 0, result.output
    assert "Created 4 accounts; 5 rows refused." in result.output
    for line in (3, 5, 6, 7, 8):
        assert f"line {line}: " in result.output
    assert "line 2:" not in result.output and " s" in result.output.splitlines()[-1]

    with open(out, encoding="utf-8", newline="") as stream:
        codes = list(csv.DictReader(stream))
    assert [row["username"] for row in codes] == ["tran.van.b", "pham.d", "ngo.h", "ly.i"]
    assert (out.stat().st_mode & 0o777) == 0o600
    assert accounts.activate("pham.d", codes[1]["activation_code"], PASSWORD).area.code == PROVINCE


def test_cli_import_without_a_codes_file_says_they_were_not_saved(runner, communes, tmp_path):
    source = tmp_path / "officers.csv"
    source.write_text(f"username,role,area_code,full_name\nxa.a,commune,{communes[0]},\n", encoding="utf-8")
    result = runner.invoke(args=["officers", "import", str(source)])
    assert result.exit_code == 0, result.output
    assert "Created 1 accounts; 0 rows refused." in result.output
    assert "activation codes were not saved" in result.output


def test_cli_import_of_an_unreadable_file_exits_1(runner, tmp_path):
    missing = runner.invoke(args=["officers", "import", str(tmp_path / "none.csv")])
    assert missing.exit_code == 1 and "cannot read" in missing.output
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"username,role,area_code,full_name\nab.c,admin,,Nguy\xe9n\n")
    undecodable = runner.invoke(args=["officers", "import", str(latin)])
    assert undecodable.exit_code == 1 and "UTF-8" in undecodable.output
    assert db.session.scalar(select(User).where(User.username == "ab.c")) is None


def test_cli_new_code_replaces_the_activation_code(runner, communes):
    user, first = accounts.create_officer("can.bo", "commune", communes[0], None)
    result = runner.invoke(args=["officers", "new-code", "Can.Bo"])
    assert result.exit_code == 0, result.output
    second = result.output.rsplit(": ", 1)[1].strip()
    with pytest.raises(AccountError):
        accounts.activate("can.bo", first, PASSWORD)
    assert accounts.activate("can.bo", second, PASSWORD) is user
