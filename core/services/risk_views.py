"""Read side of risk early warning for the screens: the wall's risk scene and the bank's post-loan views.

* ``risk_map`` — open signals by colour and by district (with tile-map positions); aggregates only,
  so every holder of ``platform_stats`` (regulators, the wall) may read it;
* ``open_cases_masked`` — open large-default cases for the wall, enterprise names masked;
* ``post_loan_borrowers`` — the institution family's live borrowers with their worst open signal;
* ``borrower_ownership`` — one borrower's ownership network (``core.risk.graph``): ultimate
  controllers, circular holdings and the Plotly figure; persons' names masked.

Plain SELECTs into DataFrames (like ``core.services.analytics``); nothing here writes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from sqlmodel import Session, col, func, select

from core import cache
from core.auth import Actor, Permission
from core.auth.masking import mask_name
from core.auth.rules import assert_institution_access, institution_descendants
from core.enums import SIGNAL_COLOURS, HolderType, LoanStatus, SignalStatus
from core.errors import ForbiddenError, NotFoundError
from core.models import Enterprise, LargeDefaultCase, Loan, Organization, RiskSignal, Shareholding
from core.reference import districts, industry_sections
from core.services.directory import load_institution
from core.usecase import UnitOfWork, use_case

COLOURS: tuple[str, ...] = ("red", "orange", "yellow", "blue")  # most severe first
DISTRICT_COLUMNS = ["district_code", "name", "name_en", "tile_col", "tile_row", "signals", "enterprises",
                    *COLOURS]
CASE_COLUMNS = ["case_id", "enterprise", "district_name", "district_name_en", "institution", "amount",
                "status", "opened_at"]
BORROWER_COLUMNS = ["enterprise_id", "name", "credit_code", "loans", "outstanding", "open_signals", "max_level",
                    "colour"]
CONTROLLER_COLUMNS = ["holder_name", "holder_type", "cumulative_share"]
LIVE_LOANS = (LoanStatus.active, LoanStatus.overdue, LoanStatus.defaulted)
GRAPH_DEPTH = 4  # hops of enterprise holdings loaded around a borrower


@dataclass(frozen=True)
class RiskMap:
    """Open signals platform-wide: ``by_colour`` [colour, signals, enterprises] in ``COLOURS`` order,
    ``by_district`` (``DISTRICT_COLUMNS``, every district of the city), ``by_level`` [level 1–8, colour,
    signals, enterprises], ``by_industry`` [section, name, name_en, signals, enterprises], and totals."""

    by_colour: pd.DataFrame
    by_district: pd.DataFrame
    by_level: pd.DataFrame
    by_industry: pd.DataFrame
    open_signals: int
    enterprises_flagged: int
    as_of: datetime


@dataclass(frozen=True)
class OpenCases:
    """Open large-default cases, newest first (``CASE_COLUMNS``; names masked) and their totals."""

    cases: pd.DataFrame
    count: int
    amount: float


@dataclass(frozen=True)
class OwnershipView:
    """One enterprise's ownership network: the figure, its ultimate controllers and circular holdings."""

    enterprise_id: int
    name: str
    figure: Any  # plotly.graph_objects.Figure (drawn by ``core.risk.graph.ownership_figure``)
    controllers: pd.DataFrame  # CONTROLLER_COLUMNS
    circular: list[list[str]] = field(default_factory=list)  # names along each cycle
    holdings: int = 0  # shareholding edges loaded


def mask_enterprise_name(name: str | None) -> str:
    """An enterprise name for public display: ``衡水华泰机械制造有限公司`` → ``衡水******有限公司``.

    Args:
        name: the registered name (Chinese or Latin script).
    """
    text = (name or "").strip()
    if not text:
        return ""
    if len(text) <= 4:
        return text[0] + "*" * (len(text) - 1)
    suffixes = ("股份有限公司", "有限责任公司", "有限公司", "合作社", "经营部", "厂", "店", " Co., Ltd.", " Ltd.")
    tail = next((s for s in suffixes if text.endswith(s) and len(text) > len(s) + 2), "")
    body = text[: len(text) - len(tail)]
    return body[:2] + "*" * max(2, len(body) - 2) + tail


# ------------------------------------------------------------------------------------- risk map


