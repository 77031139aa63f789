"""Settings, read from the environment: the only module that does so.

Every setting has a safe default for development on one machine, except
the secret key: outside development and the tests the portal refuses to
start without one (SECRET_KEY, or a file: SECRET_KEY_FILE, else
<INSTANCE_PATH>/secret_key, which `make run` creates once). In production
set at least SECRET_KEY (or SECRET_KEY_FILE), DATABASE_URL and REDIS_URL.
"""

from __future__ import annotations

import os
from pathlib import Path

# Flask's instance folder for this package; `make run` keeps its embedded services there too.
DEFAULT_INSTANCE_PATH = Path(__file__).resolve().parent.parent / "instance"
DEVELOPMENT_SECRET_KEY = "dev-only-secret-change-me"


class ConfigError(RuntimeError):
    """The portal cannot start with this configuration; the message says what to set."""


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


class Config:
    def __init__(self) -> None:
        env = os.environ
        # "development" lets the portal start with a development secret key.
        self.PORTAL_ENV = env.get("PORTAL_ENV", "")
        self.INSTANCE_PATH = os.path.abspath(env.get("INSTANCE_PATH") or DEFAULT_INSTANCE_PATH)
        self.SECRET_KEY = env.get("SECRET_KEY") or _secret_key_from_file(env.get("SECRET_KEY_FILE"), self.INSTANCE_PATH)
        self.SQLALCHEMY_DATABASE_URI = _sqlalchemy_url(
            env.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/portal")
        )
        # No ping per checkout (a round trip per request): a dropped connection
        # fails one request with a 503 and the pool replaces it.
        # Parameters never in error messages (they would carry citizens' text into the logs).
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_recycle": 1800, "hide_parameters": True}
        # A replicated database (README, "A replicated database"): DATABASE_URL may name every node,
        # postgresql://portal@/portal?host=10.0.0.1:5432&host=10.0.0.2:5432&target_session_attrs=read-write,
        # and reaches whichever is the primary. DATABASE_READ_URL, a streaming standby, is read by the maps,
        # reports, exports and scorecards (app/standby.py) while it is at most DATABASE_READ_MAX_LAG_S behind.
        self.SQLALCHEMY_BINDS = {}
        if env.get("DATABASE_READ_URL"):
            self.SQLALCHEMY_BINDS["standby"] = {"url": _sqlalchemy_url(env["DATABASE_READ_URL"])}
        self.DATABASE_READ_MAX_LAG_S = _float("DATABASE_READ_MAX_LAG_S", 120.0)
        # A standby that did not answer is tried again after this long (s); meanwhile the primary is read.
        self.DATABASE_READ_RETRY_S = _float("DATABASE_READ_RETRY_S", 10.0)
        self.REDIS_URL = env.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        # Geotagging: how far off every commune a point may be and still be
        # placed in the nearest one (GPS drift on a coast or a river).
        self.GEOTAG_NEAR_M = _float("GEOTAG_NEAR_M", 2000.0)
        # The seed of the synthetic national geography `make run` loads.
        self.SYNTH_SEED = _int("SYNTH_SEED", 2025)

        # Where photos and other files are kept (behind app/storage.py).
        self.STORAGE_ROOT = env.get("STORAGE_ROOT", "")  # default: <instance folder>/storage
        # Or an S3-compatible object store, for several web nodes (app/storage.py from_url):
        # s3://bucket[/prefix]?endpoint=http://127.0.0.1:8333&region=us-east-1[&connect_timeout=2&read_timeout=10
        # &attempts=3]; its keys in S3_ACCESS_KEY and S3_SECRET_KEY (else the URL's user:password, else boto3's own).
        self.STORAGE_URL = env.get("STORAGE_URL", "")
        self.S3_ACCESS_KEY = env.get("S3_ACCESS_KEY", "")
        self.S3_SECRET_KEY = env.get("S3_SECRET_KEY", "")
        # Submissions per client address; flask-limiter syntax.
        self.SUBMIT_LIMIT = env.get("SUBMIT_LIMIT", "5 per minute;30 per hour;100 per day")
        # Reverse proxies in front of the portal whose X-Forwarded-For is
        # trusted for the client address (0: use the socket's address).
        self.TRUST_PROXY_HOPS = _int("TRUST_PROXY_HOPS", 0)
        # The socket addresses of those proxies (comma-separated CIDRs): a request from anywhere
        # else keeps its own address whatever X-Forwarded-For it sends (app/proxies.py).
        self.TRUSTED_PROXIES = env.get("TRUSTED_PROXIES", "127.0.0.0/8,::1/128")
        # Compress text responses (Brotli, gzip: app/compression.py); 0 where nginx in front compresses.
        self.COMPRESS_RESPONSES = env.get("COMPRESS_RESPONSES", "1") == "1"
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
        # Login and activation attempts per client address, whatever the account.
        self.LOGIN_LIMIT = env.get("LOGIN_LIMIT", "10 per minute;100 per hour")
        # Login attempts per account from all clients together (against guessing from many addresses);
        # browsers that have logged in to the account before are exempt: see app/limits.py.
        self.LOGIN_ACCOUNT_LIMIT = env.get("LOGIN_ACCOUNT_LIMIT", "100 per hour")
        # Rating an answer, per client address and per petition (one rating per answer counts anyway).
        self.RATING_LIMIT = env.get("RATING_LIMIT", "10 per hour")
        self.RATING_PETITION_LIMIT = env.get("RATING_PETITION_LIMIT", "5 per hour")
        # Unknown tracking codes or public ids (404s) per client address, and for all clients together,
        # on every route that takes one: guessing is throttled, a citizen's own page is not.
        self.CODE_MISS_LIMIT = env.get("CODE_MISS_LIMIT", "20 per hour")
        self.CODE_MISS_LIMIT_ALL = env.get("CODE_MISS_LIMIT_ALL", "5000 per hour")
        # Open311 reads (GET /open311/v2/…) per client address; POSTs are limited per partner (its own rate).
        self.OPEN311_READ_LIMIT = env.get("OPEN311_READ_LIMIT", "120 per minute")
        # The public scorecards and their search by commune name, per client address.
        self.SCORECARD_LIMIT = env.get("SCORECARD_LIMIT", "60 per minute;1000 per hour")
        # The public map (/map) per client address: a new set of filters counts published petitions.
        self.PUBLIC_MAP_LIMIT = env.get("PUBLIC_MAP_LIMIT", "60 per minute;600 per hour")
        # How long the public map's counts for one set of filters are shared through Redis (s; 0: never).
        self.PUBLIC_MAP_CACHE_SECONDS = _int("PUBLIC_MAP_CACHE_SECONDS", 300)
        # The maps' boundary files (/geo/…) per client address: every request, and those for no such file (404).
        self.GEO_LIMIT = env.get("GEO_LIMIT", "600 per minute")
        self.GEO_MISS_LIMIT = env.get("GEO_MISS_LIMIT", "30 per minute;300 per hour")
        # "Add my voice" per client address (generous: thousands of phones share one carrier-grade NAT
        # address) and per petition from all clients (a viral petition legitimately gets many).
        self.VOICE_LIMIT = env.get("VOICE_LIMIT", "30 per minute;200 per hour")
        self.VOICE_PETITION_LIMIT = env.get("VOICE_PETITION_LIMIT", "3000 per minute")
        # A burst flagged to the province: more voices than this on one petition from one client address,
        # or from one network (IPv4 /24, IPv6 /48), within VOICE_BURST_MINUTES.
        self.VOICE_BURST_CLIENT = _int("VOICE_BURST_CLIENT", 20)
        self.VOICE_BURST_NETWORK = _int("VOICE_BURST_NETWORK", 50)
        self.VOICE_BURST_MINUTES = _int("VOICE_BURST_MINUTES", 10)
        # Notices to citizens (app/notices/): each channel is on only when configured, never faked.
        # E-mail: smtp://user:pass@host:587 (STARTTLS, required) or smtps://user:pass@host:465;
        # the server's certificate checked against the system's CAs, or SMTP_CA_FILE's.
        self.SMTP_URL = env.get("SMTP_URL", "")
        self.SMTP_CA_FILE = env.get("SMTP_CA_FILE", "")
        self.MAIL_FROM = env.get("MAIL_FROM", "Cổng Mặt trận số <no-reply@localhost>")
        # SMS through a brand-name gateway's HTTP API (README, "Notices"): its URL, key and brand name.
        self.SMS_GATEWAY_URL = env.get("SMS_GATEWAY_URL", "")
        self.SMS_GATEWAY_KEY = env.get("SMS_GATEWAY_KEY", "")
        self.SMS_BRANDNAME = env.get("SMS_BRANDNAME", "MTTQVN")
        # Zalo notification messages (ZNS template API): its URL, the OA's access token, and the
        # approved template of each kind of notice (kind=template_id, comma-separated).
        self.ZALO_ZNS_URL = env.get("ZALO_ZNS_URL", "")
        self.ZALO_ACCESS_TOKEN = env.get("ZALO_ACCESS_TOKEN", "")
        self.ZALO_TEMPLATES = env.get("ZALO_TEMPLATES", "")
        # Seconds between the attempts of one delivery (RQ's retries); after the last, the notice is given up.
        self.NOTICE_RETRY_S = env.get("NOTICE_RETRY_S", "30,120,600,1800,7200")
        # How long one delivery may wait for a gateway or a mail server (s).
        self.NOTICE_TIMEOUT_S = _float("NOTICE_TIMEOUT_S", 10.0)
        # How long the reply link a state agency is sent stays valid (days).
        self.REPLY_LINK_DAYS = _int("REPLY_LINK_DAYS", 60)
        # Agencies' reply pages and signed updates, per client address.
        self.AGENCY_LIMIT = env.get("AGENCY_LIMIT", "60 per minute;600 per hour")
        # Petitions by SMS and e-mail (app/services/inbound.py): the SMS gateway's signing secret, the intake
        # address the SMTP receiver takes mail for, and the area a message that names none is filed in.
        self.INBOUND_SMS_SECRET = env.get("INBOUND_SMS_SECRET", "")
        self.INBOUND_EMAIL_ADDRESS = env.get("INBOUND_EMAIL_ADDRESS", "")
        self.INBOUND_DEFAULT_AREA = env.get("INBOUND_DEFAULT_AREA", "")
        self.INBOUND_SMS_LIMIT = env.get("INBOUND_SMS_LIMIT", "600 per minute")
        # Area alerts asked for, per client address (each mails a confirmation to the address given).
        self.ALERT_LIMIT = env.get("ALERT_LIMIT", "5 per hour;20 per day")
        # The portal's address as citizens reach it: the links in notices sent from jobs.
        self.PORTAL_URL = env.get("PORTAL_URL", "http://127.0.0.1:5000").rstrip("/")
        # Exports larger than this are built by an RQ job with progress and a download link.
        self.EXPORT_SYNC_MAX = _int("EXPORT_SYNC_MAX", 20000)
        # A closed petition's contact details are anonymised this many months after it closed.
        self.CONTACT_RETENTION_MONTHS = _int("CONTACT_RETENTION_MONTHS", 24)
        # Who may read /metrics and the details of /healthz (volume figures): clients from these
        # networks (comma-separated; empty: none), or any client sending "Authorization: Bearer <METRICS_TOKEN>".
        self.METRICS_ALLOW_FROM = env.get("METRICS_ALLOW_FROM", "127.0.0.0/8,::1/128")
        self.METRICS_TOKEN = env.get("METRICS_TOKEN", "")
        # Logs: one JSON object a line ("json"), or readable lines ("text"); and from which level.
        self.LOG_FORMAT = env.get("LOG_FORMAT", "json")
        self.LOG_LEVEL = env.get("LOG_LEVEL", "INFO")
        # /healthz is "degraded" when no RQ worker has sent a heartbeat for this long (an idle
        # worker beats every worker-ttl − 15 s: 405 s with RQ's default ttl of 420 s).
        self.HEALTH_WORKER_MAX_AGE_S = _int("HEALTH_WORKER_MAX_AGE_S", 480)


def _secret_key_from_file(named: str | None, instance_path: str) -> str | None:
    """The key in SECRET_KEY_FILE (which must exist), else in <instance>/secret_key when that exists."""
    path = Path(named) if named else Path(instance_path) / "secret_key"
    if not named and not path.is_file():
        return None
    try:
        key = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"SECRET_KEY_FILE {path} cannot be read: {exc.strerror}.") from exc
    if not key:
        raise ConfigError(f"The secret key file {path} is empty.")
    return key


def check_secret_key(config: dict) -> None:
    """Refuse to start without a secret key, except under test or with PORTAL_ENV=development."""
    if config.get("SECRET_KEY"):
        return
    if config.get("TESTING") or config.get("PORTAL_ENV") == "development":
        config["SECRET_KEY"] = DEVELOPMENT_SECRET_KEY
        return
    raise ConfigError(
        "SECRET_KEY is not set. Give SECRET_KEY, or SECRET_KEY_FILE naming a file that holds it, or put one in "
        f"{Path(config['INSTANCE_PATH']) / 'secret_key'}; for development only, set PORTAL_ENV=development."
    )


def _sqlalchemy_url(url: str) -> str:
    """Point plain postgresql:// URLs at the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
