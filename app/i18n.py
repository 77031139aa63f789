"""Languages: Vietnamese first (the default), English second.

Texts in templates and code are written in Vietnamese and wrapped in
gettext; the English catalogue translates them. `?lang=en` switches and
is remembered in a cookie; any other value of lang is ignored (Vietnamese).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Flask, has_request_context, request
from flask_babel import get_locale

LANGUAGES = ("vi", "en")
VIETNAM_TIME = ZoneInfo("Asia/Ho_Chi_Minh")


def select_locale() -> str:
    if not has_request_context():  # commands and jobs: notices and logs are in Vietnamese
        return "vi"
    chosen = request.args.get("lang") or request.cookies.get("lang")
    return chosen if chosen in LANGUAGES else "vi"


def init_app(app: Flask) -> None:
    app.jinja_env.globals["get_locale"] = get_locale

    @app.after_request
    def remember_language(response):
        chosen = request.args.get("lang")
        if chosen in LANGUAGES:
            response.set_cookie("lang", chosen, max_age=365 * 24 * 3600, samesite="Lax")
        return response

    @app.template_filter("local_time")
    def local_time(moment) -> str:
        """A time as people in Vietnam read it: 22/11/2026 14:05."""
        return moment.astimezone(VIETNAM_TIME).strftime("%d/%m/%Y %H:%M") if moment else ""

    @app.template_filter("local_date")
    def local_date(moment) -> str:
        """A day as people in Vietnam read it: 22/11/2026."""
        return moment.astimezone(VIETNAM_TIME).strftime("%d/%m/%Y") if moment else ""
