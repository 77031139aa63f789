"""The portal refuses to start outside development without a secret key, and reads one from a file."""

from __future__ import annotations

import pytest

from app import create_app
from app.config import DEVELOPMENT_SECRET_KEY, ConfigError


@pytest.fixture
def bare_environment(monkeypatch, tmp_path):
    """No key in the environment, an empty instance folder, not in development."""
    for name in ("SECRET_KEY", "SECRET_KEY_FILE", "PORTAL_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    return tmp_path


def portal(app, **config):
    return create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], **config})


def test_without_a_key_outside_development_the_portal_refuses_to_start(app, bare_environment):
    with pytest.raises(ConfigError) as refused:
        portal(app)
    assert "SECRET_KEY is not set" in str(refused.value)
    assert str(bare_environment / "secret_key") in str(refused.value)
    assert "PORTAL_ENV=development" in str(refused.value)


def test_the_key_file_in_the_instance_folder_is_read(app, bare_environment):
    (bare_environment / "secret_key").write_text("a-key-made-by-make-run\n")
    assert portal(app).secret_key == "a-key-made-by-make-run"


def test_secret_key_file_names_the_file(app, bare_environment, monkeypatch):
    named = bare_environment / "elsewhere"
    named.write_text("the-named-key")
    (bare_environment / "secret_key").write_text("not-this-one")
    monkeypatch.setenv("SECRET_KEY_FILE", str(named))
    assert portal(app).secret_key == "the-named-key"

    monkeypatch.setenv("SECRET_KEY_FILE", str(bare_environment / "missing"))
    with pytest.raises(ConfigError) as refused:
        portal(app)
    assert "cannot be read" in str(refused.value)


def test_the_environment_s_key_comes_before_any_file(app, bare_environment, monkeypatch):
    (bare_environment / "secret_key").write_text("from-the-file")
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert portal(app).secret_key == "from-the-environment"


def test_an_empty_key_file_is_refused(app, bare_environment):
    (bare_environment / "secret_key").write_text("\n")
    with pytest.raises(ConfigError) as refused:
        portal(app)
    assert "is empty" in str(refused.value)


def test_development_and_the_tests_start_with_the_development_key(app, bare_environment, monkeypatch):
    assert portal(app, TESTING=True).secret_key == DEVELOPMENT_SECRET_KEY
    monkeypatch.setenv("PORTAL_ENV", "development")
    assert portal(app).secret_key == DEVELOPMENT_SECRET_KEY
