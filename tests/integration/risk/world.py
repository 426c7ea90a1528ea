"""A small constructed world for the risk service tests: enterprises, lenders, facts and staff.

``build()`` makes, in one transaction:

* ``dishonest`` — listed as a dishonest executee (level 8), borrowing from ``bank_a``;
* ``parent`` — holds 60 % of ``dishonest`` (a related party), borrowing from ``bank_b``;
* ``penalised`` — one small administrative penalty (level 2), borrowing from ``bank_a``;
* ``plaintiff`` — a court case where it is the plaintiff (no shipped rule fires), no loan;
* ``quiet`` — nothing at all, borrowing from ``bank_b``;

and a bank officer in each bank, a regulator organization with an admin, an enterprise user of
``dishonest``. Ids come back in a :class:`World`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from core.auth import Actor
from core.db import session_scope
from core.models import GovRecord, Shareholding
from core.models.types import ApplicationStatus, GovSource, HolderType, LoanStatus, OrgKind
from tests import factories

AS_OF = date(2026, 10, 31)


@dataclass
class World:
    dishonest: int
    parent: int
    penalised: int
    plaintiff: int
    quiet: int
    bank_a: int
    bank_b: int
    regulator: int
    officer_a: Actor
    officer_b: Actor
    regulator_admin: Actor
    enterprise_user: Actor
    loans: dict[str, int]


def gov(session, enterprise_id: int, kind: str, period: date, *, source=GovSource.judicial, ref: str = "",
        value: float | None = None, text: str | None = None, detail: dict | None = None,
        received_at: datetime | str | None = "auto") -> GovRecord:
    """A government record; ``received_at`` "auto" is two days after its period (known by then), None now."""
    row = GovRecord(enterprise_id=enterprise_id, source=source, kind=kind, period=period, ref=ref, value=value,
                    text=text, detail=detail)
    if received_at == "auto":
        row.received_at = datetime.combine(period + timedelta(days=2), time(1), tzinfo=UTC)
    elif received_at is not None:
        row.received_at = received_at
    session.add(row)
    session.flush()
    return row


def lend(session, enterprise, bank_id: int, *, amount: str = "500000", **overrides) -> int:
    product = factories.product(session, bank_id)
    app = factories.application(session, enterprise, product, amount_requested=Decimal(amount),
                                status=ApplicationStatus.repaying)
    return factories.loan(session, app, **overrides).id


def build() -> World:
    with session_scope() as s:
        dishonest = factories.enterprise(s, name="衡水失信测试有限公司")
        parent = factories.enterprise(s, name="衡水母公司测试有限公司")
        penalised = factories.enterprise(s, name="衡水处罚测试有限公司", district_code="131121")
        plaintiff = factories.enterprise(s, name="衡水原告测试有限公司")
        quiet = factories.enterprise(s, name="衡水安静测试有限公司")
        bank_a = factories.institution(s, kind=OrgKind.bank)
        bank_b = factories.institution(s, kind=OrgKind.bank)
        regulator = factories.institution(s, kind=OrgKind.regulator)
        ent_org = factories.institution(s, kind=OrgKind.enterprise, enterprise_id=dishonest.id)
        officer_a = factories.user(s, bank_a, ["bank_officer"])
        officer_b = factories.user(s, bank_b, ["bank_officer"])
        admin = factories.user(s, regulator, ["regulator_admin"])
        ent_user = factories.user(s, ent_org, ["enterprise_user"])
        loans = {
            "dishonest": lend(s, dishonest, bank_a.id),
            "parent": lend(s, parent, bank_b.id),
            "penalised": lend(s, penalised, bank_a.id),
            "quiet": lend(s, quiet, bank_b.id),
        }
        s.add(Shareholding(enterprise_id=dishonest.id, holder_type=HolderType.enterprise,
                           holder_enterprise_id=parent.id, holder_name=parent.name, share_pct=Decimal("60"),
                           since=date(2020, 1, 1)))
        gov(s, dishonest.id, "dishonest_executee", date(2026, 9, 15), ref="(2026)冀1102执123号", text="失信被执行人")
        gov(s, penalised.id, "penalty", date(2026, 9, 20), source=GovSource.penalty, ref="衡市监罚〔2026〕7号",
            value=2000.0)
        gov(s, plaintiff.id, "judicial_case", date(2026, 9, 10), ref="(2026)冀1102民初9号", value=50000.0,
            text="买卖合同纠纷", detail={"role": "plaintiff", "cause": "买卖合同纠纷"})
        ids = {k: v.id for k, v in (("dishonest", dishonest), ("parent", parent), ("penalised", penalised),
                                     ("plaintiff", plaintiff), ("quiet", quiet))}
        return World(
            **ids, bank_a=bank_a.id, bank_b=bank_b.id, regulator=regulator.id,
            officer_a=factories.actor("bank_officer", organization_id=bank_a.id, user_id=officer_a.id),
            officer_b=factories.actor("bank_officer", organization_id=bank_b.id, user_id=officer_b.id),
            regulator_admin=factories.actor("regulator_admin", organization_id=regulator.id, user_id=admin.id),
            enterprise_user=factories.actor("enterprise_user", organization_id=ent_org.id,
                                            enterprise_id=dishonest.id, user_id=ent_user.id),
            loans=loans,
        )


def default_loan(enterprise_id: int, bank_id: int, amount: str = "6000000") -> int:
    """A defaulted loan of ``amount`` yuan still fully outstanding."""
    from core.models import Enterprise

    with session_scope() as s:
        ent = s.get(Enterprise, enterprise_id)
        return lend(s, ent, bank_id, amount=amount, status=LoanStatus.defaulted,
                    defaulted_at=datetime(2026, 9, 1, 2, tzinfo=UTC))