def _open_signals(session: Session) -> pd.DataFrame:
    rows = session.exec(
        select(RiskSignal.enterprise_id, RiskSignal.level, Enterprise.district_code, Enterprise.industry_section)
        .join(Enterprise, Enterprise.id == RiskSignal.enterprise_id)
        .where(RiskSignal.status != SignalStatus.closed)
    ).all()
    frame = pd.DataFrame(rows, columns=["enterprise_id", "level", "district_code", "industry_section"])
    frame["level"] = pd.to_numeric(frame["level"]).astype("int64")
    frame["colour"] = frame["level"].map(SIGNAL_COLOURS)
    return frame


def _risk_map(session: Session) -> RiskMap:
    signals = _open_signals(session)
    worst = signals.groupby("enterprise_id", as_index=False).agg(level=("level", "max"),
                                                                 district_code=("district_code", "first"))
    worst["colour"] = worst["level"].map(SIGNAL_COLOURS)
    by_colour = pd.DataFrame({"colour": list(COLOURS)})
    by_colour["signals"] = by_colour["colour"].map(signals["colour"].value_counts()).fillna(0).astype(int)
    by_colour["enterprises"] = by_colour["colour"].map(worst["colour"].value_counts()).fillna(0).astype(int)

    ref = districts()[["code", "name", "name_en", "tile_col", "tile_row"]].rename(columns={"code": "district_code"})
    per_district = signals.groupby("district_code").agg(signals=("level", "size"),
                                                        enterprises=("enterprise_id", "nunique"))
    colours = pd.crosstab(worst["district_code"], worst["colour"]).reindex(columns=list(COLOURS), fill_value=0)
    frame = ref.merge(per_district, left_on="district_code", right_index=True, how="left").merge(
        colours, left_on="district_code", right_index=True, how="left"
    )
    counts = ["signals", "enterprises", *COLOURS]
    frame[counts] = frame[counts].fillna(0).astype(int)

    by_level = pd.DataFrame({"level": range(1, 9)})
    by_level["colour"] = by_level["level"].map(SIGNAL_COLOURS)
    by_level["signals"] = by_level["level"].map(signals["level"].value_counts()).fillna(0).astype(int)
    by_level["enterprises"] = by_level["level"].map(worst["level"].value_counts()).fillna(0).astype(int)

    sections = industry_sections()[["section", "name", "name_en"]]
    per_section = signals.groupby("industry_section").agg(signals=("level", "size"),
                                                          enterprises=("enterprise_id", "nunique"))
    by_industry = sections.merge(per_section, left_on="section", right_index=True, how="inner")
    by_industry = by_industry.sort_values("signals", ascending=False, kind="stable").reset_index(drop=True)
    return RiskMap(
        by_colour=by_colour,
        by_district=frame[DISTRICT_COLUMNS].reset_index(drop=True),
        by_level=by_level,
        by_industry=by_industry[["section", "name", "name_en", "signals", "enterprises"]],
        open_signals=len(signals),
        enterprises_flagged=int(worst["enterprise_id"].nunique()),
        as_of=datetime.now(UTC),
    )


@use_case(Permission.platform_stats)
def risk_map(uow: UnitOfWork, *, actor: Actor) -> RiskMap:
    """Open (not closed) signals by colour and by district — aggregates, no enterprise named.

    A signal raised for several lending institutions counts once per institution in ``signals``;
    ``enterprises`` counts each enterprise once, under the colour of its worst open signal.
    """
    return cache.get_or_compute("risk_map", (), lambda: _risk_map(uow.session))


def _open_cases(session: Session, limit: int) -> OpenCases:
    open_filter = LargeDefaultCase.status != "closed"
    count, amount = session.exec(
        select(func.count(LargeDefaultCase.id), func.coalesce(func.sum(LargeDefaultCase.amount), 0)).where(
            open_filter
        )
    ).one()
    rows = session.exec(
        select(LargeDefaultCase, Enterprise.name, Enterprise.district_code, Organization.name)
        .join(Enterprise, Enterprise.id == LargeDefaultCase.enterprise_id)
        .join(Organization, Organization.id == LargeDefaultCase.institution_id)
        .where(open_filter)
        .order_by(col(LargeDefaultCase.opened_at).desc(), col(LargeDefaultCase.id).desc())
        .limit(limit)
    ).all()
    ref = districts().set_index("code")
    cases = pd.DataFrame(
        [
            {
                "case_id": int(case.id),
                "enterprise": mask_enterprise_name(name),
                "district_name": ref["name"].get(code, code),
                "district_name_en": ref["name_en"].get(code, code),
                "institution": org,
                "amount": float(case.amount),
                "status": case.status,
                "opened_at": case.opened_at,
            }
            for case, name, code, org in rows
        ],
        columns=CASE_COLUMNS,
    )
    return OpenCases(cases=cases, count=int(count), amount=float(amount or 0))


