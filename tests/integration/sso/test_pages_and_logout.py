"""The provider's pages through HTTP: sign-up and reset forms, TOTP enrolment, RP-initiated logout."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pyotp
from sqlmodel import select

from core.auth import SYSTEM_ACTOR
from core.db import session_scope
from core.models import Notification
from core.services import identity as svc
from tests import factories
from tests.integration.sso.conftest import (
    CONFIDENTIAL,
    PASSWORD,
    authorize_url,
    code_from,
    csrf_of,
    pkce_pair,
    sign_in,
)

BANK_CB = CONFIDENTIAL["redirect_uris"][0]


def _id_token(client, people) -> str:
    verifier, challenge = pkce_pair()
    client.get(authorize_url("jinfu-bank", BANK_CB, challenge))
    code = code_from(client.get(sign_in(client, people.enterprise_admin).headers["Location"]))
    token = client.post(
        "/token",
        auth=("jinfu-bank", CONFIDENTIAL["client_secret"]),
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": BANK_CB,
            "code_verifier": verifier,
        },
    )
    return token.get_json()["id_token"]


def _mailed_code() -> str:
    with session_scope() as s:
        body = s.exec(select(Notification).order_by(Notification.id.desc())).first().body
    return re.search(r"\b(\d{6})\b", body).group(1)


def test_logout_with_a_registered_post_logout_uri_redirects_there(client, people):
    token = _id_token(client, people)
    response = client.get(
        "/logout?"
        + urlencode(
            {
                "id_token_hint": token,
                "post_logout_redirect_uri": BANK_CB,
                "client_id": "jinfu-bank",
                "state": "bye",
            }
        )
    )
    assert response.status_code == 302 and response.headers["Location"] == BANK_CB + "?state=bye"
    assert client.get("/").headers["Location"].endswith("/login")  # the provider session is gone


def test_logout_with_an_unregistered_post_logout_uri_does_not_redirect(client, people):
    token = _id_token(client, people)
    response = client.get(
        "/logout?" + urlencode({"id_token_hint": token, "post_logout_redirect_uri": "https://evil.example/"})
    )
    assert response.status_code == 200 and "Location" not in response.headers
    assert client.get("/").headers["Location"].endswith("/login")


def test_logout_with_a_forged_hint_is_refused(client, people):
    token = _id_token(client, people)
    head, payload, sig = token.split(".")
    response = client.get(
        "/logout?"
        + urlencode(
            {"id_token_hint": f"{head}.{payload}.{sig[:-4]}AAAA", "post_logout_redirect_uri": BANK_CB}
        )
    )
    assert response.status_code == 400 and "Location" not in response.headers


def test_logout_without_a_hint_asks_first_and_never_redirects(client, people):
    sign_in(client, people.enterprise_admin)
    page = client.get(
        "/logout?" + urlencode({"post_logout_redirect_uri": BANK_CB, "client_id": "jinfu-bank"})
    )
    assert page.status_code == 200 and "Location" not in page.headers
    done = client.post("/logout", data={"csrf_token": csrf_of(page)})
    assert done.status_code == 200 and "Location" not in done.headers
    assert client.get("/").headers["Location"].endswith("/login")


def test_sign_up_through_the_pages_in_english(client, people):
    page = client.get("/signup?lang=en")
    form = {
        "credit_code": people.credit_code_free,
        "enterprise_name": people.name_free,
        "contact_name": "Wang Wu",
        "email": "firm@example.cn",
        "phone": "",
        "action": "send_code",
        "csrf_token": csrf_of(page),
    }
    sent = client.post("/signup", data=form)
    assert sent.status_code == 200 and "firm@example.cn" in sent.get_data(as_text=True)
    done = client.post(
        "/signup",
        data={
            "action": "register",
            "code": _mailed_code(),
            "password": "Secure-pass-2026x",
            "password2": "Secure-pass-2026x",
            "csrf_token": csrf_of(sent),
        },
    )
    assert done.status_code == 200 and "Registration complete" in done.get_data(as_text=True)
    assert client.get("/").status_code == 302  # registered, not yet signed in
    assert sign_in(client, "firm@example.cn", "Secure-pass-2026x").headers["Location"] == "/"


def test_sign_up_page_shows_the_markup_error_next_to_the_field_escaped(client, people):
    page = client.get("/signup")
    form = {
        "credit_code": people.credit_code_free,
        "enterprise_name": "<script>alert(1)</script>",
        "contact_name": "王五",
        "email": "firm@example.cn",
        "action": "send_code",
        "csrf_token": csrf_of(page),
    }
    response = client.post("/signup", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "不能包含 HTML" in html and "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html  # the value is shown back, escaped


def test_password_reset_through_the_pages(client, people):
    page = client.get("/reset")
    sent = client.post(
        "/reset", data={"email": "ent-admin@example.cn", "action": "send_code", "csrf_token": csrf_of(page)}
    )
    assert sent.status_code == 200
    done = client.post(
        "/reset",
        data={
            "action": "reset",
            "code": _mailed_code(),
            "new_password": "Brand-new-pass-1",
            "new_password2": "Brand-new-pass-1",
            "csrf_token": csrf_of(sent),
        },
    )
    assert done.status_code == 200 and "密码已重置" in done.get_data(as_text=True)
    assert sign_in(client, people.enterprise_admin, "Brand-new-pass-1").status_code == 302


def test_a_new_regulator_enrols_totp_on_first_sign_in(client, people):
    with session_scope() as s:
        reg = factories.institution(s)
        uid = factories.user(s, reg, ["regulator_admin"], subject="reg-new").id
    svc.set_password(actor=SYSTEM_ACTOR, user_id=uid, password=PASSWORD)
    assert sign_in(client, "reg-new").headers["Location"].endswith("/login/totp/enroll")
    page = client.get("/login/totp/enroll")
    secret = re.search(r'class="secret"[^>]*>([A-Z2-7]+)<', page.get_data(as_text=True)).group(1)
    done = client.post(
        "/login/totp/enroll", data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_of(page)}
    )
    assert done.headers["Location"] == "/"
    assert "已启用" in client.get("/").get_data(as_text=True)
