"""The first-loan center (首贷中心): first-time borrowers, friendly products, hall appointments and the funnel.

Rules (tested in ``tests/integration/loans/test_first_loan.py``):

* **First-time borrower** — an enterprise with no loan history (``Enterprise.has_had_loan`` false and no
  ``Loan`` row). Institutions see the applications and leads of such enterprises in a separate queue.
* **Products** — published lending products, first-loan friendly ones first, then by lowest rate.
* **Appointments** — at one of the service hall's windows (``SERVICE_WINDOWS``, 23 by default), in
  30-minute slots of working hours (09:00–12:00 and 13:30–17:00, Asia/Shanghai) on China's official
  working days, from the next slot up to :data:`BOOKING_DAYS` days ahead. One booked appointment per
  window and slot (the partial unique index closes the race: a second booking is told the slot is
  taken), one per enterprise and slot; idempotent by key. The enterprise may cancel a booked one;
  window staff (institution staff at the hall) record attendance and the guidance given.
* **Funnel** — visit → guidance → application → first loan → repeat loan, derived from the rows: the
  cohort is the enterprises with an attended appointment in the period; guidance = an attended
  appointment with guidance recorded; application = an application submitted after the first visit;
  first loan = a loan flagged first loan disbursed after the visit; repeat loan = another loan after
  that. Per window: the window of the first visit. Per institution: the head office of the
  institution that received the first application after the visit (enterprises that have not applied
  form their own row, so the rows add up to the hall's totals).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pandas as pd
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.auth import Actor, Permission
from core.auth.rules import assert_acts_for_enterprise, assert_enterprise_access
from core.config import get_settings
from core.errors import ConflictError, InvalidError, NotFoundError
from core.lending.lifecycle import OPEN_STATUSES
from core.lending.workdays import SHANGHAI, is_working_day
from core.models import Application, Appointment, Enterprise, FinancingNeed, Lead, Loan, Organization, Product
from core.models.types import ApplicationStatus, ProductStatus, ProductType, utcnow
from core.services.loan_reads import _family
from core.services.loans import check_key, parse_day
from core.services.notifications import notify
from core.usecase import use_case

SLOT_MINUTES = 30
SLOT_STARTS = [time(h, m) for h, m in ((9, 0), (9, 30), (10, 0), (10, 30), (11, 0), (11, 30), (13, 30), (14, 0),
                                       (14, 30), (15, 0), (15, 30), (16, 0), (16, 30))]
BOOKING_DAYS = 30
NOTE_MAX = 500
# What banks ask a first-time borrower for (labels: ``loans.checklist.<code>``).
CHECKLIST = ("license", "legal_rep_id", "financials", "tax_records", "bank_statements", "contracts",
             "credit_authorization", "collateral")
STAGES = ["visit", "guidance", "application", "first_loan", "repeat_loan"]
LENDING_TYPES = [t for t in ProductType if t not in (ProductType.insurance, ProductType.guarantee_service)]
APPOINTMENT_COLUMNS = ["id", "enterprise_id", "enterprise_name", "window_no", "slot_start", "status", "note",
                       "guidance_note", "attended_at"]


class SlotTakenError(ConflictError):
    """Someone booked this window and slot first."""

    key = "loans.error.slot_taken"


class AlreadyBookedError(ConflictError):
    key = "loans.error.already_booked"


class AppointmentNotFoundError(NotFoundError):
    key = "loans.error.appointment_not_found"


class AppointmentPublic(BaseModel):
    """An appointment as services return it."""

    id: int
    enterprise_id: int
    window_no: int
    slot_start: datetime
    slot_minutes: int
    status: str
    note: str | None
    guidance_note: str | None


@dataclass(frozen=True)
class FirstLoanStatus:
    """Where an enterprise stands: a first-time borrower or not, with its counts."""

    first_time: bool
    loans: int
    open_applications: int
    booked_appointments: int


@dataclass(frozen=True)
class Funnel:
    """The first-loan funnel: ``totals`` (stage, count), ``by_window`` and ``by_institution`` (stages as columns)."""

    totals: pd.DataFrame
    by_window: pd.DataFrame
    by_institution: pd.DataFrame


def windows() -> int:
    return int(getattr(get_settings(), "service_windows", 23))


def _public(row: Appointment) -> AppointmentPublic:
    return AppointmentPublic.model_validate(row, from_attributes=True)


def _text(value: object, field: str, limit: int = NOTE_MAX) -> str | None:
    text = " ".join(str(value or "").split())
    if len(text) > limit or "<" in text or ">" in text:
        raise InvalidError("loans.error.note", field=field, max=limit)
    return text or None


def _slot(value: object, now: datetime) -> datetime:
    """A valid, bookable slot start as an aware datetime (else a localized InvalidError)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidError("loans.error.slot_invalid", field="slot_start") from None
    if not isinstance(value, datetime):
        raise InvalidError("loans.error.slot_invalid", field="slot_start")
    local = (value if value.tzinfo else value.replace(tzinfo=SHANGHAI)).astimezone(SHANGHAI)
    if local.time().replace(tzinfo=None) not in SLOT_STARTS or local.second or local.microsecond:
        raise InvalidError("loans.error.slot_invalid", field="slot_start")
    if not is_working_day(local.date()):
        raise InvalidError("loans.error.not_working_day", field="slot_start", day=local.date().isoformat())
    if local <= now:
        raise InvalidError("loans.error.slot_past", field="slot_start")
    if local.date() > now.astimezone(SHANGHAI).date() + timedelta(days=BOOKING_DAYS):
        raise InvalidError("loans.error.slot_too_far", field="slot_start", days=BOOKING_DAYS)
    return local