@use_case(Permission.platform_stats)
def open_cases_masked(uow: UnitOfWork, *, actor: Actor, limit: int = 10) -> OpenCases:
    """Open large-default cases for public display (the wall): enterprise names masked.

    Args:
        limit: at most this many cases listed (the totals count all).
    """
    limit = max(1, min(int(limit), 100))
    return cache.get_or_compute("open_cases_masked", (limit,), lambda: _open_cases(uow.session, limit))


# --------------------------------------------------------------------------- bank: post-loan


def _family(session: Session, actor: Actor, institution_id: int) -> set[int]:
    if not (actor.can(Permission.applications_institution) or actor.can(Permission.oversight)):
        raise ForbiddenError("error.forbidden")
    load_institution(session, institution_id)
    assert_institution_access(session, actor, institution_id)
    return institution_descendants(session, institution_id)


@use_case(permission=None)
def post_loan_borrowers(uow: UnitOfWork, *, actor: Actor, institution_id: int) -> pd.DataFrame:
    """The institution family's borrowers with live loans, the worst open signal first.

    Args:
        institution_id: the institution (staff of its family; oversight reads any).

    Returns:
        DataFrame ``BORROWER_COLUMNS`` (``max_level`` 0 and ``colour`` None when no open signal).
    """
    scope = _family(uow.session, actor, institution_id)
    loans = uow.session.exec(
        select(Loan.enterprise_id, func.count(Loan.id), func.coalesce(func.sum(Loan.outstanding_principal), 0))
        .where(col(Loan.institution_id).in_(scope), col(Loan.status).in_(LIVE_LOANS))
        .group_by(Loan.enterprise_id)
    ).all()
    frame = pd.DataFrame(loans, columns=["enterprise_id", "loans", "outstanding"])
    if frame.empty:
        return pd.DataFrame(columns=BORROWER_COLUMNS)
    ids = [int(i) for i in frame["enterprise_id"]]
    names = pd.DataFrame(
        uow.session.exec(
            select(Enterprise.id, Enterprise.name, Enterprise.credit_code).where(col(Enterprise.id).in_(ids))
        ).all(),
        columns=["enterprise_id", "name", "credit_code"],
    )
    signals = pd.DataFrame(
        uow.session.exec(
            select(RiskSignal.enterprise_id, func.count(RiskSignal.id), func.max(RiskSignal.level))
            .where(
                col(RiskSignal.enterprise_id).in_(ids),
                col(RiskSignal.institution_id).in_(scope),
                RiskSignal.status != SignalStatus.closed,
            )
            .group_by(RiskSignal.enterprise_id)
        ).all(),
        columns=["enterprise_id", "open_signals", "max_level"],
    )
    out = frame.merge(names, on="enterprise_id").merge(signals, on="enterprise_id", how="left")
    out[["open_signals", "max_level"]] = out[["open_signals", "max_level"]].fillna(0).astype(int)
    out["outstanding"] = out["outstanding"].astype(float)
    out["colour"] = out["max_level"].map(SIGNAL_COLOURS)
    out = out.sort_values(["max_level", "outstanding"], ascending=[False, False], kind="stable")
    return out[BORROWER_COLUMNS].reset_index(drop=True)


