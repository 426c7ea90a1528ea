"""Repayment schedules: exact cents, sums, dates; payments, days past due, buckets, reminders."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from core.lending.schedule import (
    METHODS,
    ScheduleError,
    add_months,
    apply_payment,
    build_schedule,
    days_past_due,
    dpd_bucket,
    outstanding_principal,
    reminder_dates,
)

D = Decimal

amounts = st.integers(min_value=100, max_value=50_000_000_00).map(lambda c: D(c) / 100)
rates = st.integers(min_value=0, max_value=2400).map(lambda bp: D(bp) / 100)
starts = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))


@settings(max_examples=300, deadline=None)
@given(principal=amounts, rate=rates, periods=st.integers(1, 120), method=st.sampled_from(METHODS),
       quarterly=st.booleans(), start=starts)
def test_principal_sums_to_the_loan_in_exact_cents(principal, rate, periods, method, quarterly, start):
    freq = "quarterly" if quarterly else "monthly"
    term = periods * (3 if quarterly else 1)
    rows = build_schedule(principal, rate, term, method, start, freq)
    assert len(rows) == periods
    assert sum(r.principal_due for r in rows) == principal
    for r in rows:
        assert r.principal_due >= 0 and r.interest_due >= 0
        assert r.principal_due == r.principal_due.quantize(D("0.01"))
        assert r.interest_due == r.interest_due.quantize(D("0.01"))
    # dates strictly increase, one period apart, never past the month's end
    dues = [r.due_date for r in rows]
    assert dues == sorted(set(dues))
    assert dues[-1] == add_months(start, term)
    if rate == 0:
        assert all(r.interest_due == 0 for r in rows)


@settings(max_examples=200, deadline=None)
@given(principal=amounts, rate=rates.filter(lambda r: r > 0), periods=st.integers(2, 60), start=starts)
def test_equal_installments_are_equal_but_the_last(principal, rate, periods, start):
    assume(principal >= 100 * periods)  # below a yuan or so per period the cent rounding dominates
    rows = build_schedule(principal, rate, periods, "equal_installment", start)
    totals = {r.total_due for r in rows[:-1]}
    assert len(totals) == 1
    # the last absorbs rounding: within a cent per period of the others
    assert abs(rows[-1].total_due - rows[0].total_due) <= D("0.01") * periods


def test_equal_installment_matches_the_textbook_payment():
    # 100,000 yuan, 12 months at 4.35 %: the standard annuity payment is 8,530.99 yuan
    rows = build_schedule(D("100000"), D("4.35"), 12, "equal_installment", date(2026, 1, 15))
    assert rows[0].total_due == D("8530.99")
    assert rows[0].interest_due == D("362.50")  # 100,000 × 4.35 % / 12


def test_equal_principal_falls_and_bullet_pays_principal_last():
    ep = build_schedule(D("120000"), D("6"), 12, "equal_principal", date(2026, 3, 1))
    assert [r.principal_due for r in ep] == [D("10000.00")] * 12
    assert ep[0].interest_due == D("600.00") and ep[-1].interest_due == D("50.00")
    bullet = build_schedule(D("120000"), D("6"), 12, "interest_only_bullet", date(2026, 3, 1), "quarterly")
    assert [r.principal_due for r in bullet] == [D("0.00")] * 3 + [D("120000")]
    assert {r.interest_due for r in bullet} == {D("1800.00")}


def test_due_dates_clamp_to_the_end_of_short_months():
    rows = build_schedule(D("1000"), D("5"), 3, "equal_principal", date(2026, 1, 31))
    assert [r.due_date for r in rows] == [date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]
    assert add_months(date(2027, 12, 31), 2) == date(2028, 2, 29)


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"principal": D("0")}, "error.schedule.principal"),
        ({"principal": D("-5")}, "error.schedule.principal"),
        ({"principal": D("10.001")}, "error.schedule.principal"),
        ({"annual_rate_pct": D("-1")}, "error.schedule.rate"),
        ({"term_months": 0}, "error.schedule.term"),
        ({"term_months": 10, "frequency": "quarterly"}, "error.schedule.term"),
        ({"frequency": "weekly"}, "error.schedule.frequency"),
        ({"method": "balloon"}, "error.schedule.method"),
    ],
)
def test_bad_schedule_inputs_are_refused_with_their_key(kwargs, key):
    args = {"principal": D("1000"), "annual_rate_pct": D("4"), "term_months": 12, "method": "equal_principal",
            "start": date(2026, 1, 1), "frequency": "monthly"} | kwargs
    with pytest.raises(ScheduleError) as err:
        build_schedule(**args)
    assert err.value.key == key


def test_on_time_payment_settles_one_installment():
    rows = build_schedule(D("12000"), D("12"), 12, "equal_principal", date(2026, 1, 10))
    res = apply_payment(rows, rows[0].total_due, rows[0].due_date)
    assert res.installments[0].settled and res.installments[0].paid_on == rows[0].due_date
    assert res.to_interest == D("120.00") and res.to_principal == D("1000.00") and res.prepaid_principal == 0
    assert outstanding_principal(res.installments) == D("11000.00")


def test_partial_payment_goes_to_interest_first():
    rows = build_schedule(D("12000"), D("12"), 12, "equal_principal", date(2026, 1, 10))
    res = apply_payment(rows, D("150.00"), rows[0].due_date)
    first = res.installments[0]
    assert first.interest_paid == D("120.00") and first.principal_paid == D("30.00")
    assert not first.settled and first.outstanding == D("970.00")


def test_late_payment_settles_the_oldest_first_and_dpd_counts_from_it():
    rows = build_schedule(D("12000"), D("12"), 12, "equal_principal", date(2026, 1, 10))
    as_of = rows[1].due_date + timedelta(days=5)  # two installments due, none paid
    assert days_past_due(rows, as_of) == (as_of - rows[0].due_date).days
    res = apply_payment(rows, rows[0].total_due, as_of)
    assert res.installments[0].settled and not res.installments[1].settled
    assert days_past_due(res.installments, as_of) == 5


def test_early_repayment_prepays_principal_from_the_end_and_waives_its_interest():
    rows = build_schedule(D("12000"), D("12"), 12, "equal_principal", date(2026, 1, 10))
    res = apply_payment(rows, rows[0].total_due + D("2000.00"), rows[0].due_date, prepay=True)
    assert res.prepaid_principal == D("2000.00")
    last_two = res.installments[-2:]
    assert all(r.settled for r in last_two)
    assert all(r.interest_due == 0 for r in last_two)  # interest on principal no longer lent is waived
    assert outstanding_principal(res.installments) == D("9000.00")


def test_paying_ahead_settles_the_coming_installments_in_order():
    rows = build_schedule(D("12000"), D("12"), 12, "equal_principal", date(2026, 1, 10))
    res = apply_payment(rows, rows[0].total_due + D("500.00"), date(2026, 2, 3))  # a week early, and more
    assert res.installments[0].settled and res.prepaid_principal == 0
    assert res.installments[1].interest_paid == rows[1].interest_due  # interest of the next period first
    assert res.installments[1].principal_paid == D("500.00") - rows[1].interest_due


def test_paying_off_everything_returns_the_excess():
    rows = build_schedule(D("1000"), D("0"), 2, "equal_principal", date(2026, 1, 10))
    res = apply_payment(rows, D("1500.00"), date(2026, 1, 20))
    assert all(r.settled for r in res.installments)
    assert res.unapplied == D("500.00")


@settings(max_examples=200, deadline=None)
@given(principal=amounts, rate=rates, periods=st.integers(1, 36), method=st.sampled_from(METHODS),
       pay_cents=st.integers(1, 10**9), day=st.integers(0, 1200), prepay=st.booleans())
def test_a_payment_conserves_money(principal, rate, periods, method, pay_cents, day, prepay):
    rows = build_schedule(principal, rate, periods, method, date(2026, 1, 5))
    paid = D(pay_cents) / 100
    res = apply_payment(rows, paid, date(2026, 1, 5) + timedelta(days=day), prepay=prepay)
    assert res.to_interest + res.to_principal + res.prepaid_principal + res.unapplied == paid
    assert outstanding_principal(res.installments) == principal - res.to_principal - res.prepaid_principal
    assert all(r.outstanding >= 0 for r in res.installments)


@pytest.mark.parametrize(("dpd", "bucket"), [(0, "M0"), (1, "M1"), (30, "M1"), (31, "M2"), (60, "M2"),
                                             (61, "M3+"), (400, "M3+")])
def test_dpd_buckets(dpd, bucket):
    assert dpd_bucket(dpd) == bucket


def test_reminders_before_and_after_a_due_date():
    r = reminder_dates(date(2026, 3, 10))
    assert r == {"due_in_7": date(2026, 3, 3), "due_in_3": date(2026, 3, 7), "due_in_1": date(2026, 3, 9),
                 "overdue": date(2026, 3, 11)}


def test_a_bad_payment_amount_is_refused():
    rows = build_schedule(D("1000"), D("5"), 2, "equal_principal", date(2026, 1, 10))
    for bad in (D("0"), D("-1"), D("1.005")):
        with pytest.raises(ScheduleError):
            apply_payment(rows, bad, date(2026, 2, 10))
