"""Operator user administration and the shared row rules, on both databases.

Covers ``core.services.admin`` (organizations, users, roles, lock-out, deactivation, the audit log
and its chain status) and the act/fit predicates of ``core.auth.rules``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import select

from core.auth import Actor, Role
from core.auth import rules as auth_rules
from core.db import session_scope
from core.errors import ForbiddenError, InvalidError, NotFoundError, StaleVersionError, ValidationErrors
from core.models import AuditEvent, Credential, OAuthToken, Organization, User
from core.models.types import OrgKind, utcnow
from core.services import admin, identity
from core.services.audit import verify_chain
from tests import factories

PASSWORD = "Admin-Test-2026x"


@pytest.fixture(autouse=True)
def _fast_hashing(monkeypatch):
    monkeypatch.setenv("SSO_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("SSO_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("SSO_ARGON2_PARALLELISM", "1")


@dataclass
class Platform:
    operator: Actor
    operator_user_id: int
    regulator_admin: Actor
    operator_org_id: int
    regulator_org_id: int
    bank_id: int
    branch_id: int
    enterprise_org_id: int
    enterprise_id: int
    officer_id: int  # a bank officer of the branch, with a password


@pytest.fixture
def platform(db) -> Platform:
    with session_scope() as s:
        op_org = factories.institution(s, kind=OrgKind.operator, name="运营中心")
        reg_org = factories.institution(s, kind=OrgKind.regulator, name="金融监督管理局")
        bank = factories.institution(s, kind=OrgKind.bank, name="衡水测试银行", name_en="Test Bank")
        branch = factories.institution(s, kind=OrgKind.bank, parent_id=bank.id, name="衡水测试银行桃城支行")
        ent = factories.enterprise(s)
        ent_org = factories.institution(s, kind=OrgKind.enterprise, enterprise_id=ent.id)
        op_user = factories.user(s, op_org, [Role.operator.value])
        reg_user = factories.user(s, reg_org, [Role.regulator_admin.value])
        officer = factories.user(s, branch, [Role.bank_officer.value], email="officer@bank.example")
        s.add(Credential(user_id=officer.id, password_hash=identity.hash_password(PASSWORD)))
        ids = {
            "op": (op_user.id, op_org.id),
            "reg": (reg_user.id, reg_org.id),
        }
        result = Platform(
            operator=Actor(ids["op"][0], "op", frozenset({"operator"}), organization_id=ids["op"][1]),
            operator_user_id=ids["op"][0],
            regulator_admin=Actor(
                ids["reg"][0], "reg-admin", frozenset({"regulator_admin"}), organization_id=ids["reg"][1]
            ),
            operator_org_id=op_org.id,
            regulator_org_id=reg_org.id,
            bank_id=bank.id,
            branch_id=branch.id,
            enterprise_org_id=ent_org.id,
            enterprise_id=ent.id,
            officer_id=officer.id,
        )
    return result


def _events(action: str | None = None) -> list[AuditEvent]:
    with session_scope() as s:
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        return list(s.exec(query).all())


def _sign_in(subject: str, password: str = PASSWORD):
    return identity.authenticate(
        actor=identity.anonymous_actor("10.1.1.1"),
        identifier=subject,
        password=password,
        client_address="10.1.1.1",
    )


# ------------------------------------------------------------------------------------ create


def test_admin_creates_a_bank_user_who_can_then_sign_in(platform):
    created = admin.create_user(
        actor=platform.regulator_admin,
        organization_id=platform.bank_id,
        subject="  Li.Si@Bank ",
        display_name="李四",
        roles=["bank_manager", "bank_officer", "bank_officer"],
        email="lisi@Bank.example",
        password=PASSWORD,
    )
    assert created.subject == "li.si@bank"
    assert created.roles == ["bank_officer", "bank_manager"]  # Role order, no duplicates
    assert _sign_in("li.si@bank").user_id == created.id
    [event] = _events("admin.user_created")
    assert event.entity_id == str(created.id) and event.actor_user_id == platform.regulator_admin.user_id
    assert event.after["roles"] == ["bank_manager", "bank_officer"] and event.after["password_set"] is True
    assert PASSWORD not in str(event.after)
    assert verify_chain(_events()) is None


def test_a_role_that_does_not_fit_the_organization_is_refused_with_a_clear_message(platform):
    with pytest.raises(ValidationErrors) as info:
        admin.create_user(
            actor=platform.operator,
            organization_id=platform.enterprise_org_id,
            subject="wrong.fit",
            display_name="王五",
            roles=["bank_officer", "enterprise_user"],
        )
    [error] = info.value.errors
    assert isinstance(error, admin.RoleMisfitError) and error.field == "roles"
    assert "客户经理" in error.message("zh_CN") and "企业" in error.message("zh_CN")
    assert "Loan officer" in error.message("en") or "officer" in error.message("en").lower()
    assert "enterprise" in error.message("en").lower()
    with session_scope() as s:
        assert s.exec(select(User).where(User.subject == "wrong.fit")).first() is None
    assert _events("admin.user_created") == []


@pytest.mark.parametrize(
    ("kind", "role", "fits"),
    [
        (OrgKind.bank, Role.bank_officer, True),
        (OrgKind.leasing, Role.bank_manager, True),
        (OrgKind.guarantee, Role.guarantee_staff, True),
        (OrgKind.bank, Role.guarantee_staff, False),
        (OrgKind.insurer, Role.insurer_staff, True),
        (OrgKind.enterprise, Role.enterprise_admin, True),
        (OrgKind.bank, Role.enterprise_user, False),
        (OrgKind.regulator, Role.regulator_analyst, True),
        (OrgKind.operator, Role.operator, True),
        (OrgKind.bank, Role.regulator_admin, False),
        (OrgKind.enterprise, Role.operator, False),
        (OrgKind.operator, Role.system, False),
    ],
)
def test_roles_fit_only_organizations_of_their_kind(kind, role, fits):
    assert (auth_rules.misfit_roles([role.value], kind) == []) is fits
    assert (role in auth_rules.roles_for_kind(kind)) is fits


def test_bad_input_is_reported_field_by_field_and_nothing_is_stored(platform):
    admin.create_user(
        actor=platform.operator,
        organization_id=platform.bank_id,
        subject="taken.name",
        display_name="甲",
        roles=["bank_officer"],
        email="taken@bank.example",
    )
    with pytest.raises(ValidationErrors) as info:
        admin.create_user(
            actor=platform.operator,
            organization_id=platform.bank_id,
            subject="taken.name",
            display_name="<script>alert(1)</script>",
            roles=[],
            email="TAKEN@bank.example",
            phone="12345",
            password="short",
        )
    fields = {e.field for e in info.value.errors}
    assert fields == {"subject", "display_name", "roles", "email", "phone", "password"}
    messages = info.value.messages("en")
    assert "HTML" in messages["display_name"] or "markup" in messages["display_name"].lower()
    for subject in ("demo-bank_officer-99", "ent-abc123", "x", "has space"):
        with pytest.raises(ValidationErrors) as info:
            admin.create_user(
                actor=platform.operator,
                organization_id=platform.bank_id,
                subject=subject,
                display_name="乙",
                roles=["bank_officer"],
            )
        assert [e.field for e in info.value.errors] == ["subject"]
    with pytest.raises(ValidationErrors):
        admin.create_user(
            actor=platform.operator,
            organization_id=platform.bank_id,
            subject="long.name",
            display_name="长" * 81,
            roles=["bank_officer"],
        )
    with pytest.raises(NotFoundError):
        admin.create_user(
            actor=platform.operator,
            organization_id=999_999,
            subject="nobody",
            display_name="丙",
            roles=["operator"],
        )
    assert len(_events("admin.user_created")) == 1


def test_only_an_operator_grants_the_operator_role(platform):
    with pytest.raises(admin.OperatorOnlyError):
        admin.create_user(
            actor=platform.regulator_admin,
            organization_id=platform.operator_org_id,
            subject="new.operator",
            display_name="丁",
            roles=["operator"],
        )
    created = admin.create_user(
        actor=platform.operator,
        organization_id=platform.operator_org_id,
        subject="new.operator",
        display_name="丁",
        roles=["operator"],
    )
    assert created.roles == ["operator"]
    with pytest.raises(admin.OperatorOnlyError):  # nor administers an operator's account
        admin.deactivate_user(actor=platform.regulator_admin, user_id=created.id)


# -------------------------------------------------------------------------------------- roles


def test_role_change_is_audited_with_before_and_after(platform):
    changed = admin.change_user_roles(
        actor=platform.operator,
        user_id=platform.officer_id,
        roles=["bank_officer", "bank_manager"],
        expected_roles=["bank_officer"],
    )
    assert changed.roles == ["bank_officer", "bank_manager"]
    [event] = _events("admin.user_roles_changed")
    assert event.before["roles"] == ["bank_officer"]
    assert event.after["roles"] == ["bank_manager", "bank_officer"]


def test_a_role_edit_based_on_a_stale_form_is_refused(platform):
    shown = ["bank_officer"]
    admin.change_user_roles(
        actor=platform.operator, user_id=platform.officer_id, roles=["bank_manager"], expected_roles=shown
    )
    with pytest.raises(StaleVersionError) as info:
        admin.change_user_roles(
            actor=platform.regulator_admin,
            user_id=platform.officer_id,
            roles=["bank_admin"],
            expected_roles=shown,
        )
    assert "refresh" in info.value.message("en")
    with session_scope() as s:
        assert s.get(User, platform.officer_id).roles == ["bank_manager"]


def test_two_admins_editing_at_once_cannot_both_win(platform):
    """Both read the same roles and write at the same moment: one edit lands, the other is refused."""
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def edit(actor: Actor, roles: list[str]) -> None:
        barrier.wait()
        try:
            admin.change_user_roles(
                actor=actor, user_id=platform.officer_id, roles=roles, expected_roles=["bank_officer"]
            )
            outcomes.append("ok")
        except StaleVersionError:
            outcomes.append("stale")

    threads = [
        threading.Thread(target=edit, args=(platform.operator, ["bank_manager"])),
        threading.Thread(target=edit, args=(platform.regulator_admin, ["bank_admin"])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["ok", "stale"]
    assert len(_events("admin.user_roles_changed")) == 1


def test_the_last_operator_keeps_the_role(platform):
    with pytest.raises(admin.LastOperatorError):
        admin.change_user_roles(
            actor=platform.operator,
            user_id=platform.operator_user_id,
            roles=["regulator_analyst"],
            expected_roles=["operator"],
        )
    with pytest.raises(admin.LastOperatorError):
        admin.deactivate_user(
            actor=Actor(None, "script-operator", frozenset({"operator"})), user_id=platform.operator_user_id
        )
    second = admin.create_user(
        actor=platform.operator,
        organization_id=platform.operator_org_id,
        subject="second.operator",
        display_name="戊",
        roles=["operator"],
    )
    admin.change_user_roles(
        actor=platform.operator,
        user_id=platform.operator_user_id,
        roles=["regulator_analyst"],
        expected_roles=["operator"],
    )
    assert [
        u["id"] for u in admin.list_users(actor=platform.operator, role="operator").to_dict("records")
    ] == [second.id]


def test_an_admin_cannot_lock_or_deactivate_their_own_account(platform):
    for service in (admin.deactivate_user, admin.lock_user):
        with pytest.raises(admin.SelfAdministrationError):
            service(actor=platform.regulator_admin, user_id=platform.regulator_admin.user_id)


# ------------------------------------------------------------------------ lock and deactivate


def test_lock_refuses_sign_in_until_unlocked_and_shows_in_the_list(platform):
    with session_scope() as s:
        s.add(
            OAuthToken(
                access_token_hash="a" * 64,
                client_id="c",
                user_id=platform.officer_id,
                scope="openid",
                expires_at=utcnow() + timedelta(hours=1),
            )
        )
    until = admin.lock_user(actor=platform.operator, user_id=platform.officer_id, minutes=90)
    assert timedelta(minutes=89) < until - utcnow() <= timedelta(minutes=90)
    with pytest.raises(identity.AccountLockedError):
        _sign_in(_subject(platform.officer_id))
    locked = admin.list_users(actor=platform.operator, locked=True)
    assert list(locked["id"]) == [platform.officer_id] and bool(locked.iloc[0]["locked"])
    with session_scope() as s:
        assert s.exec(select(OAuthToken)).one().revoked_at is not None
    [event] = _events("admin.user_locked")
    assert event.before["locked_until"] is None and event.after["tokens_revoked"] == 1
    orgs = admin.list_organizations(actor=platform.operator).set_index("id")
    assert orgs.at[platform.branch_id, "locked_users"] == 1

    identity.unlock_account(actor=platform.regulator_admin, user_id=platform.officer_id)
    assert admin.list_users(actor=platform.operator, locked=True).empty
    assert _sign_in(_subject(platform.officer_id)).user_id == platform.officer_id


def test_locking_a_user_without_a_password_still_holds(platform):
    with session_scope() as s:
        bare = factories.user(s, s.get(Organization, platform.bank_id), ["bank_officer"])
        bare_id = bare.id
    admin.lock_user(actor=platform.operator, user_id=bare_id, minutes=60)
    row = admin.list_users(actor=platform.operator, locked=True).set_index("id").loc[bare_id]
    assert bool(row["locked"]) and not bool(row["has_password"])
    with pytest.raises(InvalidError) as info:
        admin.lock_user(actor=platform.operator, user_id=bare_id, minutes=0)
    assert info.value.field == "minutes"


def test_deactivation_refuses_sign_in_and_reactivation_restores_it(platform):
    subject = _subject(platform.officer_id)
    admin.deactivate_user(actor=platform.regulator_admin, user_id=platform.officer_id)
    with pytest.raises(identity.AccountDisabledError):
        _sign_in(subject)
    assert list(admin.list_users(actor=platform.operator, active=False)["id"]) == [platform.officer_id]
    admin.deactivate_user(actor=platform.regulator_admin, user_id=platform.officer_id)  # idempotent
    assert len(_events("admin.user_deactivated")) == 1
    admin.reactivate_user(actor=platform.regulator_admin, user_id=platform.officer_id)
    assert _sign_in(subject).user_id == platform.officer_id
    [event] = _events("admin.user_reactivated")
    assert event.before["is_active"] is False and event.after["is_active"] is True


def test_unknown_users_are_not_found(platform):
    for service in (admin.deactivate_user, admin.reactivate_user, admin.lock_user):
        with pytest.raises(NotFoundError):
            service(actor=platform.operator, user_id=424242)


def _subject(user_id: int) -> str:
    with session_scope() as s:
        return s.get(User, user_id).subject


# ------------------------------------------------------------------------------------- lists


def test_organizations_list_counts_branches_and_users(platform):
    orgs = admin.list_organizations(actor=platform.operator).set_index("id")
    assert platform.enterprise_org_id not in orgs.index  # enterprises only when asked for
    assert orgs.at[platform.bank_id, "branches"] == 1
    assert orgs.at[platform.branch_id, "parent_name"] == "衡水测试银行"
    assert orgs.at[platform.branch_id, "parent_name_en"] == "Test Bank"
    assert orgs.at[platform.branch_id, "users"] == 1 and orgs.at[platform.branch_id, "active_users"] == 1
    banks = admin.list_organizations(actor=platform.operator, kinds=["bank"], search="桃城")
    assert list(banks["id"]) == [platform.branch_id]
    with_enterprises = admin.list_organizations(actor=platform.operator, kinds=list(OrgKind))
    assert platform.enterprise_org_id in set(with_enterprises["id"])


def test_user_list_filters_by_organization_role_state_and_text(platform):
    users = admin.list_users(actor=platform.operator)
    assert set(users.columns) == set(admin.USER_COLUMNS) and len(users) == 3
    assert list(admin.list_users(actor=platform.operator, organization_id=platform.branch_id)["id"]) == [
        platform.officer_id
    ]
    assert list(admin.list_users(actor=platform.operator, role="regulator_admin")["id"]) == [
        platform.regulator_admin.user_id
    ]
    assert list(admin.list_users(actor=platform.operator, search="officer@bank")["id"]) == [
        platform.officer_id
    ]
    assert admin.list_users(actor=platform.operator, search="100%_").empty  # wildcards are literal
    assert len(admin.list_users(actor=platform.operator, locked=False)) == 3


def test_admin_services_refuse_everyone_without_the_permission(platform):
    analyst = Actor(1, "analyst", frozenset({"regulator_analyst"}), organization_id=platform.regulator_org_id)
    officer = Actor(
        platform.officer_id, "officer", frozenset({"bank_admin"}), organization_id=platform.bank_id
    )
    for actor in (analyst, officer):
        with pytest.raises(ForbiddenError):
            admin.list_users(actor=actor)
        with pytest.raises(ForbiddenError):
            admin.lock_user(actor=actor, user_id=platform.officer_id)


# ---------------------------------------------------------------------------------- audit log


def test_audit_log_pages_newest_first_and_filters(platform):
    for minutes in (10, 20, 30):
        admin.lock_user(actor=platform.operator, user_id=platform.officer_id, minutes=minutes)
    admin.deactivate_user(actor=platform.regulator_admin, user_id=platform.officer_id)
    page = admin.audit_log(actor=platform.operator, page_size=2)
    assert page.total == 4 and page.pages == 2 and page.page == 1
    assert list(page.events["action"]) == ["admin.user_deactivated", "admin.user_locked"]
    assert page.events["id"].is_monotonic_decreasing
    last = admin.audit_log(actor=platform.operator, page_size=2, page=99)  # clamped to the last page
    assert last.page == 2 and len(last.events) == 2
    assert set(page.actions) == {"admin.user_locked", "admin.user_deactivated"}
    locked = admin.audit_log(actor=platform.operator, actions=["admin.user_locked"])
    assert locked.total == 3 and '"minutes":30' in locked.events.iloc[0]["after"]
    by_id = admin.audit_log(actor=platform.operator, by=str(platform.regulator_admin.user_id))
    assert list(by_id.events["action"]) == ["admin.user_deactivated"]
    by_label = admin.audit_log(actor=platform.operator, by="reg-adm")
    assert by_label.total == 1
    entity = admin.audit_log(actor=platform.operator, entity_type="user", entity_id=platform.officer_id)
    assert entity.total == 4
    today = utcnow().date()
    assert admin.audit_log(actor=platform.operator, since=today - timedelta(days=1)).total == 4
    assert admin.audit_log(actor=platform.operator, until=today - timedelta(days=2)).total == 0


def test_chain_status_reports_intact_then_the_first_broken_event(platform, db):
    for minutes in (10, 20, 30):
        admin.lock_user(actor=platform.operator, user_id=platform.officer_id, minutes=minutes)
    status = admin.audit_chain_status(actor=platform.regulator_admin)
    assert status.intact and status.total == status.checked == 3
    second = _events()[1].id
    with session_scope() as s:
        # An attacker with the table owner's rights: on PostgreSQL the append-only trigger must be lifted.
        if db == "postgres":
            s.exec(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
        s.exec(text("UPDATE audit_event SET action = 'admin.forged' WHERE id = :id").bindparams(id=second))
        if db == "postgres":
            s.exec(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))
    status = admin.audit_chain_status(actor=platform.regulator_admin)
    assert not status.intact and status.broken_id == second and status.checked == 1 and status.total == 3


# -------------------------------------------------------------------------------- act rules


def test_regulators_read_everything_but_act_on_no_business_rows(platform):
    regulator = Actor(
        9, "regulator", frozenset({"regulator_analyst"}), organization_id=platform.regulator_org_id
    )
    head_officer = Actor(8, "officer", frozenset({"bank_officer"}), organization_id=platform.bank_id)
    owner = Actor(
        7,
        "owner",
        frozenset({"enterprise_admin"}),
        organization_id=platform.enterprise_org_id,
        enterprise_id=platform.enterprise_id,
    )
    with session_scope() as s:
        auth_rules.assert_institution_access(s, regulator, platform.branch_id)  # reads
        auth_rules.assert_enterprise_access(regulator, platform.enterprise_id)
        with pytest.raises(ForbiddenError):
            auth_rules.assert_acts_for_institution(s, regulator, platform.branch_id)
        with pytest.raises(ForbiddenError):
            auth_rules.assert_acts_for_enterprise(regulator, platform.enterprise_id)
        auth_rules.assert_acts_for_institution(s, head_officer, platform.branch_id)  # its own family
        with pytest.raises(ForbiddenError):
            auth_rules.assert_acts_for_institution(s, head_officer, platform.regulator_org_id)
        with pytest.raises(ForbiddenError):
            auth_rules.assert_acts_for_institution(s, owner, platform.bank_id)
        auth_rules.assert_acts_for_enterprise(owner, platform.enterprise_id)
        with pytest.raises(ForbiddenError):
            auth_rules.assert_acts_for_enterprise(owner, platform.enterprise_id + 1)
