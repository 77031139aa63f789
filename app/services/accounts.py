"""Officers' accounts: create, import in bulk, activate, log in with lockout.

Passwords are hashed with Argon2id (argon2-cffi's defaults). An account made
without a password — every account of a bulk import — gets a one-time
activation code instead: 10 symbols from 28 (≈ 48 bits), stored as its
SHA-256, which the officer exchanges for a password. A random code that long
needs no slow hash, which keeps an import of 100,000 officers to seconds.

Logging in answers every refusal alike — unknown account, wrong password,
account disabled or not yet activated, client made to wait — with one
message, one status and one Argon2 verification (of a dummy hash when the
account has none), so neither the page nor its timing tells them apart.

Wrong passwords back off per account *and* client (a keyed hash of its
address, in login_failures): after five failures from one client, that
client's next attempt counts only after 30 s, then 60 s, 120 s … up to
15 minutes; attempts in the wait are refused without counting. Other
clients — the officer at the office — are not held, and a success clears
the client's row. Failures are committed by `authenticate` itself, so a
refused login still counts.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TextIO

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, any_, bindparam, delete, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY

from app.extensions import db
from app.models import Area, Generation, User
from app.models.user import AREA_LEVEL_OF_ROLE, ROLES, LoginFailure
from app.queries.areas import area_by_code

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 10

# Back-off of one client's wrong passwords for one account.
BACKOFF_AFTER = 5  # failures before the client must wait
BACKOFF_FIRST = timedelta(seconds=30)  # the wait after the fifth; it doubles with each further failure
BACKOFF_MAX = timedelta(minutes=15)
FAILURES_FORGOTTEN = timedelta(days=1)  # a client quiet this long starts afresh

# Activation codes avoid symbols misread aloud or on paper (0/O, 1/I/L, B/8, S/5, Z/2).
ACTIVATION_ALPHABET = "23456789ACDEFGHJKMNPQRTUVWXY"
ACTIVATION_LENGTH = 10

USERNAME_PATTERN = re.compile(r"[a-z0-9._-]{3,64}")
FULL_NAME_MAX = 120
IMPORT_BATCH = 5000
CSV_COLUMNS = ("username", "role", "area_code", "full_name")
REQUIRED_COLUMNS = ("username", "role", "area_code")

LEVEL_NAMES = {"province": "tỉnh/thành phố", "commune": "xã/phường", "village": "thôn/tổ dân phố"}
ROLE_LABELS = {"commune": "cán bộ xã", "province": "cán bộ tỉnh", "central": "cán bộ Trung ương", "admin": "quản trị"}

LOGIN_REFUSED = _l(
    "Không đăng nhập được: tên đăng nhập hoặc mật khẩu không đúng, hoặc đã nhập sai nhiều lần (hãy chờ vài phút "
    "rồi thử lại). Tài khoản mới chưa kích hoạt: dùng mã kích hoạt tại /activate."
)
BAD_ACTIVATION_CODE = _l("Tên đăng nhập hoặc mã kích hoạt không đúng.")


class PasswordRefused(ValueError):
    """The password does not meet the policy."""

    def __init__(self, message=None) -> None:
        message = message or _l("Mật khẩu cần ít nhất %(n)d ký tự.", n=MIN_PASSWORD_LENGTH)
        super().__init__(message)
        self.message = str(message)


class AccountError(ValueError):
    """An account cannot be made or changed as asked; .message says why, in Vietnamese."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LoginRefused(Exception):
    """A login was refused; whatever the reason, the message is the same."""

    def __init__(self) -> None:
        super().__init__(str(LOGIN_REFUSED))
        self.message = LOGIN_REFUSED


# Passwords -----------------------------------------------------------------


def check_password_policy(password: str) -> None:
    """Raise PasswordRefused unless the password is acceptable."""
    if password is None or len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordRefused()


def hash_password(password: str) -> str:
    """Argon2id hash of a password (PHC string, "$argon2id$…")."""
    return _hasher.hash(password)


@cache
def _dummy_hash() -> str:
    """A hash to verify against when there is no account, so timing does not tell."""
    return _hasher.hash(secrets.token_hex(16))


def _verify_hash(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def _rehash_if_needed(user: User, password: str) -> None:
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)


