"""Matrix rules for loans (issue 6): contract, disbursement, repayments, the daily sweep, loan reads, the
first-loan center, notifications and the regulator's matchmaking ledger."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from core.auth import Permission, Role
from core.auth.rules import INSTITUTION_ROLES
from core.db import session_scope
from core.lending.schedule import build_schedule
from core.lending.workdays import SHANGHAI, is_working_day
from core.models import Appointment, Enterprise, RepaymentInstallment
from core.models.types import ApplicationStatus
from core.services.first_loan import SLOT_STARTS
from tests import factories
from tests.integration.permission_world import Builder, Rule, World

LO = "core.services.loans."
RP = "core.services.loan_repayments."
SW = "core.services.loan_sweep."
LR = "core.services.loan_reads."
FL = "core.services.first_loan."
NO = "core.services.notifications."
LE = "core.services.ledger."
FAMILY = Rule(None, "own_institution_family")
OWN = Rule(None, "own_enterprise")
ACT = Rule(None, "own_enterprise_act")
INBOX = Rule(None, "own_institution_implicit", note="reads and marks only the caller's own inbox")
STAFF_ACT = Rule(Permission.applications_institution, "own_institution_family")
HALL = Rule(Permission.applications_institution, "any", note="the service hall's windows are shared by institutions")
OVERSIGHT = Rule(Permission.oversight, "any")

RULES: dict[str, Rule] = {
    LO + "sign_contract": STAFF_ACT,
    LO + "disburse_loan": STAFF_ACT,
    RP + "record_repayment": STAFF_ACT,
    SW + "loan_daily_sweep": Rule(Permission.rating_run, "any", note="the operator's scheduled job"),
    LR + "my_loans": OWN,
    LR + "my_loan_detail": OWN,
    LR + "servicing_queue": FAMILY,
    LR + "schedule_preview": STAFF_ACT,
    LR + "servicing_loans": FAMILY,
    LR + "servicing_loan_detail": FAMILY,
    LR + "portfolio_by_bucket": FAMILY,
    FL + "first_loan_status": OWN,
    FL + "first_loan_products": OWN,
    FL + "available_slots": Rule(None, "any", note="free slots of the hall; nothing private"),
    FL + "book_appointment": ACT,
    FL + "cancel_appointment": ACT,
    FL + "my_appointments": OWN,
    FL + "hall_schedule": HALL,
    FL + "record_visit": HALL,
    FL + "first_loan_queue": FAMILY,
    FL + "first_loan_funnel": OVERSIGHT,
    NO + "my_notifications": INBOX,
    NO + "unread_count": INBOX,
    NO + "mark_read": INBOX,
    LE + "matchmaking_ledger": OVERSIGHT,
    LE + "ledger_view": OVERSIGHT,
    LE + "ledger_options": OVERSIGHT,
}


def _org(w: World, scope: str, role: Role) -> int:
    """The organization a staff role acts for (a branch officer: the branch), else the scope's bank."""
    side = w.side(scope)
    return side.org_of(role) if role in INSTITUTION_ROLES else side.bank_id


def _today():
    return datetime.now(SHANGHAI).date()


def _application(w: World, scope: str, role: Role, status: ApplicationStatus):
    with session_scope() as s:
        ent = s.get(Enterprise, w.side(scope).enterprise_id)
        product = factories.product(s, _org(w, scope, role))
        app = factories.application(s, ent, product, status=status, approved_amount=Decimal("500000"),
                                    approved_rate=Decimal("4.35"))
        return app.id


def _loan(w: World, scope: str, role: Role) -> int:
    with session_scope() as s:
        ent = s.get(Enterprise, w.side(scope).enterprise_id)
        product = factories.product(s, _org(w, scope, role))
        app = factories.application(s, ent, product, status=ApplicationStatus.repaying)
        start = _today() - timedelta(days=40)
        schedule = build_schedule(Decimal("500000"), Decimal("4.35"), 12, "equal_installment", start)
        loan = factories.loan(s, app, disbursed_at=datetime.combine(start, datetime.min.time(), SHANGHAI),
                              maturity_date=schedule[-1].due_date)
        for inst in schedule:
            s.add(RepaymentInstallment(loan_id=loan.id, seq=inst.seq, due_date=inst.due_date,
                                       principal_due=inst.principal_due, interest_due=inst.interest_due))
        return loan.id


