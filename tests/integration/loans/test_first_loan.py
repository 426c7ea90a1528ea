"""The first-loan center: products, bookings without double booking, cancel, attendance, queue and funnel."""

from __future__ import annotations

import threading
import time as _time
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from sqlmodel import func, select

from core.db import session_scope
from core.errors import ConflictError, ForbiddenError, InvalidError
from core.lending.workdays import SHANGHAI, is_working_day
from core.models import Appointment, Enterprise, Product
from core.models.types import ApplicationStatus, ProductStatus
from core.services import first_loan, loans
from tests import factories
from tests.integration.loans.conftest import key, make_application


def _next_day(working: bool, after: int = 1) -> date:
    day = datetime.now(SHANGHAI).date() + timedelta(days=after)
    while is_working_day(day) != working:
        day += timedelta(days=1)
    return day


def _slot(day: date, hh: int = 10, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), SHANGHAI)


def _book(world, actor=None, enterprise_id=None, **kw):
    actor = actor or world.owner
    return first_loan.book_appointment(actor=actor, enterprise_id=enterprise_id or actor.enterprise_id,
                                       idempotency_key=kw.pop("idempotency_key", key("appt")), **kw)


def _booked() -> int:
    with session_scope() as s:
        return int(s.exec(select(func.count(Appointment.id)).where(Appointment.status == "booked")).one())


def test_first_time_borrower_is_recognized_and_sees_friendly_products_first(world):
    with session_scope() as s:
        factories.product(s, world.bank_id, name="普通贷", rate_min=Decimal("2.00"))
        factories.product(s, world.bank_id, name="草稿贷", status=ProductStatus.draft, first_loan_friendly=True)
    status = first_loan.first_loan_status(actor=world.owner, enterprise_id=world.enterprise_id)
    assert status.first_time and status.loans == 0
    products = first_loan.first_loan_products(actor=world.owner, enterprise_id=world.enterprise_id)
    assert list(products["first_loan_friendly"]) == [True, False]
    assert "草稿贷" not in set(products["name"])
    loans.disburse_loan(actor=world.officer, application_id=make_application(world).id, method="equal_installment",
                        disbursed_on=date(2026, 1, 15), idempotency_key=key())
    assert not first_loan.first_loan_status(actor=world.owner, enterprise_id=world.enterprise_id).first_time


def test_booking_a_free_slot_and_listing_it(world):
    day = _next_day(True)
    slots = first_loan.available_slots(actor=world.owner, day=day)
    assert len(slots) == 13 and slots["free"].iloc[0] == 23
    out = _book(world, slot_start=_slot(day), note="咨询首贷")
    assert out.window_no == 1 and out.status == "booked"
    again = first_loan.available_slots(actor=world.owner, day=day)
    assert again.set_index("label").loc["10:00", "free"] == 22
    mine = first_loan.my_appointments(actor=world.owner, enterprise_id=world.enterprise_id)
    assert list(mine["id"]) == [out.id]


def test_double_booking_a_window_is_refused_with_slot_taken(world):
    day = _next_day(True)
    _book(world, slot_start=_slot(day), window_no=5)
    with pytest.raises(first_loan.SlotTakenError) as caught:
        _book(world, actor=world.stranger, slot_start=_slot(day), window_no=5)
    assert caught.value.message("en") != caught.value.key  # a sentence in the user's language
    other = _book(world, actor=world.stranger, slot_start=_slot(day))  # any window: the next free one
    assert other.window_no == 1
    with pytest.raises(first_loan.AlreadyBookedError):
        _book(world, slot_start=_slot(day), window_no=6)
    assert _booked() == 2


