"""The session cookie never rides on a response that shared caches may keep.

Flask refreshes a signed-in officer's session cookie on every request
(SESSION_REFRESH_EACH_REQUEST: the idle timeout counts from the last one),
and marks each such response `Vary: Cookie`. On a response cached as public —
boundary files, static files, the icon — that would hand a cache that ignores
Vary an officer's cookie to give to strangers, and split "the same bytes for
everyone" into one copy per cookie. Those responses leave the session as it is.
"""

from __future__ import annotations

from flask import Flask
from flask.sessions import SecureCookieSessionInterface


class PortalSessionInterface(SecureCookieSessionInterface):
    def save_session(self, app, session, response) -> None:
        if response.cache_control.public:
            return  # no Set-Cookie, no Vary: Cookie; the next private page refreshes the session
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    app.session_interface = PortalSessionInterface()
