"""Identity use cases on both databases: lock-out, rate limits, sign-up, reset, TOTP — bad input stores nothing."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import func
from sqlmodel import select

from core.auth import SYSTEM_ACTOR
from core.db import session_scope
from core.errors import ValidationErrors
from core.models import Credential, LoginAttempt, Notification, Organization, User, VerificationCode
from core.models.types import utcnow
from core.services import identity as svc
from tests import factories
from tests.integration.sso.conftest import PASSWORD

ANON = svc.anonymous_actor("10.0.0.1")


def _login(identifier, password=PASSWORD, address="10.0.0.1"):
    return svc.authenticate(actor=ANON, identifier=identifier, password=password, client_address=address)


def _counts() -> dict[str, int]:
    with session_scope() as s:
        return {
            m.__name__: s.exec(select(func.count()).select_from(m)).one()
            for m in (Organization, User, Credential)
        }


def _last_code(email: str) -> str:
    """The code as the outbox notifier delivered it (development's 'inbox')."""
    with session_scope() as s:
        note = s.exec(select(Notification).order_by(Notification.id.desc())).first()
    assert note.payload["target"] == email
    return next(word for word in note.body.replace("，", " ").split() if word.isdigit() and len(word) == 6)


def _shift_code(email: str, **delta) -> None:
    with session_scope() as s:
        row = s.exec(
            select(VerificationCode)
            .where(VerificationCode.target == email)
            .order_by(VerificationCode.id.desc())
        ).first()
        row.created_at -= timedelta(**delta)
        row.expires_at -= timedelta(**delta)
        s.add(row)


# ------------------------------------------------------------------------- sign-in


def test_sign_in_by_subject_email_or_phone(people):
    assert _login(people.enterprise_admin).subject == people.enterprise_admin
    assert _login("ENT-ADMIN@example.cn").subject == people.enterprise_admin
    assert _login("+86 138-0000-0001").subject == people.enterprise_admin


def test_unknown_account_and_wrong_password_get_the_same_message(people):
    with pytest.raises(svc.AuthenticationFailedError) as unknown:
        _login("nobody-here")
    with pytest.raises(svc.AuthenticationFailedError) as wrong:
        _login(people.enterprise_admin, "Wrong-password-1")
    assert unknown.value.message("en") == wrong.value.message("en")


def test_five_consecutive_failures_lock_the_account_until_the_lock_expires(people):
    for _ in range(4):
        with pytest.raises(svc.AuthenticationFailedError):
            _login(people.enterprise_admin, "Wrong-password-1")
    with pytest.raises(svc.AccountLockedError):
        _login(people.enterprise_admin, "Wrong-password-1")
    with pytest.raises(svc.AccountLockedError) as locked:  # even the right password, while locked
        _login(people.enterprise_admin)
    assert "15" in locked.value.message("en")
    with session_scope() as s:  # the lock period passes
        cred = s.exec(select(Credential).join(User).where(User.subject == people.enterprise_admin)).one()
        cred.locked_until = utcnow() - timedelta(seconds=1)
        s.add(cred)
    assert _login(people.enterprise_admin).subject == people.enterprise_admin


def test_a_success_resets_the_consecutive_failure_count(people):
    for _ in range(4):
        with pytest.raises(svc.AuthenticationFailedError):
            _login(people.enterprise_admin, "Wrong-password-1")
    _login(people.enterprise_admin)
    with pytest.raises(svc.AuthenticationFailedError):  # the fifth failure overall is not the fifth in a row
        _login(people.enterprise_admin, "Wrong-password-1")


def test_max_failures_above_five_is_refused_by_the_policy(monkeypatch):
    monkeypatch.setenv("SSO_MAX_FAILURES", "30")
    with pytest.raises(ValueError):
        svc.policy()


def test_failures_from_one_address_are_rate_limited_across_accounts(people, monkeypatch):
    monkeypatch.setenv("SSO_RATE_LIMIT_PER_ADDRESS", "6")
    for n in range(6):
        with pytest.raises(svc.AuthenticationFailedError):
            _login(f"guess-{n}", "Wrong-password-1", address="203.0.113.9")
    with pytest.raises(svc.RateLimitedError):  # even a correct password, from that address
        _login(people.enterprise_admin, address="203.0.113.9")
    assert _login(people.enterprise_admin, address="198.51.100.7").subject == people.enterprise_admin


def test_failures_for_one_account_are_rate_limited_across_addresses(people, monkeypatch):
    monkeypatch.setenv("SSO_RATE_LIMIT_PER_ACCOUNT", "3")
    for n in range(3):
        with pytest.raises(svc.AuthenticationFailedError):
            _login("someone@example.cn", "Wrong-password-1", address=f"203.0.113.{n}")
    with pytest.raises(svc.RateLimitedError):
        _login("someone@example.cn", "Wrong-password-1", address="203.0.113.99")
    with session_scope() as s:
        assert s.exec(select(func.count()).select_from(LoginAttempt)).one() == 4


def test_deactivated_user_cannot_sign_in(people):
    with session_scope() as s:
        user = s.exec(select(User).where(User.subject == people.enterprise_admin)).one()
        user.is_active = False
        s.add(user)
    with pytest.raises(svc.AccountDisabledError):
        _login(people.enterprise_admin)


# ------------------------------------------------------------------------------ TOTP


def test_totp_is_required_for_bank_regulator_and_operator_roles():
    for role in (
        "bank_officer",
        "bank_manager",
        "bank_admin",
        "regulator_analyst",
        "regulator_admin",
        "operator",
    ):
        assert svc.totp_required([role]), role
    assert not svc.totp_required(["enterprise_user"]) and not svc.totp_required(["enterprise_admin"])


def test_totp_codes_are_checked_single_use_and_count_toward_lock_out(people):
    identity = _login(people.bank_officer)
    assert identity.totp_required and identity.totp_enrolled
    totp = pyotp.TOTP(svc.demo_totp_secret(people.bank_officer))
    code = totp.now()
    done = svc.verify_totp(actor=ANON, user_id=identity.user_id, code=code, client_address="10.0.0.1")
    assert done.subject == people.bank_officer
    with pytest.raises(svc.TotpInvalidError):  # the same code again: replay
        svc.verify_totp(actor=ANON, user_id=identity.user_id, code=code, client_address="10.0.0.1")
    for _ in range(3):
        with pytest.raises(svc.TotpInvalidError):
            svc.verify_totp(
                actor=ANON,
                user_id=identity.user_id,
                code="123456" if code != "123456" else "654321",
                client_address="10.0.0.1",
            )
    with pytest.raises(svc.AccountLockedError):
        svc.verify_totp(
            actor=ANON,
            user_id=identity.user_id,
            code="000000" if code != "000000" else "111111",
            client_address="10.0.0.1",
        )


def test_enrolment_shows_a_new_secret_confirmed_by_one_code(db):
    with session_scope() as s:
        bank = factories.institution(s)
        user = factories.user(s, bank, ["regulator_admin"], subject="reg-admin-x")
        uid = user.id
    svc.set_password(actor=SYSTEM_ACTOR, user_id=uid, password=PASSWORD)
    identity = _login("reg-admin-x")
    assert identity.totp_required and not identity.totp_enrolled
    enrolment = svc.enroll_totp(actor=ANON, user_id=uid)
    assert enrolment.uri.startswith("otpauth://totp/") and enrolment.secret in enrolment.uri
    with session_scope() as s:  # never stored in the clear
        stored = s.exec(select(Credential).where(Credential.user_id == uid)).one().totp_secret_enc
    assert enrolment.secret not in stored
    svc.verify_totp(
        actor=ANON, user_id=uid, code=pyotp.TOTP(enrolment.secret).now(), client_address="10.0.0.1"
    )
    assert svc.identity_for_user(actor=ANON, user_id=uid).totp_enrolled
    with pytest.raises(svc.TotpAlreadyEnrolledError):
        svc.enroll_totp(actor=ANON, user_id=uid)


def test_demo_totp_secrets_do_not_exist_in_production(monkeypatch):
    monkeypatch.setenv("JINFU_ENV", "production")
    from core.config import get_settings

    get_settings.cache_clear()
    with pytest.raises(svc.ForbiddenError):
        svc.demo_totp_secret("demo-bank_officer-1")


# ----------------------------------------------------------------------------- sign-up


def _form(people, **overrides) -> svc.EnterpriseSignup:
    fields = {
        "credit_code": people.credit_code_free,
        "enterprise_name": people.name_free,
        "contact_name": "王五",
        "email": "new-firm@example.cn",
        "phone": "13900000009",
    }
    fields.update(overrides)
    return svc.EnterpriseSignup(**fields)


def _request(form):
    svc.request_verification_code(actor=ANON, purpose="signup", signup=form, client_address="10.0.0.1")


def test_enterprise_signs_up_with_an_emailed_code(people):
    form = _form(people)
    _request(form)
    code = _last_code("new-firm@example.cn")
    with session_scope() as s:
        stored = s.exec(select(VerificationCode)).all()
    assert all(code not in row.code_hash for row in stored)  # hashed
    identity = svc.register_enterprise(actor=ANON, signup=form, code=code, password="Firm-password-77")
    assert identity.roles == ("enterprise_admin",)
    assert identity.organization_kind == "enterprise"
    assert identity.organization_name == people.name_free
    assert identity.enterprise_id is not None  # linked to the enterprise's record
    assert _login("new-firm@example.cn", "Firm-password-77").user_id == identity.user_id


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"credit_code": "91131102MA00001490"}, "credit_code"),  # wrong check character
        ({"credit_code": "91131102ma0000149x"}, "credit_code"),  # lower case
        ({"credit_code": "123"}, "credit_code"),
        ({"enterprise_name": "<script>alert(1)</script>有限公司"}, "enterprise_name"),
        ({"enterprise_name": "衡水<b>企业</b>"}, "enterprise_name"),
        ({"enterprise_name": "企" * 121}, "enterprise_name"),
        ({"contact_name": "<img src=x onerror=alert(1)>"}, "contact_name"),
        ({"contact_name": "名" * 41}, "contact_name"),
        ({"email": "not-an-address"}, "email"),
        ({"email": "a" * 196 + "@x.cn"}, "email"),
        ({"phone": "12345"}, "phone"),
        ({"enterprise_name": ""}, "enterprise_name"),
    ],
)
def test_malformed_sign_up_input_is_refused_and_stores_nothing(people, overrides, field):
    before = _counts()
    with pytest.raises(ValidationErrors) as refused:
        _request(_form(people, **overrides))
    assert field in refused.value.messages("zh_CN")
    assert all(refused.value.messages("en").values())
    with pytest.raises(ValidationErrors):
        svc.register_enterprise(
            actor=ANON, signup=_form(people, **overrides), code="123456", password="Firm-password-77"
        )
    assert _counts() == before
    with session_scope() as s:
        assert s.exec(select(func.count()).select_from(VerificationCode)).one() == 0


