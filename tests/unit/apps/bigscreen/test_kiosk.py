"""The wall's kiosk guard: only /healthz answers without the token; the token is taken once, then a cookie."""

from __future__ import annotations

import json

import pytest

from apps.bigscreen import kiosk
from apps.bigscreen.app import create_app
from core.config import get_settings

TOKEN = "wall-token-0123456789abcdef"


class Provider:
    """A wall data provider that must never be reached by a refused request."""

    def __init__(self) -> None:
        self.calls = 0

    def __getattr__(self, name):
        def record(*_args, **_kwargs):
            self.calls += 1
            raise AssertionError(f"data read without authorization: {name}")

        return record


@pytest.fixture
def client():
    provider = Provider()
    app = create_app(data_provider=provider, kiosk_token=TOKEN)
    test_client = app.server.test_client()
    test_client.provider = provider
    return test_client


def _update_body() -> str:
    return json.dumps({"output": "x.children", "outputs": {"id": "x", "property": "children"}, "inputs": []})


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/"),
        ("GET", "/_dash-layout"),
        ("GET", "/_dash-dependencies"),
        ("POST", "/_dash-update-component"),
        ("GET", "/assets/wall.css"),
        ("GET", "/anything"),
    ],
)
def test_every_endpoint_but_health_refuses_without_the_token(client, method, path):
    response = client.open(path, method=method, data=_update_body(), content_type="application/json")
    assert response.status_code == 401
    assert "需要授权" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    assert client.provider.calls == 0


def test_health_stays_open(client):
    assert client.get("/healthz").status_code == 200


def test_the_token_sets_a_cookie_and_leaves_the_url(client):
    response = client.get(f"/?lang=en&kiosk={TOKEN}")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/?lang=en")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{kiosk.COOKIE_NAME}=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert client.get("/?lang=en").status_code == 200
    assert client.get("/_dash-layout").status_code == 200
    assert client.get("/_dash-dependencies").status_code == 200


def test_a_wrong_token_or_forged_cookie_is_refused_in_the_viewers_language(client):
    assert client.get("/?kiosk=wrong-token-0123456789&lang=en").status_code == 401
    assert "Authorization required" in client.get("/?lang=en").get_data(as_text=True)
    client.set_cookie(kiosk.COOKIE_NAME, "forged.value.here")
    assert client.get("/_dash-layout").status_code == 401


def test_changing_the_token_revokes_authorized_screens():
    first = create_app(data_provider=Provider(), kiosk_token=TOKEN).server.test_client()
    cookie = first.get(f"/?kiosk={TOKEN}").headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
    rotated = create_app(data_provider=Provider(), kiosk_token=TOKEN + "-rotated").server.test_client()
    rotated.set_cookie(kiosk.COOKIE_NAME, cookie)
    assert rotated.get("/_dash-layout").status_code == 401


def test_production_refuses_to_start_without_a_real_token(monkeypatch):
    monkeypatch.setenv("JINFU_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-real-secret-for-this-test-0123456789")
    monkeypatch.setenv("COOKIE_SECRET", "a-real-cookie-secret-for-this-test-0123")
    monkeypatch.delenv("WALL_KIOSK_TOKEN", raising=False)
    get_settings.cache_clear()
    with pytest.raises(kiosk.KioskConfigurationError):
        kiosk.kiosk_token()
    monkeypatch.setenv("WALL_KIOSK_TOKEN", "short")
    with pytest.raises(kiosk.KioskConfigurationError):
        kiosk.kiosk_token()
    monkeypatch.setenv("WALL_KIOSK_TOKEN", TOKEN)
    assert kiosk.kiosk_token() == TOKEN


def test_development_token_is_derived_from_the_secret_key(monkeypatch):
    monkeypatch.delenv("WALL_KIOSK_TOKEN", raising=False)
    first = kiosk.kiosk_token()
    assert first == kiosk.development_token() and len(first) == 32
    monkeypatch.setenv("SECRET_KEY", "another-test-secret-key")
    get_settings.cache_clear()
    assert kiosk.kiosk_token() != first
