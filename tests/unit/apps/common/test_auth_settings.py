"""The apps' ``[auth]`` secrets come from the environment (``scripts/run_all.py``), never from the repo."""

from __future__ import annotations

import stat
import subprocess
import tomllib

from core.auth.oidc import client_registration, development_client_secret
from scripts.run_all import auth_secrets_toml, redirect_uri_for, register_redirect_uris, write_auth_secrets


def test_secrets_name_the_provider_client_cookie_secret_and_callback(monkeypatch):
    monkeypatch.setenv("SSO_ISSUER", "http://127.0.0.1:8100")
    parsed = tomllib.loads(auth_secrets_toml("bank", redirect_uri=redirect_uri_for("bank", 8502)))
    auth = parsed["auth"]
    assert auth["redirect_uri"] == "http://127.0.0.1:8502/oauth2callback"
    assert auth["cookie_secret"] == "test-cookie-secret-not-for-production"
    provider = auth["jinfu"]
    assert provider["client_id"] == "jinfu-bank"
    assert provider["client_secret"] == development_client_secret("jinfu-bank")
    assert provider["server_metadata_url"] == "http://127.0.0.1:8100/.well-known/openid-configuration"
    assert provider["client_kwargs"] == {"scope": "openid profile email", "prompt": "login"}


def test_public_url_and_external_provider_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("APP_PUBLIC_URL_ENTERPRISE", "https://jinfu.example.cn/enterprise/")
    monkeypatch.setenv("SSO_ISSUER", "https://id.example.cn/realms/jinfu")
    monkeypatch.setenv("SSO_CLIENT_ENTERPRISE_SECRET", "from-keycloak-0123456789")
    monkeypatch.setenv(
        "SSO_CLIENT_ENTERPRISE_REDIRECT_URIS", "https://jinfu.example.cn/enterprise/oauth2callback"
    )
    monkeypatch.setenv("APP_OIDC_PROMPT", "")
    uri = redirect_uri_for("enterprise", 8501)
    assert uri == "https://jinfu.example.cn/enterprise/oauth2callback"
    provider = tomllib.loads(auth_secrets_toml("enterprise", redirect_uri=uri))["auth"]["jinfu"]
    assert provider["client_secret"] == "from-keycloak-0123456789"
    assert (
        provider["server_metadata_url"]
        == "https://id.example.cn/realms/jinfu/.well-known/openid-configuration"
    )
    assert provider["client_kwargs"] == {"scope": "openid profile email"}


def test_strings_are_escaped(monkeypatch):
    monkeypatch.setenv("COOKIE_SECRET", 'a"b\\c\nd-0123456789')
    from core.config import get_settings

    get_settings.cache_clear()
    parsed = tomllib.loads(
        auth_secrets_toml("regulator", redirect_uri="http://127.0.0.1:8503/oauth2callback")
    )
    assert parsed["auth"]["cookie_secret"] == 'a"b\\c\nd-0123456789'


def test_secrets_file_is_private_and_ignored_by_git(tmp_path):
    path = write_auth_secrets(
        "bank", tmp_path / "run" / "bank" / "secrets.toml", redirect_uri=redirect_uri_for("bank", 8502)
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "data/run/bank/secrets-8502.toml"], capture_output=True, check=False
    )
    assert ignored.returncode == 0, "data/run/ must stay out of git"


def test_replica_and_nginx_callbacks_are_registered_with_the_provider(monkeypatch):
    monkeypatch.delenv("SSO_CLIENT_BANK_REDIRECT_URIS", raising=False)  # restored (absent) after the test
    register_redirect_uris(
        {"bank": ["http://127.0.0.1:8080/bank/oauth2callback", "http://127.0.0.1:8512/oauth2callback"]}
    )
    uris = client_registration("jinfu-bank").redirect_uris
    assert "http://127.0.0.1:8502/oauth2callback" in uris
    assert (
        "http://127.0.0.1:8080/bank/oauth2callback" in uris and "http://127.0.0.1:8512/oauth2callback" in uris
    )
