"""Raising, withdrawing and answering disputes, on SQLite and PostgreSQL, against an injected clock."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pandas as pd
import pytest
from sqlmodel import select

from core.db import session_scope
from core.errors import ForbiddenError, InvalidError, StaleVersionError, ValidationErrors
from core.models import AuditEvent, FinancialStatement, GovRecord, Notification, RecordDispute
from core.services import dispute_answers, disputes, my_data
from core.services.disputes import (
    DisputeAlreadyOpenError,
    DisputeKeyReusedError,
    DisputeNotOpenError,
    DisputeRecordNotFoundError,
)
from tests.integration.disputes.conftest import NOW

REASON = "该月纳税额应为15000元，系统数据有误"


def raise_tax(world, *, key="dispute-key-0001", reason=REASON, now=NOW, **extra):
    return disputes.raise_dispute(
        actor=world.own.actor,
        record_type="gov_record",
        record_id=world.own.tax_id,
        reason=reason,
        idempotency_key=key,
        now=now,
        **extra,
    )


def dispute_rows():
    with session_scope() as s:
        return list(s.exec(select(RecordDispute).order_by(RecordDispute.id)))


@pytest.fixture
def rerates(monkeypatch):
    """The re-rating hook's calls (the scoring service is not exercised here)."""
    calls = []
    monkeypatch.setattr(dispute_answers, "rerate_after_correction", lambda **kw: calls.append(kw))
    return calls


def test_a_raised_dispute_marks_the_record_in_dispute_with_a_20_day_clock(world):
    raised = raise_tax(world, proposed_value="15000")
    assert raised.status == "open"
    assert raised.due_at == NOW + timedelta(days=20)
    assert (raised.days_left, raised.overdue) == (20, False)
    with session_scope() as s:
        marks = disputes.disputed_records(s, world.own.enterprise_id, now=NOW + timedelta(days=5))
    assert list(marks) == [("gov_record", world.own.tax_id)]
    assert marks[("gov_record", world.own.tax_id)].days_left == 15
    data = my_data.my_data(actor=world.own.actor, enterprise_id=world.own.enterprise_id, now=NOW)
    row = data.gov_records.set_index("id").loc[world.own.tax_id]
    assert (row["dispute_status"], row["days_left"], row["group"]) == ("open", 20, "tax")
    others = data.gov_records[data.gov_records["id"] != world.own.tax_id]
    assert others["dispute_status"].isna().all()
    assert data.disputes["id"].tolist() == [raised.id]


def test_a_second_open_dispute_of_the_same_record_is_refused(world):
    raise_tax(world)
    with pytest.raises(DisputeAlreadyOpenError) as caught:
        raise_tax(world, key="dispute-key-0002", reason="另一个理由：数据重复")
    assert caught.value.field == "record_id"
    assert len(dispute_rows()) == 1


def test_another_enterprises_record_is_refused_as_not_found(world):
    for record_type, record_id in [
        ("gov_record", world.other.tax_id),
        ("financial_statement", world.other.statement_id),
        ("shareholding", world.other.holding_id),
        ("enterprise", world.other.enterprise_id),
    ]:
        with pytest.raises(DisputeRecordNotFoundError):
            disputes.raise_dispute(
                actor=world.own.actor,
                record_type=record_type,
                record_id=record_id,
                reason=REASON,
                idempotency_key=f"foreign-{record_type}",
            )
    assert dispute_rows() == []


def test_only_enterprise_users_raise_disputes(world):
    for actor in (world.operator, world.bank, world.regulator):
        with pytest.raises(ForbiddenError):
            disputes.raise_dispute(
                actor=actor,
                record_type="gov_record",
                record_id=world.own.tax_id,
                reason=REASON,
                idempotency_key="not-an-enterprise",
            )
    assert dispute_rows() == []


