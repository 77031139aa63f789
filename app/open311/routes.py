"""Open311 GeoReport v2 endpoints: /open311/v2/<resource>.{json,xml}.

Reads are public and limited per client address; a POST needs a partner's
key in the X-Api-Key header and is limited per partner (app/limits.py). Every error, including
an unknown path or format under /open311/, is the spec's list of
{code, description} (or <errors><error>…) — never an HTML page.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from flask import current_app, request, url_for
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from app import params
from app.errors import MESSAGES
from app.extensions import csrf, db
from app.models import Petition
from app.open311 import Open311Error, bp, intake, request_partner
from app.open311.formats import errors, format_of, render
from app.services import category_questions, open311, publication
from app.services import petitions as petition_service

FMT = "<any(json, xml):fmt>"
CHANGESET = "2026-11-22T00:00:00+07:00"  # when this API last changed
VIETNAM = timezone(timedelta(hours=7), "ICT")  # no daylight saving time


# ---------------------------------------------------------------- errors


@bp.errorhandler(Open311Error)
def open311_error(exc: Open311Error):
    return errors(_fmt(), exc.status, *exc.descriptions)


def _http_error(exc: HTTPException):
    status = exc.code or 500
    _, message = MESSAGES.get(status, (None, exc.description or MESSAGES[500][1]))
    response = errors(_fmt(), status, str(message))
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


# The app answers 400, 404, 405, 413, 429 and 500 itself (app/errors.py) in its
# own JSON; a blueprint's handler for a status wins over the app's, so name them.
for _status in (400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 429, 500, 503):
    bp.register_error_handler(_status, _http_error)
bp.register_error_handler(HTTPException, _http_error)


@bp.errorhandler(OperationalError)
def database_down(exc):
    current_app.logger.warning("database unavailable: %s", exc.orig)
    db.session.rollback()
    return errors(_fmt(), 503, str(MESSAGES[503][1]))


@bp.before_app_request
def unknown_open311_paths():
    """An unknown path or format under /open311/ is the spec's 404 (405 for a wrong method), not the app's."""
    exc = request.routing_exception
    if isinstance(exc, NotFound | MethodNotAllowed) and _under_open311(request.path):
        return _http_error(exc)
    return None


def _under_open311(path: str) -> bool:
    return path == bp.url_prefix or path.startswith(bp.url_prefix + "/")


@bp.before_request
def key_only_in_a_header():
    """A key in the query string or the body is refused, so no key ends up in a log or a shared link."""
    if "api_key" in request.args or "api_key" in request.form:
        raise Open311Error(400, "Khóa API gửi trong tiêu đề HTTP X-Api-Key, không gửi trong địa chỉ hay nội dung.")


def _fmt() -> str:
    fmt = (request.view_args or {}).get("fmt")
    return fmt if fmt in ("json", "xml") else format_of(request.path)


# ---------------------------------------------------------------- discovery and services


@bp.get(f"/v2/discovery.{FMT}")
def discovery(fmt: str):
    """Where the API is, what it speaks, who to ask for a key."""
    return render(
        fmt,
        {
            "changeset": CHANGESET,
            "contact": "Ủy ban Trung ương Mặt trận Tổ quốc Việt Nam — Cổng Mặt trận số.",
            "key_service": (
                "Khóa API do quản trị viên cấp cho từng hệ thống đối tác, gửi trong tiêu đề HTTP X-Api-Key (không "
                "bao giờ trong địa chỉ); cần khi gửi kiến nghị (POST requests), mỗi khóa có giới hạn tần suất riêng "
                "và có thể mang phạm vi đọc (một địa bàn, kiến nghị chưa công khai). Idempotency-Key (tiêu đề HTTP) "
                "hoặc idempotency_key: gửi lại cùng khóa và cùng nội dung trả về cùng service_request_id."
            ),
            "description": (
                f"GET requests: mặc định {open311.DEFAULT_DAYS} ngày gần nhất, tối đa {open311.MAX_REQUESTS} kiến "
                f"nghị mới nhất; start_date và end_date cách nhau không quá {open311.DEFAULT_DAYS} ngày. "
                "Không có khóa: chỉ kiến nghị đã công khai (cán bộ đã thụ lý, công dân đồng ý), vị trí làm tròn "
                "đến thôn. service_request_id là mã công khai (16 chữ số hệ 16), không phải mã theo dõi của "
                "công dân; token cũng là mã công khai."
            ),
            "endpoints": [
                {
                    "specification": "http://wiki.open311.org/GeoReport_v2",
                    "url": request.url_root.rstrip("/") + bp.url_prefix + "/v2",
                    "changeset": CHANGESET,
                    "type": "production",
                    "formats": ["text/xml", "application/json"],
                }
            ],
        },
        "discovery",
    )


@bp.get(f"/v2/services.{FMT}")
def services(fmt: str):
    """The petition categories as services."""
    return render(fmt, open311.services(), "services", "service")


@bp.get(f"/v2/services/<service_code>.{FMT}")
def service_definition(service_code: str, fmt: str):
    """A service's extra attributes: its category's questions, which a POST requests must satisfy."""
    if service_code not in open311.service_names():
        raise Open311Error(404, f"Không có lĩnh vực mã «{service_code[:40]}» (service_code); xem services.json.")
    attributes = category_questions.as_open311_attributes(service_code)
    return render(fmt, {"service_code": service_code, "attributes": attributes}, "service_definition")


# ---------------------------------------------------------------- service requests


@bp.post(f"/v2/requests.{FMT}")
@csrf.exempt  # authenticated by the partner's X-Api-Key, not a browser session; rate limited per partner
def create_request(fmt: str):
    """A partner files a petition: 201 with its public id (200 for a repeat of the same Idempotency-Key)."""
    partner = request_partner()
    if partner is None:
        raise Open311Error(403, "Thiếu khóa API (tiêu đề X-Api-Key), khóa không đúng hoặc đã bị thu hồi.")
    submission = intake.read(request.form, partner, request.headers.get("Idempotency-Key"))
    try:
        result = petition_service.submit(submission)
    except petition_service.KeyReused:
        raise Open311Error(409, "Idempotency-Key này đã dùng cho một kiến nghị có nội dung khác.") from None
    except petition_service.NoPlace:  # lat, long in no commune, and no address_id
        raise Open311Error(400, intake.OUTSIDE) from None
    code = result.display_code
    # The tracking code goes to the partner that filed the petition, for the citizen alone.
    notice = (
        f"Đã tiếp nhận kiến nghị, mã theo dõi của công dân {code} (bí mật, chỉ báo cho công dân). "
        f"Công dân tra cứu kết quả tại {url_for('petitions.status', code=code, _external=True)}"
    )
    body = [{"service_request_id": result.public_id, "service_notice": notice, "account_id": None}]
    return render(fmt, body, "service_requests", "request", 201 if result.created else 200)


@bp.get(f"/v2/requests.{FMT}")
def request_list(fmt: str):
    """Petitions this reader may see by public ids, service codes, dates and status; 90 days and 1,000 at most."""
    partner = request_partner()
    petitions = open311.find(_request_query(request.args), partner)
    return render(fmt, _as_requests(petitions), "service_requests", "request")


@bp.get(f"/v2/requests/<service_request_id>.{FMT}")
def request_detail(service_request_id: str, fmt: str):
    """One petition, as a list of one."""
    partner = request_partner()
    petition = _petition_or_404(service_request_id, partner)
    return render(fmt, _as_requests([petition]), "service_requests", "request")


@bp.get(f"/v2/tokens/<token>.{FMT}")
def token(token: str, fmt: str):
    """A token is the public id itself (the POST already answers with the id)."""
    petition = _petition_or_404(token, request_partner())
    body = [{"service_request_id": petition.public_id, "token": petition.public_id}]
    return render(fmt, body, "service_requests", "request")


def _petition_or_404(public_id: str, partner) -> Petition:
    """The petition with this public id if this reader may see it; the same 404 whether it exists or not."""
    found = open311.find(open311.RequestQuery(public_ids=[public_id.strip().lower()], limit=1), partner)
    if not found:
        raise Open311Error(404, f"Không có kiến nghị công khai mã «{public_id[:40]}».")
    return found[0]


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _arg(args, name: str) -> str:
    """One argument by the portal's rules (app/params.py), refused in the spec's error form."""
    try:
        return params.single(args, name)
    except params.BadParam as exc:
        raise Open311Error(400, exc.message) from None


def _request_query(args) -> open311.RequestQuery:
    codes = _split(_arg(args, "service_request_id"))
    if codes:
        if len(codes) > open311.MAX_REQUESTS:
            raise Open311Error(400, f"Tối đa {open311.MAX_REQUESTS} mã (service_request_id) mỗi lần.")
        return open311.RequestQuery(public_ids=[code.lower() for code in codes])

    problems = []
    statuses: list[str] = []
    for name in _split(_arg(args, "status")):
        if name.lower() in open311.STATUSES:
            statuses.extend(open311.STATUSES[name.lower()])
        else:
            problems.append(f"Trạng thái (status) «{name[:20]}» không hợp lệ: open hoặc closed.")
    start = _w3c_arg(args, "start_date", problems)
    end = _w3c_arg(args, "end_date", problems, end_of_day=True)
    if problems:
        raise Open311Error(400, *problems)
    span = timedelta(days=open311.DEFAULT_DAYS)
    try:
        if start is None and end is None:
            end = datetime.now(UTC)
            start = end - span
        elif start is None:
            start = end - span
        elif end is None:
            end = start + span
    except OverflowError:
        raise Open311Error(400, "Ngày (start_date, end_date) ngoài phạm vi.") from None
    if start > end:
        raise Open311Error(400, "start_date phải trước end_date.")
    if end - start > span:
        raise Open311Error(400, f"start_date và end_date cách nhau không quá {open311.DEFAULT_DAYS} ngày.")
    wanted = _split(_arg(args, "service_code"))
    known = [code for code in wanted if code in open311.service_names()]  # an unknown code matches nothing
    if wanted and not known:
        return open311.RequestQuery(public_ids=[])
    return open311.RequestQuery(service_codes=known or None, start=start, end=end, statuses=tuple(statuses))


# "2026-11-22T10:00:00+07:00" sent unencoded: its "+" arrives as a space.
_PLUS_AS_SPACE = re.compile(r"(T\d\d:\d\d(?::\d\d(?:\.\d+)?)?) (\d\d:?\d\d)$")


def _w3c_arg(args, name: str, problems: list[str], end_of_day: bool = False) -> datetime | None:
    """A w3c/ISO 8601 date or datetime argument; a time without zone is Vietnam's, a bare date its whole day."""
    raw = _arg(args, name)
    if not raw:
        return None
    value = _PLUS_AS_SPACE.sub(r"\1+\2", raw)
    try:
        parsed = datetime.fromisoformat(value) if value.isascii() else None
        if parsed is None or not params.MIN_DATE <= parsed.date() <= params.MAX_DATE:
            raise ValueError(value)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=VIETNAM)
        if end_of_day and "T" not in value.upper() and len(value) <= 10:
            parsed += timedelta(days=1, microseconds=-1)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        problems.append(
            f"{name} phải theo ISO 8601, ví dụ 2026-11-22T08:00:00+07:00 hoặc 2026-11-22, "
            f"từ {params.MIN_DATE.isoformat()} đến {params.MAX_DATE.isoformat()}."
        )
        return None


