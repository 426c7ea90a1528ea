"""The consent ledger on both databases: grants, revocation, applications' implied grants, the access log.

The read rule itself (scopes, branches, masking, logging) is tested with the credit report in
``tests/integration/credit_report/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import select

from core.auth import Actor
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
from core.models.types import ApplicationStatus, GovSource, OrgKind
from core.services import consent, credit_report
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


def read(w: World, actor: Actor, purpose: str = "贷前调查"):
    """Read the credit report (its own rules are tested in ``tests/integration/credit_report/``)."""
    return credit_report.read_credit_report(actor=actor, enterprise_id=w.enterprise_id, purpose=purpose)


def log_rows() -> list[DataAccessLog]:
    with session_scope() as s:
        return list(s.exec(select(DataAccessLog).order_by(DataAccessLog.id)))


# -- revocation and oversight ------------------------------------------------------------------------


def test_a_revoked_grant_is_refused(world):
    granted = grant(world)
    read(world, world.head_officer)
    revoked = consent.revoke_consent(actor=world.owner, consent_id=granted.id)
    assert revoked.status == "revoked" and revoked.revoked_at is not None
    with pytest.raises(ConsentRequiredError):
        read(world, world.head_officer)
    assert [r.scope for r in log_rows()] == ["basic", "financials"]  # only the read before the revocation


def test_regulators_cannot_read_the_file_but_can_read_the_access_log(world):
    grant(world)
    read(world, world.head_officer)
    with pytest.raises(ForbiddenError):
        read(world, world.regulator)
    frame = consent.data_access_log(actor=world.regulator, enterprise_id=world.enterprise_id)
    assert sorted(frame["scope"]) == ["basic", "financials"]  # one row per scope the report showed
    assert len(consent.data_access_log(actor=world.regulator)) == 2
    assert [c.id for c in consent.list_consents(actor=world.regulator, enterprise_id=world.enterprise_id)]


def test_institution_staff_cannot_read_an_enterprises_access_log_or_consents(world):
    with pytest.raises(ForbiddenError):
        consent.data_access_log(actor=world.head_officer, enterprise_id=world.enterprise_id)
    with pytest.raises(ForbiddenError):
        consent.list_consents(actor=world.head_officer)


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
    assert read(world, world.branch_officer).consent_id == implied.id
    with session_scope() as s:
        application = s.get(Application, application_id)
        application.status = ApplicationStatus.rejected
        ended = consent.ensure_application_consent(s, application)
        assert ended.id == implied.id and ended.revoked_at is None
    with pytest.raises(ConsentRequiredError):
        read(world, world.branch_officer)
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