def test_an_enterprise_already_registered_is_refused(people):
    with session_scope() as s:
        from core.models import Enterprise

        registered = s.get(Enterprise, people.enterprise_id)
        code, name = registered.credit_code, registered.name
    before = _counts()
    with pytest.raises(svc.EnterpriseAlreadyRegisteredError):
        _request(_form(people, credit_code=code, enterprise_name=name))
    assert _counts() == before


def test_a_name_contradicting_the_record_is_refused(people):
    with pytest.raises(svc.EnterpriseNameMismatchError):
        _request(_form(people, enterprise_name="完全不同的公司"))


def test_wrong_reused_and_expired_codes_store_nothing(people):
    form = _form(people)
    _request(form)
    code = _last_code("new-firm@example.cn")
    before = _counts()
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(svc.VerificationCodeError) as err:
        svc.register_enterprise(actor=ANON, signup=form, code=wrong, password="Firm-password-77")
    assert err.value.key == "sso.error.code_wrong"
    _shift_code("new-firm@example.cn", minutes=11)
    with pytest.raises(svc.VerificationCodeError) as err:
        svc.register_enterprise(actor=ANON, signup=form, code=code, password="Firm-password-77")
    assert err.value.key == "sso.error.code_expired"
    assert _counts() == before
    # Reuse: a reset code works once.
    svc.request_verification_code(
        actor=ANON, purpose="reset", email="ent-admin@example.cn", client_address="10.0.0.1"
    )
    reset_code = _last_code("ent-admin@example.cn")
    svc.reset_password(
        actor=ANON, email="ent-admin@example.cn", code=reset_code, new_password="Another-pass-99"
    )
    with pytest.raises(svc.VerificationCodeError) as err:
        svc.reset_password(
            actor=ANON, email="ent-admin@example.cn", code=reset_code, new_password="Third-pass-100"
        )
    assert err.value.key == "sso.error.code_used"


