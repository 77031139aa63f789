"""Error pages and JSON errors: a clear sentence in the page's language (Vietnamese first), never a stack trace."""

from __future__ import annotations

from flask import Flask, abort, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError

from app.extensions import db
from app.params import BadParam
from app.storage import StorageError

MESSAGES = {
    400: ("bad_request", _l("Yêu cầu không hợp lệ.")),
    403: ("forbidden", _l("Tài khoản của bạn không có quyền xem trang này.")),
    404: ("not_found", _l("Không tìm thấy trang hoặc mục bạn cần.")),
    405: ("method_not_allowed", _l("Phương thức không được hỗ trợ.")),
    413: ("too_large", _l("Dữ liệu gửi lên quá lớn (ảnh tối đa 10 MB mỗi ảnh, tối đa 5 ảnh).")),
    429: ("rate_limited", _l("Bạn đã gửi quá nhiều lần trong thời gian ngắn. Vui lòng thử lại sau ít phút.")),
    500: ("server_error", _l("Hệ thống gặp lỗi. Vui lòng thử lại sau.")),
    503: (
        "unavailable",
        _l("Hệ thống đang tạm thời gián đoạn. Nội dung bạn đã nhập vẫn được giữ lại; vui lòng gửi lại sau ít phút."),
    ),
}


def wants_json() -> bool:
    # Machines' addresses: the API, Open311, the maps' boundary files, the monitors' figures.
    if request.path.startswith(("/api/", "/open311/", "/geo/")) or request.path in ("/metrics", "/healthz"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def error_response(status: int, code: str | None = None, message: str | None = None):
    default_code, default_message = MESSAGES.get(status, MESSAGES[500])
    code, message = code or default_code, str(message or default_message)
    if wants_json():
        return jsonify({"error": {"code": code, "message": message}}), status
    return render_template("error.html", status=status, message=message), status


def init_app(app: Flask) -> None:
    @app.before_request
    def refuse_nul_bytes():
        """PostgreSQL text cannot hold NUL: such input is refused here, clearly, not with a 500."""
        values = [*request.args.values(), *request.args.keys()]
        if request.method in ("POST", "PUT", "PATCH"):
            values += [*request.form.values(), *request.form.keys()]
        if any("\x00" in value for value in values) or "\x00" in request.path:
            abort(400)  # answered by the 400 handler of the app, or of the API that was called

    for status in (400, 403, 404, 405, 413, 429):
        app.register_error_handler(status, lambda exc, status=status: error_response(status))

    @app.errorhandler(BadParam)
    def bad_param(exc: BadParam):
        """A query parameter that breaks its rule (app/params.py): a 400 that names it."""
        return error_response(400, exc.code, exc.message)

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return error_response(400, "csrf", _("Phiên làm việc đã hết hạn. Vui lòng tải lại trang và gửi lại."))

    @app.errorhandler(OperationalError)
    def database_down(exc):
        """The database is down, restarting or refusing connections."""
        app.logger.warning("database unavailable: %s", exc.orig)
        db.session.rollback()
        return error_response(503)

    @app.errorhandler(StorageError)
    def storage_down(exc):
        """The photo store is unreachable, too slow or refuses the portal's keys."""
        app.logger.warning("storage unavailable: %s", exc)
        db.session.rollback()
        return error_response(503)

    @app.errorhandler(500)
    def server_error(exc):
        return error_response(500)
