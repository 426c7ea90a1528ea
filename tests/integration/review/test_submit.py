"""Submitting and withdrawing applications: the consent step, idempotency and every bad input."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import select

from core.db import session_scope
from core.errors import ConflictError, ForbiddenError, InvalidError, StaleVersionError, ValidationErrors
from core.models import Application, ApplicationEvent, ConsentGrant, FinancingNeed, Lead
from core.models.types import NeedStatus, utcnow
from core.services import applications, consent, review
from core.services.application_flow import ApplicationTransitionError
from tests import factories
from tests.integration.review.conftest import key, snapshot, submit


def test_submission_records_the_application_its_event_and_the_consent_step(world):
    app = submit(world, consent_days=90)
    assert (app.status, app.institution_id, app.version) == ("submitted", world.branch_id, 1)
    with session_scope() as s:
        events = s.exec(select(ApplicationEvent).where(ApplicationEvent.application_id == app.id)).all()
        grant = s.exec(select(ConsentGrant).where(ConsentGrant.application_id == app.id)).one()
    assert [(e.from_status, e.to_status) for e in events] == [(None, "submitted")]
    assert grant.institution_id == world.branch_id and set(grant.scopes) == set(consent.SCOPES)
    assert timedelta(days=89) < grant.expires_at - grant.granted_at <= timedelta(days=90)


def test_a_double_submitted_application_is_stored_once(world):
    k = key()
    first = submit(world, idempotency_key=k)
    second = submit(world, idempotency_key=k)
    assert second.id == first.id
    with session_scope() as s:
        assert len(s.exec(select(Application)).all()) == 1
        assert len(s.exec(select(ApplicationEvent)).all()) == 1


def test_the_same_key_with_another_payload_is_refused(world):
    k = key()
    submit(world, idempotency_key=k)
    before = snapshot()
    with pytest.raises(applications.ApplicationKeyReusedError):
        submit(world, idempotency_key=k, amount="600000")
    assert snapshot() == before


@pytest.mark.parametrize("product", ["withdrawn", "unknown", "guarantee"])
def test_withdrawn_unknown_or_non_loan_products_are_refused_and_nothing_is_written(world, product):
    product_id = {"withdrawn": world.withdrawn_id, "unknown": 999_999, "guarantee": world.guarantee_product_id}
    before = snapshot()
    with pytest.raises(InvalidError) as caught:
        submit(world, product_id=product_id[product])
    assert caught.value.field == "product_id"
    assert snapshot() == before


@pytest.mark.parametrize(
    ("amount", "term", "fields"),
    [
        ("50000", 12, {"amount"}),  # below the product's minimum
        ("3000000.01", 12, {"amount"}),  # above its maximum
        ("-5", 12, {"amount"}),
        ("abc", 12, {"amount"}),
        ("100000.001", 12, {"amount"}),  # fractions of a cent
        ("500000", 48, {"term_months"}),
        ("500000", 3, {"term_months"}),
        ("1", 400, {"amount", "term_months"}),
    ],
)
def test_amounts_and_terms_outside_the_product_are_refused(world, amount, term, fields):
    before = snapshot()
    with pytest.raises(InvalidError) as caught:
        submit(world, amount=amount, term_months=term)
    found = {e.field for e in caught.value.errors} if isinstance(caught.value, ValidationErrors) else {
        caught.value.field
    }
    assert found == fields
    assert snapshot() == before


def test_the_error_says_the_range_in_the_users_language(world):
    with pytest.raises(InvalidError) as caught:
        submit(world, amount="50000")
    assert "10.0" in caught.value.message("zh_CN") and "300.0" in caught.value.message("en")


def test_consent_days_outside_one_to_a_year_are_refused(world):
    with pytest.raises(InvalidError):
        submit(world, consent_days=0)
    with pytest.raises(InvalidError):
        submit(world, consent_days=400)
    assert snapshot()[0] == ()


def test_a_second_open_application_for_the_same_product_is_refused(world):
    submit(world)
    with pytest.raises(ConflictError):
        submit(world)


def test_only_enterprise_users_submit(world):
    with pytest.raises(ForbiddenError):
        applications.submit_application(
            actor=world.officer, product_id=world.product_id, amount="500000", term_months=12,
            idempotency_key=key(),
        )


def test_the_enterprise_withdraws_and_the_consent_ends(world):
    app = submit(world)
    done = applications.withdraw_application(actor=world.owner, application_id=app.id, expected_version=1,
                                             reason="资金已到位")
    assert done.status == "withdrawn"
    with session_scope() as s:
        grant = s.exec(select(ConsentGrant).where(ConsentGrant.application_id == app.id)).one()
        assert not consent.active_grants(s, enterprise_id=world.enterprise_id, organization_id=world.branch_id)
    assert grant.expires_at <= utcnow()
    with pytest.raises(ApplicationTransitionError) as caught:
        applications.withdraw_application(actor=world.owner, application_id=app.id, expected_version=done.version)
    assert "已撤回" in caught.value.message("zh_CN")


def test_another_enterprise_cannot_withdraw(world):
    app = submit(world)
    before = snapshot()
    with pytest.raises(ForbiddenError):
        applications.withdraw_application(actor=world.stranger, application_id=app.id, expected_version=1)
    assert snapshot() == before


def test_withdrawing_with_a_stale_version_is_refused(world):
    app = submit(world)
    review.accept_application(actor=world.officer, application_id=app.id, expected_version=1)
    before = snapshot()
    with pytest.raises(StaleVersionError):
        applications.withdraw_application(actor=world.owner, application_id=app.id, expected_version=1)
    assert snapshot() == before


def test_an_application_through_a_lead_closes_the_lead_and_keeps_its_need(world):
    now = utcnow()
    with session_scope() as s:
        need = FinancingNeed(enterprise_id=world.enterprise_id, amount=Decimal("500000"), term_months=12,
                             purpose="购买原材料", status=NeedStatus.published, published_at=now)
        other_ent = factories.enterprise(s)
        foreign = FinancingNeed(enterprise_id=other_ent.id, amount=Decimal("500000"), term_months=12,
                                purpose="扩大产能", status=NeedStatus.published, published_at=now)
        s.add_all([need, foreign])
        s.flush()
        lead = Lead(need_id=need.id, institution_id=world.branch_id, product_id=world.product_id,
                    first_response_due=now + timedelta(days=2), decision_due=now + timedelta(days=5))
        s.add(lead)
        s.flush()
        need_id, foreign_id, lead_id = need.id, foreign.id, lead.id
    with pytest.raises(InvalidError) as caught:
        submit(world, need_id=foreign_id)
    assert caught.value.field == "need_id"
    app = submit(world, lead_id=lead_id)
    with session_scope() as s:
        row = s.get(Application, app.id)
        assert (row.need_id, row.lead_id) == (need_id, lead_id)
        assert s.get(Lead, lead_id).status == "applied"
