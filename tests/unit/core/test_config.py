"""Settings: environment-driven, and refusing placeholder secrets outside development."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.config import Settings


def test_development_accepts_the_dev_placeholder(monkeypatch):
    monkeypatch.setenv("JINFU_ENV", "development")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("COOKIE_SECRET", raising=False)
    settings = Settings(_env_file=None)
    assert settings.secret_key == "dev-only-insecure-secret"


@pytest.mark.parametrize("placeholder", ["changeme", "dev-only-insecure-secret", "", "secret"])
def test_production_refuses_placeholder_secrets(monkeypatch, placeholder):
    monkeypatch.setenv("JINFU_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", placeholder)
    monkeypatch.setenv("COOKIE_SECRET", "a-real-cookie-secret-0123456789")
    with pytest.raises(ValidationError, match="SECRET_KEY is a placeholder"):
        Settings(_env_file=None)


def test_production_accepts_real_secrets(monkeypatch):
    monkeypatch.setenv("JINFU_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    monkeypatch.setenv("COOKIE_SECRET", "c" * 40)
    assert Settings(_env_file=None).jinfu_env == "production"


def test_default_database_is_sqlite_under_data(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    settings = Settings(_env_file=None)
    assert settings.database_url.startswith("sqlite:///")
    assert settings.database_url.endswith("/data/jinfu.db")
    assert settings.is_sqlite


def test_postgres_urls_are_normalised_to_psycopg2(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@h:5432/db")
    assert Settings(_env_file=None).database_url == "postgresql+psycopg2://u@h:5432/db"


def test_relative_paths_are_anchored_at_the_project(monkeypatch):
    from core.config import PROJECT_ROOT

    monkeypatch.setenv("DATABASE_URL", "sqlite:///data/x.db")
    monkeypatch.setenv("CACHE_URL", "disk:data/cache")
    settings = Settings(_env_file=None)
    assert settings.database_url == f"sqlite:///{PROJECT_ROOT}/data/x.db"
    assert settings.cache_url == f"disk:{PROJECT_ROOT}/data/cache"