def _is_first_time(session: Session, enterprise: Enterprise) -> bool:
    if enterprise.has_had_loan:
        return False
    return session.exec(select(Loan.id).where(Loan.enterprise_id == enterprise.id).limit(1)).first() is None


# ---------------------------------------------------------------------------------- enterprise


@use_case(permission=None)
def first_loan_status(uow, *, actor: Actor, enterprise_id: int) -> FirstLoanStatus:
    """Whether the enterprise is a first-time borrower, with its loans, open applications and bookings."""
    assert_enterprise_access(actor, enterprise_id)
    session = uow.session
    enterprise = session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise NotFoundError()
    loans = session.exec(select(Loan.id).where(Loan.enterprise_id == enterprise_id)).all()
    apps = session.exec(select(Application.id).where(Application.enterprise_id == enterprise_id,
                                                     col(Application.status).in_(list(OPEN_STATUSES)))).all()
    booked = session.exec(select(Appointment.id).where(Appointment.enterprise_id == enterprise_id,
                                                       Appointment.status == "booked",
                                                       Appointment.slot_start > utcnow())).all()
    return FirstLoanStatus(first_time=_is_first_time(session, enterprise), loans=len(loans),
                           open_applications=len(apps), booked_appointments=len(booked))


@use_case(permission=None)
def first_loan_products(uow, *, actor: Actor, enterprise_id: int, limit: int = 30) -> pd.DataFrame:
    """Published lending products: first-loan friendly first, then the lowest rate.

    Returns:
        DataFrame ``id``, ``name``, ``institution_name``, ``product_type``, ``amount_min``, ``amount_max``,
        ``term_min_months``, ``term_max_months``, ``rate_min``, ``rate_max``, ``first_loan_friendly``,
        ``collateral_required``.
    """
    assert_enterprise_access(actor, enterprise_id)
    rows = uow.session.exec(
        select(Product, Organization.name)
        .join(Organization, Organization.id == Product.institution_id)
        .where(Product.status == ProductStatus.published, col(Product.product_type).in_(LENDING_TYPES))
        .order_by(col(Product.first_loan_friendly).desc(), col(Product.rate_min), col(Product.id))
        .limit(max(1, min(int(limit), 200)))
    ).all()
    cols = ["id", "name", "institution_name", "product_type", "amount_min", "amount_max", "term_min_months",
            "term_max_months", "rate_min", "rate_max", "first_loan_friendly", "collateral_required"]
    return pd.DataFrame(
        [{**{c: getattr(p, c) for c in cols if c != "institution_name"}, "institution_name": name,
          "product_type": str(p.product_type)} for p, name in rows],
        columns=cols,
    )


