"""Settings, read from the environment: the only module that does so.

Every setting has a safe default for development on one machine. In
production set at least SECRET_KEY, DATABASE_URL and REDIS_URL.
"""

from __future__ import annotations

import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


class Config:
    def __init__(self) -> None:
        env = os.environ
        self.SECRET_KEY = env.get("SECRET_KEY", "dev-only-secret-change-me")
        self.SQLALCHEMY_DATABASE_URI = _sqlalchemy_url(
            env.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/portal")
        )
        # No ping per checkout (a round trip per request): a dropped connection
        # fails one request with a 503 and the pool replaces it.
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_recycle": 1800}
        self.REDIS_URL = env.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        # Geotagging: how far off every commune a point may be and still be
        # placed in the nearest one (GPS drift on a coast or a river).
        self.GEOTAG_NEAR_M = _float("GEOTAG_NEAR_M", 2000.0)
        # The seed of the synthetic national geography `make run` loads.
        self.SYNTH_SEED = _int("SYNTH_SEED", 2025)

        # Where photos and other files are kept (behind app/storage.py).
        self.STORAGE_ROOT = env.get("STORAGE_ROOT", "")  # default: <instance folder>/storage
        # Submissions per client address; flask-limiter syntax.
        self.SUBMIT_LIMIT = env.get("SUBMIT_LIMIT", "5 per minute;30 per hour;100 per day")
        # Reverse proxies in front of the portal whose X-Forwarded-For is
        # trusted for the client address (0: use the socket's address).
        self.TRUST_PROXY_HOPS = _int("TRUST_PROXY_HOPS", 0)
        # Base map tiles: none by default (the area boundaries are the base).
        self.TILE_URL = env.get("TILE_URL", "")
        self.TILE_ATTRIBUTION = env.get("TILE_ATTRIBUTION", "")
        # "Similar petitions nearby": how near (m) and how recent (days).
        self.SIMILAR_RADIUS_M = _float("SIMILAR_RADIUS_M", 300.0)
        self.SIMILAR_DAYS = _int("SIMILAR_DAYS", 90)
        self.MAX_CONTENT_LENGTH = _int("MAX_UPLOAD_MB", 60) * 1024 * 1024
        # A queued submission from a phone may arrive hours later: the CSRF
        # token lives as long as the session instead of one hour.
        self.WTF_CSRF_TIME_LIMIT = None
        self.BABEL_DEFAULT_LOCALE = "vi"
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SECURE = env.get("SESSION_COOKIE_SECURE", "0") == "1"
        # An officer's session ends after this long without a request.
        self.PERMANENT_SESSION_LIFETIME = _int("SESSION_IDLE_MINUTES", 30) * 60
        self.SESSION_REFRESH_EACH_REQUEST = True
        self.LOGIN_LIMIT = env.get("LOGIN_LIMIT", "10 per minute;100 per hour")
        # Open311 reads (GET /open311/v2/…) per client address; POSTs are limited per partner (its own rate).
        self.OPEN311_READ_LIMIT = env.get("OPEN311_READ_LIMIT", "120 per minute")
        # "Add my voice" per client address (generous: thousands of phones share one carrier-grade NAT
        # address) and per petition from all clients (a viral petition legitimately gets many).
        self.VOICE_LIMIT = env.get("VOICE_LIMIT", "30 per minute;200 per hour")
        self.VOICE_PETITION_LIMIT = env.get("VOICE_PETITION_LIMIT", "3000 per minute")
        # A burst flagged to the province: more voices than this on one petition from one client address,
        # or from one network (IPv4 /24, IPv6 /48), within VOICE_BURST_MINUTES.
        self.VOICE_BURST_CLIENT = _int("VOICE_BURST_CLIENT", 20)
        self.VOICE_BURST_NETWORK = _int("VOICE_BURST_NETWORK", 50)
        self.VOICE_BURST_MINUTES = _int("VOICE_BURST_MINUTES", 10)
        # Where citizens' and officers' notices go: "record" keeps them in the
        # notices table only (the default); other backends plug in app/services/notices.py.
        self.NOTICE_BACKEND = env.get("NOTICE_BACKEND", "record")
        # Exports larger than this are built by an RQ job with progress and a download link.
        self.EXPORT_SYNC_MAX = _int("EXPORT_SYNC_MAX", 20000)


def _sqlalchemy_url(url: str) -> str:
    """Point plain postgresql:// URLs at the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
