"""The platform's enumerations and fixed code lists, free of any database import.

Engines (``core.scoring``, ``core.matching``, ``core.lending`` …) import them from here so they stay
pure; ``core.models.types`` re-exports them for the table classes.
"""

from __future__ import annotations

from enum import StrEnum


class OrgKind(StrEnum):
    enterprise = "enterprise"
    bank = "bank"
    guarantee = "guarantee"
    insurer = "insurer"
    leasing = "leasing"
    regulator = "regulator"
    operator = "operator"


class Scale(StrEnum):
    micro = "micro"
    small = "small"
    medium = "medium"
    large = "large"


class HolderType(StrEnum):
    person = "person"
    enterprise = "enterprise"


class GovSource(StrEnum):
    market = "market"  # market regulation: registration status, changes, abnormal operation
    tax = "tax"
    social_insurance = "social_insurance"
    housing_fund = "housing_fund"
    electricity = "electricity"
    water = "water"
    gas = "gas"
    judicial = "judicial"
    penalty = "penalty"  # administrative penalties
    public_credit = "public_credit"  # commendations and blacklists


class ProductType(StrEnum):
    credit_loan = "credit_loan"
    guaranteed = "guaranteed"
    mortgage = "mortgage"
    pledge = "pledge"
    supply_chain = "supply_chain"
    leasing = "leasing"
    insurance = "insurance"
    guarantee_service = "guarantee_service"


class RepaymentMethod(StrEnum):
    equal_installment = "equal_installment"  # 等额本息
    equal_principal = "equal_principal"  # 等额本金
    interest_only_bullet = "interest_only_bullet"  # 先息后本


class ProductStatus(StrEnum):
    draft = "draft"
    published = "published"
    withdrawn = "withdrawn"


class NeedStatus(StrEnum):
    draft = "draft"
    published = "published"
    matched = "matched"
    closed = "closed"
    expired = "expired"


class ApplicationStatus(StrEnum):
    submitted = "submitted"
    accepted = "accepted"
    due_diligence = "due_diligence"
    approved = "approved"
    rejected = "rejected"
    withdrawn = "withdrawn"
    contract_signed = "contract_signed"
    disbursed = "disbursed"
    repaying = "repaying"
    settled = "settled"
    overdue = "overdue"
    defaulted = "defaulted"
    written_off = "written_off"


class LoanStatus(StrEnum):
    active = "active"
    overdue = "overdue"
    settled = "settled"
    defaulted = "defaulted"
    written_off = "written_off"


class InstallmentStatus(StrEnum):
    scheduled = "scheduled"
    paid = "paid"
    partial = "partial"
    overdue = "overdue"


class ModelStatus(StrEnum):
    draft = "draft"
    approved = "approved"
    retired = "retired"


class SignalStatus(StrEnum):
    open = "open"
    acknowledged = "acknowledged"
    investigating = "investigating"
    closed = "closed"


class Grade(StrEnum):
    AAA = "AAA"
    AA = "AA"
    A = "A"
    BBB = "BBB"
    BB = "BB"
    B = "B"
    CCC = "CCC"
    CC = "CC"
    C = "C"


GRADE_ORDER = [g.value for g in Grade]  # best first

# Eight-level early-warning signals, mapped onto the four colours banks use.
SIGNAL_COLOURS = {
    1: "blue",
    2: "blue",
    3: "yellow",
    4: "yellow",
    5: "orange",
    6: "orange",
    7: "red",
    8: "red",
}
