"""The credit report as localized display tables — shared by the bank page and the PDF; no session, no clock.

``report_tables`` turns a ``CreditReport`` into the tables people read (localized headers, yuan in
万元, dates in Asia/Shanghai, other lenders generalized, 「异议处理中」 marks); ``header_rows`` and
``basic_rows`` give the report's header and basic facts as (label, value) pairs.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pandas as pd

from core.i18n import format_money_wan, format_number, normalize_locale, translate

if TYPE_CHECKING:
    from core.services.credit_report import CreditReport

SHANGHAI = ZoneInfo("Asia/Shanghai")
SECTION_SCOPE = {
    "basic": "basic",
    "ownership": "basic",
    "gov": "gov_records",
    "financials": "financials",
    "rating": "credit",
    "loans": "credit",
}
SECTIONS = tuple(SECTION_SCOPE)

# ------------------------------------------------------------------------------------ formatting


def label(prefix: str, code: Any, locale: str) -> str:
    """The catalog text for ``prefix.code``, or the code itself when the catalog has none."""
    if code is None or (isinstance(code, float) and math.isnan(code)):
        return "—"
    key = f"{prefix}.{code}"
    text = translate(key, locale)
    return str(code) if text == key else text


def reason_text(reason: dict[str, Any], locale: str) -> str:
    """A reason code's text (``RC.<FEATURE>`` in the catalog), else the code."""
    code = str(reason.get("code") or "")
    for key in (code, f"RC.{code}", f"RC.{str(reason.get('feature') or '').upper()}"):
        text = translate(key, locale)
        if text != key:
            return text
    return str(reason.get("code") or reason.get("feature") or "—")


def local_time(value: datetime | None) -> str:
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if value is not None else "—"


def local_date(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return "—"
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _present(value: Any) -> Any:
    """``None`` for the missing values pandas hands back (NaN, NaT, None), else the value."""
    return (
        None
        if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))
        else value
    )