def _ownership_rows(session: Session, enterprise_id: int, as_of: date) -> pd.DataFrame:
    """Shareholdings around ``enterprise_id``: up to ``GRAPH_DEPTH`` hops of enterprise holdings both ways."""
    seen: set[int] = {enterprise_id}
    frontier = {enterprise_id}
    rows: dict[int, Shareholding] = {}
    for _ in range(GRAPH_DEPTH):
        if not frontier:
            break
        found = session.exec(
            select(Shareholding).where(
                (col(Shareholding.enterprise_id).in_(frontier))
                | (col(Shareholding.holder_enterprise_id).in_(frontier))
            )
        ).all()
        nxt: set[int] = set()
        for h in found:
            if h.until is not None and h.until < as_of:
                continue
            rows[int(h.id)] = h
            for other in (h.enterprise_id, h.holder_enterprise_id):
                if other is not None and other not in seen:
                    seen.add(int(other))
                    nxt.add(int(other))
        frontier = nxt
    return pd.DataFrame(
        [
            {
                "enterprise_id": int(h.enterprise_id),
                "holder_type": str(h.holder_type),
                "holder_enterprise_id": None if h.holder_enterprise_id is None else int(h.holder_enterprise_id),
                # Persons appear masked to the lender (their identity is not needed to see control).
                "holder_name": h.holder_name if h.holder_type == HolderType.enterprise else mask_name(h.holder_name),
                # A stable, non-revealing key, so two holders with the same masked name stay two nodes.
                "holder_id_number": hashlib.sha256(h.holder_id_number.encode()).hexdigest()[:16]
                if h.holder_id_number else None,
                "share_pct": float(h.share_pct),
                "since": h.since,
                "until": h.until,
            }
            for h in rows.values()
        ],
        columns=["enterprise_id", "holder_type", "holder_enterprise_id", "holder_name", "holder_id_number",
                 "share_pct", "since", "until"],
    )


@use_case(permission=None)
def borrower_ownership(
    uow: UnitOfWork,
    *,
    actor: Actor,
    institution_id: int,
    enterprise_id: int,
    locale: str = "zh_CN",
    as_of: date | None = None,
) -> OwnershipView:
    """The ownership network of a borrower of the institution family, drawn by ``core.risk.graph``.

    Args:
        institution_id: the lending institution (staff of its family; oversight reads any).
        enterprise_id: a borrower of that family (oversight: any enterprise).
        locale: the language of the figure's labels.
        as_of: the day holdings are read at (default today, UTC).
    """
    from core.risk import graph  # the engine (networkx); imported on use

    scope = _family(uow.session, actor, institution_id)
    enterprise = uow.session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise NotFoundError("error.not_found")
    if not actor.can(Permission.oversight):
        lends = uow.session.exec(
            select(func.count(Loan.id)).where(Loan.enterprise_id == enterprise_id, col(Loan.institution_id).in_(scope))
        ).one()
        if not lends:
            raise NotFoundError("error.not_found")  # not a borrower: its existence is not revealed
    day = as_of or datetime.now(UTC).date()
    holdings = _ownership_rows(uow.session, enterprise_id, day)
    ids = {enterprise_id, *holdings["enterprise_id"].tolist(), *holdings["holder_enterprise_id"].dropna().tolist()}
    names = dict(
        uow.session.exec(
            select(Enterprise.id, Enterprise.name).where(col(Enterprise.id).in_([int(i) for i in ids]))
        ).all()
    )
    G = graph.ownership_graph(holdings, day)
    controllers = graph.ultimate_controllers(G, enterprise_id)
    controllers = (
        controllers.reindex(columns=CONTROLLER_COLUMNS)
        if isinstance(controllers, pd.DataFrame)
        else pd.DataFrame(columns=CONTROLLER_COLUMNS)
    )

    def label(node: Any) -> str:
        return str(names.get(node, node)) if isinstance(node, int) else str(G.nodes[node].get("name", node))

    circular = [[label(n) for n in cycle] for cycle in graph.circular_holdings(G) if enterprise_id in cycle]
    levels = dict(
        uow.session.exec(
            select(RiskSignal.enterprise_id, func.max(RiskSignal.level))
            .where(col(RiskSignal.enterprise_id).in_([int(i) for i in ids]), RiskSignal.status != SignalStatus.closed)
            .group_by(RiskSignal.enterprise_id)
        ).all()
    )
    figure = graph.ownership_figure(
        G, enterprise_id, {int(k): v for k, v in names.items()}, locale=locale,
        levels={int(k): int(v) for k, v in levels.items()},
    )
    return OwnershipView(
        enterprise_id=enterprise_id,
        name=enterprise.name,
        figure=figure,
        controllers=controllers.reset_index(drop=True),
        circular=circular,
        holdings=len(holdings),
    )
