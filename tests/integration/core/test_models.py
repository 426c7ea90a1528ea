"""Model constraints hold in the database itself, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from core.db import session_scope
from core.models import Enterprise, EnterpriseCreate, Loan, RepaymentInstallment
from core.validators import CreditCodeInvalidError
from tests import factories


def test_credit_codes_are_unique(db):
    with session_scope() as s:
        code = factories.enterprise(s).credit_code
    with pytest.raises(IntegrityError), session_scope() as s:
        factories.enterprise(s, credit_code=code)


def test_money_keeps_every_cent(db):
    amounts = [Decimal("0.01"), Decimal("12345678.91"), Decimal("99999999999.99"), Decimal("1000000.10")]
    with session_scope() as s:
        ids = [factories.enterprise(s, registered_capital=a).id for a in amounts]
    with session_scope() as s:
        read = [s.get(Enterprise, i).registered_capital for i in ids]
    assert read == amounts
    assert all(isinstance(a, Decimal) and a.as_tuple().exponent == -2 for a in read)


def test_money_rounds_half_up_to_cents(db):
    with session_scope() as s:
        eid = factories.enterprise(s, registered_capital=Decimal("100.005")).id
    with session_scope() as s:
        assert s.get(Enterprise, eid).registered_capital == Decimal("100.01")


def test_negative_amounts_are_refused_by_the_database(db):
    with pytest.raises(IntegrityError), session_scope() as s:
        factories.enterprise(s, registered_capital=Decimal("-1"))
    with session_scope() as s:
        ent = factories.enterprise(s)
        bank = factories.institution(s)
        prod = factories.product(s, bank.id)
        app = factories.application(s, ent, prod)
        loan_id = factories.loan(s, app).id
    with pytest.raises(IntegrityError), session_scope() as s:
        s.add(
            RepaymentInstallment(
                loan_id=loan_id,
                seq=1,
                due_date=datetime(2026, 6, 10).date(),
                principal_due=Decimal("-5"),
                interest_due=Decimal("1"),
            )
        )
    with session_scope() as s:
        assert s.exec(select(Loan)).one().amount == Decimal("500000.00")


def test_product_ranges_are_checked_by_the_database(db):
    with session_scope() as s:
        bank_id = factories.institution(s).id
    with pytest.raises(IntegrityError), session_scope() as s:
        factories.product(s, bank_id, amount_min=Decimal("5000000"), amount_max=Decimal("100000"))


def test_times_are_stored_in_utc_and_read_back_timezone_aware(db):
    shanghai = timezone(timedelta(hours=8))
    local = datetime(2026, 3, 1, 9, 30, tzinfo=shanghai)
    with session_scope() as s:
        ent = factories.enterprise(s)
        bank = factories.institution(s)
        app = factories.application(s, ent, factories.product(s, bank.id))
        loan_id = factories.loan(s, app, disbursed_at=local).id
    with session_scope() as s:
        read = s.get(Loan, loan_id).disbursed_at
    assert read.tzinfo is not None
    assert read == local
    assert read.astimezone(UTC).hour == 1


def test_naive_datetimes_are_refused(db):
    with pytest.raises(Exception, match="naive datetime"), session_scope() as s:
        ent = factories.enterprise(s)
        bank = factories.institution(s)
        app = factories.application(s, ent, factories.product(s, bank.id))
        factories.loan(s, app, disbursed_at=datetime(2026, 3, 1, 9, 30))


def test_create_model_validates_credit_code_and_bounds():
    base = {
        "credit_code": factories.credit_code(),
        "name": "衡水示例有限公司",
        "district_code": "131102",
        "industry_section": "C",
        "industry_division": "29",
        "scale": "micro",
        "founded_on": "2020-01-01",
        "registered_capital": "100000",
        "employees": 3,
        "legal_rep_name": "李四",
    }
    assert EnterpriseCreate.model_validate(base).credit_code == base["credit_code"]
    wrong_check = "0" if base["credit_code"][17] != "0" else "1"
    # Domain errors pass through Pydantic unchanged, so a form shows the precise, localized message.
    with pytest.raises(CreditCodeInvalidError) as info:
        EnterpriseCreate.model_validate({**base, "credit_code": base["credit_code"][:17] + wrong_check})
    assert info.value.field == "credit_code"
    with pytest.raises(ValidationError):
        EnterpriseCreate.model_validate({**base, "employees": -1})
    with pytest.raises(ValidationError):
        EnterpriseCreate.model_validate({**base, "scale": "huge"})