def test_a_code_dies_after_five_wrong_tries(people):
    form = _form(people)
    _request(form)
    code = _last_code("new-firm@example.cn")
    before = _counts()
    for _ in range(5):
        with pytest.raises(svc.VerificationCodeError):
            svc.register_enterprise(
                actor=ANON,
                signup=form,
                code="999999" if code != "999999" else "888888",
                password="Firm-password-77",
            )
    with pytest.raises(svc.VerificationCodeError) as err:
        svc.register_enterprise(actor=ANON, signup=form, code=code, password="Firm-password-77")
    assert err.value.key == "sso.error.code_exhausted"
    assert _counts() == before


def test_codes_are_rate_limited_per_target(people, monkeypatch):
    monkeypatch.setenv("SSO_CODES_PER_TARGET_PER_HOUR", "2")
    form = _form(people)
    _request(form)
    _request(form)
    with pytest.raises(svc.RateLimitedError):
        _request(form)


def test_weak_password_is_refused_at_sign_up(people):
    form = _form(people)
    _request(form)
    with pytest.raises(ValidationErrors) as refused:
        svc.register_enterprise(actor=ANON, signup=form, code=_last_code(form.email), password="short1")
    assert "password" in refused.value.messages("en")


# ---------------------------------------------------------------------------- password reset