def verify_password(user: User, password: str) -> bool:
    """Check a user's password; rehash it (unsaved: the caller commits) when the parameters changed."""
    if not user.password_hash or not _verify_hash(user.password_hash, password):
        return False
    _rehash_if_needed(user, password)
    return True


def set_password(user: User, password: str) -> None:
    """Give a user a new password (policy checked) and clear any activation code. The caller commits."""
    check_password_policy(password)
    user.password_hash = hash_password(password)
    user.activation_hash = None
    _forget_failures(user)


# Activation codes ----------------------------------------------------------


def new_activation_code() -> str:
    """A random one-time code of 10 unambiguous symbols."""
    return "".join(secrets.choice(ACTIVATION_ALPHABET) for _ in range(ACTIVATION_LENGTH))


def _normalise_code(code: str) -> str:
    """What the officer typed, as stored: capitals, without spaces or dashes."""
    return re.sub(r"[\s-]", "", code or "").upper()


def activation_hash(code: str) -> str:
    return hashlib.sha256(_normalise_code(code).encode()).hexdigest()


def activate(username: str, code: str, new_password: str) -> User:
    """Exchange an activation code for a password. Flushes; the caller commits."""
    check_password_policy(new_password)
    user = db.session.scalar(select(User).where(User.username == normalise_username(username)).with_for_update())
    stored = user.activation_hash if user is not None and user.activation_hash else "0" * 64
    matches = hmac.compare_digest(activation_hash(code), stored)
    if user is None or not user.activation_hash or not matches:
        raise AccountError(BAD_ACTIVATION_CODE)
    set_password(user, new_password)
    db.session.flush()
    return user


def reset_activation(username: str) -> str:
    """Give an account a new activation code (its password stops working); return the code. The caller commits."""
    user = db.session.scalar(select(User).where(User.username == normalise_username(username)))
    if user is None:
        raise AccountError(f"Không có tài khoản «{username}».")
    code = new_activation_code()
    user.activation_hash = activation_hash(code)
    user.password_hash = None
    _forget_failures(user)
    db.session.flush()
    return code


# Creating accounts ---------------------------------------------------------


def normalise_username(username: str | None) -> str:
    return (username or "").strip().lower()


def _check_username(username: str | None) -> str:
    name = normalise_username(username)
    if not name:
        raise AccountError("Thiếu tên đăng nhập.")
    if not USERNAME_PATTERN.fullmatch(name):
        raise AccountError(
            f"Tên đăng nhập «{name}» không hợp lệ: chỉ gồm chữ thường không dấu, chữ số, dấu chấm, "
            "gạch ngang, gạch dưới; dài 3–64 ký tự."
        )
    return name


def _check_role(role: str | None) -> str:
    value = (role or "").strip().lower()
    if not value:
        raise AccountError("Thiếu vai trò.")
    if value not in ROLES:
        raise AccountError(f"Vai trò «{value}» không hợp lệ; chọn một trong: {', '.join(ROLES)}.")
    return value


def _check_area(role: str, code: str, found: tuple[int, str] | None) -> int | None:
    """Check an area code against a role; return the area's id (None for roles without an area)."""
    wanted = AREA_LEVEL_OF_ROLE.get(role)
    if wanted is None:
        if code:
            raise AccountError(f"Vai trò {role} không gắn với đơn vị hành chính nào; để trống mã địa bàn.")
        return None
    if not code:
        raise AccountError(f"Tài khoản {ROLE_LABELS[role]} cần mã {LEVEL_NAMES[wanted]} (area_code).")
    if found is None:
        raise AccountError(f"Không có đơn vị hành chính mã «{code}» trong bộ ranh giới hiện hành.")
    area_id, level = found
    if level != wanted:
        raise AccountError(
            f"Mã «{code}» là {LEVEL_NAMES.get(level, level)}, nhưng tài khoản {ROLE_LABELS[role]} "
            f"cần mã {LEVEL_NAMES[wanted]}."
        )
    return area_id


def _check_full_name(full_name: str | None) -> str:
    name = (full_name or "").strip()
    if len(name) > FULL_NAME_MAX:
        raise AccountError(f"Họ tên dài quá {FULL_NAME_MAX} ký tự.")
    return name