def test_booking_is_idempotent_and_cancel_frees_the_slot(world):
    day = _next_day(True)
    k = key("appt")
    one = _book(world, slot_start=_slot(day, 14, 0), window_no=3, idempotency_key=k)
    two = _book(world, slot_start=_slot(day, 14, 0), window_no=3, idempotency_key=k)
    assert one.id == two.id and _booked() == 1
    with pytest.raises(ForbiddenError):
        first_loan.cancel_appointment(actor=world.stranger, appointment_id=one.id)
    assert first_loan.cancel_appointment(actor=world.owner, appointment_id=one.id).status == "cancelled"
    with pytest.raises(ConflictError):
        first_loan.cancel_appointment(actor=world.owner, appointment_id=one.id)
    assert _book(world, actor=world.stranger, slot_start=_slot(day, 14, 0), window_no=3).window_no == 3


@pytest.mark.parametrize(
    "slot",
    [
        lambda: _slot(_next_day(True), 12, 30),  # lunch break
        lambda: _slot(_next_day(True), 8, 30),  # before opening
        lambda: _slot(_next_day(True), 17, 0),  # closed
        lambda: _slot(_next_day(True), 10, 15),  # not a slot boundary
        lambda: _slot(_next_day(False), 10, 0),  # a rest day or holiday
        lambda: _slot(datetime.now(SHANGHAI).date() - timedelta(days=1), 10, 0),  # past
        lambda: _slot(_next_day(True, after=40), 10, 0),  # beyond the horizon
        lambda: "tomorrow morning",
    ],
)
def test_slots_outside_working_hours_or_days_are_refused(world, slot):
    with pytest.raises(InvalidError) as caught:
        _book(world, slot_start=slot())
    assert caught.value.field == "slot_start"
    assert _booked() == 0


def test_new_years_day_is_not_a_working_day():
    assert not is_working_day(date(2026, 1, 1))  # the official calendar, not just weekends


def test_bad_window_and_note_are_refused(world):
    day = _next_day(True)
    with pytest.raises(InvalidError):
        _book(world, slot_start=_slot(day), window_no=24)
    with pytest.raises(InvalidError):
        _book(world, slot_start=_slot(day), note="<script>")
    with pytest.raises(ForbiddenError):
        _book(world, actor=world.stranger, enterprise_id=world.enterprise_id, slot_start=_slot(day))
    assert _booked() == 0


def test_service_windows_is_a_setting(world, monkeypatch):
    from core.config import get_settings

    monkeypatch.setenv("SERVICE_WINDOWS", "1")
    get_settings.cache_clear()
    day = _next_day(True)
    _book(world, slot_start=_slot(day))
    with pytest.raises(first_loan.SlotTakenError):
        _book(world, actor=world.stranger, slot_start=_slot(day))


