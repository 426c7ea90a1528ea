"""Claims → actor, client registrations from the environment, and input checks — no database."""

from __future__ import annotations

import json

import pytest

from core.auth.oidc import (
    ClaimsInvalidError,
    OidcConfigurationError,
    actor_from_claims,
    claims_for,
    client_registration,
    client_registrations,
    development_client_secret,
    discovery_url,
)
from core.config import get_settings
from core.errors import ValidationErrors
from core.models import IdentityPublic
from core.services import identity as svc


def _identity(**overrides) -> IdentityPublic:
    fields = {
        "user_id": 7,
        "subject": "demo-enterprise_admin-1",
        "display_name": "张三",
        "email": "a@example.cn",
        "phone": "13800000001",
        "locale": "zh_CN",
        "roles": ("enterprise_admin",),
        "organization_id": 3,
        "organization_name": "衡水某公司",
        "organization_kind": "enterprise",
        "enterprise_id": 11,
        "totp_required": False,
        "totp_enrolled": False,
    }
    fields.update(overrides)
    return IdentityPublic(**fields)


def test_claims_carry_roles_org_and_enterprise_and_respect_scopes():
    claims = claims_for(_identity(), "openid profile email")
    assert claims == {
        "sub": "demo-enterprise_admin-1",
        "roles": ["enterprise_admin"],
        "org_id": 3,
        "enterprise_id": 11,
        "name": "张三",
        "locale": "zh-CN",
        "org_name": "衡水某公司",
        "email": "a@example.cn",
    }
    bare = claims_for(_identity(enterprise_id=None), "openid")
    assert bare == {"sub": "demo-enterprise_admin-1", "roles": ["enterprise_admin"], "org_id": 3}


def test_actor_from_claims_round_trips_and_drops_unknown_or_system_roles():
    actor = actor_from_claims(
        {**claims_for(_identity(), "openid profile"), "roles": ["enterprise_admin", "system", "root"]},
        user_id=7,
    )
    assert actor.roles == frozenset({"enterprise_admin"})
    assert (actor.user_id, actor.organization_id, actor.enterprise_id, actor.locale) == (7, 3, 11, "zh_CN")
    assert actor_from_claims({"sub": "x", "locale": "en-US"}).locale == "en"
    assert actor_from_claims({"sub": "x"}).roles == frozenset()


@pytest.mark.parametrize(
    "claims",
    [
        {},
        {"sub": ""},
        {"sub": "x", "org_id": "abc"},
        {"sub": "x", "roles": 5},
        {"sub": "x", "enterprise_id": True},
    ],
)
def test_malformed_claims_are_refused(claims):
    with pytest.raises(ClaimsInvalidError):
        actor_from_claims(claims)


def test_first_party_clients_default_in_development_with_derived_secrets(monkeypatch):
    monkeypatch.delenv("SSO_CLIENTS", raising=False)
    regs = {r.client_id: r for r in client_registrations()}
    assert set(regs) == {"jinfu-enterprise", "jinfu-bank", "jinfu-regulator", "jinfu-bigscreen"}
    assert "http://127.0.0.1:8501/oauth2callback" in regs["jinfu-enterprise"].redirect_uris
    assert regs["jinfu-bank"].client_secret == development_client_secret("jinfu-bank")
    assert regs["jinfu-bank"].post_logout_redirect_uris == regs["jinfu-bank"].redirect_uris
    monkeypatch.setenv("SSO_CLIENT_BANK_SECRET", "from-env-secret")
    monkeypatch.setenv("SSO_CLIENT_BANK_REDIRECT_URIS", "https://bank.example/oauth2callback")
    bank = client_registration("jinfu-bank")
    assert bank.client_secret == "from-env-secret" and bank.redirect_uris == (
        "https://bank.example/oauth2callback",
    )
    assert discovery_url("http://x:8100/") == "http://x:8100/.well-known/openid-configuration"


def test_production_refuses_derived_client_secrets(monkeypatch):
    monkeypatch.delenv("SSO_CLIENTS", raising=False)
    monkeypatch.setenv("JINFU_ENV", "production")
    get_settings.cache_clear()
    with pytest.raises(OidcConfigurationError):
        client_registrations()


@pytest.mark.parametrize(
    "raw",
    ["not json", '[{"client_id": "x"}]', '[{"client_id": "x", "redirect_uris": ["javascript:alert(1)"]}]'],
)
def test_malformed_client_settings_are_refused(monkeypatch, raw):
    monkeypatch.setenv("SSO_CLIENTS", raw)
    with pytest.raises(OidcConfigurationError):
        client_registrations()


def test_sso_clients_json_is_read(monkeypatch):
    monkeypatch.setenv(
        "SSO_CLIENTS",
        json.dumps([{"client_id": "app", "client_secret": "s3", "redirect_uris": ["https://a.example/cb"]}]),
    )
    (reg,) = client_registrations()
    assert reg.client_id == "app" and reg.post_logout_redirect_uris == ("https://a.example/cb",)


def test_signup_validation_names_every_bad_field_at_once():
    form = svc.EnterpriseSignup(
        credit_code="bad", enterprise_name="<b>x</b>", contact_name="", email="nope", phone="1"
    )
    with pytest.raises(ValidationErrors) as refused:
        svc.validate_signup(form)
    assert set(refused.value.messages("en")) == {
        "credit_code",
        "enterprise_name",
        "contact_name",
        "email",
        "phone",
    }


def test_names_are_trimmed_and_full_width_brackets_match():
    assert svc._same_name("衡水（河北）科技有限公司", "衡水(河北)科技有限公司 ")
    with pytest.raises(svc.FieldInvalidError):
        svc._text("a\u202eb", "contact_name")  # a bidi override is a control character


@pytest.mark.parametrize("password", ["short1", "onlyletterspassword", "1234567890123", "x" * 129 + "1"])
def test_weak_passwords_are_refused(password):
    with pytest.raises(svc.FieldInvalidError):
        svc.check_password_policy(password)


def test_password_hashes_are_salted_argon2id(monkeypatch):
    monkeypatch.setenv("SSO_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("SSO_ARGON2_TIME_COST", "1")
    first, second = svc.hash_password("Same-password-1"), svc.hash_password("Same-password-1")
    assert first != second and first.startswith("$argon2id$")
    assert svc.verify_password(first, "Same-password-1") and not svc.verify_password(first, "Same-password-2")
    assert not svc.verify_password(None, "anything")
