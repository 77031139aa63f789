"""Cổng Mặt trận số: the Digital Front Portal."""

from __future__ import annotations

import os

from flask import Flask

from app import (
    compression,
    errors,
    guessing,
    i18n,
    limits,
    logs,
    metrics,
    params,
    proxies,
    redis_conn,
    request_ids,
    security_headers,
    senders,
    sessions,
    standby,
    static_files,
    storage,
)
from app.config import Config, check_secret_key
from app.extensions import babel, csrf, db, login_manager, migrate


def create_app(test_config: dict | None = None) -> Flask:
    """Build the portal's WSGI application."""
    app = Flask(__name__, static_folder="../static", template_folder="../templates")
    app.config.from_object(Config())
    if test_config:
        app.config.update(test_config)
    check_secret_key(app.config)
    app.config.setdefault("RATELIMIT_STORAGE_URI", redis_conn.limits_uri(app.config["REDIS_URL"]))
    app.json.ensure_ascii = False
    proxies.init_app(app)  # the client address as the trusted proxies saw it
    sessions.init_app(app)

    security_headers.init_app(app)  # first: its nonce exists before any other hook may answer
    request_ids.init_app(app)  # then the request id, the log lines and the clock, before any other hook
    logs.init_app(app)
    metrics.init_app(app)
    db.init_app(app)
    standby.init_app(app)  # which engine a session's reads use; "data as of" on the pages that read a standby
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"))
    redis_conn.init_app(app)
    csrf.init_app(app)
    login_manager.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.init_app(app)
    storage.init_app(app)
    senders.init_app(app)
    errors.init_app(app)
    params.init_app(app)
    static_files.init_app(app)
    compression.init_app(app)  # late: its after_request hook runs before the others (they time and log it)

    from app import models  # noqa: F401  (register the tables with the metadata)
    from app.accounts.cli import officers_cli
    from app.agency import bp as agency_bp
    from app.agency.cli import agencies_cli
    from app.alerts import bp as alerts_bp
    from app.api import bp as api_bp
    from app.auth import bp as auth_bp
    from app.category_cli import categories_cli
    from app.geodata.cli import geodata_cli
    from app.health import bp as health_bp
    from app.home import bp as home_bp
    from app.inbound import bp as inbound_bp
    from app.inbound.cli import inbound_cli
    from app.jobs.cli import jobs_cli
    from app.maps import bp as maps_bp
    from app.officer import bp as officer_bp
    from app.open311 import bp as open311_bp
    from app.open311.cli import partners_cli
    from app.openapi import bp as openapi_bp
    from app.petitions import bp as petitions_bp
    from app.privacy.cli import privacy_cli
    from app.storage_cli import storage_cli
    from app.village_cli import villages_cli

    app.register_blueprint(api_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(home_bp)
    app.register_blueprint(petitions_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(officer_bp)
    app.register_blueprint(maps_bp)
    app.register_blueprint(agency_bp)
    app.register_blueprint(inbound_bp)
    app.register_blueprint(alerts_bp)
    app.cli.add_command(agencies_cli)
    app.cli.add_command(categories_cli)
    app.cli.add_command(geodata_cli)
    app.cli.add_command(inbound_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(officers_cli)
    app.cli.add_command(villages_cli)
    app.register_blueprint(open311_bp)
    app.register_blueprint(openapi_bp)
    app.cli.add_command(partners_cli)
    app.cli.add_command(privacy_cli)
    app.cli.add_command(storage_cli)
    from app.services import category_questions

    app.jinja_env.globals.update(questions=category_questions, choices_of=category_questions.choices_of)
    limits.init_app(app)
    guessing.init_app(app)
    return app
