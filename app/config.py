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
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        self.REDIS_URL = env.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        # Geotagging: how far off every commune a point may be and still be
        # placed in the nearest one (GPS drift on a coast or a river).
        self.GEOTAG_NEAR_M = _float("GEOTAG_NEAR_M", 2000.0)
        # The seed of the synthetic national geography `make run` loads.
        self.SYNTH_SEED = _int("SYNTH_SEED", 2025)


def _sqlalchemy_url(url: str) -> str:
    """Point plain postgresql:// URLs at the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