def test_raising_twice_with_one_key_returns_the_first_dispute(world):
    first = raise_tax(world)
    again = raise_tax(world)
    assert again.id == first.id and len(dispute_rows()) == 1
    with pytest.raises(DisputeKeyReusedError):
        raise_tax(world, reason="完全不同的理由，但重复使用了同一个键")


@pytest.mark.parametrize("reason", ["", "   ", "太短了", "<b>标签</b>注入", "长" * 1001])
def test_an_empty_or_short_reason_is_a_field_error_and_stores_nothing(world, reason):
    with pytest.raises(InvalidError) as caught:
        raise_tax(world, reason=reason)
    assert caught.value.field == "reason"
    assert "5" in caught.value.message("en") and "1000" in caught.value.message("en")
    assert dispute_rows() == []


def test_several_bad_fields_are_reported_together(world):
    with pytest.raises(ValidationErrors) as caught:
        disputes.raise_dispute(
            actor=world.own.actor,
            record_type="loan",
            record_id=1,
            reason="",
            proposed_value="x" * 201,
            idempotency_key="k",
        )
    assert set(caught.value.messages("zh_CN")) == {"record_type", "reason", "proposed_value", "idempotency_key"}


def test_answer_corrected_changes_the_value_notifies_and_rerates(world, rerates):
    raised = raise_tax(world, proposed_value="15000")
    answered = dispute_answers.answer_dispute(
        actor=world.operator,
        dispute_id=raised.id,
        outcome="corrected",
        answer="经税务部门核实，已更正为15,000元。",
        corrected_value="15,000",
        expected_version=raised.version,
        now=NOW + timedelta(days=3),
    )
    assert answered.status == "corrected" and answered.days_left is None
    with session_scope() as s:
        assert s.get(GovRecord, world.own.tax_id).value == 15000.0
        note = s.exec(select(Notification).where(Notification.kind == "dispute_answered")).one()
        assert note.enterprise_id == world.own.enterprise_id and note.user_id == world.own.actor.user_id
        actions = [e.action for e in s.exec(select(AuditEvent).order_by(AuditEvent.id))]
        assert disputes.disputed_records(s, world.own.enterprise_id) == {}
    assert actions[-2:] == ["record.correct", "dispute.answer"]
    assert rerates == [
        {"actor": world.operator, "enterprise_id": world.own.enterprise_id, "dispute_id": raised.id}
    ]


def test_correcting_a_financial_statement_changes_the_named_field_only(world, rerates):
    raised = disputes.raise_dispute(
        actor=world.own.actor,
        record_type="financial_statement",
        record_id=world.own.statement_id,
        reason="2025年营业收入应为850万元",
        idempotency_key="fs-dispute-01",
    )
    with pytest.raises(InvalidError) as caught:
        dispute_answers.answer_dispute(
            actor=world.operator, dispute_id=raised.id, outcome="corrected", answer="已核实",
            corrected_field="revenue", corrected_value="-5", expected_version=raised.version,
        )
    assert caught.value.field == "corrected_value"
    dispute_answers.answer_dispute(
        actor=world.operator, dispute_id=raised.id, outcome="corrected", answer="已核实",
        corrected_field="revenue", corrected_value="8500000", expected_version=raised.version,
    )
    with session_scope() as s:
        statement = s.get(FinancialStatement, world.own.statement_id)
        assert statement.revenue == Decimal("8500000.00") and statement.net_profit == Decimal("400000.00")
    assert len(rerates) == 1


def test_a_bad_correction_leaves_the_record_and_the_dispute_untouched(world, rerates):
    raised = raise_tax(world)
    with pytest.raises(ValidationErrors) as caught:
        dispute_answers.answer_dispute(
            actor=world.operator, dispute_id=raised.id, outcome="corrected", answer="",
            corrected_value="很多", expected_version=raised.version,
        )
    assert set(caught.value.messages("en")) == {"answer", "corrected_value"}
    with session_scope() as s:
        assert s.get(GovRecord, world.own.tax_id).value == 12000.0
        assert s.get(RecordDispute, raised.id).status == "open"
    assert rerates == []


