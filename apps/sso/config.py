"""The provider's settings, from ``SSO_*`` environment variables (sign-in policy: ``core.services.identity``).

``SSO_ISSUER`` (default ``http://127.0.0.1:8100``), ``SSO_PORT`` (8100), ``SSO_SIGNING_KEY_PEM`` (an RSA
private key in PEM; else one is generated once into ``SSO_SIGNING_KEY_FILE``, default
``data/secrets/sso-signing-key.pem``, mode 0600), ``SSO_IDLE_TIMEOUT_MINUTES`` (30),
``SSO_ACCESS_TOKEN_SECONDS`` / ``SSO_ID_TOKEN_SECONDS`` (3600), ``SSO_TRUSTED_PROXIES`` (how many
reverse proxies set X-Forwarded-For; 0 when browsers reach gunicorn directly),
``SSO_PENDING_LOGIN_MINUTES`` (5: time allowed between the password and the TOTP step).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.auth.oidc import DEFAULT_ISSUER
from core.config import DATA_DIR, PROJECT_ROOT


class SsoSettings(BaseSettings):
    """Everything the provider's web layer reads from the environment."""

    model_config = SettingsConfigDict(
        env_prefix="SSO_", env_file=PROJECT_ROOT / ".env", env_file_encoding="utf-8", extra="ignore"
    )

    issuer: str = DEFAULT_ISSUER
    port: int = 8100
    signing_key_pem: str | None = None
    signing_key_file: Path = DATA_DIR / "secrets" / "sso-signing-key.pem"
    idle_timeout_minutes: int = Field(default=30, ge=1, le=24 * 60)
    access_token_seconds: int = Field(default=3600, ge=60)
    id_token_seconds: int = Field(default=3600, ge=60)
    trusted_proxies: int = Field(default=0, ge=0, le=5)
    pending_login_minutes: int = Field(default=5, ge=1, le=30)

    @property
    def issuer_url(self) -> str:
        return self.issuer.rstrip("/")

    @property
    def secure_cookies(self) -> bool:
        return self.issuer_url.startswith("https://")
