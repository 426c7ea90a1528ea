"""The authorization-code flow with PKCE end to end through Flask's test client, checked with PyJWT."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import jwt as pyjwt
import pyotp
import pytest

from core.auth.oidc import IdTokenInvalidError, IdTokenVerifier, actor_from_claims
from core.services.identity import demo_totp_secret
from tests.integration.sso.conftest import (
    CONFIDENTIAL,
    ISSUER,
    PUBLIC,
    authorize_url,
    code_from,
    csrf_of,
    pkce_pair,
    sign_in,
)

BANK_CB = CONFIDENTIAL["redirect_uris"][0]
SECRET = CONFIDENTIAL["client_secret"]


def _token(
    client, code: str, verifier: str | None, *, redirect_uri: str = BANK_CB, auth=("jinfu-bank", SECRET)
):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier:
        data["code_verifier"] = verifier
    return client.post("/token", data=data, auth=auth)


def _verify_independently(client, id_token: str, audience: str) -> dict:
    """PyJWT (not Authlib, not joserfc) against the published JWKS."""
    jwks = pyjwt.PyJWKSet.from_dict(client.get("/jwks").get_json())
    kid = pyjwt.get_unverified_header(id_token)["kid"]
    key = next(k for k in jwks.keys if k.key_id == kid)
    return pyjwt.decode(
        id_token,
        key=key,
        algorithms=["RS256"],
        audience=audience,
        issuer=ISSUER,
        options={"require": ["exp", "iat", "iss", "aud", "sub"]},
    )


def test_discovery_document_names_every_endpoint_and_s256(client, people):
    doc = client.get("/.well-known/openid-configuration").get_json()
    assert doc["issuer"] == ISSUER
    for name in (
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
    ):
        assert doc[name].startswith(ISSUER + "/")
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert {"roles", "org_id", "enterprise_id"} <= set(doc["claims_supported"])


def test_jwks_publishes_only_the_public_key(client, people):
    (key,) = client.get("/jwks").get_json()["keys"]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["kid"]
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


def test_enterprise_admin_signs_in_and_the_id_token_verifies_with_pyjwt(client, people):
    verifier, challenge = pkce_pair()
    first = client.get(authorize_url("jinfu-bank", BANK_CB, challenge, nonce="nonce-42", state="st-9"))
    assert first.status_code == 302 and first.headers["Location"].endswith("/login")
    signed = sign_in(client, people.enterprise_admin)
    assert signed.status_code == 302 and "/authorize?" in signed.headers["Location"]
    back = client.get(signed.headers["Location"])
    assert back.headers["Location"].startswith(BANK_CB + "?")
    assert parse_qs(urlparse(back.headers["Location"]).query)["state"] == ["st-9"]
    response = _token(client, code_from(back), verifier)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    claims = _verify_independently(client, body["id_token"], "jinfu-bank")
    assert claims["sub"] == people.enterprise_admin
    assert claims["nonce"] == "nonce-42"
    assert claims["roles"] == ["enterprise_admin"]
    assert claims["enterprise_id"] == people.enterprise_id
    assert claims["locale"] == "zh-CN" and claims["email"] == "ent-admin@example.cn"
    assert claims["amr"] == ["pwd"] and abs(claims["auth_time"] - time.time()) < 60
    # The apps' own verifier agrees, and the claims become the actor the services check.
    verified = IdTokenVerifier(ISSUER, "jinfu-bank", jwks=client.get("/jwks").get_json()).verify(
        body["id_token"]
    )
    actor = actor_from_claims(verified)
    assert actor.enterprise_id == people.enterprise_id and actor.has_role("enterprise_admin")
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200 and info.get_json()["sub"] == people.enterprise_admin


def test_a_code_works_once(client, people):
    verifier, challenge = pkce_pair()
    client.get(authorize_url("jinfu-bank", BANK_CB, challenge))
    code = code_from(client.get(sign_in(client, people.enterprise_admin).headers["Location"]))
    assert _token(client, code, verifier).status_code == 200
    again = _token(client, code, verifier)
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"


def test_wrong_pkce_verifier_is_refused_and_spends_the_code(client, people):
    verifier, challenge = pkce_pair()
    client.get(authorize_url("jinfu-bank", BANK_CB, challenge))
    code = code_from(client.get(sign_in(client, people.enterprise_admin).headers["Location"]))
    wrong = _token(client, code, pkce_pair()[0])
    assert wrong.status_code == 400 and wrong.get_json()["error"] == "invalid_grant"
    assert _token(client, code, verifier).status_code == 400


def test_wrong_client_secret_is_refused(client, people):
    verifier, challenge = pkce_pair()
    client.get(authorize_url("jinfu-bank", BANK_CB, challenge))
    code = code_from(client.get(sign_in(client, people.enterprise_admin).headers["Location"]))
    response = _token(client, code, verifier, auth=("jinfu-bank", "not-the-secret"))
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/oauth2callback",
        BANK_CB + "/extra",
        BANK_CB + "?x=1",
        BANK_CB.replace("127.0.0.1", "localhost"),
        "",
    ],
)
def test_unregistered_redirect_uri_is_refused_without_redirecting(client, people, redirect_uri):
    response = client.get(authorize_url("jinfu-bank", redirect_uri, pkce_pair()[1]))
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert 'href="https://evil' not in response.get_data(as_text=True)


def test_unknown_client_is_refused(client, people):
    response = client.get(authorize_url("no-such-app", BANK_CB, pkce_pair()[1]))
    assert response.status_code == 400 and "Location" not in response.headers


def test_public_client_must_use_s256(client, people):
    cb = PUBLIC["redirect_uris"][0]
    missing = client.get(authorize_url("jinfu-public", cb, None))
    assert missing.status_code == 302 and "error=invalid_request" in missing.headers["Location"]
    plain = client.get(
        authorize_url("jinfu-public", cb, None, code_challenge="a" * 43, code_challenge_method="plain")
    )
    assert "error=invalid_request" in plain.headers["Location"]
    verifier, challenge = pkce_pair()
    client.get(authorize_url("jinfu-public", cb, challenge))
    code = code_from(client.get(sign_in(client, people.enterprise_admin).headers["Location"]))
    no_verifier = client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": cb,
            "client_id": "jinfu-public",
        },
    )
    assert no_verifier.status_code == 400
    code = code_from(client.get(authorize_url("jinfu-public", cb, challenge, nonce="n-2")))  # still signed in
    ok = client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": cb,
            "client_id": "jinfu-public",
            "code_verifier": verifier,
        },
    )
    assert ok.status_code == 200
    assert (
        _verify_independently(client, ok.get_json()["id_token"], "jinfu-public")["sub"]
        == people.enterprise_admin
    )


def test_bank_officer_must_pass_totp_before_a_code_is_issued(client, people):
    verifier, challenge = pkce_pair()
    client.get(authorize_url("jinfu-bank", BANK_CB, challenge))
    after_password = sign_in(client, people.bank_officer)
    assert after_password.headers["Location"].endswith("/login/totp")
    # Without the second factor the authorization endpoint still asks for a sign-in.
    assert client.get(authorize_url("jinfu-bank", BANK_CB, challenge)).headers["Location"].endswith("/login")
    client.get(authorize_url("jinfu-bank", BANK_CB, challenge))
    page = client.get("/login/totp")
    wrong = client.post("/login/totp", data={"code": "000000", "csrf_token": csrf_of(page)})
    assert wrong.status_code == 400
    code = pyotp.TOTP(demo_totp_secret(people.bank_officer)).now()
    done = client.post("/login/totp", data={"code": code, "csrf_token": csrf_of(page)})
    assert "/authorize?" in done.headers["Location"]
    token = _token(client, code_from(client.get(done.headers["Location"])), verifier).get_json()
    claims = _verify_independently(client, token["id_token"], "jinfu-bank")
    assert claims["amr"] == ["pwd", "otp"] and claims["org_id"] == people.bank_org_id
    assert "enterprise_id" not in claims


def test_forms_without_the_csrf_token_are_refused(client, people):
    response = client.post("/login", data={"identifier": people.enterprise_admin, "password": "x"})
    assert response.status_code == 400
    assert "请求来源" in response.get_data(as_text=True)


def test_pages_default_to_chinese_and_switch_to_english(client, people):
    zh = client.get("/login").get_data(as_text=True)
    assert "登录" in zh and 'lang="zh-CN"' in zh
    en = client.get("/login?lang=en").get_data(as_text=True)
    assert "Sign in" in en and 'lang="en"' in en
    assert "Sign in" in client.get("/login").get_data(as_text=True)  # the choice is remembered


def test_errors_are_pages_in_the_users_language_without_traceback(client, people):
    missing = client.get("/nope?lang=en")
    assert missing.status_code == 404 and "Page not found" in missing.get_data(as_text=True)
    assert "Traceback" not in missing.get_data(as_text=True)


def test_session_cookie_is_httponly_and_lax(client, people):
    response = client.get("/login")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_idle_session_times_out(client, people, monkeypatch):
    sign_in(client, people.enterprise_admin)
    assert client.get("/").status_code == 200
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 31 * 60)
    assert "/login" in client.get("/").headers["Location"]  # signed out after 30 idle minutes


def test_verifier_refuses_forged_expired_and_foreign_tokens(client, people, signing_pem):
    from joserfc import jwt
    from joserfc.jwk import RSAKey

    jwks = client.get("/jwks").get_json()
    verifier = IdTokenVerifier(ISSUER, "jinfu-bank", jwks=jwks)
    own = RSAKey.import_key(signing_pem)
    own.ensure_kid()
    now = int(time.time())
    good = {"iss": ISSUER, "aud": "jinfu-bank", "sub": "u", "iat": now, "exp": now + 60}
    header = {"alg": "RS256", "kid": own.kid}
    assert verifier.verify(jwt.encode(header, good, own))["sub"] == "u"
    stranger = RSAKey.generate_key(2048, private=True)
    stranger_header = {"alg": "RS256", "kid": own.kid}  # claims to be our key
    bad_tokens = [
        jwt.encode(stranger_header, good, stranger),  # wrongly signed
        jwt.encode(header, {**good, "exp": now - 120, "iat": now - 600}, own),  # expired
        jwt.encode(header, {**good, "aud": "jinfu-regulator"}, own),  # for another app
        jwt.encode(header, {**good, "iss": "http://evil.example"}, own),  # another issuer
        jwt.encode({"alg": "HS256"}, good, "a" * 32) if False else "a.b.c",  # garbage
    ]
    token = jwt.encode(header, good, own)
    head, payload, sig = token.split(".")
    bad_tokens.append(f"{head}.{payload[:-2]}xx.{sig}")  # payload tampered
    for bad in bad_tokens:
        with pytest.raises(IdTokenInvalidError):
            verifier.verify(bad)
    unsigned = "eyJhbGciOiJub25lIn0." + payload + "."
    with pytest.raises(IdTokenInvalidError):
        verifier.verify(unsigned)
