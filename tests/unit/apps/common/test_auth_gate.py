"""The sign-in gate under AppTest: ``st.user`` seeded with claims (AppTest cannot run OIDC).

The gate looks the signed-in subject up in the platform (its user id, and whether it is still
active), so these tests read the small seeded database, where ``demo-bank_officer-1`` exists.

The script is a router in small: ``resolve`` then ``router_pages`` with no page specs, so a signed-in
person of the right role lands on the "no pages" page — enough to see the actor, the sidebar and
the gate pages without the seeded database.
"""

from __future__ import annotations

import time

import pytest
from streamlit.testing.v1 import AppTest

from core.auth import Actor


@pytest.fixture(autouse=True)
def _platform_users(seeded_db):
    """The seeded database holds the demo subjects the claims below name."""


def router(app: str = "bank") -> None:
    import streamlit as st

    from apps.common import auth

    verdict = auth.resolve(app)
    st.navigation(auth.router_pages(app, verdict, []), position="top").run()


def claims(**changes) -> dict:
    now = int(time.time())
    base = {
        "is_logged_in": True,
        "sub": "demo-bank_officer-1",
        "name": "张三",
        "org_name": "中国工商银行深州市支行",
        "roles": ["bank_officer"],
        "org_id": 2,
        "iat": now - 5,
        "auth_time": now - 5,
        "nonce": "n",
    }
    base.update(changes)
    return base


def run(user: dict | None = None, *, lang: str | None = None, seeded: Actor | None = None) -> AppTest:
    at = AppTest.from_function(router, default_timeout=30)
    if user is not None:
        at.user = user
    if seeded is not None:
        at.session_state["actor"] = seeded
    if lang:
        at.query_params["lang"] = lang
    return at.run()


def test_signed_in_person_gets_an_actor_and_a_sign_out_button():
    at = run(claims())
    assert not at.exception, [e.value for e in at.exception]
    actor = at.session_state["actor"]
    assert actor.roles == frozenset({"bank_officer"}) and actor.organization_id == 2
    assert actor.user_id is not None, "audit rows must name the signed-in user"
    assert [b.label for b in at.sidebar.button] == ["退出登录"]
    assert "张三" in " ".join(m.value for m in at.sidebar.markdown)


def test_sign_out_ends_the_sign_in_and_it_cannot_come_back():
    user = claims()
    at = run(user)
    at.sidebar.button[0].click().run()
    assert "actor" not in at.session_state
    # The same cookie presented again (another tab, a copied cookie) no longer signs anybody in.
    again = run(user)
    assert "actor" not in again.session_state
    assert again.subheader[0].value == "登录"


def test_nobody_signed_in_sees_only_the_sign_in_page():
    at = run({"is_logged_in": False})
    assert not at.exception
    assert "actor" not in at.session_state
    assert at.subheader[0].value == "登录"
    assert [b.label for b in at.button] == ["登录"]
    assert any("金融机构工作人员" in m.value for m in at.markdown)


def test_sign_in_page_in_english():
    at = run({"is_logged_in": False}, lang="en")
    assert at.subheader[0].value == "Sign in"
    assert [b.label for b in at.button] == ["Sign in"]


def test_wrong_role_gets_the_not_for_you_page_with_a_sign_out_button():
    at = run(claims(roles=["enterprise_user"], org_name="阜城县利恒服饰有限公司"))
    assert "actor" not in at.session_state
    assert at.subheader[0].value == "此应用不适用于您的账号"
    warning = at.warning[0].value
    assert (
        "金融机构工作人员" in warning and "张三 · 阜城县利恒服饰有限公司" in warning and "企业用户" in warning
    )
    assert [b.label for b in at.button] == ["退出登录"]


def test_an_idle_session_is_sent_back_to_sign_in_with_a_message(monkeypatch):
    monkeypatch.setenv("APP_IDLE_TIMEOUT_MINUTES", "30")
    old = int(time.time()) - 31 * 60
    at = run(claims(iat=old, auth_time=old))
    assert "actor" not in at.session_state
    assert "30 分钟未操作" in at.warning[0].value
    assert [b.label for b in at.button] == ["重新登录"]


def test_an_old_sign_in_is_sent_back_to_sign_in(monkeypatch):
    monkeypatch.setenv("APP_SESSION_MAX_HOURS", "8")
    at = run(claims(auth_time=int(time.time()) - 9 * 3600))
    assert "8 小时" in at.warning[0].value
    assert "actor" not in at.session_state


def test_activity_keeps_the_session_alive_across_sessions(monkeypatch):
    monkeypatch.setenv("APP_IDLE_TIMEOUT_MINUTES", "1")
    now = int(time.time())
    user = claims(iat=now - 50, auth_time=now - 50)
    monkeypatch.setattr(time, "time", lambda: now)
    assert "actor" in run(user).session_state  # activity recorded in the shared store now
    monkeypatch.setattr(time, "time", lambda: now + 40)  # 90 s after the token, 40 s after the activity
    assert "actor" in run(user).session_state  # a new session (tab) sees the other one's activity
    monkeypatch.setattr(time, "time", lambda: now + 140)  # 100 s after the last activity
    assert "actor" not in run(user).session_state


def test_a_seeded_test_actor_is_used_when_sign_in_is_not_configured():
    actor = Actor(user_id=7, label="seeded", roles=frozenset({"bank_officer"}), organization_id=2)
    at = run(seeded=actor)
    assert at.session_state["actor"] == actor
    assert [b.label for b in at.sidebar.button] == ["退出登录"]


def test_without_sign_in_settings_nobody_gets_in_and_production_ignores_seeded_actors(monkeypatch):
    at = run()
    assert "actor" not in at.session_state
    assert "尚未配置统一身份认证" in at.error[0].value
    monkeypatch.setenv("JINFU_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-real-secret-for-this-test-0123456789")
    monkeypatch.setenv("COOKIE_SECRET", "a-real-cookie-secret-for-this-test-0123")
    from core.config import get_settings

    get_settings.cache_clear()
    seeded = Actor(user_id=7, label="seeded", roles=frozenset({"bank_officer"}), organization_id=2)
    at = run(seeded=seeded)
    assert "actor" not in at.session_state
    assert not at.caption or all("make run" not in c.value for c in at.caption)


def test_the_streamlit_oidc_client_can_be_imported():
    """st.login needs Authlib's Starlette client and its HTTP library (httpx2, or httpx)."""
    pytest.importorskip("authlib")
    from authlib.integrations import starlette_client  # noqa: F401


def test_a_deactivated_or_unknown_account_is_not_let_in():
    at = run(claims(sub="no-such-user"))
    assert not at.exception, [e.value for e in at.exception]
    assert "actor" not in at.session_state
