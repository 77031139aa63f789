"""Cổng Mặt trận số: the Digital Front Portal."""

from __future__ import annotations

import os

from flask import Flask

from app import redis_conn
from app.config import Config
from app.extensions import db, migrate


def create_app(test_config: dict | None = None) -> Flask:
    """Build the portal's WSGI application."""
    app = Flask(__name__, static_folder="../static", template_folder="../templates")
    app.config.from_object(Config())
    if test_config:
        app.config.update(test_config)
    app.json.ensure_ascii = False

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"))
    redis_conn.init_app(app)

    from app import models  # noqa: F401  (register the tables with the metadata)
    from app.api import bp as api_bp
    from app.geodata.cli import geodata_cli
    from app.health import bp as health_bp
    from app.home import bp as home_bp

    app.register_blueprint(api_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(home_bp)
    app.cli.add_command(geodata_cli)
    return app