def _username_taken(name: str) -> AccountError:
    return AccountError(f"Tên đăng nhập «{name}» đã có.")


def create_officer(
    username: str, role: str, area_code: str | None, password: str | None, full_name: str = ""
) -> tuple[User, str | None]:
    """Make an officer's account; return it and its activation code (None when a password was given).

    Adds and flushes; the caller commits.
    """
    name = _check_username(username)
    role = _check_role(role)
    code = (area_code or "").strip()
    found = _area_named(role, code, {}) if code and not code.isdigit() else None
    area = area_by_code(code) if code and found is None else None
    area_id = _check_area(role, code, found or ((area.id, area.level) if area else None))
    full_name = _check_full_name(full_name)
    if password is not None:
        check_password_policy(password)
    if db.session.scalar(select(func.count()).select_from(User).where(User.username == name)):
        raise _username_taken(name)
    user = User(username=name, role=role, area_id=area_id, full_name=full_name, active=True)
    activation = None
    if password is None:
        activation = new_activation_code()
        user.activation_hash = activation_hash(activation)
    else:
        user.password_hash = hash_password(password)
    db.session.add(user)
    db.session.flush()
    return user, activation


# Logging in ----------------------------------------------------------------


def by_username(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == normalise_username(username)))


def authenticate(username: str, password: str, client_address: str | None) -> User:
    """Return the user whose credentials these are, or raise LoginRefused. Commits (failures count)."""
    user = db.session.scalar(
        # The row lock serialises concurrent guesses, so none escapes the count.
        select(User).where(User.username == normalise_username(username)).with_for_update()
    )
    # One Argon2 verification on every path, so the time taken tells nothing.
    usable = user is not None and bool(user.password_hash)
    right = _verify_hash(user.password_hash if usable else _dummy_hash(), password or "")
    if user is None:
        db.session.commit()
        raise LoginRefused()
    now = datetime.now(UTC)
    client = _client_key(client_address)
    failure = db.session.get(LoginFailure, (user.id, client))
    if failure is not None and now - failure.last_failed_at > FAILURES_FORGOTTEN:
        failure.failures = 0
    if failure is not None and now < failure.last_failed_at + backoff(failure.failures):
        db.session.commit()
        raise LoginRefused()  # the client must wait: this attempt does not count
    if not (usable and right and user.active):
        if failure is None:
            failure = LoginFailure(user_id=user.id, client_hash=client, failures=0)
            db.session.add(failure)
        failure.failures += 1
        failure.last_failed_at = now
        db.session.commit()
        raise LoginRefused()
    _rehash_if_needed(user, password)
    if failure is not None:
        db.session.delete(failure)
    user.last_login_at = now
    db.session.commit()
    return user


# Wrong second-factor codes back off per client *and* for the account from all clients together: only
# someone who has the password reaches this step, and from many addresses he must not get many guesses.
_EVERY_CLIENT = "2fa:*"


def _code_keys(client_address: str | None) -> tuple[str, str]:
    return _client_key(f"2fa:{client_address}"), _client_key(_EVERY_CLIENT)


def code_attempt_allowed(user: User, client_address: str | None) -> bool:
    """Whether a second-factor code for this account may be tried now (wrong codes back off)."""
    now = datetime.now(UTC)
    for key in _code_keys(client_address):
        failure = db.session.get(LoginFailure, (user.id, key))
        if failure is not None and now - failure.last_failed_at <= FAILURES_FORGOTTEN:
            if now < failure.last_failed_at + backoff(failure.failures):
                return False
    return True


def code_failed(user: User, client_address: str | None, failed: bool) -> None:
    """Count a wrong second-factor code (a right one clears the counts)."""
    for key in _code_keys(client_address):
        failure = db.session.get(LoginFailure, (user.id, key))
        if not failed:
            if failure is not None:
                db.session.delete(failure)
            continue
        if failure is None:
            failure = LoginFailure(user_id=user.id, client_hash=key, failures=0)
            db.session.add(failure)
        failure.failures += 1
        failure.last_failed_at = datetime.now(UTC)