@use_case(permission=None)
def available_slots(uow, *, actor: Actor, day: date | str) -> pd.DataFrame:
    """The hall's slots on ``day`` with how many windows are free (a working day within the booking horizon).

    Returns:
        DataFrame ``slot_start`` (aware), ``label`` (HH:MM local), ``free`` (windows), ``free_windows`` (list),
        ``bookable`` (not past).

    Raises:
        InvalidError: not a working day, in the past or beyond :data:`BOOKING_DAYS`.
    """
    wanted = parse_day(day, "day")
    now = utcnow()
    today = now.astimezone(SHANGHAI).date()
    if wanted < today or wanted > today + timedelta(days=BOOKING_DAYS):
        raise InvalidError("loans.error.slot_too_far", field="day", days=BOOKING_DAYS)
    if not is_working_day(wanted):
        raise InvalidError("loans.error.not_working_day", field="day", day=wanted.isoformat())
    starts = [datetime.combine(wanted, t, SHANGHAI) for t in SLOT_STARTS]
    taken = uow.session.exec(select(Appointment.window_no, Appointment.slot_start).where(
        Appointment.status == "booked", col(Appointment.slot_start).in_(starts))).all()
    busy: dict[datetime, set[int]] = {}
    for window_no, start in taken:
        busy.setdefault(start.astimezone(SHANGHAI), set()).add(int(window_no))
    out = []
    for start in starts:
        free = [w for w in range(1, windows() + 1) if w not in busy.get(start, set())]
        out.append({"slot_start": start, "label": start.strftime("%H:%M"), "free": len(free), "free_windows": free,
                    "bookable": start > now and bool(free)})
    return pd.DataFrame(out, columns=["slot_start", "label", "free", "free_windows", "bookable"])


@use_case(permission=None, write=True)
def book_appointment(
    uow,
    *,
    actor: Actor,
    enterprise_id: int,
    slot_start: datetime | str,
    idempotency_key: str,
    window_no: int | None = None,
    note: str | None = None,
) -> AppointmentPublic:
    """Book a 30-minute slot at a service-hall window (the lowest free window when none is named).

    Args:
        enterprise_id: the actor's own enterprise.
        slot_start: the slot's start (aware, or naive Asia/Shanghai local time; ISO text accepted).
        idempotency_key: a double-clicked submit books once.
        window_no: 1 … ``SERVICE_WINDOWS`` (default: the lowest free one).
        note: what the enterprise wants to discuss (at most 500 characters).

    Raises:
        InvalidError: not a slot, not a working day, past, too far ahead, a bad window or note.
        SlotTakenError: the window (or every window) is taken at that slot.
        AlreadyBookedError: the enterprise already holds a booking at that slot.
    """
    assert_acts_for_enterprise(actor, enterprise_id)
    session = uow.session
    key = check_key(idempotency_key)
    seen = session.exec(select(Appointment).where(Appointment.idempotency_key == key)).first()
    if seen is not None:
        if seen.enterprise_id != enterprise_id:
            raise ConflictError("loans.error.key_reused")
        return _public(seen)
    now = utcnow()
    start = _slot(slot_start, now)
    text = _text(note, "note")
    if window_no is not None:
        try:
            window_no = int(window_no)
        except (TypeError, ValueError):
            window_no = 0
        if not 1 <= window_no <= windows():
            raise InvalidError("loans.error.window", field="window_no", max=windows())
    booked = session.exec(select(Appointment.window_no, Appointment.enterprise_id).where(
        Appointment.status == "booked", Appointment.slot_start == start)).all()
    if any(e == enterprise_id for _, e in booked):
        raise AlreadyBookedError()
    busy = {int(w) for w, _ in booked}
    if window_no is None:
        free = [w for w in range(1, windows() + 1) if w not in busy]
        if not free:
            raise SlotTakenError()
        window_no = free[0]
    elif window_no in busy:
        raise SlotTakenError()
    row = Appointment(enterprise_id=enterprise_id, window_no=window_no, slot_start=start, note=text,
                      booked_by_id=actor.user_id, idempotency_key=key, created_at=now)
    session.add(row)
    try:
        session.flush()  # the first write of this unit of work: a refusal here loses nothing else
    except IntegrityError as exc:
        raise SlotTakenError() from exc
    local = start.astimezone(SHANGHAI)
    notify(session, kind="appointment.booked", title_key="loans.notify.booked.title",
           params={"window": window_no, "when": local.strftime("%Y-%m-%d %H:%M")}, enterprise_id=enterprise_id,
           dedupe_key=f"appointment:{row.id}:booked", payload={"appointment_id": int(row.id)})
    uow.audit("appointment.book", entity_type="appointment", entity_id=row.id,
              after={"enterprise_id": enterprise_id, "window_no": window_no, "slot_start": start.isoformat()})
    return _public(row)