def test_answer_rejected_leaves_the_record_and_tells_the_enterprise_why(world, rerates):
    raised = raise_tax(world)
    dispute_answers.answer_dispute(
        actor=world.operator, dispute_id=raised.id, outcome="rejected",
        answer="税务部门确认原数据无误。", expected_version=raised.version,
    )
    with session_scope() as s:
        assert s.get(GovRecord, world.own.tax_id).value == 12000.0
        note = s.exec(select(Notification)).one()
        assert note.body == "税务部门确认原数据无误。" and note.payload["outcome"] == "rejected"
    own = disputes.list_disputes(actor=world.own.actor)
    assert own[["status", "answer"]].values.tolist() == [["rejected", "税务部门确认原数据无误。"]]
    assert rerates == []
    # The record may be disputed again once the first dispute is closed.
    assert raise_tax(world, key="dispute-key-0009").status == "open"


def test_the_second_of_two_concurrent_answers_gets_a_stale_version_conflict(world, rerates):
    raised = raise_tax(world)
    seen_by_both = disputes.dispute_detail(actor=world.operator, dispute_id=raised.id).dispute.version
    dispute_answers.answer_dispute(
        actor=world.operator, dispute_id=raised.id, outcome="rejected", answer="数据无误",
        expected_version=seen_by_both,
    )
    with pytest.raises(StaleVersionError):
        dispute_answers.answer_dispute(
            actor=world.operator2, dispute_id=raised.id, outcome="corrected", answer="已更正",
            corrected_value="15000", expected_version=seen_by_both,
        )
    with session_scope() as s:
        assert s.get(GovRecord, world.own.tax_id).value == 12000.0
        assert s.get(RecordDispute, raised.id).status == "rejected"
    assert rerates == []


def test_the_version_column_refuses_an_update_that_lost_the_race(world):
    """Two writers passed the version check; the UPDATE's WHERE version = … stops the second."""
    from sqlalchemy.orm.exc import StaleDataError

    raised = raise_tax(world)
    with session_scope() as first:
        row = first.get(RecordDispute, raised.id)
        with session_scope() as second:
            second.get(RecordDispute, raised.id).status = "rejected"
        row.status = "corrected"
        with pytest.raises(StaleDataError):
            first.flush()
        first.rollback()
    assert dispute_rows()[0].status == "rejected"


def test_the_enterprise_withdraws_its_open_dispute_but_not_an_answered_one(world, rerates):
    raised = raise_tax(world)
    withdrawn = disputes.withdraw_dispute(actor=world.own.actor, dispute_id=raised.id)
    assert withdrawn.status == "withdrawn"
    with pytest.raises(DisputeNotOpenError):
        dispute_answers.answer_dispute(
            actor=world.operator, dispute_id=raised.id, outcome="rejected", answer="数据无误",
            expected_version=withdrawn.version,
        )
    other = disputes.raise_dispute(
        actor=world.other.actor, record_type="gov_record", record_id=world.other.tax_id,
        reason=REASON, idempotency_key="other-firm-01",
    )
    with pytest.raises(disputes.DisputeNotFoundError):
        disputes.withdraw_dispute(actor=world.own.actor, dispute_id=other.id)


def test_days_left_and_overdue_follow_the_injected_clock(world):
    raised = raise_tax(world)
    checks = [
        (NOW, 20, False),
        (NOW + timedelta(days=17), 3, False),
        (NOW + timedelta(days=20) - timedelta(minutes=1), 0, False),
        (NOW + timedelta(days=20, minutes=1), 0, True),
        (NOW + timedelta(days=23), -3, True),
    ]
    for now, days_left, overdue in checks:
        row = disputes.list_disputes(actor=world.operator, now=now).iloc[0]
        assert (row["id"], row["days_left"], row["overdue"]) == (raised.id, days_left, overdue), now


