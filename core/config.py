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

    # Legal range of a product's annual interest rate (percent). The ceiling defaults to 24 %, the
    # Supreme People's Court's private-lending guidance (banks price far below); a product outside it
    # is refused with a message naming the range.
    product_rate_min: float = Field(default=0.0, ge=0)
    product_rate_max: float = Field(default=24.0, gt=0, le=36)

    # Department pull APIs (core/adapters/gov_api.py). An empty URL switches that source's pull off.
    gov_api_tax_paid_url: str = ""
    gov_api_tax_paid_token: str = ""
    gov_api_timeout_seconds: float = Field(default=10.0, gt=0)
    gov_api_retries: int = Field(default=3, ge=0, le=10)  # extra attempts after a 5xx or a network error
    gov_api_backoff_seconds: float = Field(default=0.5, ge=0)  # first retry delay; doubles per attempt
    gov_api_page_size: int = Field(default=500, ge=1, le=10_000)

    # First-loan center (首贷中心): the service hall's windows an enterprise may book, 30-minute slots.
    service_windows: int = Field(default=23, ge=1, le=200)
    # Loans: days past due after which the daily sweep marks an overdue loan defaulted.
    loan_default_dpd: int = Field(default=90, ge=1, le=720)

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