@pytest.mark.postgres
@pytest.mark.parametrize("db", ["postgres"], indirect=True)
def test_two_concurrent_bookings_of_one_window_one_wins(world, monkeypatch):
    real_notify = first_loan.notify

    def slow_notify(*args, **kwargs):  # hold the first insert open while the second one checks and inserts
        _time.sleep(0.6)
        return real_notify(*args, **kwargs)

    monkeypatch.setattr(first_loan, "notify", slow_notify)
    day = _next_day(True)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def book(actor):
        barrier.wait()
        try:
            _book(world, actor=actor, slot_start=_slot(day, 15, 0), window_no=7)
            outcomes.append("ok")
        except first_loan.SlotTakenError:
            outcomes.append("taken")

    threads = [threading.Thread(target=book, args=(a,)) for a in (world.owner, world.stranger)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["ok", "taken"]
    assert _booked() == 1


def test_window_staff_record_attendance_and_guidance(world):
    day = _next_day(True)
    appt = _book(world, slot_start=_slot(day, 9, 30))
    out = first_loan.record_visit(actor=world.officer, appointment_id=appt.id, attended=True,
                                  guidance_note="准备近两年财务报表与纳税记录")
    assert out.status == "attended" and out.guidance_note
    hall = first_loan.hall_schedule(actor=world.officer, day=day)
    assert list(hall["id"]) == [appt.id]
    with pytest.raises(ForbiddenError):
        first_loan.record_visit(actor=world.owner, appointment_id=appt.id, attended=True)


def test_first_loan_queue_holds_only_first_time_borrowers(world):
    newcomer = make_application(world, status=ApplicationStatus.submitted)
    with session_scope() as s:
        veteran = factories.enterprise(s, has_had_loan=True)
        veteran_id = veteran.id
    make_application(world, status=ApplicationStatus.submitted, enterprise_id=veteran_id)
    queue = first_loan.first_loan_queue(actor=world.officer, institution_id=world.bank_id)
    assert list(queue["id"]) == [newcomer.id] and list(queue["kind"]) == ["application"]
    with pytest.raises(ForbiddenError):
        first_loan.first_loan_queue(actor=world.outsider, institution_id=world.bank_id)


def test_funnel_counts_on_a_constructed_world(world):
    t0 = datetime(2026, 3, 2, 2, tzinfo=UTC)  # 10:00 in Shanghai
    with session_scope() as s:
        prod = s.get(Product, world.product_id)
        other_bank = factories.institution(s, name="另一家银行")
        other_prod = factories.product(s, other_bank.id)
        ents = [factories.enterprise(s) for _ in range(5)]
        # visits: e0..e3 attended (e0, e1, e2 with guidance); e4 did not come
        for i, (ent, window, status, guidance) in enumerate([
            (ents[0], 1, "attended", "讲解首贷材料"), (ents[1], 1, "attended", "讲解"),
            (ents[2], 2, "attended", "讲解"), (ents[3], 2, "attended", None), (ents[4], 3, "no_show", None),
        ]):
            s.add(Appointment(enterprise_id=ent.id, window_no=window, slot_start=t0 + timedelta(minutes=30 * i),
                              status=status, guidance_note=guidance))
        later = t0 + timedelta(days=3)
        # e0 applies to the branch (head office: bank) and gets a first loan, then a repeat loan
        a0 = factories.application(s, ents[0], prod, submitted_at=later, status=ApplicationStatus.repaying)
        a0b = factories.application(s, ents[0], prod, submitted_at=later + timedelta(days=60),
                                    status=ApplicationStatus.repaying)
        factories.loan(s, a0, is_first_loan=True, disbursed_at=later + timedelta(days=10))
        factories.loan(s, a0b, is_first_loan=False, disbursed_at=later + timedelta(days=70))
        # e1 applies to the other bank, gets a first loan; e2 applies before visiting only (not counted)
        a1 = factories.application(s, ents[1], other_prod, submitted_at=later, status=ApplicationStatus.repaying)
        factories.loan(s, a1, is_first_loan=True, disbursed_at=later + timedelta(days=5))
        factories.application(s, ents[2], prod, submitted_at=t0 - timedelta(days=30), status=ApplicationStatus.rejected)
        s.flush()
        other_bank_id = other_bank.id
        assert s.get(Enterprise, ents[4].id)
    out = first_loan.first_loan_funnel(actor=world.operator)
    assert dict(zip(out.totals["stage"], out.totals["count"], strict=True)) == {
        "visit": 4, "guidance": 3, "application": 2, "first_loan": 2, "repeat_loan": 1}
    by_window = out.by_window.set_index("window_no")
    assert by_window.loc[1, ["visit", "guidance", "application", "first_loan", "repeat_loan"]].tolist() == [2, 2, 2, 2, 1]
    assert by_window.loc[2, ["visit", "guidance", "application"]].tolist() == [2, 1, 0]
    by_inst = out.by_institution
    bank_row = by_inst[by_inst["institution_id"] == world.bank_id].iloc[0]
    assert (bank_row["application"], bank_row["first_loan"], bank_row["repeat_loan"]) == (1, 1, 1)
    assert by_inst[by_inst["institution_id"] == other_bank_id].iloc[0]["first_loan"] == 1
    assert by_inst["visit"].sum() == 4  # the not-yet-applied row makes the rows add up
    none = first_loan.first_loan_funnel(actor=world.operator, date_from=date(2026, 4, 1))
    assert none.totals["count"].sum() == 0
    with pytest.raises(ForbiddenError):
        first_loan.first_loan_funnel(actor=world.manager)
