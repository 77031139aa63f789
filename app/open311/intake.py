"""A partner's POST requests.{json,xml} → the Submission every petition becomes.

The rules are the web form's (the limits and the place rule of
app/services/petitions.py): the description is the petition's body (10–5,000
characters), its first line the title (5–150 characters, cut at a word); a
Vietnamese mobile number in the web form's format; a location, as the spec
requires one — a point in Vietnam (parse_point) that lies in a commune,
and/or an area of the hierarchy (address_id). A free-text address_string
travels with the text but places nothing (the portal has no geocoder).
The spec's field names: service_code, lat, long, address_string,
address_id, description, first_name, last_name, phone, email, media_url.
"""

from __future__ import annotations

import re

from werkzeug.datastructures import MultiDict

from app.models import Partner
from app.open311 import Open311Error
from app.petitions.forms import normalize_email, normalize_phone
from app.queries.areas import area_by_code
from app.services import categories, category_questions
from app.services.geotag import InvalidPoint, parse_point
from app.services.petitions import BODY_MAX, BODY_MIN, NAME_MAX, TITLE_MAX, TITLE_MIN, Submission, names_a_place

NEEDS_LOCATION = "Cần vị trí: vĩ độ và kinh độ (lat, long) hoặc mã địa bàn (address_id: mã tỉnh, xã hoặc thôn)."
TEXT_ADDRESS = (
    " Một address_string bằng chữ không định vị được (cổng không tra cứu địa chỉ): gửi kèm lat, long hoặc address_id."
)
OUTSIDE = (
    "Vị trí (lat, long) không thuộc xã, phường nào của Việt Nam; "
    "gửi kèm mã địa bàn (address_id: mã tỉnh, xã hoặc thôn)."
)
# The partner's own idempotency key, stored as "p<partner id>:<key>" (64 characters at most).
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9._:-]{1,50}")
AREA_CODE = re.compile(r"\d{2,12}")


def title_of(description: str) -> str:
    """The first line of the description, cut to TITLE_MAX characters at a word boundary."""
    first = " ".join(description.strip().splitlines()[0].split()) if description.strip() else ""
    if len(first) <= TITLE_MAX:
        return first
    cut = first[: TITLE_MAX + 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut else cut[:TITLE_MAX]).rstrip(" ,;:-–")


def read(form: MultiDict, partner: Partner, idempotency_header: str | None) -> Submission:
    """Check a partner's POST and turn it into a Submission; Open311Error (400/404) if it is refused."""
    problems: list[str] = []

    def field(name: str) -> str:
        return (form.get(name) or "").replace("\x00", "").strip()  # PostgreSQL text holds no NUL

    service_code = field("service_code")
    if not service_code:
        problems.append("Thiếu mã lĩnh vực (service_code).")
    elif service_code not in {code for code, _, _ in categories.active()}:
        raise Open311Error(404, f"Không có lĩnh vực mã «{service_code[:40]}» (service_code); xem services.json.")

    lon = lat = None
    bad_point = False
    if field("lat") or field("long"):
        try:
            lon, lat = parse_point(field("lat"), field("long"))
        except InvalidPoint as exc:
            problems.append(exc.message.replace("(lon)", "(long)").replace("&lon=", "&long="))
            bad_point = True
    chosen_code = None
    address_id = field("address_id")
    address_string = field("address_string")
    if not address_id and AREA_CODE.fullmatch(address_string):
        address_id = address_string  # an area code given as the address
    unknown_area = False
    if address_id:
        area = area_by_code(address_id) if AREA_CODE.fullmatch(address_id) else None
        if area is None:
            problems.append(f"Không có địa bàn mã «{address_id[:40]}» (address_id: mã tỉnh, xã hoặc thôn).")
            unknown_area = True
        else:
            chosen_code = area.code
    # The place rule's shape (a point in no commune is refused by submit: OUTSIDE, in routes.py).
    if not (bad_point or unknown_area or names_a_place((lon, lat) if lon is not None else None, chosen_code)):
        problems.append(NEEDS_LOCATION + (TEXT_ADDRESS if address_string else ""))

    description = field("description")
    title = ""
    if not description:
        problems.append("Thiếu nội dung kiến nghị (description).")
    elif not BODY_MIN <= len(description) <= BODY_MAX:
        problems.append(f"Nội dung (description) dài từ {BODY_MIN} đến 5.000 ký tự.")
    else:
        title = title_of(description)
        if len(title) < TITLE_MIN:
            problems.append(f"Dòng đầu của nội dung (description) là tiêu đề, cần ít nhất {TITLE_MIN} ký tự.")
    if address_string and address_string != address_id:
        # No geocoder: a free-text address travels with the text for the officer to read.
        description = f"{description}\n\nĐịa chỉ: {address_string[:300]}"

    raw_phone = field("phone")
    phone = normalize_phone(raw_phone) if raw_phone else None
    if raw_phone and phone is None:
        problems.append("Số điện thoại di động (phone) không đúng, ví dụ 0912 345 678.")
    name = " ".join(f"{field('first_name')} {field('last_name')}".split())
    if len(name) > NAME_MAX:
        problems.append("Họ tên (first_name, last_name) quá dài.")
    raw_email = field("email")
    email = normalize_email(raw_email) if raw_email else None
    if raw_email and email is None:
        problems.append("Địa chỉ thư điện tử (email) không đúng, ví dụ ten@example.vn.")
    # email: for the citizen's receipt and answers only; without a phone the citizen stays anonymous.
    # media_url: ignored for now — the portal does not fetch URLs given by others (its photos are
    # checked and re-encoded uploads); a partner's photo upload is a later extension.

    # publish: the citizen's own choice, relayed by the partner; without it the petition stays private.
    publish = field("publish").lower()
    if publish not in ("", "true", "false"):
        problems.append("publish là true (công dân đồng ý công khai) hoặc false (mặc định).")

    key = (idempotency_header or field("idempotency_key")).strip()
    if key and not IDEMPOTENCY_KEY.fullmatch(key):
        problems.append("Khóa chống gửi trùng (Idempotency-Key) gồm 1–50 ký tự chữ, số, «.», «_», «:», «-».")

    answers, wrong = category_questions.check(service_code, category_questions.from_mapping(form, "attribute[", "]"))
    problems += [f"attribute[{code}]: {message}" for code, message in wrong.items()]
    if problems:
        raise Open311Error(400, *problems)
    return Submission(
        title=title,
        body=description,
        category=service_code,
        lon=lon,
        lat=lat,
        location_source="open311" if lon is not None else None,
        chosen_code=chosen_code,
        anonymous=phone is None,
        name=name if phone else None,
        phone=phone,
        email=email,
        answers=answers,
        idempotency_key=f"p{partner.id}:{key}" if key else None,
        channel="open311",
        actor_label=f"partner:{partner.name}",
        partner_id=partner.id,
        publishable=publish == "true",
    )
