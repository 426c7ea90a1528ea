"""Large-default cases: the workflow (assign, note, in progress, close), illegal transitions refused
with nothing written, optimistic locking, notices to the regulator."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.auth import SYSTEM_ACTOR
from core.db import session_scope
from core.errors import InvalidError, StaleVersionError
from core.models import Notification
from core.services.risk import run_risk
from core.services.risk_cases import (
    CaseStepError,
    add_case_note,
    assign_case,
    case_detail,
    list_cases,
    set_case_status,
)
from tests.integration.risk.world import AS_OF, build, default_loan


@pytest.fixture
def opened(db):
    w = build()
    default_loan(w.quiet, w.bank_b)
    run_risk(actor=SYSTEM_ACTOR, as_of=AS_OF)
    [case_id] = list_cases(actor=w.regulator_admin)["id"].tolist()
    return w, case_detail(actor=w.regulator_admin, case_id=case_id)


def test_a_case_is_assigned_worked_and_closed(opened):
    w, case = opened
    with session_scope() as s:
        notices = s.execute(select(Notification).where(Notification.kind == "risk.large_default")).scalars().all()
        assert [n.organization_id for n in notices] == [w.regulator]
    a = assign_case(actor=w.regulator_admin, case_id=case.id, expected_version=case.version,
                    departments=["financial_regulation", "court"], assignee_id=w.regulator_admin.user_id)
    b = add_case_note(actor=w.regulator_admin, case_id=case.id, expected_version=a.version, text="已约谈企业负责人")
    c = set_case_status(actor=w.regulator_admin, case_id=case.id, expected_version=b.version, status="in_progress")
    d = set_case_status(actor=w.regulator_admin, case_id=case.id, expected_version=c.version, status="closed",
                        resolution="达成分期还款协议并足额提供抵押")
    assert [a.status, c.status, d.status] == ["assigned", "in_progress", "closed"]
    assert d.departments == ["financial_regulation", "court"] and d.assignee_id == w.regulator_admin.user_id
    assert [n["text"] for n in d.notes] == ["已约谈企业负责人"] and d.closed_at is not None
    listed = list_cases(actor=w.regulator_admin, status="closed")
    assert listed["resolution"].tolist() == ["达成分期还款协议并足额提供抵押"]
    assert listed["enterprise_id"].tolist() == [w.quiet] and listed["amount"].tolist() == [6_000_000.0]


def test_illegal_case_transitions_are_refused_and_nothing_changes(opened):
    w, case = opened
    with pytest.raises(CaseStepError):
        set_case_status(actor=w.regulator_admin, case_id=case.id, expected_version=case.version, status="in_progress")
    with pytest.raises(CaseStepError):
        set_case_status(actor=w.regulator_admin, case_id=case.id, expected_version=case.version, status="closed",
                        resolution="直接结案不允许")
    a = assign_case(actor=w.regulator_admin, case_id=case.id, expected_version=case.version, departments=["tax"])
    b = set_case_status(actor=w.regulator_admin, case_id=case.id, expected_version=a.version, status="in_progress")
    with pytest.raises(InvalidError):  # closing needs a resolution
        set_case_status(actor=w.regulator_admin, case_id=case.id, expected_version=b.version, status="closed")
    with pytest.raises(CaseStepError):  # no re-assigning once in progress
        assign_case(actor=w.regulator_admin, case_id=case.id, expected_version=b.version, departments=["court"])
    done = set_case_status(actor=w.regulator_admin, case_id=case.id, expected_version=b.version, status="closed",
                           resolution="已通过诉讼追回")
    with pytest.raises(CaseStepError):
        add_case_note(actor=w.regulator_admin, case_id=case.id, expected_version=done.version, text="结案后补记")
    with pytest.raises(CaseStepError):
        set_case_status(actor=w.regulator_admin, case_id=case.id, expected_version=done.version, status="in_progress")
    after = case_detail(actor=w.regulator_admin, case_id=case.id)
    assert (after.status, after.notes, after.version) == ("closed", [], done.version)


def test_bad_case_input_and_stale_forms_are_refused(opened):
    w, case = opened
    for departments in ([], ["no_such_department"], ["tax"] * 1 + ["court", "pboc_branch", "nfra_branch",
                                                                    "public_security", "market_regulation"]):
        with pytest.raises(InvalidError):
            assign_case(actor=w.regulator_admin, case_id=case.id, expected_version=case.version,
                        departments=departments)
    with pytest.raises(InvalidError):  # a bank officer is no assignee
        assign_case(actor=w.regulator_admin, case_id=case.id, expected_version=case.version, departments=["tax"],
                    assignee_id=w.officer_a.user_id)
    with pytest.raises(InvalidError):
        add_case_note(actor=w.regulator_admin, case_id=case.id, expected_version=case.version, text="x")
    a = add_case_note(actor=w.regulator_admin, case_id=case.id, expected_version=case.version, text="首次记录")
    with pytest.raises(StaleVersionError):
        add_case_note(actor=w.regulator_admin, case_id=case.id, expected_version=case.version, text="过期表单")
    assert [n["text"] for n in case_detail(actor=w.regulator_admin, case_id=case.id).notes] == ["首次记录"]
    assert a.status == "open"
