"""A busy enterprise for the home page, a second enterprise with its own busy life, and a brand-new one.

The busy enterprise (rated A, never borrowed before its loans here) has: a published need pushed to two
banks, one of which answered; an application whose bank asked for a document; an approved application
(a contract to sign); a loan with an installment due in 3 days; a loan with an installment 10 days
overdue; two unread reminders and one read, the bank's unread acceptance of the need; an unread answer to a dispute; a consent expiring in 5 days.
A product that asks for grade AAA is the near miss. The other enterprise has the same kinds of rows,
none of which may reach the first one's page.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from core.auth import Actor
from core.db import session_scope
from core.lending.workdays import SHANGHAI
from core.models import ConsentGrant, Enterprise, Notification, Product, RepaymentInstallment
from core.models.types import ApplicationStatus, OrgKind, utcnow
from core.services import applications, documents, leads, needs
from core.services.notifications import notify
from tests import factories
from tests.integration.matching.world import MatchWorld, build


@dataclass
class HomeWorld:
    """The ids the tests look for."""

    now: datetime
    w: MatchWorld
    owner: Actor
    need_id: int
    doc_app_id: int
    approved_app_id: int
    due_loan_id: int
    overdue_loan_id: int
    near_product_id: int
    consent_id: int
    dispute_note_id: int
    other: Actor
    other_ids: dict[str, int]
    newcomer: Actor


def _key() -> str:
    return uuid.uuid4().hex


def _loan(enterprise_id: int, product_id: int, installments: list[tuple[date, str]], start: date) -> int:
    """A disbursed loan of 200,000 yuan whose unpaid installments fall on the given days."""
    with session_scope() as s:
        ent, prod = s.get(Enterprise, enterprise_id), s.get(Product, product_id)
        app = factories.application(s, ent, prod, status=ApplicationStatus.repaying,
                                    amount_requested=Decimal("200000"))
        loan = factories.loan(s, app, disbursed_at=datetime.combine(start, datetime.min.time(), SHANGHAI),
                              maturity_date=installments[-1][0])
        for seq, (due, principal) in enumerate(installments, start=1):
            s.add(RepaymentInstallment(loan_id=loan.id, seq=seq, due_date=due, principal_due=Decimal(principal),
                                       interest_due=Decimal("500.00")))
        return int(loan.id)


def _busy(w: MatchWorld, owner: Actor, now: datetime, today: date, *, with_near_miss: bool) -> dict[str, int]:
    """Give ``owner``'s enterprise a need, two applications, two loans, notices, a consent and a dispute answer."""
    ids: dict[str, int] = {}
    need = needs.publish_need(actor=owner, need=w.need(dispatch_limit=2), idempotency_key=_key(), now=now)
    ids["need"] = int(need.need.id)
    first = need.leads.sort_values("rank").iloc[0]
    officer = next(o for o in w.officers.values() if o.organization_id == int(first["institution_id"]))
    leads.respond_to_lead(actor=officer, lead_id=int(first["lead_id"]), accept=True, now=now)

    app = applications.submit_application(actor=owner, product_id=w.products["c"], amount="300000", term_months=12,
                                          idempotency_key=_key())
    documents.request_document(actor=w.officers["c"], application_id=app.id, note="近 6 个月银行流水")
    ids["doc_app"] = int(app.id)
    with session_scope() as s:
        ent, prod = s.get(Enterprise, owner.enterprise_id), s.get(Product, w.products["b"])
        approved = factories.application(s, ent, prod, status=ApplicationStatus.approved,
                                         approved_amount=Decimal("400000"), approved_rate=Decimal("4.20"))
        ids["approved_app"] = int(approved.id)
        if with_near_miss:
            ids["near_product"] = int(factories.product(s, w.banks["b"], name="B行优享贷", min_credit_grade="AAA", first_loan_friendly=True,
                                                        rate_min=Decimal("2.90"), rate_max=Decimal("4.00")).id)

    ids["due_loan"] = _loan(owner.enterprise_id, w.products["a"],
                            [(today + timedelta(days=3), "16000.00"), (today + timedelta(days=33), "16000.00")],
                            today - timedelta(days=27))
    ids["overdue_loan"] = _loan(owner.enterprise_id, w.products["b"],
                                [(today - timedelta(days=10), "20000.00"), (today + timedelta(days=20), "20000.00")],
                                today - timedelta(days=40))
    with session_scope() as s:
        for n, read in ((1, True), (2, False), (3, False)):
            row = notify(s, kind="loan.due_in_3", title_key="loans.notify.due.title",
                         params={"loan": ids["due_loan"], "seq": 1, "due": str(today + timedelta(days=3)),
                                 "amount": "16,500.00", "days": 3},
                         enterprise_id=owner.enterprise_id, dedupe_key=_key())
            row.created_at = now - timedelta(hours=10 - n)
            row.read_at = now if read else None
        grant = ConsentGrant(enterprise_id=owner.enterprise_id, institution_id=w.banks["a"], scopes=["basic"],
                             purpose="贷前调查", granted_at=now - timedelta(days=25),
                             expires_at=now + timedelta(days=5, hours=1), idempotency_key=_key())
        answer = Notification(enterprise_id=owner.enterprise_id, kind="dispute_answered", title="您的异议已答复",
                              payload={"dispute_id": 7, "outcome": "corrected"}, dedupe_key=_key(),
                              created_at=now - timedelta(hours=1))
        s.add_all([grant, answer])
        s.flush()
        ids["consent"], ids["dispute_note"] = int(grant.id), int(answer.id)
    return ids


def build_home(now: datetime | None = None) -> HomeWorld:
    """Three enterprises in one platform (see the module docstring)."""
    now = now or utcnow()
    today = now.astimezone(SHANGHAI).date()
    w = build(grade="A")
    with session_scope() as s:
        other = factories.enterprise(s, district_code="131102")
        other_org = factories.institution(s, kind=OrgKind.enterprise, enterprise_id=other.id)
        other_user = factories.user(s, other_org, ["enterprise_admin"])
        fresh = factories.enterprise(s, district_code="131102")
        fresh_org = factories.institution(s, kind=OrgKind.enterprise, enterprise_id=fresh.id)
        fresh_user = factories.user(s, fresh_org, ["enterprise_user"])
        other_actor = Actor(other_user.id, "other", frozenset({"enterprise_admin"}), other_org.id, other.id)
        newcomer = Actor(fresh_user.id, "newcomer", frozenset({"enterprise_user"}), fresh_org.id, fresh.id)
    mine = _busy(w, w.owner, now, today, with_near_miss=True)
    theirs = _busy(w, other_actor, now, today, with_near_miss=False)
    return HomeWorld(
        now=now, w=w, owner=w.owner, need_id=mine["need"], doc_app_id=mine["doc_app"],
        approved_app_id=mine["approved_app"], due_loan_id=mine["due_loan"], overdue_loan_id=mine["overdue_loan"],
        near_product_id=mine["near_product"], consent_id=mine["consent"], dispute_note_id=mine["dispute_note"],
        other=other_actor, other_ids=theirs, newcomer=newcomer,
    )