def _appointment(session: Session, appointment_id: object) -> Appointment:
    try:
        row = session.get(Appointment, int(appointment_id))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        row = None
    if row is None:
        raise AppointmentNotFoundError()
    return row


@use_case(permission=None, write=True)
def cancel_appointment(uow, *, actor: Actor, appointment_id: int) -> AppointmentPublic:
    """Cancel one of the enterprise's booked appointments (the slot becomes free again)."""
    row = _appointment(uow.session, appointment_id)
    assert_acts_for_enterprise(actor, row.enterprise_id)
    if row.status != "booked":
        raise ConflictError("loans.error.not_booked")
    row.status = "cancelled"
    uow.session.add(row)
    uow.audit("appointment.cancel", entity_type="appointment", entity_id=row.id)
    return _public(row)


def _appointments_frame(session: Session, rows: list[Appointment]) -> pd.DataFrame:
    names = dict(session.exec(select(Enterprise.id, Enterprise.name).where(
        col(Enterprise.id).in_({r.enterprise_id for r in rows}))).all()) if rows else {}
    frame = pd.DataFrame(
        [{**{c: getattr(r, c) for c in APPOINTMENT_COLUMNS if c != "enterprise_name"},
          "enterprise_name": names.get(r.enterprise_id, "")} for r in rows],
        columns=APPOINTMENT_COLUMNS,
    )
    for name in ("note", "guidance_note"):  # a missing note stays None (pandas would make it a truthy NaN)
        frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
    return frame


@use_case(permission=None)
def my_appointments(uow, *, actor: Actor, enterprise_id: int) -> pd.DataFrame:
    """The enterprise's appointments, the coming ones first (``APPOINTMENT_COLUMNS``)."""
    assert_enterprise_access(actor, enterprise_id)
    rows = uow.session.exec(select(Appointment).where(Appointment.enterprise_id == enterprise_id)
                            .order_by(col(Appointment.slot_start).desc())).all()
    return _appointments_frame(uow.session, list(rows))


# -------------------------------------------------------------------------- the hall's windows


@use_case(permission=Permission.applications_institution)
def hall_schedule(uow, *, actor: Actor, day: date | str) -> pd.DataFrame:
    """Every appointment at the hall on ``day`` (window staff), by slot and window."""
    wanted = parse_day(day, "day")
    start = datetime.combine(wanted, time(0), SHANGHAI)
    rows = uow.session.exec(select(Appointment).where(
        Appointment.slot_start >= start, Appointment.slot_start < start + timedelta(days=1),
    ).order_by(col(Appointment.slot_start), col(Appointment.window_no))).all()
    return _appointments_frame(uow.session, list(rows))


