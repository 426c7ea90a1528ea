"""What the enterprise home page receives from :func:`core.services.enterprise_home.home_overview`.

One ``HomeOverviewPublic`` carries every block of the page; each block is a small Public model. Texts are
message keys with parameters (the page translates them), except names and notes that are data.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel


class Reason(BaseModel):
    """One reason a product fits, or one criterion it misses: a message key and its parameters."""

    criterion: str
    key: str
    params: dict[str, Any] = {}


class Greeting(BaseModel):
    """Who the page greets: the enterprise, its latest rating and where it stands as a borrower."""

    enterprise_id: int
    name: str
    credit_code: str
    daypart: str  # morning, afternoon, evening (Asia/Shanghai)
    grade: str | None = None  # None: not rated yet
    score: int | None = None
    rated_on: date | None = None
    first_time: bool  # never borrowed: the first-loan center is for it
    loans: int = 0
    booked_appointments: int = 0


class RecommendedProduct(BaseModel):
    """A lending product the enterprise qualifies for, ranked by fit, with why it fits."""

    product_id: int
    name: str
    name_en: str | None = None
    institution_name: str
    institution_name_en: str | None = None
    product_type: str
    rate_min: float
    rate_max: float
    amount_min: float  # yuan
    amount_max: float
    term_min_months: int
    term_max_months: int
    first_loan_friendly: bool
    fit_score: float
    p_approval: float | None = None  # in [0, 1]
    why_key: str  # one short sentence: ``home.why.*``
    why_params: dict[str, Any] = {}
    reasons: list[Reason] = []  # the matching engine's fit reasons (``matching.reason.*``)


class NearMiss(BaseModel):
    """The lending product the enterprise is closest to qualifying for, and what it is missing."""

    product_id: int
    name: str
    name_en: str | None = None
    institution_name: str
    institution_name_en: str | None = None
    rate_min: float
    missing: list[Reason]  # ``matching.missing.*`` / ``ent.products.missing.*``


class OpenNeed(BaseModel):
    """A published financing need: how many institutions received it, responses, the nearest SLA clock."""

    need_id: int
    amount: Decimal  # yuan
    term_months: int
    purpose: str
    published_at: datetime | None = None
    institutions: int  # institutions it was pushed to or claimed by
    responses: int  # of those, how many answered so far
    waiting: int  # leads still inside their SLA clock
    earliest_due: datetime | None = None  # the nearest running SLA deadline (UTC)
    earliest_days_left: int | None = None  # working days to it
    overdue: bool = False  # an institution is past its SLA deadline


class OpenApplication(BaseModel):
    """An application not yet disbursed, with its next step and who has to act."""

    application_id: int
    product_id: int
    product_name: str
    institution_name: str
    status: str
    amount_requested: Decimal
    term_months: int
    submitted_at: datetime
    next_step: str  # a ``review.next.*`` message key
    who_acts: str  # you, bank, guarantor
    documents_requested: int = 0
    document_notes: list[str] = []


class DueReminder(BaseModel):
    """One live loan's next installment and anything overdue."""

    loan_id: int
    product_name: str
    institution_name: str
    status: str
    outstanding_principal: Decimal
    next_due_date: date | None = None  # the next installment not yet due
    next_due_amount: Decimal | None = None
    days_left: int | None = None  # calendar days to ``next_due_date``
    overdue_amount: Decimal = Decimal("0.00")  # unpaid installments past their due date
    overdue_installments: int = 0
    days_past_due: int = 0
    bucket: str = "M0"


class NoticeItem(BaseModel):
    """One of the latest notifications of the inbox."""

    id: int
    kind: str
    title: str
    created_at: datetime
    unread: bool


class TodoItem(BaseModel):
    """One thing the enterprise should do, most urgent first."""

    kind: str  # overdue, repayment_due, document, sign_contract, consent_expiring, dispute_answered
    urgency: str  # high, medium, low
    key: str  # ``home.todo.*`` message key
    params: dict[str, Any] = {}
    days_left: int | None = None  # negative: days overdue
    page: str  # the enterprise app's url path of the page where it is done
    entity_id: int | None = None


class HomeOverviewPublic(BaseModel):
    """Everything the enterprise home page shows, read in one unit of work."""

    as_of: date  # the day (Asia/Shanghai) the page was read for
    greeting: Greeting
    todo: list[TodoItem] = []
    recommended: list[RecommendedProduct] = []
    near_miss: NearMiss | None = None
    eligible_total: int = 0  # lending products the enterprise qualifies for
    needs: list[OpenNeed] = []
    applications: list[OpenApplication] = []
    reminders: list[DueReminder] = []
    unread: int = 0
    notifications: list[NoticeItem] = []
    is_new: bool = False  # no need, application or loan yet: the page shows how to start
