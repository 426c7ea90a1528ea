"""Fixtures for the provider tests: cheap password hashing, one signing key, registered clients, people."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from joserfc.jwk import RSAKey

from core.auth import SYSTEM_ACTOR
from core.db import session_scope
from core.models.types import OrgKind
from core.services import identity as svc
from tests import factories

ISSUER = "http://sso.test"
PASSWORD = "Demo-Password-2026"
CONFIDENTIAL = {
    "client_id": "jinfu-bank",
    "client_secret": "bank-secret-0123456789",
    "redirect_uris": ["http://127.0.0.1:8502/oauth2callback"],
    "post_logout_redirect_uris": ["http://127.0.0.1:8502/oauth2callback"],
}
PUBLIC = {"client_id": "jinfu-public", "redirect_uris": ["http://127.0.0.1:9000/cb"]}


@pytest.fixture(scope="session")
def signing_pem() -> str:
    return RSAKey.generate_key(2048, private=True).as_pem(private=True).decode("ascii")


@pytest.fixture(autouse=True)
def _sso_env(monkeypatch, signing_pem, tmp_path):
    """Fast argon2 parameters (the production defaults cost ~0.1 s per hash), a fixed key, test clients."""
    monkeypatch.setenv("SSO_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("SSO_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("SSO_ARGON2_PARALLELISM", "1")
    monkeypatch.setenv("SSO_ISSUER", ISSUER)
    monkeypatch.setenv("SSO_SIGNING_KEY_PEM", signing_pem)
    monkeypatch.setenv("SSO_SIGNING_KEY_FILE", str(tmp_path / "unused.pem"))
    monkeypatch.setenv("SSO_CLIENTS", json.dumps([CONFIDENTIAL, PUBLIC]))
    monkeypatch.setenv("SSO_CODE_RESEND_SECONDS", "0")


@dataclass
class People:
    """The users of one test: ids and subjects by role."""

    enterprise_admin: str
    bank_officer: str
    regulator_analyst: str
    bank_org_id: int
    enterprise_id: int
    credit_code_free: str  # a valid code of an enterprise on record but not registered yet
    name_free: str


@pytest.fixture
def people(db) -> People:
    with session_scope() as s:
        ent = factories.enterprise(s)
        ent_org = factories.institution(
            s, kind=OrgKind.enterprise, name=ent.name, code=f"ENT-{ent.credit_code}", enterprise_id=ent.id
        )
        bank = factories.institution(s, kind=OrgKind.bank)
        reg = factories.institution(s, kind=OrgKind.regulator)
        free = factories.enterprise(s)
        ea = factories.user(
            s,
            ent_org,
            ["enterprise_admin"],
            subject="demo-enterprise_admin-1",
            email="ent-admin@example.cn",
            phone="13800000001",
        )
        bo = factories.user(
            s, bank, ["bank_officer"], subject="demo-bank_officer-1", email="officer@example.cn"
        )
        ra = factories.user(s, reg, ["regulator_analyst"], subject="demo-regulator_analyst-1")
        result = People(ea.subject, bo.subject, ra.subject, bank.id, ent.id, free.credit_code, free.name)
    svc.ensure_demo_credentials(actor=SYSTEM_ACTOR, password=PASSWORD)
    return result


@pytest.fixture
def app(db):
    from apps.sso.app import create_app

    application = create_app()
    application.config["TESTING"] = False  # errors go through the handlers, as in production
    return application


@pytest.fixture
def client(app):
    return app.test_client()


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(response) -> str:
    match = CSRF.search(response.get_data(as_text=True))
    assert match, "page has no CSRF field"
    return match.group(1)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_url(
    client_id: str,
    redirect_uri: str,
    challenge: str | None,
    *,
    nonce: str = "n-1",
    state: str = "s-1",
    **extra,
) -> str:
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": "openid profile email",
        "state": state,
        "nonce": nonce,
        **extra,
    }
    if challenge:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    return "/authorize?" + urlencode(params)


def sign_in(client, identifier: str, password: str = PASSWORD, *, address: str = "10.0.0.1"):
    page = client.get("/login")
    return client.post(
        "/login",
        data={"identifier": identifier, "password": password, "csrf_token": csrf_of(page)},
        environ_base={"REMOTE_ADDR": address},
    )


def code_from(response) -> str:
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    query = parse_qs(urlparse(response.headers["Location"]).query)
    return query["code"][0]