@use_case(permission=Permission.applications_institution, write=True)
def record_visit(uow, *, actor: Actor, appointment_id: int, attended: bool, guidance_note: str | None = None
                 ) -> AppointmentPublic:
    """Window staff record whether the enterprise came and the guidance given (at most 1,000 characters)."""
    row = _appointment(uow.session, appointment_id)
    if row.status not in ("booked", "attended", "no_show"):
        raise ConflictError("loans.error.not_booked")
    row.status = "attended" if attended else "no_show"
    row.guidance_note = _text(guidance_note, "guidance_note", 1000) if attended else None
    row.attended_at = utcnow() if attended else None
    uow.session.add(row)
    uow.audit("appointment.visit", entity_type="appointment", entity_id=row.id,
              after={"status": row.status, "guidance": bool(row.guidance_note)})
    return _public(row)


# ------------------------------------------------------------------------------- institutions


@use_case(permission=None)
def first_loan_queue(uow, *, actor: Actor, institution_id: int) -> pd.DataFrame:
    """Open applications and open leads of first-time borrowers at the institution family, oldest first.

    Returns:
        DataFrame ``kind`` (application, lead), ``id``, ``enterprise_name``, ``credit_code``, ``amount``,
        ``term_months``, ``status``, ``since``.
    """
    session = uow.session
    scope = _family(session, actor, institution_id)
    apps = session.exec(
        select(Application, Enterprise).join(Enterprise, Enterprise.id == Application.enterprise_id)
        .where(col(Application.institution_id).in_(scope), col(Enterprise.has_had_loan).is_(False),
               col(Application.status).in_(list(OPEN_STATUSES) + [ApplicationStatus.approved,
                                                                  ApplicationStatus.contract_signed]))
    ).all()
    leads = session.exec(
        select(Lead, FinancingNeed, Enterprise).join(FinancingNeed, FinancingNeed.id == Lead.need_id)
        .join(Enterprise, Enterprise.id == FinancingNeed.enterprise_id)
        .where(col(Lead.institution_id).in_(scope), col(Enterprise.has_had_loan).is_(False),
               col(Lead.status).in_(["pending", "responded"]))
    ).all()
    rows = [{"kind": "application", "id": int(a.id), "enterprise_name": e.name, "credit_code": e.credit_code,
             "amount": a.amount_requested, "term_months": a.term_months, "status": str(a.status),
             "since": a.submitted_at} for a, e in apps]
    rows += [{"kind": "lead", "id": int(lead.id), "enterprise_name": e.name, "credit_code": e.credit_code,
              "amount": n.amount, "term_months": n.term_months, "status": lead.status, "since": lead.dispatched_at}
             for lead, n, e in leads]
    frame = pd.DataFrame(rows, columns=["kind", "id", "enterprise_name", "credit_code", "amount", "term_months",
                                        "status", "since"])
    return frame.sort_values("since", kind="stable").reset_index(drop=True) if not frame.empty else frame


# ------------------------------------------------------------------------------------ funnel


def _roots(session: Session) -> dict[int, int]:
    parents = dict(session.exec(select(Organization.id, Organization.parent_id)).all())

    def root(org: int) -> int:
        seen = set()
        while parents.get(org) is not None and org not in seen:
            seen.add(org)
            org = parents[org]
        return org

    return {org: root(org) for org in parents}