def backoff(failures: int) -> timedelta:
    """How long a client must wait after this many failures before its next attempt counts."""
    if failures < BACKOFF_AFTER:
        return timedelta(0)
    doublings = min(failures - BACKOFF_AFTER, 16)  # far past the cap already
    return min(BACKOFF_FIRST * 2**doublings, BACKOFF_MAX)


def _client_key(address: str | None) -> str:
    """A keyed hash of the client's address: login_failures never holds the address itself."""
    secret = current_app.secret_key
    key = secret if isinstance(secret, bytes) else secret.encode()
    return hmac.new(key, (address or "").encode(), hashlib.sha256).hexdigest()


def _forget_failures(user: User) -> None:
    """A new password or activation code: no client waits on the account's old failures."""
    if user.id is not None:
        db.session.execute(delete(LoginFailure).where(LoginFailure.user_id == user.id))


# Bulk import ---------------------------------------------------------------


@dataclass
class ImportResult:
    created: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, message)
    codes: list[tuple[str, str]] = field(default_factory=list)  # (username, activation code)


def _text_array(name: str, values: Iterable[str]):
    """One array parameter (= ANY) rather than a parameter per value: no limit on the count."""
    return bindparam(name, list(values), type_=ARRAY(String))


def _current_areas(codes: Iterable[str]) -> dict[str, tuple[int, str]]:
    """code → (id, level) of the current generation's areas with these codes, in one query."""
    rows = db.session.execute(
        select(Area.code, Area.id, Area.level)
        .join(Generation, Area.generation_id == Generation.id)
        .where(Generation.is_current, Area.code == any_(_text_array("codes", codes)))
    )
    return {code: (area_id, level) for code, area_id, level in rows}


def _area_named(role: str, name: str, known: dict) -> tuple[int, str] | None:
    """The area of the role's level that a name names ("Phong Hòa"), as (id, level); AccountError when it
    names none, or several (listed with their parents and codes, to write the code instead)."""
    from app.services import areas as area_service

    wanted = AREA_LEVEL_OF_ROLE.get(role)
    if wanted is None or name in known:
        return known.get(name)
    try:
        area = area_service.pick(name, (wanted,))
    except area_service.NotOneArea as found:
        if not found.choices:
            raise AccountError(f"Không có {LEVEL_NAMES[wanted]} nào tên «{name[:60]}».") from None
        listed = "; ".join(f"{c.label} ({c.code})" for c in found.choices[:5])
        raise AccountError(f"Có nhiều {LEVEL_NAMES[wanted]} tên «{name[:60]}»: {listed}. Hãy ghi mã.") from None
    known[name] = (area.id, area.level)
    return known[name]


def import_officers(rows: Iterable[tuple[int, dict]]) -> ImportResult:
    """Create accounts without passwords from (line number, row) pairs; each gets an activation code.

    A row's keys are username, role, area_code and full_name. Bad rows are
    reported with their line numbers and skipped; the others are inserted in
    batches. The caller commits once.
    """
    result = ImportResult()
    rows = list(rows)
    areas = _current_areas({(row.get("area_code") or "").strip() for _, row in rows} - {""})
    seen: dict[str, int] = {}  # username → first line
    named: dict[str, tuple[int, str]] = {}  # an area's name → (id, level), looked up once an import
    good: list[tuple[int, dict]] = []
    for line, row in rows:
        problems = []
        if row.get(None):  # csv puts cells beyond the header under None
            problems.append("Dòng có nhiều cột hơn tiêu đề (họ tên có dấu phẩy cần đặt trong ngoặc kép).")
        name = None
        try:
            name = _check_username(row.get("username"))
        except AccountError as exc:
            problems.append(exc.message)
        if name is not None:
            if name in seen:
                problems.append(f"Tên đăng nhập «{name}» trùng với dòng {seen[name]}.")
            else:
                seen[name] = line
        try:
            role = _check_role(row.get("role"))
            code = (row.get("area_code") or "").strip()  # a code, or a name ("Phong Hòa"; its code when shared)
            found = areas.get(code) if code.isdigit() or not code else _area_named(role, code, named)
            area_id = _check_area(role, code, found)
        except AccountError as exc:
            problems.append(exc.message)
        try:
            full_name = _check_full_name(row.get("full_name"))
        except AccountError as exc:
            problems.append(exc.message)
        if problems:
            result.errors.append((line, " ".join(problems)))
            continue
        good.append((line, {"username": name, "role": role, "area_id": area_id, "full_name": full_name}))

    for start in range(0, len(good), IMPORT_BATCH):
        _insert_batch(good[start : start + IMPORT_BATCH], result)
    result.errors.sort()
    return result


