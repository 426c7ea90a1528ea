"""Dry run of an early-warning rule-set draft: how it would flag enterprises against the published version.

:func:`dry_run_risk_draft` evaluates the draft and the published version on current data (the same
chunked evaluation as a run, ``core.services.risk_inputs``), compares the flagged sets per enterprise
(:func:`flag_diff`: newly flagged, no longer flagged, level up, level down) and stores a summary with
the first ``DRY_RUN_ROWS`` rows on the draft (an edit of the draft clears it). A dry run raises no
signal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from core.auth import Actor, Permission
from core.models import Enterprise
from core.risk.levels import aggregate
from core.services.risk_inputs import check_as_of, evaluate_chunks, merge_status
from core.services.risk_rules import RULE_SETS, parse_document, published_rules
from core.usecase import use_case

DIFF_COLUMNS = ["enterprise_id", "enterprise_name", "change", "level_before", "level_after", "colour_before",
                "colour_after", "rules_before", "rules_after"]
DRY_RUN_ROWS = 500  # rows of the diff kept on the draft


@dataclass
class DryRunResult:
    """How a draft would flag enterprises compared with the published version."""

    set_version: int
    against_version: int
    as_of: date
    newly_flagged: int
    no_longer_flagged: int
    level_changed: int
    unchanged: int
    frame: pd.DataFrame  # DIFF_COLUMNS; change is newly_flagged | no_longer_flagged | level_up | level_down
    rules: list[dict[str, Any]]
    version: int  # the draft row's version after the result was stored


def flag_diff(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """Per enterprise, how the flagged set changes from ``before`` hits to ``after`` hits.

    Args:
        before: hits of the published set.
        after: hits of the draft.

    Returns:
        ``enterprise_id``, ``change``, ``level_before``, ``level_after``, ``colour_before``,
        ``colour_after``, ``rules_before``, ``rules_after`` (only enterprises whose flag or level moved).
    """
    a = aggregate(before).set_index("enterprise_id") if len(before) else pd.DataFrame()
    b = aggregate(after).set_index("enterprise_id") if len(after) else pd.DataFrame()
    cols = ["max_level", "colour", "rule_codes"]
    a = a.reindex(columns=cols)
    b = b.reindex(columns=cols)
    both = a.merge(b, how="outer", left_index=True, right_index=True, suffixes=("_before", "_after"))
    lb, la = both["max_level_before"], both["max_level_after"]
    change = np.select([lb.isna() & la.notna(), lb.notna() & la.isna(), la > lb, la < lb],
                       ["newly_flagged", "no_longer_flagged", "level_up", "level_down"], "unchanged")
    out = pd.DataFrame({
        "enterprise_id": both.index.astype(int), "change": change,
        "level_before": lb.astype("Int64").to_numpy(), "level_after": la.astype("Int64").to_numpy(),
        "colour_before": both["colour_before"].to_numpy(), "colour_after": both["colour_after"].to_numpy(),
        "rules_before": both["rule_codes_before"].map(_codes).to_numpy(),
        "rules_after": both["rule_codes_after"].map(_codes).to_numpy()})
    return out.sort_values(["change", "enterprise_id"]).reset_index(drop=True)


def _codes(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, str):
        return value
    return ",".join(sorted(str(v) for v in value))


@use_case(permission=Permission.risk_manage, write=True)
def dry_run_risk_draft(uow, *, actor: Actor, set_version: int, as_of: date | None = None) -> DryRunResult:
    """Evaluate a draft and the published version on current data; store and return the diff.

    Args:
        set_version: the draft's version number.
        as_of: the evaluation date (default: today).

    Raises:
        RiskSetNotDraftError: the version is not a draft.
    """
    session = uow.session
    as_of = check_as_of(as_of)
    draft = RULE_SETS.draft(session, set_version, None)
    published, current, _ = published_rules(session)
    candidate = parse_document(draft.rules)
    hits = {"before": [], "after": []}
    statuses: dict[str, dict[str, Any]] = {}
    for name, rule_set in (("before", current), ("after", candidate)):
        for _, result in evaluate_chunks(session, rule_set, as_of=as_of, ids=None):
            hits[name].append(result.hits)
            if name == "after":
                merge_status(statuses, result.rule_status)
    frames = {k: pd.concat(v, ignore_index=True) if v else pd.DataFrame(columns=["enterprise_id", "level"])
              for k, v in hits.items()}
    diff = flag_diff(frames["before"], frames["after"])
    counts = diff["change"].value_counts()
    moved = diff[diff["change"] != "unchanged"].copy()
    names = dict(session.execute(select(Enterprise.id, Enterprise.name).where(
        Enterprise.id.in_([int(i) for i in moved["enterprise_id"].head(5000)]))).all())
    moved.insert(1, "enterprise_name", moved["enterprise_id"].map(names))
    moved = moved[DIFF_COLUMNS].reset_index(drop=True)
    result = DryRunResult(
        set_version=draft.set_version, against_version=published.set_version, as_of=as_of,
        newly_flagged=int(counts.get("newly_flagged", 0)), no_longer_flagged=int(counts.get("no_longer_flagged", 0)),
        level_changed=int(counts.get("level_up", 0) + counts.get("level_down", 0)),
        unchanged=int(counts.get("unchanged", 0)), frame=moved,
        rules=sorted(statuses.values(), key=lambda r: r["rule_code"]), version=draft.version)
    summary = {"against": published.set_version, "as_of": as_of.isoformat(), "newly_flagged": result.newly_flagged,
               "no_longer_flagged": result.no_longer_flagged, "level_changed": result.level_changed,
               "unchanged": result.unchanged, "failed_rules": [r["rule_code"] for r in result.rules
                                                               if r["status"] == "error"]}
    stored = moved.head(DRY_RUN_ROWS).astype(object).where(moved.head(DRY_RUN_ROWS).notna(), None)
    draft.dry_run = {**summary, "rows": stored.to_dict("records")}
    session.add(draft)
    session.flush()
    result.version = draft.version
    uow.audit("risk.rule_set.dry_run", entity_type="risk_rule_set", entity_id=draft.id, after=summary)
    return result
