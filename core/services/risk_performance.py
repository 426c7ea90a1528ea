"""Early-warning feedback statistics: how well each rule's signals turned out.

* :func:`performance_frame` (for callers inside a unit of work, e.g. the rule table of
  :func:`core.services.risk_rules.risk_rule_table`) and the use case :func:`rule_performance`: per rule
  code, the signals raised, the feedback given, the precision (true alarms over true plus false
  alarms) and the median lead time from raising a signal to a later default of the loan it concerned.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlmodel import Session

from core.auth import Actor, Permission
from core.models import Loan, RiskSignal
from core.usecase import use_case

PERFORMANCE_COLUMNS = ["rule_code", "signals", "feedback", "true_alarms", "false_alarms", "precision",
                       "defaults_after", "lead_time_days"]


def performance_frame(session: Session) -> pd.DataFrame:
    """Per rule code: signals, feedback, precision and median lead time to a later default.

    A signal's loan is its own ``loan_id``, or (an enterprise-level signal) the enterprise's loans at
    the signal's institution (any institution when it has none); the lead time is the days from
    ``raised_at`` to the earliest ``defaulted_at`` after it. Copies of one fact sent to several
    lenders count once for the lead time (per enterprise, rule and day raised).

    Args:
        session: the caller's open session.
    """
    s, ln = RiskSignal.__table__, Loan.__table__
    signals = pd.read_sql(select(s.c.id, s.c.enterprise_id, s.c.loan_id, s.c.institution_id, s.c.rule_code,
                                 s.c.feedback, s.c.raised_at), session.connection())
    if signals.empty:
        return pd.DataFrame(columns=PERFORMANCE_COLUMNS)
    counts = signals.groupby("rule_code").agg(
        signals=("id", "size"), feedback=("feedback", lambda f: int(f.isin(["true_alarm", "false_alarm"]).sum())),
        true_alarms=("feedback", lambda f: int((f == "true_alarm").sum())),
        false_alarms=("feedback", lambda f: int((f == "false_alarm").sum())))
    judged = counts["true_alarms"] + counts["false_alarms"]
    counts["precision"] = (counts["true_alarms"] / judged).where(judged > 0)
    defaults = pd.read_sql(select(ln.c.id.label("d_loan"), ln.c.enterprise_id, ln.c.institution_id.label("d_inst"),
                                  ln.c.defaulted_at).where(ln.c.defaulted_at.is_not(None)), session.connection())
    lead = pd.DataFrame(columns=["rule_code", "defaults_after", "lead_time_days"])
    if not defaults.empty:
        signals["raised_at"] = pd.to_datetime(signals["raised_at"], utc=True, format="ISO8601")
        defaults["defaulted_at"] = pd.to_datetime(defaults["defaulted_at"], utc=True, format="ISO8601")
        pairs = signals.merge(defaults, on="enterprise_id")
        own_loan = pairs["loan_id"].notna() & (pairs["loan_id"] == pairs["d_loan"])
        same_bank = pairs["loan_id"].isna() & (pairs["institution_id"].isna()
                                               | (pairs["institution_id"] == pairs["d_inst"]))
        pairs = pairs[(own_loan | same_bank) & (pairs["defaulted_at"] > pairs["raised_at"])]
        if not pairs.empty:
            pairs = pairs.assign(days=(pairs["defaulted_at"] - pairs["raised_at"]).dt.total_seconds() / 86400.0,
                                 day=pairs["raised_at"].dt.date)
            first = pairs.groupby(["enterprise_id", "rule_code", "day", "d_loan"])["days"].min().reset_index()
            first = first.groupby(["enterprise_id", "rule_code", "day"])["days"].min().reset_index()
            lead = first.groupby("rule_code").agg(defaults_after=("days", "size"),
                                                  lead_time_days=("days", "median")).reset_index()
    out = counts.reset_index().merge(lead, on="rule_code", how="left")
    out["defaults_after"] = out["defaults_after"].fillna(0).astype(int)
    out["lead_time_days"] = pd.to_numeric(out["lead_time_days"], errors="coerce").round(1)
    return out[PERFORMANCE_COLUMNS].sort_values("rule_code").reset_index(drop=True)


@use_case(permission=Permission.oversight)
def rule_performance(uow, *, actor: Actor) -> pd.DataFrame:
    """Per rule: signals, feedback count, precision (true / (true + false)) and median lead time in days.

    Returns:
        DataFrame ``rule_code``, ``signals``, ``feedback``, ``true_alarms``, ``false_alarms``,
        ``precision`` (NaN without feedback), ``defaults_after``, ``lead_time_days`` (median days from
        raising to a later default of the loan concerned; NaN when none defaulted).
    """
    return performance_frame(uow.session)
