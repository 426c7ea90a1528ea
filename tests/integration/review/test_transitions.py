"""The lifecycle through the services: the happy path, every illegal transition, maker-checker and locking."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlmodel import select

from core.db import session_scope
from core.errors import ConflictError, ForbiddenError, InvalidError, StaleVersionError, ValidationErrors
from core.lending.lifecycle import TRANSITIONS
from core.models import Application, ApplicationEvent, Enterprise, Product
from core.models.types import ApplicationStatus
from core.services import application_detail, applications, review
from core.services.application_flow import ApplicationTransitionError, ApplicationWrongActorError
from tests import factories
from tests.integration.review.conftest import in_due_diligence, proposed, snapshot, submit

S = ApplicationStatus


def set_status(application_id: int, status: S) -> int:
    """Put an application in ``status`` directly (the loans slice's statuses too); return its version."""
    with session_scope() as s:
        row = s.get(Application, application_id)
        row.status = status
        s.flush()
        return row.version


def test_the_whole_review_path_records_an_event_per_step(world):
    app = proposed(world)
    decided = review.decide_application(actor=world.manager, application_id=app.id, expected_version=app.version,
                                        action="approve", note="同意")
    assert decided.status == "approved"
    with session_scope() as s:
        row = s.get(Application, app.id)
        events = s.exec(select(ApplicationEvent).where(ApplicationEvent.application_id == app.id)
                        .order_by(ApplicationEvent.id)).all()
    assert (row.approved_amount, row.approved_rate, row.officer_id) == (Decimal("400000.00"), Decimal("4.2"),
                                                                        world.officer.user_id)
    assert (row.proposed_by_id, row.decided_by_id) == (world.officer.user_id, world.manager.user_id)
    assert [(e.from_status, e.to_status) for e in events] == [
        (None, S.submitted), (S.submitted, S.accepted), (S.accepted, S.due_diligence),
        (S.due_diligence, S.due_diligence), (S.due_diligence, S.approved),
    ]
    assert [e.actor_user_id for e in events][-1] == world.manager.user_id


# Each staff/enterprise action of this slice from every status where the engine refuses it.
CALLS = {
    "accept": lambda w, i, v: review.accept_application(actor=w.officer, application_id=i, expected_version=v),
    "start_due_diligence": lambda w, i, v: review.start_due_diligence(actor=w.officer, application_id=i,
                                                                      expected_version=v),
    "propose": lambda w, i, v: review.propose_decision(
        actor=w.officer, application_id=i, expected_version=v, action="reject", reason_code="policy",
        note="不符合政策要求"),
    "approve": lambda w, i, v: review.decide_application(actor=w.manager, application_id=i, expected_version=v,
                                                         action="approve"),
    "reject": lambda w, i, v: review.decide_application(actor=w.manager, application_id=i, expected_version=v,
                                                        action="reject", reason_code="policy"),
    "withdraw": lambda w, i, v: applications.withdraw_application(actor=w.owner, application_id=i,
                                                                  expected_version=v),
}
ILLEGAL = [(action, status) for action in CALLS for status in S if status not in TRANSITIONS[action].sources]


def fresh(world, status: S) -> tuple[int, int]:
    """A new application of the world's enterprise in ``status`` (written directly); its id and version."""
    with session_scope() as s:
        row = factories.application(s, s.get(Enterprise, world.enterprise_id), s.get(Product, world.product_id),
                                    status=status, proposed_action="reject", proposed_by_id=world.officer2.user_id)
        return row.id, row.version


def test_every_illegal_transition_is_refused_through_the_service_and_nothing_is_written(world):
    assert len(ILLEGAL) > 50
    for action, status in ILLEGAL:
        application_id, version = fresh(world, status)
        before = snapshot()
        with pytest.raises(ApplicationTransitionError) as caught:
            CALLS[action](world, application_id, version)
        assert "{" not in caught.value.message("zh_CN") and caught.value.message("en"), (action, status)
        assert snapshot() == before, (action, status)


def test_the_refusal_names_the_status_and_action_in_words(world):
    app = submit(world)
    with pytest.raises(ApplicationTransitionError) as caught:
        CALLS["approve"](world, app.id, app.version)
    assert caught.value.message("zh_CN") == "申请当前状态为「已提交」，不能执行「批准」。"
    assert caught.value.message("en") == "The application is Submitted; “approve” is not possible now."


def test_an_officer_cannot_decide(world):
    app = proposed(world, by=world.officer2)
    before = snapshot()
    with pytest.raises(ForbiddenError):
        review.decide_application(actor=world.officer, application_id=app.id, expected_version=app.version,
                                  action="approve")
    assert snapshot() == before


def test_a_manager_cannot_decide_their_own_proposal(world):
    app = proposed(world, by=world.manager)
    before = snapshot()
    with pytest.raises(ForbiddenError) as caught:
        review.decide_application(actor=world.manager, application_id=app.id, expected_version=app.version,
                                  action="approve")
    assert caught.value.key == "review.error.own_proposal"
    assert snapshot() == before
    done = review.decide_application(actor=world.manager2, application_id=app.id, expected_version=app.version,
                                     action="approve")
    assert done.status == "approved"


def test_no_decision_without_a_proposal(world):
    app = in_due_diligence(world)
    with pytest.raises(ConflictError) as caught:
        review.decide_application(actor=world.manager, application_id=app.id, expected_version=app.version,
                                  action="reject", reason_code="policy")
    assert caught.value.key == "review.error.no_proposal"


def test_a_proposal_to_reject_is_not_approved_but_can_be_rejected_with_its_reason(world):
    app = proposed(world, action="reject")
    with pytest.raises(InvalidError):
        review.decide_application(actor=world.manager, application_id=app.id, expected_version=app.version,
                                  action="approve")
    done = review.decide_application(actor=world.manager, application_id=app.id, expected_version=app.version,
                                     action="reject")
    assert done.status == "rejected"
    mine = application_detail.my_applications(actor=world.owner)[0]
    assert mine.decision_reason_code == "cash_flow" and mine.decision_text == "现金流不足以覆盖月供"
    assert all(item.kind != "proposal" for item in mine.timeline)  # the proposal stays inside the bank
    assert mine.proposed_action is None


def test_an_approval_proposal_needs_the_checklist_and_terms_within_the_product(world):
    app = in_due_diligence(world)
    before = snapshot()
    with pytest.raises(ValidationErrors) as caught:
        review.propose_decision(actor=world.officer, application_id=app.id, expected_version=app.version,
                                action="approve", checklist=["identity"], amount="600000", rate="9.5",
                                term_months=48)
    assert {e.field for e in caught.value.errors} == {"checklist", "amount", "rate", "term_months"}
    assert snapshot() == before


def test_an_enterprise_cannot_take_staff_steps(world):
    app = submit(world)
    with pytest.raises(ForbiddenError):
        review.accept_application(actor=world.owner, application_id=app.id, expected_version=1)


def test_staff_of_another_bank_cannot_touch_the_application(world):
    app = submit(world)
    before = snapshot()
    with pytest.raises(ForbiddenError):
        review.accept_application(actor=world.outsider, application_id=app.id, expected_version=1)
    with pytest.raises(ForbiddenError):
        application_detail.application_review(actor=world.outsider, application_id=app.id)
    assert snapshot() == before


def test_the_engine_refuses_an_officer_approving_directly(world):
    """The engine's wrong-actor refusal surfaces as a ForbiddenError in words."""
    app = proposed(world)
    with session_scope() as s:
        row = s.get(Application, app.id)
        from core.services.application_flow import transition

        with pytest.raises(ApplicationWrongActorError) as caught:
            transition(s, row, action="approve", actor=world.officer)
        s.rollback()
    assert "批准" in caught.value.message("zh_CN")


def test_a_second_person_with_the_same_version_is_told_it_changed(world):
    app = proposed(world)
    review.decide_application(actor=world.manager, application_id=app.id, expected_version=app.version,
                              action="approve")
    before = snapshot()
    with pytest.raises(StaleVersionError) as caught:
        review.decide_application(actor=world.manager2, application_id=app.id, expected_version=app.version,
                                  action="reject", reason_code="policy")
    assert "刷新" in caught.value.message("zh_CN") or "重新" in caught.value.message("zh_CN")
    assert snapshot() == before


@pytest.mark.postgres
@pytest.mark.parametrize("db", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_two_concurrent_approvals_on_postgres_exactly_one_wins(db, world, monkeypatch):
    app = proposed(world)
    barrier = threading.Barrier(2, timeout=20)
    real = review.load_application

    def load_then_wait(session, application_id):
        row = real(session, application_id)
        barrier.wait()  # both managers have read the same version before either writes
        return row

    monkeypatch.setattr(review, "load_application", load_then_wait)
    results: dict[str, object] = {}

    def decide(name, who):
        try:
            results[name] = review.decide_application(actor=who, application_id=app.id,
                                                      expected_version=app.version, action="approve")
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            results[name] = exc

    threads = [threading.Thread(target=decide, args=(n, w)) for n, w in
               (("a", world.manager), ("b", world.manager2))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    outcomes = sorted(type(r).__name__ for r in results.values())
    assert outcomes == ["ApplicationPublic", "StaleVersionError"], results
    with session_scope() as s:
        events = s.exec(select(ApplicationEvent).where(ApplicationEvent.application_id == app.id,
                                                       ApplicationEvent.to_status == S.approved)).all()
        assert len(events) == 1
        assert s.get(Application, app.id).status == S.approved
