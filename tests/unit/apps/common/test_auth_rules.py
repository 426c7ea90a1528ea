"""The Streamlit apps' session rules (``apps.common.auth.evaluate``), checked on plain claims."""

from __future__ import annotations

import pytest

from apps.common.auth import SessionPolicy, Status, evaluate, signin_key

NOW = 1_900_000_000.0
POLICY = SessionPolicy(session_max_hours=8, idle_timeout_minutes=30)


def claims(**changes) -> dict:
    base = {
        "is_logged_in": True,
        "iss": "http://127.0.0.1:8100",
        "aud": "jinfu-bank",
        "sub": "demo-bank_officer-1",
        "name": "张三",
        "org_name": "中国工商银行深州市支行",
        "roles": ["bank_officer"],
        "org_id": 2,
        "locale": "zh-CN",
        "iat": int(NOW) - 60,
        "auth_time": int(NOW) - 90,
        "nonce": "n-1",
        "provider": "jinfu",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def judge(c: dict | None, *, app: str = "bank", last: float | None = None, signed_out: bool = False):
    return evaluate(
        c, app=app, client_id="jinfu-bank", now=NOW, last_activity=last, signed_out=signed_out, policy=POLICY
    )


def test_fresh_sign_in_gives_the_actor_of_the_claims():
    verdict = judge(claims())
    assert verdict.status == Status.signed_in
    assert verdict.actor.roles == frozenset({"bank_officer"}) and verdict.actor.organization_id == 2
    assert verdict.name == "张三" and verdict.org_name == "中国工商银行深州市支行"
    assert verdict.started_at == NOW - 90 and verdict.issued_at == NOW - 60


@pytest.mark.parametrize("value", [None, {}, {"is_logged_in": False}, {"email": "test@example.com"}])
def test_no_sign_in_means_signed_out(value):
    assert judge(value).status == Status.signed_out


def test_claims_meant_for_another_app_do_not_sign_in():
    assert judge(claims(aud="jinfu-enterprise")).status == Status.signed_out
    assert judge(claims(aud=["jinfu-regulator", "jinfu-bank"])).status == Status.signed_in


def test_absolute_lifetime_counts_from_authentication():
    old = claims(auth_time=int(NOW - 8 * 3600 - 1), iat=int(NOW - 60))
    assert judge(old, last=NOW - 5).status == Status.expired_absolute
    without_auth_time = claims(auth_time=None, iat=int(NOW - 9 * 3600))
    assert judge(without_auth_time, last=NOW).status == Status.expired_absolute


def test_idle_timeout_counts_from_the_last_activity_or_the_token():
    stale = claims(iat=int(NOW - 31 * 60), auth_time=int(NOW - 31 * 60))
    assert judge(stale).status == Status.expired_idle  # a cookie found again after 31 minutes
    assert judge(stale, last=NOW - 29 * 60).status == Status.signed_in
    assert judge(stale, last=NOW - 31 * 60).status == Status.expired_idle


def test_a_sign_in_ended_by_sign_out_cannot_be_replayed():
    assert judge(claims(), last=NOW, signed_out=True).status == Status.signed_out


def test_a_role_the_app_does_not_serve_gets_the_not_for_you_verdict():
    verdict = judge(claims(roles=["enterprise_user"], aud="jinfu-bank"))
    assert verdict.status == Status.wrong_app
    assert verdict.roles == ("enterprise_user",)
    assert judge(claims(roles=["system"])).status == Status.wrong_app  # never granted from a token


def test_malformed_claims_sign_nobody_in():
    assert judge(claims(roles={"bank_officer": True})).status == Status.signed_out
    assert judge(claims(iat="yesterday", auth_time=None)).status == Status.signed_out
    assert judge(claims(org_id="not-a-number")).status == Status.signed_out


def test_sign_in_key_differs_per_sign_in():
    assert signin_key(claims()) == signin_key(claims())
    assert signin_key(claims()) != signin_key(claims(iat=int(NOW)))
    assert signin_key(claims()) != signin_key(claims(nonce="n-2"))


def test_policy_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("APP_SESSION_MAX_HOURS", "2")
    monkeypatch.setenv("APP_IDLE_TIMEOUT_MINUTES", "5")
    policy = SessionPolicy()
    assert policy.max_seconds == 7200 and policy.idle_seconds == 300
