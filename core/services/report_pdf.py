"""The credit report as an A4 PDF — rendering only: a ``CreditReport`` in, PDF bytes out (no session).

``render_credit_report_pdf`` lays the report out as HTML from ``templates/credit_report.html``
(Jinja2, autoescape on: enterprise-supplied text never becomes markup) with the display tables of
``core.services.report_view``, and prints it with WeasyPrint (Pango + fontconfig, which embeds a
subset of Debian's Noto Sans CJK). Charts are inline SVG polylines drawn here from the numbers.
WeasyPrint may fetch nothing: every external URL is refused.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from jinja2 import Environment, FileSystemLoader
from markupsafe import Markup

from core.i18n import format_money_wan, normalize_locale, translate
from core.services.report_view import (
    SECTION_SCOPE,
    SECTIONS,
    _num,
    _pct,
    basic_rows,
    header_rows,
    label,
    local_date,
    local_time,
    report_tables,
)

if TYPE_CHECKING:
    from core.services.credit_report import CreditReport

FONT_STACK = '"Noto Sans CJK SC", "Noto Sans CJK", "Noto Sans", sans-serif'

# ----------------------------------------------------------------------------------------- charts


def sparkline_svg(values: Sequence[float | None], *, width: int = 220, height: int = 48) -> Markup:
    """An inline SVG polyline of a series (gaps where a value is missing); numbers only, so safe markup."""
    points = [(i, float(v)) for i, v in enumerate(values) if v is not None and not math.isnan(float(v))]
    if not points:
        return Markup(f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"></svg>')
    low = min(v for _, v in points)
    high = max(v for _, v in points)
    span = (high - low) or 1.0
    step = (width - 4) / max(len(values) - 1, 1)

    def xy(i: int, v: float) -> str:
        return f"{2 + i * step:.1f},{height - 3 - (v - low) / span * (height - 6):.1f}"

    runs: list[list[str]] = [[]]
    previous = None
    for i, v in points:
        if previous is not None and i != previous + 1:
            runs.append([])
        runs[-1].append(xy(i, v))
        previous = i
    lines = "".join(
        f'<polyline points="{" ".join(run)}" fill="none" stroke="#1f6feb" stroke-width="1.6"/>'
        for run in runs
    )
    last_x, last_y = xy(*points[-1]).split(",")
    dot = f'<circle cx="{last_x}" cy="{last_y}" r="2.4" fill="#d9480f"/>'
    box = f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" fill="none" stroke="#e3e8ef"/>'
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">{box}{lines}{dot}</svg>'
    )


# ---------------------------------------------------------------------------------------- the PDF


def _css_string(text: str) -> str:
    """A CSS string literal: quotes, backslashes, angle brackets and line breaks escaped."""
    out = []
    for ch in str(text):
        if ch in '"\\<>' or ord(ch) < 32:
            out.append(f"\\{ord(ch):x} ")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _page_css(report: CreditReport, loc: str) -> Markup:
    """The @page rules: A4 portrait, confidential mark, report number and page x of y on every page."""
    marker = "\x00"
    pattern = translate("report.page_of", loc, page=marker + "page" + marker, pages=marker + "pages" + marker)
    parts = []
    for i, piece in enumerate(pattern.split(marker)):
        if i % 2:
            parts.append(f"counter({piece})")
        elif piece:
            parts.append(_css_string(piece))
    confidential = _css_string(translate("report.confidential", loc))
    number = _css_string(f"{translate('report.header.number', loc)} {report.report_number}")
    return Markup(
        "@page { size: A4 portrait; margin: 20mm 14mm 18mm 14mm;"
        f" @top-left {{ content: {confidential}; color: #b42318; font-size: 8pt; font-weight: bold; }}"
        f" @top-right {{ content: {number}; color: #52606d; font-size: 8pt; }}"
        f" @bottom-center {{ content: {' '.join(parts)}; color: #52606d; font-size: 8pt; }} }}"
    )


def _series_cards(report: CreditReport, loc: str) -> list[dict[str, Any]]:
    series = report.gov.series if report.gov is not None else None
    if series is None or series.empty:
        return []
    cards = []
    for kind in [c for c in series.columns if c != "month"]:
        values = [None if pd.isna(v) else float(v) for v in series[kind]]
        known = [v for v in values if v is not None]
        if not known:
            continue
        cards.append(
            {
                "title": label("bank.file.kind", kind, loc),
                "latest": _num(known[-1], loc),
                "range": f"{local_date(series['month'].iloc[0].date())} – {local_date(series['month'].iloc[-1].date())}",
                "svg": sparkline_svg(values, width=200),
            }
        )
    return cards


def report_html(report: CreditReport, *, locale: str) -> str:
    """The report as one self-contained HTML document (what ``render_credit_report_pdf`` prints)."""
    loc = normalize_locale(locale)
    tables = report_tables(report, locale=loc)

    def tr(key: str, **params: Any) -> str:
        return translate(key, loc, **params)

    def table(name: str) -> dict[str, Any] | None:
        frame = tables.get(name)
        if frame is None:
            return None
        flag = tr("report.col.dispute")
        if flag in frame.columns and not frame[flag].astype(bool).any():
            frame = frame.drop(columns=[flag])  # no dispute in this table: no empty column
        return {"columns": list(frame.columns), "rows": frame.astype(str).values.tolist()}

    rating = report.rating
    scores = [float(v) for v in rating.trend["score"]] if rating is not None else []
    loans = report.loans
    context = {
        "lang": "en" if loc == "en" else "zh-CN",
        "font": Markup(FONT_STACK),
        "page_css": _page_css(report, loc),
        "t": tr,
        "title": tr("report.title"),
        "name": report.name,
        "code": report.credit_code,
        "header": header_rows(report, locale=loc),
        "watermark": report.institution_name_en
        if loc == "en" and report.institution_name_en
        else report.institution_name,
        "watermark_note": f"{report.officer_name} · {local_time(report.generated_at)}",
        "disputed": report.disputed_count,
        "missing": {
            s: label("bank.file.scope", SECTION_SCOPE[s], loc)
            for s in SECTIONS
            if SECTION_SCOPE[s] in report.missing
        },
        "sections": SECTIONS,
        "basic": basic_rows(report, locale=loc),
        "basic_disputed": bool(report.basic and report.basic.disputed),
        "shareholders": table("shareholders"),
        "holdings": table("holdings"),
        "gov_summary": table("gov_summary"),
        "gov_events": table("gov_events"),
        "series": _series_cards(report, loc),
        "financials": table("financials"),
        "rating": rating,
        "rating_kpis": [
            (
                tr("bank.file.credit.score"),
                _num(rating.score, loc) if rating.score is not None else tr("bank.file.credit.no_score"),
            ),
            (tr("bank.file.credit.grade"), rating.grade or "—"),
            (tr("report.rating.pd"), _pct(rating.pd, loc, 2)),
            (tr("bank.file.credit.rated_on"), local_date(rating.rated_on)),
            (
                tr("report.rating.model"),
                " ".join(x for x in (rating.model_name, rating.model_version) if x) or "—",
            ),
        ]
        if rating is not None
        else [],
        "score_svg": sparkline_svg(scores, width=480, height=70) if len(scores) > 1 else None,
        "score_trend": table("score_trend"),
        "reasons": table("reasons"),
        "loan_kpis": [
            (tr("bank.file.credit.loans"), _num(loans.loans_count, loc)),
            (tr("bank.file.credit.active"), _num(loans.loans_active, loc)),
            (tr("bank.file.credit.outstanding"), format_money_wan(loans.outstanding, loc)),
            (tr("report.loans.worst_dpd"), _num(loans.worst_dpd, loc)),
            (tr("bank.file.credit.defaulted"), tr("common.yes") if loans.ever_defaulted else tr("common.no")),
        ]
        if loans is not None
        else [],
        "applications": table("applications"),
        "loans": table("loans"),
    }
    return _ENV.get_template("credit_report.html").render(**context)


def render_credit_report_pdf(report: CreditReport, *, locale: str) -> bytes:
    """The report as an A4 PDF in the reader's language.

    Args:
        report: the report as ``read_credit_report`` returned it (the caller logs the download).
        locale: ``zh_CN`` or ``en``.

    Returns:
        The PDF bytes (``%PDF-…``), fonts embedded.
    """
    from weasyprint import HTML  # imported on use: Pango loads only when a PDF is printed

    return HTML(string=report_html(report, locale=locale), url_fetcher=_offline_fetcher()).write_pdf()


def _offline_fetcher():
    from weasyprint.urls import URLFetcher, URLFetchingError

    class OfflineFetcher(URLFetcher):
        """Refuses every URL: the report is self-contained and must never reach out."""

        def fetch(self, url, headers=None):  # noqa: ARG002 - WeasyPrint's signature
            raise URLFetchingError(f"external resource refused: {url[:80]}")

    return OfflineFetcher()


_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=True,  # every value is escaped unless it is Markup built here from numbers or escaped text
    trim_blocks=True,
    lstrip_blocks=True,
)
