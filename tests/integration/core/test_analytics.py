"""The read side's aggregates agree with the rows they summarize, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from core.db import session_scope
from core.errors import ForbiddenError
from core.models.types import LoanStatus, ProductStatus
from core.services import analytics
from tests import factories

REGULATOR = factories.actor("regulator_analyst")


@pytest.fixture
def small_platform(db):
    with session_scope() as s:
        bank = factories.institution(s)
        factories.institution(s, parent_id=bank.id, name="测试银行某支行")  # a branch is not an institution
        factories.institution(s, kind="guarantee")
        prod = factories.product(s, bank.id)
        factories.product(s, bank.id, status=ProductStatus.draft)
        a = factories.enterprise(s, district_code="131102")
        b = factories.enterprise(s, district_code="131182")
        factories.enterprise(s, district_code="131182")
        l1 = factories.application(s, a, prod, amount_requested=Decimal("1000000"))
        l2 = factories.application(s, b, prod, amount_requested=Decimal("3000000"))
        factories.application(s, b, prod)
        factories.loan(s, l1, annual_rate=Decimal("4.00"), is_first_loan=True,
                       disbursed_at=datetime(2026, 3, 5, tzinfo=UTC))
        factories.loan(s, l2, annual_rate=Decimal("6.00"), status=LoanStatus.defaulted,
                       disbursed_at=datetime(2026, 5, 20, tzinfo=UTC))


def test_platform_kpis_count_what_is_there(small_platform):
    kpis = analytics.platform_kpis(actor=REGULATOR)
    assert kpis["enterprises"] == 3
    assert kpis["institutions"] == 2
    assert kpis["products_published"] == 1
    assert kpis["applications"] == 3
    assert kpis["loans"] == 2
    assert kpis["credit_granted_yuan"] == Decimal("4000000.00")
    assert kpis["first_loans"] == 1 and kpis["first_loan_amount_yuan"] == Decimal("1000000.00")
    assert kpis["avg_rate_pct"] == pytest.approx(5.5)  # amount-weighted: (1×4 + 3×6) / 4
    assert kpis["defaulted_loans"] == 1


def test_monthly_trend_buckets_loans_by_month(small_platform):
    trend = analytics.monthly_trend(actor=REGULATOR, months=12)
    assert list(trend.columns) == ["month", "applications", "loans", "amount_yuan", "first_loans"]
    assert len(trend) == 12
    # The window ends at the latest month with activity (the applications, submitted now).
    now = datetime.now(UTC)
    assert trend["month"].max() == datetime(now.year, now.month, 1)
    assert trend["applications"].sum() == 3
    by_month = trend.set_index(trend["month"].dt.strftime("%Y-%m"))
    assert by_month.loc["2026-03", "loans"] == 1 and by_month.loc["2026-03", "first_loans"] == 1
    assert by_month.loc["2026-05", "amount_yuan"] == pytest.approx(3_000_000)
    assert trend["loans"].sum() == 2


def test_district_breakdown_covers_every_reference_district(small_platform):
    frame = analytics.district_breakdown(actor=REGULATOR)
    assert len(frame) == 13
    row = frame.set_index("district_code").loc["131182"]
    assert row["enterprises"] == 2 and row["loans"] == 1 and row["amount_yuan"] == pytest.approx(3_000_000)
    assert frame["amount_yuan"].is_monotonic_decreasing
    assert frame.loc[frame["district_code"] == "131172", "loans"].item() == 0


def test_cached_reads_are_invalidated_by_a_committed_write(small_platform):
    from core.usecase import UnitOfWork, use_case

    @use_case("products.manage", write=True)
    def add_enterprise(uow: UnitOfWork, *, actor) -> None:
        factories.enterprise(uow.session)

    assert analytics.platform_kpis(actor=REGULATOR)["enterprises"] == 3
    add_enterprise(actor=factories.actor("bank_officer"))
    assert analytics.platform_kpis(actor=REGULATOR)["enterprises"] == 4


def test_empty_platform_gives_zeros_not_errors(db):
    kpis = analytics.platform_kpis(actor=REGULATOR)
    assert kpis["loans"] == 0 and kpis["credit_granted_yuan"] == 0 and kpis["avg_rate_pct"] == 0.0
    assert analytics.monthly_trend(actor=REGULATOR).empty
    assert analytics.district_breakdown(actor=REGULATOR)["loans"].sum() == 0


def test_enterprise_users_cannot_read_platform_statistics(db):
    with pytest.raises(ForbiddenError):
        analytics.platform_kpis(actor=factories.actor("enterprise_user", enterprise_id=1))