def _working_day(after: int = 1):
    day = _today() + timedelta(days=after)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def _slot(w: World) -> datetime:
    n = next(w.counter)
    return datetime.combine(_working_day(1 + (n // len(SLOT_STARTS)) % 20), SLOT_STARTS[n % len(SLOT_STARTS)],
                            SHANGHAI)


def _appointment(w: World, scope: str) -> int:
    with session_scope() as s:
        row = Appointment(enterprise_id=w.side(scope).enterprise_id, window_no=1 + next(w.counter) % 23,
                          slot_start=_slot(w), idempotency_key=w.unique("matrix-appt-"))
        s.add(row)
        s.flush()
        return row.id


ARGUMENTS: dict[str, Builder] = {
    LO + "sign_contract": lambda w, sc, r: {
        "application_id": _application(w, sc, r, ApplicationStatus.approved), "expected_version": 1},
    LO + "disburse_loan": lambda w, sc, r: {
        "application_id": _application(w, sc, r, ApplicationStatus.contract_signed), "method": "equal_installment",
        "disbursed_on": _today(), "idempotency_key": w.unique("matrix-disburse-")},
    RP + "record_repayment": lambda w, sc, r: {
        "loan_id": _loan(w, sc, r), "amount": "1000.00", "paid_on": _today(),
        "idempotency_key": w.unique("matrix-repay-")},
    SW + "loan_daily_sweep": lambda w, sc, r: {"as_of": _today()},
    LR + "my_loans": lambda w, sc, r: {"enterprise_id": w.side(sc).enterprise_id},
    LR + "my_loan_detail": lambda w, sc, r: {"loan_id": _loan(w, sc, r)},
    LR + "servicing_queue": lambda w, sc, r: {"institution_id": w.institution(sc, r)},
    LR + "schedule_preview": lambda w, sc, r: {
        "application_id": _application(w, sc, r, ApplicationStatus.contract_signed), "method": "equal_installment"},
    LR + "servicing_loans": lambda w, sc, r: {"institution_id": w.institution(sc, r)},
    LR + "servicing_loan_detail": lambda w, sc, r: {"loan_id": _loan(w, sc, r)},
    LR + "portfolio_by_bucket": lambda w, sc, r: {"institution_id": w.institution(sc, r)},
    FL + "first_loan_status": lambda w, sc, r: {"enterprise_id": w.side(sc).enterprise_id},
    FL + "first_loan_products": lambda w, sc, r: {"enterprise_id": w.side(sc).enterprise_id},
    FL + "available_slots": lambda w, sc, r: {"day": _working_day()},
    FL + "book_appointment": lambda w, sc, r: {
        "enterprise_id": w.side(sc).enterprise_id, "slot_start": _slot(w),
        "idempotency_key": w.unique("matrix-book-")},
    FL + "cancel_appointment": lambda w, sc, r: {"appointment_id": _appointment(w, sc)},
    FL + "my_appointments": lambda w, sc, r: {"enterprise_id": w.side(sc).enterprise_id},
    FL + "hall_schedule": lambda w, sc, r: {"day": _today()},
    FL + "record_visit": lambda w, sc, r: {"appointment_id": _appointment(w, sc), "attended": True,
                                           "guidance_note": "矩阵测试辅导"},
    FL + "first_loan_queue": lambda w, sc, r: {"institution_id": w.institution(sc, r)},
    FL + "first_loan_funnel": lambda w, sc, r: {},
    NO + "my_notifications": lambda w, sc, r: {},
    NO + "unread_count": lambda w, sc, r: {},
    NO + "mark_read": lambda w, sc, r: {},
    LE + "matchmaking_ledger": lambda w, sc, r: {},
    LE + "ledger_view": lambda w, sc, r: {},
    LE + "ledger_options": lambda w, sc, r: {},
}
