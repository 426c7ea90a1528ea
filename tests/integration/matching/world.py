"""A small matchmaking world for the tests: one enterprise, three bank families with products, staff."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from core.auth import Actor
from core.db import session_scope
from core.lending.workdays import SHANGHAI
from core.models import CreditScore, ScoringModel
from core.models.types import OrgKind
from tests import factories

# Wednesday 30 September 2026, 10:00 in Hengshui: the National Day holiday (1–7 October) follows.
NOW = datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI)
DISTRICT = "131102"


@dataclass
class MatchWorld:
    enterprise_id: int
    owner: Actor
    banks: dict[str, int] = field(default_factory=dict)  # name → head office id
    branches: dict[str, int] = field(default_factory=dict)  # "a_local", "a_far" → branch id
    products: dict[str, int] = field(default_factory=dict)
    officers: dict[str, Actor] = field(default_factory=dict)
    managers: dict[str, int] = field(default_factory=dict)  # bank → manager user id

    def need(self, **overrides) -> dict:
        fields = {"amount": Decimal("500000"), "term_months": 12, "purpose": "采购原材料", "max_rate": None,
                  "accepts_collateral": False, "dispatch_limit": 2}
        fields.update(overrides)
        return fields


def build(*, grade: str | None = "A", bank_rates: dict[str, str] | None = None) -> MatchWorld:
    """Enterprise in 131102 (founded 2015, small, industry C, never borrowed) rated ``grade``; banks a, b, c.

    Bank a has a branch in 131102 and one in 131121; b and c have none. Each bank has one first-loan
    friendly credit product (rates: a 3.5, b 4.0, c 4.5 unless ``bank_rates`` says otherwise).
    """
    rates = {"a": "3.50", "b": "4.00", "c": "4.50", **(bank_rates or {})}
    with session_scope() as s:
        ent = factories.enterprise(s, district_code=DISTRICT, founded_on=date(2015, 3, 1))
        ent_org = factories.institution(s, kind=OrgKind.enterprise, enterprise_id=ent.id)
        owner_user = factories.user(s, ent_org, ["enterprise_admin"])
        world = MatchWorld(
            enterprise_id=ent.id,
            owner=Actor(owner_user.id, "owner", frozenset({"enterprise_admin"}), ent_org.id, ent.id),
        )
        for name in ("a", "b", "c"):
            head = factories.institution(s, name=f"测试银行{name.upper()}", name_en=f"Test Bank {name.upper()}",
                                         district_code="131100")
            world.banks[name] = head.id
            world.products[name] = factories.product(
                s, head.id, name=f"{name.upper()}行首贷", rate_min=Decimal(rates[name]),
                rate_max=Decimal(rates[name]) + 3, first_loan_friendly=True,
            ).id
            manager = factories.user(s, head, ["bank_manager"])
            world.managers[name] = manager.id
            staff_org = head
            if name == "a":
                local = factories.institution(s, name="测试银行A桃城支行", parent_id=head.id, district_code=DISTRICT)
                far = factories.institution(s, name="测试银行A枣强支行", parent_id=head.id, district_code="131121")
                world.branches.update(a_local=local.id, a_far=far.id)
                staff_org = local
            officer = factories.user(s, staff_org, ["bank_officer"])
            world.officers[name] = Actor(officer.id, f"officer-{name}", frozenset({"bank_officer"}), staff_org.id)
        if grade is not None:
            model = ScoringModel(name="测试模型", model_version="1", status="approved")
            s.add(model)
            s.flush()
            s.add(CreditScore(enterprise_id=ent.id, model_id=model.id, score=700, grade=grade, pd=0.02,
                              as_of=date(2026, 6, 30)))
    return world