def funnel(session: Session, date_from: date | None = None, date_to: date | None = None) -> Funnel:
    """The first-loan funnel over appointments attended in [date_from, date_to] (see the module rules)."""
    query = select(Appointment.enterprise_id, Appointment.window_no, Appointment.slot_start,
                   Appointment.guidance_note).where(Appointment.status == "attended")
    if date_from:
        query = query.where(Appointment.slot_start >= datetime.combine(date_from, time(0), SHANGHAI))
    if date_to:
        query = query.where(Appointment.slot_start < datetime.combine(date_to + timedelta(days=1), time(0), SHANGHAI))
    visits = pd.DataFrame(session.exec(query).all(), columns=["enterprise_id", "window_no", "slot_start", "guidance"])
    empty_groups = pd.DataFrame(columns=["group", *STAGES])
    if visits.empty:
        totals = pd.DataFrame({"stage": STAGES, "count": [0] * len(STAGES)})
        return Funnel(totals, empty_groups.rename(columns={"group": "window_no"}),
                      empty_groups.rename(columns={"group": "institution_id"}))
    visits["slot_start"] = pd.to_datetime(visits["slot_start"], utc=True)
    visits["guided"] = visits["guidance"].fillna("").str.strip() != ""
    visits = visits.sort_values("slot_start")
    cohort = visits.groupby("enterprise_id").agg(first_visit=("slot_start", "first"), window_no=("window_no", "first"),
                                                 guidance=("guided", "any"))
    ids = [int(i) for i in cohort.index]
    apps = pd.DataFrame(session.exec(select(Application.enterprise_id, Application.institution_id,
                                            Application.submitted_at)
                                     .where(col(Application.enterprise_id).in_(ids))).all(),
                        columns=["enterprise_id", "institution_id", "submitted_at"])
    loans = pd.DataFrame(session.exec(select(Loan.enterprise_id, Loan.is_first_loan, Loan.disbursed_at)
                                      .where(col(Loan.enterprise_id).in_(ids))).all(),
                         columns=["enterprise_id", "is_first_loan", "disbursed_at"])
    roots = _roots(session)
    cohort["application"] = False
    cohort["institution_id"] = pd.NA
    cohort["first_loan"] = False
    cohort["repeat_loan"] = False
    if not apps.empty:
        apps["submitted_at"] = pd.to_datetime(apps["submitted_at"], utc=True)
        apps = apps.join(cohort["first_visit"], on="enterprise_id")
        after = apps[apps["submitted_at"] >= apps["first_visit"]].sort_values("submitted_at")
        first_app = after.groupby("enterprise_id").first()
        cohort.loc[first_app.index, "application"] = True
        cohort.loc[first_app.index, "institution_id"] = [roots.get(int(i), int(i)) for i in first_app["institution_id"]]
    if not loans.empty:
        loans["disbursed_at"] = pd.to_datetime(loans["disbursed_at"], utc=True)
        loans = loans.join(cohort["first_visit"], on="enterprise_id").sort_values("disbursed_at")
        firsts = loans[loans["is_first_loan"].astype(bool) & (loans["disbursed_at"] >= loans["first_visit"])]
        first_at = firsts.groupby("enterprise_id")["disbursed_at"].first()
        cohort.loc[first_at.index, "first_loan"] = True
        later = loans.join(first_at.rename("first_at"), on="enterprise_id", how="inner")
        repeat = later[later["disbursed_at"] > later["first_at"]]["enterprise_id"].unique()
        cohort.loc[repeat, "repeat_loan"] = True
    cohort["visit"] = True
    totals = pd.DataFrame({"stage": STAGES, "count": [int(cohort[s].sum()) for s in STAGES]})

    def grouped(column: str) -> pd.DataFrame:
        frame = cohort.assign(**{column: cohort[column].astype("Int64")})
        out = frame.groupby(column, dropna=False)[STAGES].sum().astype(int).reset_index()
        return out.sort_values(column, na_position="last").reset_index(drop=True)

    return Funnel(totals=totals, by_window=grouped("window_no"), by_institution=grouped("institution_id"))


@use_case(permission=Permission.oversight)
def first_loan_funnel(uow, *, actor: Actor, date_from: date | None = None, date_to: date | None = None) -> Funnel:
    """The first-loan funnel of the hall, per window and per institution (regulators and the operator).

    Args:
        date_from: first day of visits counted (default: all).
        date_to: last day of visits counted (default: all).
    """
    return funnel(uow.session, date_from, date_to)