def _w3c(moment: datetime | None) -> str | None:
    return moment.astimezone(VIETNAM).isoformat(timespec="seconds") if moment else None


def _as_requests(petitions: list[Petition]) -> list[dict]:
    names = open311.service_names()
    inboxes = open311.areas_by_id(p.assigned_area_id for p in petitions)
    return [_as_request(p, names, inboxes) for p in petitions]


def _as_request(p: Petition, names: dict[str, str], inboxes: dict) -> dict:
    """A petition's published view, its point coarsened to the village.

    Never the contact's name or phone, the tracking code, nor redacted text.
    """
    placed = [a for a in (p.village, p.commune, p.province) if a is not None]
    answers = p.public_answers
    lon, lat = publication.public_point(p) or (None, None)  # never the exact point, whoever reads
    photo = next(iter(publication.public_photos(p)), None)
    inbox = inboxes.get(p.assigned_area_id) or p.commune or p.province
    published = publication.is_published(p)
    return {
        "service_request_id": p.public_id,
        "status": open311.open311_status(p.status),
        "status_notes": answers[-1].body if answers else p.status_name,
        "service_name": names.get(p.category_code, p.category_code),
        "service_code": p.category_code,
        "description": p.shown_body,
        "agency_responsible": f"Ban Công tác Mặt trận {inbox.unit_type.lower()} {inbox.name}" if inbox else None,
        "service_notice": (
            f"Xem tại {url_for('petitions.public', public_id=p.public_id, _external=True)}" if published else None
        ),
        "requested_datetime": _w3c(p.created_at),
        "updated_datetime": _w3c(p.updated_at),
        "expected_datetime": _w3c(p.due_at) if p.is_open else None,
        "address": ", ".join(a.full_name for a in placed) or None,
        "address_id": placed[0].code if placed else None,
        "zipcode": None,
        "lat": lat,
        "long": lon,
        "media_url": (
            url_for("petitions.public_photo", public_id=p.public_id, photo_id=photo.id, _external=True)
            if photo
            else None
        ),
        "extended_attributes": {
            "village_code": p.village.code if p.village else None,
            "commune_code": p.commune.code if p.commune else None,
            "province_code": p.province.code if p.province else None,
            "detailed_status": p.status,
            "supporters": p.supporters,
            "published": published,
        },
    }
