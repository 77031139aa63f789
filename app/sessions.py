"""The session cookie never rides on a response that shared caches may keep.

Flask refreshes a signed-in officer's session cookie on every request
(SESSION_REFRESH_EACH_REQUEST: the idle timeout counts from the last one),
and marks each such response `Vary: Cookie`. On a response cached as public —
boundary files, static files, the icon — that would hand a cache that ignores
Vary an officer's cookie to give to strangers, and split "the same bytes for
everyone" into one copy per cookie. Those responses leave the session as it is.

The JSON API (/api/…) is stateless: it reads no session and answers the
same to everyone, so its requests open none (no cookie to verify, none to
sign and send back, no `Vary: Cookie`).
"""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface

STATELESS_PREFIXES = ("/api/",)


class PortalSessionInterface(SecureCookieSessionInterface):
    def open_session(self, app, request):
        if request.path.startswith(STATELESS_PREFIXES):
            return None  # Flask gives the request a null session: reading finds it empty, writing fails loudly
        return super().open_session(app, request)

    def save_session(self, app, session, response) -> None:
        if response.cache_control.public:
            return  # no Set-Cookie, no Vary: Cookie; the next private page refreshes the session
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    app.session_interface = PortalSessionInterface()