def test_the_desk_lists_open_disputes_first_by_due_date(world, rerates):
    late = raise_tax(world, now=NOW)  # due first
    answered = disputes.raise_dispute(
        actor=world.own.actor, record_type="shareholding", record_id=world.own.holding_id,
        reason="股东持股比例应为55%", idempotency_key="holding-01", now=NOW - timedelta(days=10),
    )
    dispute_answers.answer_dispute(
        actor=world.operator, dispute_id=answered.id, outcome="corrected", answer="已更正",
        corrected_value="55", expected_version=answered.version,
    )
    newer = disputes.raise_dispute(
        actor=world.other.actor, record_type="enterprise", record_id=world.other.enterprise_id,
        reason="从业人数应为30人", idempotency_key="other-ent-01", now=NOW + timedelta(days=2),
    )
    desk = disputes.list_disputes(actor=world.operator, now=NOW + timedelta(days=1))
    assert desk["id"].tolist() == [late.id, newer.id, answered.id]
    assert desk["status"].tolist() == ["open", "open", "corrected"]
    assert desk["record_source"].tolist() == ["tax", "enterprise", "shareholding"]
    assert pd.isna(desk.loc[2, "days_left"])
    assert disputes.list_disputes(actor=world.operator, open_only=True)["id"].tolist() == [late.id, newer.id]
    # Each enterprise sees its own; a bank sees none; another enterprise's list is refused.
    assert disputes.list_disputes(actor=world.other.actor)["id"].tolist() == [newer.id]
    with pytest.raises(ForbiddenError):
        disputes.list_disputes(actor=world.own.actor, enterprise_id=world.other.enterprise_id)
    with pytest.raises(ForbiddenError):
        disputes.list_disputes(actor=world.bank)


def test_the_detail_shows_the_record_and_what_may_be_corrected(world):
    raised = disputes.raise_dispute(
        actor=world.own.actor, record_type="gov_record", record_id=world.own.penalty_id,
        reason="该处罚已撤销，请删除或更正", idempotency_key="penalty-01",
    )
    detail = disputes.dispute_detail(actor=world.operator, dispute_id=raised.id, now=NOW)
    assert detail.record["text"] == "未按规定公示年报" and detail.default_field == "text"
    assert detail.summary == {"source": "penalty", "kind": "penalty", "label": "2025-06 衡市监罚〔2025〕12号"}
    assert set(detail.correctable) == {"value", "text"}
    with pytest.raises(ForbiddenError):
        disputes.dispute_detail(actor=world.other.actor, dispute_id=raised.id)


def test_the_rerating_runs_after_the_correction_is_committed(world, monkeypatch):
    """The scoring service's own unit of work sees the corrected value (it runs after the commit)."""
    from core.services import rating_runs

    seen = []

    def fake_rerate(*, actor, enterprise_ids, reason):
        with session_scope() as s:  # another session: sees only committed data
            seen.append((s.get(GovRecord, world.own.tax_id).value, list(enterprise_ids), reason, actor))

    monkeypatch.setattr(rating_runs, "rerate_enterprises", fake_rerate)
    raised = raise_tax(world)
    dispute_answers.answer_dispute(
        actor=world.operator, dispute_id=raised.id, outcome="corrected", answer="已更正",
        corrected_value="15000", expected_version=raised.version,
    )
    assert seen == [(15000.0, [world.own.enterprise_id], f"dispute #{raised.id} corrected", world.operator)]


def test_a_failing_rerating_does_not_undo_the_answer(world, monkeypatch):
    from core.services import rating_runs

    def broken(**_kwargs):
        raise RuntimeError("scoring down")

    monkeypatch.setattr(rating_runs, "rerate_enterprises", broken)
    raised = raise_tax(world)
    answered = dispute_answers.answer_dispute(
        actor=world.operator, dispute_id=raised.id, outcome="corrected", answer="已更正",
        corrected_value="15000", expected_version=raised.version,
    )
    assert answered.status == "corrected"
    with session_scope() as s:
        assert s.get(GovRecord, world.own.tax_id).value == 15000.0
