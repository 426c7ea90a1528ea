"""The consent ledger on both databases: grants, revocation, the credit-file read rule and its access log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from core.auth import Actor
from core.auth.masking import Disclosure
from core.db import session_scope
from core.errors import ConflictError, ForbiddenError, InvalidError, NotFoundError, ValidationErrors
from core.models import (
    Application,
    AuditEvent,
    ConsentGrant,
    DataAccessLog,
    Enterprise,
    FinancialStatement,
    GovRecord,
    Organization,
)
from core.models.types import ApplicationStatus, GovSource, OrgKind, utcnow
from core.services import consent
from core.services.consent import ConsentRequiredError
from tests import factories


@dataclass
class World:
    enterprise_id: int
    other_enterprise_id: int
    head_office_id: int
    branch_id: int
    sibling_branch_id: int
    other_bank_id: int
    owner: Actor  # an enterprise user of enterprise_id
    stranger: Actor  # an enterprise user of other_enterprise_id
    head_officer: Actor
    branch_officer: Actor
    sibling_officer: Actor
    other_officer: Actor
    regulator: Actor


@pytest.fixture
def world(db) -> World:
    with session_scope() as s:
        ent = factories.enterprise(
            s,
            legal_rep_name="欧阳娜娜",
            legal_rep_id_number="130102199001011234",
            contact_name="王小明",
            contact_phone="13812345678",
        )
        other = factories.enterprise(s)
        ent_org = factories.institution(s, kind=OrgKind.enterprise, enterprise_id=ent.id)
        other_org = factories.institution(s, kind=OrgKind.enterprise, enterprise_id=other.id)
        head = factories.institution(s)
        branch = factories.institution(s, parent_id=head.id)
        sibling = factories.institution(s, parent_id=head.id)
        other_bank = factories.institution(s)
        regulator_org = factories.institution(s, kind=OrgKind.regulator)
        s.add(
            FinancialStatement(
                enterprise_id=ent.id,
                year=2025,
                revenue=Decimal("8000000"),
                net_profit=Decimal("600000"),
                total_assets=Decimal("5000000"),
                total_liabilities=Decimal("2000000"),
                current_assets=Decimal("3000000"),
                current_liabilities=Decimal("1000000"),
                operating_cash_flow=Decimal("700000"),
            )
        )
        s.add(
            GovRecord(
                enterprise_id=ent.id,
                source=GovSource.tax,
                kind="tax_paid",
                period=date(2026, 9, 1),
                value=1200.0,
            )
        )
        s.add(
            GovRecord(
                enterprise_id=ent.id,
                source=GovSource.tax,
                kind="tax_paid",
                period=date(2026, 10, 1),
                value=1500.0,
            )
        )

        def person(org: Organization, role: str) -> Actor:
            user = factories.user(s, org, [role])
            return Actor(
                user_id=user.id,
                label=user.display_name,
                roles=frozenset({role}),
                organization_id=org.id,
                enterprise_id=org.enterprise_id,
            )

        return World(
            enterprise_id=ent.id,
            other_enterprise_id=other.id,
            head_office_id=head.id,
            branch_id=branch.id,
            sibling_branch_id=sibling.id,
            other_bank_id=other_bank.id,
            owner=person(ent_org, "enterprise_admin"),
            stranger=person(other_org, "enterprise_user"),
            head_officer=person(head, "bank_officer"),
            branch_officer=person(branch, "bank_manager"),
            sibling_officer=person(sibling, "bank_officer"),
            other_officer=person(other_bank, "bank_officer"),
            regulator=person(regulator_org, "regulator_analyst"),
        )


def grant(
    w: World, *, institution_id: int | None = None, scopes=("basic", "financials"), key="k-00000001", **kw
):
    return consent.grant_consent(
        actor=kw.pop("actor", w.owner),
        institution_id=institution_id or w.head_office_id,
        scopes=list(scopes),
        purpose=kw.pop("purpose", "申请流动资金贷款"),
        days=kw.pop("days", 90),
        idempotency_key=key,
        **kw,
    )


def read(w: World, actor: Actor, scope: str = "basic", purpose: str = "贷前调查"):
    return consent.read_credit_file(actor=actor, enterprise_id=w.enterprise_id, scope=scope, purpose=purpose)


def log_rows() -> list[DataAccessLog]:
    with session_scope() as s:
        return list(s.exec(select(DataAccessLog).order_by(DataAccessLog.id)))


# -- the read rule ---------------------------------------------------------------------------------


def test_without_any_grant_the_read_is_refused_with_a_clear_message(world):
    with pytest.raises(ConsentRequiredError) as info:
        read(world, world.head_officer)
    assert isinstance(info.value, ForbiddenError)
    assert "基本信息" in info.value.message("zh_CN") and "授权" in info.value.message("zh_CN")
    assert "Basic facts" in info.value.message("en") and "consent" in info.value.message("en")
    assert log_rows() == []


def test_an_expired_grant_is_refused(world):
    with session_scope() as s:
        past = utcnow() - timedelta(days=40)
        s.add(
            ConsentGrant(
                enterprise_id=world.enterprise_id,
                institution_id=world.head_office_id,
                scopes=["basic"],
                purpose="旧授权",
                granted_at=past,
                expires_at=past + timedelta(days=30),
            )
        )
    with pytest.raises(ConsentRequiredError):
        read(world, world.head_officer)
    assert log_rows() == []


def test_a_revoked_grant_is_refused(world):
    granted = grant(world)
    read(world, world.head_officer)
    revoked = consent.revoke_consent(actor=world.owner, consent_id=granted.id)
    assert revoked.status == "revoked" and revoked.revoked_at is not None
    with pytest.raises(ConsentRequiredError):
        read(world, world.head_officer)
    assert len(log_rows()) == 1  # only the read made before the revocation


def test_a_grant_of_another_scope_is_refused(world):
    grant(world, scopes=["financials"])
    with pytest.raises(ConsentRequiredError):
        read(world, world.head_officer, scope="gov_records")
    assert read(world, world.head_officer, scope="financials").financials is not None


def test_another_institution_is_refused(world):
    grant(world)
    with pytest.raises(ConsentRequiredError):
        read(world, world.other_officer)


def test_a_grant_to_a_head_office_covers_its_branches(world):
    grant(world, institution_id=world.head_office_id)
    file = read(world, world.branch_officer)
    assert file.basic is not None
    assert log_rows()[0].institution_id == world.branch_id


def test_a_grant_to_a_branch_covers_neither_its_head_office_nor_a_sibling(world):
    grant(world, institution_id=world.branch_id)
    assert read(world, world.branch_officer).basic is not None
    with pytest.raises(ConsentRequiredError):
        read(world, world.head_officer)
    with pytest.raises(ConsentRequiredError):
        read(world, world.sibling_officer)


def test_every_successful_read_is_logged_with_who_what_and_why(world):
    granted = grant(world, scopes=["basic", "gov_records", "financials", "credit"])
    for scope in ("basic", "gov_records", "financials", "credit"):
        read(world, world.head_officer, scope=scope, purpose=f"贷前调查 {scope}")
    rows = log_rows()
    assert [r.scope for r in rows] == ["basic", "gov_records", "financials", "credit"]
    assert {r.actor_user_id for r in rows} == {world.head_officer.user_id}
    assert {r.institution_id for r in rows} == {world.head_office_id}
    assert {r.consent_id for r in rows} == {granted.id}
    assert rows[1].purpose == "贷前调查 gov_records"
    frame = consent.data_access_log(actor=world.owner)
    assert list(frame["scope"]) == ["credit", "financials", "gov_records", "basic"]  # newest first
    assert set(frame["institution_id"]) == {world.head_office_id}
    assert str(frame["accessed_at"].dt.tz) == "UTC"


def test_a_refused_read_writes_no_access_log_row(world):
    grant(world, scopes=["financials"])
    for actor, scope in [(world.other_officer, "financials"), (world.head_officer, "basic")]:
        with pytest.raises(ConsentRequiredError):
            read(world, actor, scope=scope)
    assert log_rows() == []


def test_the_file_holds_only_the_scope_read_and_masks_the_id_number(world):
    grant(world, scopes=["basic", "gov_records", "financials", "credit"])
    basic = read(world, world.head_officer, scope="basic")
    assert basic.disclosure is Disclosure.contact
    assert basic.basic.legal_rep_name == "欧阳娜娜"
    assert basic.basic.legal_rep_id_number == "130102********1234"
    assert basic.basic.contact_phone == "13812345678"
    assert basic.financials is None and basic.gov_summary is None and basic.credit is None
    gov = read(world, world.head_officer, scope="gov_records")
    assert gov.basic is None
    tax = gov.gov_summary.set_index("source").loc["tax"]
    assert tax["latest_period"] == date(2026, 10, 1) and tax["value"] == 1500.0 and tax["records"] == 2
    fin = read(world, world.head_officer, scope="financials")
    assert list(fin.financials["year"]) == [2025]
    credit = read(world, world.head_officer, scope="credit")
    assert credit.credit.loans_count == 0 and credit.credit.score is None


def test_without_a_basic_grant_people_stay_masked(world):
    grant(world, scopes=["financials"])
    assert read(world, world.head_officer, scope="financials").disclosure is Disclosure.masked


def test_regulators_cannot_read_the_file_but_can_read_the_access_log(world):
    grant(world)
    read(world, world.head_officer)
    with pytest.raises(ForbiddenError):
        read(world, world.regulator)
    frame = consent.data_access_log(actor=world.regulator, enterprise_id=world.enterprise_id)
    assert len(frame) == 1
    assert len(consent.data_access_log(actor=world.regulator)) == 1
    assert [c.id for c in consent.list_consents(actor=world.regulator, enterprise_id=world.enterprise_id)]


def test_institution_staff_cannot_read_an_enterprises_access_log_or_consents(world):
    with pytest.raises(ForbiddenError):
        consent.data_access_log(actor=world.head_officer, enterprise_id=world.enterprise_id)
    with pytest.raises(ForbiddenError):
        consent.list_consents(actor=world.head_officer)


def test_bad_read_input_is_refused_by_field(world):
    grant(world)
    with pytest.raises(InvalidError) as info:
        read(world, world.head_officer, scope="everything")
    assert info.value.field == "scope"
    with pytest.raises(InvalidError) as info:
        read(world, world.head_officer, purpose=" ")
    assert info.value.field == "purpose"
    assert log_rows() == []


# -- the enterprise's side ---------------------------------------------------------------------------


def test_a_grant_is_idempotent_by_key(world):
    first = grant(world, key="double-click-1")
    again = grant(world, key="double-click-1")
    assert again.id == first.id
    with session_scope() as s:
        assert len(s.exec(select(ConsentGrant)).all()) == 1
        actions = [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == ["consent.grant", "consent.grant.replayed"]
    with pytest.raises(ConflictError):
        grant(world, key="double-click-1", scopes=["credit"])


def test_an_enterprise_cannot_grant_for_another_enterprise(world):
    with pytest.raises(ForbiddenError):
        grant(world, enterprise_id=world.other_enterprise_id)
    with pytest.raises(ForbiddenError):
        grant(world, actor=world.head_officer)  # institution staff grant nothing
    with session_scope() as s:
        assert s.exec(select(ConsentGrant)).all() == []


def test_an_enterprise_can_revoke_and_list_only_its_own_grants(world):
    granted = grant(world)
    with pytest.raises(NotFoundError):
        consent.revoke_consent(actor=world.stranger, consent_id=granted.id)
    assert consent.list_consents(actor=world.stranger) == []
    with pytest.raises(ForbiddenError):
        consent.list_consents(actor=world.stranger, enterprise_id=world.enterprise_id)
    mine = consent.list_consents(actor=world.owner)
    assert [(c.id, c.status, c.scopes) for c in mine] == [(granted.id, "active", ["basic", "financials"])]
    consent.revoke_consent(actor=world.owner, consent_id=granted.id)
    consent.revoke_consent(actor=world.owner, consent_id=granted.id)  # twice is harmless
    assert consent.list_consents(actor=world.owner, include_inactive=False) == []


def test_bad_grant_input_reports_every_field_and_stores_nothing(world):
    with pytest.raises(ValidationErrors) as info:
        grant(world, scopes=["basic", "bogus"], purpose="x", days=0, institution_id=999_999)
    fields = {e.field for e in info.value.errors}
    assert fields == {"scopes", "purpose", "days", "institution_id"}
    assert all(text for text in info.value.messages("en").values())
    with pytest.raises(InvalidError):
        grant(world, days=366)
    with pytest.raises(InvalidError):
        grant(world, institution_id=world.regulator.organization_id)  # not a financial institution
    with pytest.raises(InvalidError):
        grant(world, purpose="<script>alert(1)</script>")
    with session_scope() as s:
        assert s.exec(select(ConsentGrant)).all() == []


def test_consented_enterprises_lists_only_grants_covering_the_callers_institution(world):
    grant(world, institution_id=world.head_office_id, scopes=["basic"], key="k-head-0001")
    grant(world, institution_id=world.branch_id, scopes=["credit"], key="k-branch-001")
    branch = consent.consented_enterprises(actor=world.branch_officer)
    assert list(branch["enterprise_id"]) == [world.enterprise_id]
    assert branch.iloc[0]["scopes"] == ["basic", "credit"]
    head = consent.consented_enterprises(actor=world.head_officer)
    assert head.iloc[0]["scopes"] == ["basic"]
    assert consent.consented_enterprises(actor=world.other_officer).empty
    assert consent.consented_enterprises(actor=world.head_officer, search="no such firm").empty


# -- applications imply a grant ------------------------------------------------------------------------


def test_an_application_implies_a_grant_for_its_duration(world):
    with session_scope() as s:
        ent = s.get(Enterprise, world.enterprise_id)
        product = factories.product(s, world.head_office_id)
        application = factories.application(s, ent, product)
        implied = consent.ensure_application_consent(s, application)
        assert implied.scopes == list(consent.SCOPES) and implied.application_id == application.id
        again = consent.ensure_application_consent(s, application)
        assert again.id == implied.id
        application_id = application.id
    assert read(world, world.branch_officer, scope="credit").consent_id == implied.id
    with session_scope() as s:
        application = s.get(Application, application_id)
        application.status = ApplicationStatus.rejected
        ended = consent.ensure_application_consent(s, application)
        assert ended.id == implied.id and ended.revoked_at is None
    with pytest.raises(ConsentRequiredError):
        read(world, world.branch_officer, scope="credit")
    statuses = {c.id: c.status for c in consent.list_consents(actor=world.owner)}
    assert statuses == {implied.id: "expired"}


def test_an_application_does_not_override_the_enterprises_revocation(world):
    with session_scope() as s:
        ent = s.get(Enterprise, world.enterprise_id)
        application = factories.application(s, ent, factories.product(s, world.head_office_id))
        implied = consent.ensure_application_consent(s, application)
        application_id = application.id
    consent.revoke_consent(actor=world.owner, consent_id=implied.id)
    with session_scope() as s:
        application = s.get(Application, application_id)
        application.status = ApplicationStatus.accepted
        assert consent.ensure_application_consent(s, application).revoked_at is not None
    with pytest.raises(ConsentRequiredError):
        read(world, world.head_officer)
