"""Small hand-made geographies whose answers can be worked out by hand."""

from __future__ import annotations

from shapely.geometry import Point, box

from app.geodata.features import AreaFeature


def mini_geography() -> list[AreaFeature]:
    """Province 99 on the coast: two communes side by side, split at lon 105.1.

    lat 20.2 ┌──────────────┬──────────────┐
             │ commune 99001│ commune 99002│  sea east of lon 105.2
             │ 3 villages   │ 2 point      │
             │ (points)     │ villages     │
             │              ├──────────────┤
             │              │ surveyed     │
    lat 20.0 └──────────────┴──────────────┘
          lon 105.0      105.1          105.2
    """
    source = "mini"
    return [
        AreaFeature("province", "99", "Thử Nghiệm", "Tỉnh", None, box(105.0, 20.0, 105.2, 20.2), 9000, source),
        AreaFeature("commune", "99001", "Tây Sơn", "Xã", "99", box(105.0, 20.0, 105.1, 20.2), 5000, source),
        AreaFeature("commune", "99002", "Đông Hải", "Phường", "99", box(105.1, 20.0, 105.2, 20.2), 4000, source),
        AreaFeature("village", "99001001", "3", "Thôn", "99001", Point(105.03, 20.05), 1000, source),
        AreaFeature("village", "99001002", "Đông", "Thôn", "99001", Point(105.07, 20.15), 2000, source),
        AreaFeature("village", "99001003", "13", "Thôn", "99001", Point(105.05, 20.10), 2000, source),
        AreaFeature("village", "99002001", "1", "Tổ dân phố", "99002", box(105.1, 20.0, 105.2, 20.1), 1500, source),
        AreaFeature("village", "99002002", "2", "Tổ dân phố", "99002", Point(105.15, 20.15), 1500, source),
        AreaFeature("village", "99002003", "10", "Tổ dân phố", "99002", Point(105.12, 20.18), 1000, source),
    ]


def csrf_token(client, path: str = "/petitions/new") -> str:
    """Open a form page like a browser and read its CSRF token."""
    import re

    html = client.get(path).get_data(as_text=True)
    tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', html).group(0)
    return re.search(r'value="([^"]+)"', tag).group(1)


def petition_fields(**overrides) -> dict:
    """A complete, valid petition form, anonymous, placed in the slice's province only (province=None: nowhere)."""
    import uuid

    fields = {
        "idempotency_key": uuid.uuid4().hex,
        "title": "Đường làng ngập nước",
        "body": "Đoạn đường qua thôn ngập sâu mỗi khi mưa, trẻ em không đi học được.",
        "category": "roads",
        "province": "46",
        "anonymous": "y",
        "consent": "y",
        "action": "submit",
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def submit_petition(client, headers=None, **overrides):
    """Submit the petition form through CSRF, as a browser does."""
    data = petition_fields(csrf_token=csrf_token(client), **overrides)
    return client.post("/petitions", data=data, headers=headers or {}, content_type="multipart/form-data")


def jpeg(size=(64, 48), gps: tuple[float, float] | None = None) -> bytes:
    """A small JPEG, with GPS EXIF (lat, lon) when given."""
    import io

    from PIL import Image

    image = Image.new("RGB", size, (200, 80, 40))
    exif = Image.Exif()
    if gps:
        lat, lon = gps

        def dms(value):
            value = abs(value)
            degrees, minutes = int(value), int((value - int(value)) * 60)
            return (float(degrees), float(minutes), (value - degrees - minutes / 60) * 3600)

        exif[0x8825] = {1: "N" if lat >= 0 else "S", 2: dms(lat), 3: "E" if lon >= 0 else "W", 4: dms(lon)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


PASSWORD = "mat-khau-du-dai-2026"


def officer(role: str, area_code: str | None = None, username: str | None = None):
    """An officer account with PASSWORD, in the current transaction."""
    import uuid

    from app.services.accounts import create_officer

    user, _ = create_officer(username or f"{role}.{uuid.uuid4().hex[:8]}", role, area_code, PASSWORD)
    from app.services import second_factor

    if second_factor.required(user):  # enrolled, as such an account is after its first login
        from datetime import UTC, datetime

        user.totp_secret, user.totp_enabled_at = TOTP_SECRET, datetime.now(UTC)
    return user


TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # the test officers' authenticator app
# The browser tests' live server app, for helpers that look into its database. Here, not in conftest:
# pytest loads conftest under a name of its own, so a test importing tests.conftest gets a second copy.
LIVE: dict = {}


def next_code(user) -> str:
    """The code the officer's app shows for the next step this account has not used yet (waits if it must)."""
    import time

    import pyotp

    from app.extensions import db

    db.session.refresh(user)
    totp = pyotp.TOTP(user.totp_secret)
    now = int(time.time() // totp.interval)
    step = max(now, (user.totp_last_step or 0) + 1)
    if step > now + 1:  # both steps the portal takes are spent: wait for the next
        time.sleep((step - 1) * totp.interval - time.time() + 0.1)
    return totp.generate_otp(step)


def log_in(client, user) -> None:
    """Log in through the form, and the second factor's code when the account has one, as the officer would."""
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"csrf_token": token, "username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    if response.headers["Location"].endswith("/login/code"):
        token = csrf_token(client, "/login/code")
        response = client.post("/login/code", data={"csrf_token": token, "code": next_code(user)})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]


def slice_communes(count: int = 2) -> list[str]:
    """Codes of the first communes of the test slice (province 46)."""
    from sqlalchemy import text

    from app.extensions import db

    return list(
        db.session.execute(
            text("SELECT code FROM areas WHERE level = 'commune' ORDER BY code LIMIT :n"), {"n": count}
        ).scalars()
    )


def petition_in(commune_code: str, **overrides):
    """A petition placed (by the picker) in a commune of the slice, inserted through the real path."""
    from app.services.petitions import Submission, by_code, submit

    fields = {
        "title": "Đèn đường hỏng",
        "body": "Cả đoạn đường tối om từ tháng trước.",
        "category": "roads",
        "chosen_code": commune_code,
        "anonymous": False,
        "name": "Phạm Thị Dung",
        "phone": "0912345678",
    }
    fields.update(overrides)
    result = submit(Submission(**fields))
    return by_code(result.tracking_code)