def _num(value: Any, locale: str, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return format_number(value, locale, digits)


def _wan(value: Any, locale: str) -> str:
    return "—" if value is None else _num(float(value) / 10_000, locale, 1)


def _pct(value: Any, locale: str, digits: int = 1) -> str:
    return (
        "—"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else f"{value * 100:.{digits}f}%"
    )


def dispute_mark(disputed: bool, days_left: Any, locale: str) -> str:
    """「异议处理中」 with the days left to answer, or empty."""
    if not disputed:
        return ""
    if days_left is None or (isinstance(days_left, float) and math.isnan(days_left)):
        return translate("report.disputed", locale)
    return translate("report.disputed_days", locale, days=int(days_left))


def lender(row: Any, locale: str) -> tuple[str, str]:
    """(institution, product) for a loan-history row: names for the reader's own family, else generalized."""
    if row.own:
        return _present(row.institution_name) or "—", _present(row.product_name) or "—"
    return (
        label("report.other_institution", row.institution_kind, locale),
        label("product_type", row.product_type, locale),
    )


# ----------------------------------------------------------------------------------------- tables


def report_tables(report: CreditReport, *, locale: str) -> dict[str, pd.DataFrame]:
    """The report's display tables (localized headers and text), keyed by name; absent when not authorised.

    Args:
        report: the report as ``read_credit_report`` returned it.
        locale: ``zh_CN`` or ``en``.

    Returns:
        Some of ``shareholders``, ``holdings``, ``gov_summary``, ``gov_events``, ``financials``
        (items × years), ``score_trend``, ``reasons``, ``applications``, ``loans``.
    """
    loc = normalize_locale(locale)

    def tr(key: str, **params: Any) -> str:
        return translate(key, loc, **params)

    flag = tr("report.col.dispute")
    tables: dict[str, pd.DataFrame] = {}
    if report.ownership is not None:
        holders = report.ownership.shareholders
        tables["shareholders"] = pd.DataFrame(
            {
                tr("report.own.holder"): holders["holder_name"],
                tr("report.own.type"): [label("report.holder_type", v, loc) for v in holders["holder_type"]],
                tr("report.own.identifier"): [
                    _present(code) or _present(idn) or "—"
                    for code, idn in zip(
                        holders["holder_credit_code"], holders["holder_id_number"], strict=True
                    )
                ],
                tr("report.own.share"): [f"{v:.2f}%" for v in holders["share_pct"]],
                tr("report.own.since"): [local_date(v) for v in holders["since"]],
                flag: [
                    dispute_mark(d, n, loc)
                    for d, n in zip(holders["disputed"], holders["dispute_days_left"], strict=True)
                ],
            }
        )
        held = report.ownership.holdings
        tables["holdings"] = pd.DataFrame(
            {
                tr("report.own.invested"): held["enterprise_name"],
                tr("report.own.identifier"): held["credit_code"],
                tr("report.own.share"): [f"{v:.2f}%" for v in held["share_pct"]],
                tr("report.own.since"): [local_date(v) for v in held["since"]],
            }
        )
    if report.gov is not None:
        summary = report.gov.summary
        tables["gov_summary"] = pd.DataFrame(
            {
                tr("bank.file.gov.source"): [label("bank.file.source", s, loc) for s in summary["source"]],
                tr("bank.file.gov.records"): [_num(v, loc) for v in summary["records"]],
                tr("report.gov.latest"): [local_date(v) for v in summary["latest_period"]],
                tr("report.gov.events"): [_num(v, loc) for v in summary["events"]],
                flag: [tr("report.disputed_count", count=int(v)) if v else "" for v in summary["disputed"]],
            }
        )
        events = report.gov.events
        tables["gov_events"] = pd.DataFrame(
            {
                tr("report.gov.date"): [local_date(v) for v in events["period"]],
                tr("bank.file.gov.source"): [label("bank.file.source", s, loc) for s in events["source"]],
                tr("report.gov.kind"): [label("bank.file.kind", k, loc) for k in events["kind"]],
                tr("report.gov.ref"): [_present(r) or "—" for r in events["ref"]],
                tr("bank.file.gov.value"): [_num(v, loc, 2) for v in events["value"]],
                tr("bank.file.gov.text"): [_present(t) or "—" for t in events["text"]],
                flag: [
                    dispute_mark(d, n, loc)
                    for d, n in zip(events["disputed"], events["dispute_days_left"], strict=True)
                ],
            }
        )
    if report.financials is not None:
        fin = report.financials
        items = [
            ("revenue", "bank.file.fin.revenue", _wan),
            ("net_profit", "bank.file.fin.profit", _wan),
            ("total_assets", "bank.file.fin.assets", _wan),
            ("total_liabilities", "bank.file.fin.liabilities", _wan),
            ("current_assets", "report.fin.current_assets", _wan),
            ("current_liabilities", "report.fin.current_liabilities", _wan),
            ("operating_cash_flow", "bank.file.fin.cash_flow", _wan),
            ("debt_ratio", "report.fin.debt_ratio", _pct),
            ("current_ratio", "report.fin.current_ratio", lambda v, lc: _num(v, lc, 2)),
            ("net_margin", "report.fin.net_margin", _pct),
        ]
        frame = {tr("report.fin.item"): [tr(key) for _, key, _ in items] + [flag]}
        for row in fin.itertuples():
            frame[str(row.year)] = [fmt(getattr(row, col), loc) for col, _, fmt in items] + [
                dispute_mark(row.disputed, row.dispute_days_left, loc)
            ]
        tables["financials"] = pd.DataFrame(frame)
    if report.rating is not None:
        trend = report.rating.trend
        tables["score_trend"] = pd.DataFrame(
            {
                tr("report.rating.date"): [local_date(v) for v in trend["as_of"]],
                tr("bank.file.credit.score"): [_num(v, loc) for v in trend["score"]],
                tr("bank.file.credit.grade"): list(trend["grade"]),
                tr("report.rating.pd"): [_pct(v, loc, 2) for v in trend["pd"]],
            }
        )
        tables["reasons"] = pd.DataFrame(
            {
                tr("report.rating.reason_code"): [str(r.get("code") or "—") for r in report.rating.reasons],
                tr("report.rating.reason"): [reason_text(r, loc) for r in report.rating.reasons],
                tr("report.rating.points_lost"): [
                    _num(r.get("points_lost"), loc, 1) for r in report.rating.reasons
                ],
            }
        )
    if report.loans is not None:
        apps = report.loans.applications
        pairs = [lender(r, loc) for r in apps.itertuples()]
        tables["applications"] = pd.DataFrame(
            {
                tr("report.loans.submitted"): [local_date(v) for v in apps["submitted_at"]],
                tr("report.loans.institution"): [p[0] for p in pairs],
                tr("report.loans.product"): [p[1] for p in pairs],
                tr("report.loans.amount"): [_wan(v, loc) for v in apps["amount_requested"]],
                tr("report.loans.term"): [_num(v, loc) for v in apps["term_months"]],
                tr("report.loans.status"): [label("app_status", s, loc) for s in apps["status"]],
                tr("report.loans.decided"): [local_date(v) for v in apps["decided_at"]],
            }
        )
        loans = report.loans.loans
        pairs = [lender(r, loc) for r in loans.itertuples()]
        tables["loans"] = pd.DataFrame(
            {
                tr("report.loans.disbursed"): [local_date(v) for v in loans["disbursed_at"]],
                tr("report.loans.institution"): [p[0] for p in pairs],
                tr("report.loans.product"): [p[1] for p in pairs],
                tr("report.loans.amount"): [_wan(v, loc) for v in loans["amount"]],
                tr("report.loans.maturity"): [local_date(v) for v in loans["maturity_date"]],
                tr("report.loans.status"): [label("report.loan_status", s, loc) for s in loans["status"]],
                tr("report.loans.outstanding"): [_wan(v, loc) for v in loans["outstanding_principal"]],
                tr("report.loans.worst_dpd"): [_num(v, loc) for v in loans["worst_dpd"]],
            }
        )
    return tables


def header_rows(report: CreditReport, *, locale: str) -> list[tuple[str, str]]:
    """The report header as (label, value) pairs: number, time, institution, officer, consent, purpose."""
    loc = normalize_locale(locale)
    institution = (
        (report.institution_name_en or report.institution_name) if loc == "en" else report.institution_name
    )
    consents = ", ".join(f"#{c.consent_id}" for c in report.consents)
    return [
        (translate("report.header.number", loc), report.report_number),
        (translate("report.header.generated_at", loc), local_time(report.generated_at) + " (UTC+8)"),
        (translate("report.header.institution", loc), institution),
        (translate("report.header.officer", loc), report.officer_name),
        (translate("report.header.consent", loc), consents),
        (translate("report.header.consent_expires", loc), local_time(report.consent_expires_at)),
        (translate("report.header.purpose", loc), report.purpose),
    ]


def basic_rows(report: CreditReport, *, locale: str) -> list[tuple[str, str]]:
    """The basic facts as (label, value) pairs, people already masked by the service."""
    b = report.basic
    if b is None:
        return []
    loc = normalize_locale(locale)
    en = loc == "en"
    return [
        (translate("report.header.enterprise", loc), report.name),
        (translate("report.header.credit_code", loc), report.credit_code),
        (translate("bank.file.f.district", loc), b.district_name_en if en else b.district_name),
        (translate("bank.file.f.industry", loc), b.industry_name_en if en else b.industry_name),
        (translate("bank.file.f.scale", loc), label("scale", b.scale, loc)),
        (translate("bank.file.f.founded", loc), local_date(b.founded_on)),
        (translate("bank.file.f.years", loc), _num(b.years_in_business, loc)),
        (translate("bank.file.f.employees", loc), _num(b.employees, loc)),
        (translate("bank.file.f.capital", loc), format_money_wan(b.registered_capital, loc)),
        (translate("bank.file.f.address", loc), b.address or "—"),
        (translate("bank.file.f.legal_rep", loc), b.legal_rep_name or "—"),
        (translate("bank.file.f.legal_rep_id", loc), b.legal_rep_id_number or "—"),
        (translate("bank.file.f.contact", loc), b.contact_name or "—"),
        (translate("bank.file.f.contact_phone", loc), b.contact_phone or "—"),
    ]
