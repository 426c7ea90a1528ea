"""Validation of a product's fields as an institution types them, every problem named by its field.

``clean_product(raw)`` turns what a form (or a script) sends — strings, numbers, lists — into the
exact values a ``Product`` row stores, or raises one ``InvalidError`` (one problem) or
``ValidationErrors`` (several), each carrying a ``market.error.*`` message key and the field it
belongs to, so a page can show every message next to its field at once. Rules:

* name 2–80 characters; English name up to 160; description up to 2,000;
* a known product type; repayment methods from the known list;
* amounts in yuan with at most two decimals (cents), minimum ≥ 0, maximum > 0 and at most
  :data:`MAX_AMOUNT`, minimum ≤ maximum;
* terms in whole months 1–360, minimum ≤ maximum;
* annual rates (percent, up to four decimals) inside the legal range of the settings
  ``PRODUCT_RATE_MIN`` / ``PRODUCT_RATE_MAX`` (24 % by default), minimum ≤ maximum;
* districts, industry sections and scales from the reference data; years in business 0–50; a
  known minimum grade or none; at most :data:`MAX_TAGS` tags of up to 20 characters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from core import reference
from core.config import get_settings
from core.errors import InvalidError, JinfuError, ValidationErrors
from core.models import Product
from core.models.types import Grade, ProductType, RepaymentMethod, Scale

MAX_AMOUNT = Decimal("10000000000")  # 100 亿元: anything above is a typing error, not a loan
MAX_TAGS = 10
TAG_MAX = 20
FIELDS = (
    "name", "name_en", "product_type", "description", "amount_min", "amount_max", "term_min_months",
    "term_max_months", "rate_min", "rate_max", "repayment_methods", "eligible_districts",
    "eligible_industries", "eligible_scales", "min_years_in_business", "min_credit_grade",
    "collateral_required", "first_loan_friendly", "tags",
)  # fmt: skip


def product_fields(product: Product) -> dict[str, Any]:
    """The editable fields of a stored product as plain values (the shape ``clean_product`` accepts).

    Args:
        product: the stored row.
    """
    out: dict[str, Any] = {}
    for name in FIELDS:
        value = getattr(product, name)
        if isinstance(value, list):
            value = [str(v) for v in value]
        elif name in ("product_type", "min_credit_grade") and value is not None:
            value = str(value)
        out[name] = value
    return out


def snapshot(product: Product) -> dict[str, Any]:
    """A JSON-safe picture of a product for its version history (decimals as strings).

    Args:
        product: the row after the change.
    """
    out = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in product_fields(product).items()}
    out.update(status=str(product.status), code=product.code, institution_id=product.institution_id)
    return out


def _text(value: Any, field: str, *, low: int, high: int, required: bool, errors: list) -> str | None:
    text = "" if value is None else str(value).strip()
    if not text and not required:
        return None
    if not low <= len(text) <= high:
        errors.append(InvalidError(f"market.error.{field}", field=field, min=low, max=high))
        return None
    return text


def _money(value: Any, field: str, errors: list, *, positive: bool) -> Decimal | None:
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        amount = None
    if (
        amount is None
        or not amount.is_finite()
        or amount < 0
        or (positive and amount == 0)
        or amount > MAX_AMOUNT
        or amount != amount.quantize(Decimal("0.01"))
    ):
        errors.append(InvalidError("market.error.amount", field=field, max=f"{MAX_AMOUNT / 100_000_000:,.0f}"))
        return None
    return amount.quantize(Decimal("0.01"))


def _months(value: Any, field: str, errors: list) -> int | None:
    number = None
    if not isinstance(value, bool):
        try:
            number = int(Decimal(str(value).strip()))
            if Decimal(str(value).strip()) != number:
                number = None
        except (InvalidOperation, ValueError):
            number = None
    if number is None or not 1 <= number <= 360:
        errors.append(InvalidError("market.error.term", field=field))
        return None
    return number


def _rate(value: Any, field: str, errors: list) -> Decimal | None:
    settings = get_settings()
    low, high = Decimal(str(settings.product_rate_min)), Decimal(str(settings.product_rate_max))
    try:
        rate = Decimal(str(value).replace("%", "").strip())
    except (InvalidOperation, ValueError):
        rate = None
    if rate is None or not rate.is_finite() or rate != rate.quantize(Decimal("0.0001")) or not low <= rate <= high:
        errors.append(InvalidError("market.error.rate_legal", field=field, min=f"{float(low):g}", max=f"{float(high):g}"))
        return None
    return rate


def _choices(value: Any, field: str, allowed: set[str], errors: list) -> list[str] | None:
    items = [] if value is None else ([value] if isinstance(value, str) else list(value))
    items = [str(v).strip() for v in items if str(v).strip()]
    unknown = [v for v in items if v not in allowed]
    if unknown:
        errors.append(InvalidError(f"market.error.{field}", field=field, values=", ".join(unknown[:5])))
        return None
    return list(dict.fromkeys(items))


def _whole(value: Any, field: str, key: str, low: int, high: int, errors: list) -> int | None:
    try:
        number = int(value) if not isinstance(value, bool) and str(value).strip().lstrip("-").isdigit() else None
    except (TypeError, ValueError):
        number = None
    if number is None or not low <= number <= high:
        errors.append(InvalidError(key, field=field, min=low, max=high))
        return None
    return number


def clean_product(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Every product field checked and converted; all problems raised together.

    Args:
        raw: field name → value as typed (missing optional fields take their defaults).

    Raises:
        InvalidError: one problem (``field`` names it).
        ValidationErrors: several problems, one per field.
    """
    errors: list[JinfuError] = []
    get = raw.get
    out: dict[str, Any] = {
        "name": _text(get("name"), "name", low=2, high=80, required=True, errors=errors),
        "name_en": _text(get("name_en"), "name_en", low=1, high=160, required=False, errors=errors),
        "description": _text(get("description"), "description", low=1, high=2000, required=False, errors=errors),
    }
    kind = str(get("product_type") or "")
    if kind not in {t.value for t in ProductType}:
        errors.append(InvalidError("market.error.product_type", field="product_type"))
    out["product_type"] = kind
    out["amount_min"] = _money(get("amount_min"), "amount_min", errors, positive=False)
    out["amount_max"] = _money(get("amount_max"), "amount_max", errors, positive=True)
    out["term_min_months"] = _months(get("term_min_months"), "term_min_months", errors)
    out["term_max_months"] = _months(get("term_max_months"), "term_max_months", errors)
    out["rate_min"] = _rate(get("rate_min"), "rate_min", errors)
    out["rate_max"] = _rate(get("rate_max"), "rate_max", errors)
    for low, high, key in (
        ("amount_min", "amount_max", "market.error.amount_range"),
        ("term_min_months", "term_max_months", "market.error.term_range"),
        ("rate_min", "rate_max", "market.error.rate_range"),
    ):
        if out[low] is not None and out[high] is not None and out[low] > out[high]:
            errors.append(InvalidError(key, field=low))
    lists: dict[str, Callable[[], set[str]]] = {
        "repayment_methods": lambda: {m.value for m in RepaymentMethod},
        "eligible_districts": lambda: set(reference.districts()["code"].astype(str)),
        "eligible_industries": lambda: set(reference.industry_sections()["section"].astype(str)),
        "eligible_scales": lambda: {s.value for s in Scale},
    }
    for field, allowed in lists.items():
        out[field] = _choices(get(field), field, allowed(), errors)
    out["min_years_in_business"] = _whole(
        get("min_years_in_business", 0) or 0, "min_years_in_business", "market.error.min_years", 0, 50, errors
    )
    grade = get("min_credit_grade") or None
    if grade is not None and str(grade) not in {g.value for g in Grade}:
        errors.append(InvalidError("market.error.grade", field="min_credit_grade"))
    out["min_credit_grade"] = None if grade is None else str(grade)
    out["collateral_required"] = bool(get("collateral_required", False))
    out["first_loan_friendly"] = bool(get("first_loan_friendly", False))
    tags = get("tags") or []
    tags = [t.strip() for t in (tags.replace("，", ",").split(",") if isinstance(tags, str) else tags)]
    tags = list(dict.fromkeys(str(t).strip() for t in tags if str(t).strip()))
    if len(tags) > MAX_TAGS or any(len(t) > TAG_MAX for t in tags):
        errors.append(InvalidError("market.error.tags", field="tags", count=MAX_TAGS, length=TAG_MAX))
    out["tags"] = tags
    if errors:
        raise errors[0] if len(errors) == 1 else ValidationErrors(errors)
    return out
