"""Platform settings, read once from the environment (and an optional .env file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
REFERENCE_DIR = DATA_DIR / "reference"

# Values that must never reach a non-development deployment.
PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "changethis", "secret", "dev-only-insecure-secret"}


def normalize_database_url(value: str) -> str:
    """One spelling per database: psycopg2 for PostgreSQL, project-anchored paths for SQLite."""
    # Heroku-style URLs and bare "postgresql://" both mean psycopg2 (SQLAlchemy 2.1 would pick psycopg 3).
    if value.startswith("postgres://"):
        value = "postgresql://" + value[len("postgres://") :]
    if value.startswith("postgresql://"):
        value = "postgresql+psycopg2://" + value[len("postgresql://") :]
    # A relative SQLite path means "relative to the project", whatever directory an app runs in.
    if value.startswith("sqlite:///") and not value.startswith("sqlite:////"):
        relative = value[len("sqlite:///") :]
        if relative and relative != ":memory:":
            value = f"sqlite:///{PROJECT_ROOT / relative}"
    return value


class Settings(BaseSettings):
    """Every setting of the platform; documented one by one in .env.example."""

    model_config = SettingsConfigDict(
        env_file=PROJECT_ROOT / ".env", env_file_encoding="utf-8", extra="ignore"
    )

    jinfu_env: Literal["development", "test", "production"] = "development"
    database_url: str = f"sqlite:///{DATA_DIR / 'jinfu.db'}"
    database_echo: bool = False
    database_pool_size: int = Field(default=10, ge=1)

    secret_key: str = "dev-only-insecure-secret"
    cookie_secret: str = "dev-only-insecure-secret"

    # "disk:<dir>" (one host) or "redis://host:port/db" (several hosts).
    cache_url: str = f"disk:{DATA_DIR / 'cache'}"
    cache_ttl_seconds: int = Field(default=60, ge=1)

    default_locale: Literal["zh_CN", "en"] = "zh_CN"
    display_timezone: str = "Asia/Shanghai"
    city_code: str = "hengshui"

    enterprise_port: int = 8501
    bank_port: int = 8502
    regulator_port: int = 8503
    bigscreen_port: int = 8050
    bigscreen_refresh_seconds: int = Field(default=30, ge=5)
    bigscreen_workers: int = Field(default=2, ge=1)

    # Loans above this principal (yuan) count as large when they default.
    large_default_threshold_yuan: int = Field(default=5_000_000, ge=0)

    @field_validator("database_url")
    @classmethod
    def _normalise_db_url(cls, value: str) -> str:
        return normalize_database_url(value)

    @field_validator("cache_url")
    @classmethod
    def _absolute_cache_dir(cls, value: str) -> str:
        if value.startswith("disk:") and not value[len("disk:") :].startswith("/"):
            value = f"disk:{PROJECT_ROOT / value[len('disk:') :]}"
        return value

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Settings:
        if self.jinfu_env != "development":
            for name in ("secret_key", "cookie_secret"):
                if getattr(self, name).strip().lower() in PLACEHOLDER_SECRETS:
                    raise ValueError(
                        f"{name.upper()} is a placeholder; set a real secret when JINFU_ENV={self.jinfu_env}"
                    )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached; tests call ``get_settings.cache_clear()``)."""
    return Settings()