def _insert_batch(batch: list[tuple[int, dict]], result: ImportResult) -> None:
    names = [values["username"] for _, values in batch]
    taken = set(db.session.scalars(select(User.username).where(User.username == any_(_text_array("names", names)))))
    records, codes = [], []
    for line, values in batch:
        if values["username"] in taken:
            result.errors.append((line, _username_taken(values["username"]).message))
            continue
        code = new_activation_code()
        records.append({**values, "activation_hash": activation_hash(code), "active": True})
        codes.append((values["username"], code))
    if records:
        db.session.execute(insert(User.__table__), records)
    result.created += len(records)
    result.codes.extend(codes)


def read_officers_csv(stream: TextIO) -> list[tuple[int, dict]]:
    """Read an officers' CSV (header required) into (line number, row) pairs; the header is line 1.

    Raises AccountError when the file cannot be read: no header, a required
    column missing, not UTF-8.
    """
    reader = csv.reader(stream)
    try:
        header = next(reader, None)
        if header is None:
            raise AccountError("Tệp trống: cần dòng tiêu đề " + ",".join(CSV_COLUMNS) + ".")
        columns = [cell.strip().lstrip("\ufeff").strip().lower() for cell in header]
        missing = [name for name in REQUIRED_COLUMNS if name not in columns]
        if missing:
            raise AccountError(
                f"Dòng tiêu đề thiếu cột {', '.join(missing)}; cần: {','.join(CSV_COLUMNS)} "
                "(dòng đầu tiên của tệp là tiêu đề)."
            )
        rows = []
        previous_end = reader.line_num
        for cells in reader:
            line, previous_end = previous_end + 1, reader.line_num
            if not cells or not any(cell.strip() for cell in cells):
                continue  # blank line
            row = dict(zip(columns, cells))
            if len(cells) > len(columns):
                row[None] = cells[len(columns) :]
            rows.append((line, row))
        return rows
    except UnicodeDecodeError as exc:
        raise AccountError(f"Tệp không phải UTF-8 (dòng {reader.line_num + 1}).") from exc
    except csv.Error as exc:
        raise AccountError(f"Tệp CSV hỏng ở dòng {reader.line_num}: {exc}") from exc


def import_officers_csv(stream: TextIO) -> ImportResult:
    """Import officers from CSV text: columns username,role,area_code,full_name, header required.

    Open the file with encoding="utf-8-sig" and newline=""; a byte order mark
    left in the text is ignored too. The caller commits once.
    """
    return import_officers(read_officers_csv(stream))


DEMO_PROVINCE = "01"


def demo_accounts() -> list[tuple[User, str]]:
    """One account per role in the first commune of province 01, each with a fresh password.

    For the embedded development default only (`make run` without DATABASE_URL):
    re-running gives the same usernames and new passwords.
    """
    from sqlalchemy import text

    commune = db.session.execute(
        text(
            """SELECT c.code FROM areas c JOIN areas p ON p.id = c.parent_id
               JOIN generations g ON g.id = c.generation_id AND g.is_current
               WHERE p.code = :province AND c.level = 'commune' ORDER BY c.code LIMIT 1"""
        ),
        {"province": DEMO_PROVINCE},
    ).scalar()
    if commune is None:
        raise AccountError(f"Chưa có địa bàn tỉnh {DEMO_PROVINCE} để tạo tài khoản mẫu.")
    wanted = [
        ("demo.xa", "commune", commune),
        ("demo.tinh", "province", DEMO_PROVINCE),
        ("demo.trunguong", "central", None),
        ("demo.quantri", "admin", None),
    ]
    made = []
    for username, role, area in wanted:
        password = new_activation_code().lower() + "-" + new_activation_code().lower()
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            user, _ = create_officer(username, role, area, password, full_name=f"Tài khoản mẫu ({role})")
        else:
            set_password(user, password)
        made.append((user, password))
    return made