def test_password_reset_sets_the_new_password_and_lifts_a_lock(people):
    for _ in range(5):
        with pytest.raises((svc.AuthenticationFailedError, svc.AccountLockedError)):
            _login(people.enterprise_admin, "Wrong-password-1")
    svc.request_verification_code(
        actor=ANON, purpose="reset", email="ent-admin@example.cn", client_address="10.0.0.1"
    )
    svc.reset_password(
        actor=ANON,
        email="ent-admin@example.cn",
        code=_last_code("ent-admin@example.cn"),
        new_password="Brand-new-pass-1",
    )
    assert _login(people.enterprise_admin, "Brand-new-pass-1").subject == people.enterprise_admin
    with pytest.raises(svc.AuthenticationFailedError):
        _login(people.enterprise_admin)  # the old password is gone


def test_reset_for_an_unknown_address_looks_the_same_and_sends_nothing(people):
    svc.request_verification_code(
        actor=ANON, purpose="reset", email="ghost@example.cn", client_address="10.0.0.1"
    )
    with session_scope() as s:
        assert s.exec(select(func.count()).select_from(Notification)).one() == 0
        assert s.exec(select(func.count()).select_from(VerificationCode)).one() == 0


def test_demo_credentials_are_idempotent(people):
    assert svc.ensure_demo_credentials(actor=SYSTEM_ACTOR, password=PASSWORD) == 3
    assert svc.ensure_demo_credentials(actor=SYSTEM_ACTOR, password=PASSWORD) == 3
    with session_scope() as s:
        assert s.exec(select(func.count()).select_from(Credential)).one() == 3


def test_enterprise_users_cannot_set_passwords(people):
    from tests.factories import actor

    with pytest.raises(svc.ForbiddenError):
        svc.set_password(actor=actor("enterprise_admin"), user_id=1, password=PASSWORD)
