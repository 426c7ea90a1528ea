"""Two enterprises with government records, statements and a shareholding, their users and an operator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from core.auth import Actor
from core.db import session_scope
from core.models import FinancialStatement, GovRecord, Shareholding
from core.models.types import GovSource, HolderType, OrgKind
from tests import factories

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@dataclass
class Firm:
    enterprise_id: int
    actor: Actor
    tax_id: int  # a monthly tax_paid record
    penalty_id: int  # an event with text only
    statement_id: int
    holding_id: int


@dataclass
class DisputeWorld:
    own: Firm
    other: Firm
    operator: Actor
    operator2: Actor
    regulator: Actor
    bank: Actor


def _firm(session, name: str) -> Firm:
    ent = factories.enterprise(session, name=name)
    org = factories.institution(session, kind=OrgKind.enterprise, enterprise_id=ent.id, name=f"{name}组织")
    user = factories.user(session, org, ["enterprise_admin"])
    tax = GovRecord(enterprise_id=ent.id, source=GovSource.tax, kind="tax_paid", period=date(2026, 1, 1),
                    value=12000.0)
    penalty = GovRecord(enterprise_id=ent.id, source=GovSource.penalty, kind="penalty",
                        period=date(2025, 6, 1), ref="衡市监罚〔2025〕12号", text="未按规定公示年报")
    power = GovRecord(enterprise_id=ent.id, source=GovSource.electricity, kind="electricity_kwh",
                      period=date(2026, 1, 1), value=5300.0)
    statement = FinancialStatement(
        enterprise_id=ent.id, year=2025, revenue=Decimal("8000000"), net_profit=Decimal("400000"),
        total_assets=Decimal("6000000"), total_liabilities=Decimal("2500000"), current_assets=Decimal("3000000"),
        current_liabilities=Decimal("1500000"), operating_cash_flow=Decimal("500000"),
    )
    holding = Shareholding(enterprise_id=ent.id, holder_type=HolderType.person, holder_name="李四",
                           share_pct=Decimal("60"), since=date(2015, 3, 1))
    session.add_all([tax, penalty, power, statement, holding])
    session.flush()
    actor = Actor(user.id, f"{name}:admin", frozenset({"enterprise_admin"}), org.id, ent.id)
    return Firm(ent.id, actor, tax.id, penalty.id, statement.id, holding.id)


@pytest.fixture
def world(db) -> DisputeWorld:
    with session_scope() as s:
        own = _firm(s, "衡水争议测试甲有限公司")
        other = _firm(s, "衡水争议测试乙有限公司")
        operator_org = factories.institution(s, kind=OrgKind.operator, name="平台运营")
        regulator_org = factories.institution(s, kind=OrgKind.regulator, name="金融办")
        bank_org = factories.institution(s, kind=OrgKind.bank)
        op1 = factories.user(s, operator_org, ["operator"])
        op2 = factories.user(s, operator_org, ["operator"])
        reg = factories.user(s, regulator_org, ["regulator_analyst"])
        officer = factories.user(s, bank_org, ["bank_officer"])
        return DisputeWorld(
            own=own,
            other=other,
            operator=Actor(op1.id, "op1", frozenset({"operator"}), operator_org.id),
            operator2=Actor(op2.id, "op2", frozenset({"operator"}), operator_org.id),
            regulator=Actor(reg.id, "reg", frozenset({"regulator_analyst"}), regulator_org.id),
            bank=Actor(officer.id, "officer", frozenset({"bank_officer"}), bank_org.id),
        )
