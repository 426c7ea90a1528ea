"""Evaluate a rule set over the inputs at one date: graded, fingerprinted hits and a status per rule.

Every rule runs vectorized over all enterprises (or the ``enterprise_ids`` of an incremental run) on the
point-in-time view of the inputs. A rule that raises is reported with status ``error`` and the others
complete. Combination rules (type ``multi_category``) run on the facts' hits: an enterprise with signals
in several categories at once gets one more, louder signal. Related-party rules (type ``related_party``)
run last: each qualifying hit on an enterprise
propagates one lower-level hit to every enterprise of its ownership group (``propagated_from`` holds the
source's fingerprint; propagated hits never propagate again). A fingerprint is the sha256 of
``enterprise_id|loan_id|rule_code|fact_key`` — the same fact seen again gives the same fingerprint, so a
repeated run raises no duplicate.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import pandas as pd

from core.risk.graph import related_groups
from core.risk.inputs import PointInTime, RiskInputs
from core.risk.levels import colours_of
from core.risk.rules import RiskRuleSet, RiskRuleSpec

__all__ = ["HIT_COLUMNS", "STATUS_COLUMNS", "RiskInputs", "RiskResult", "evaluate", "fingerprint"]

HIT_COLUMNS = ["enterprise_id", "loan_id", "rule_code", "rule_version", "level", "colour", "fact_key",
               "fingerprint", "observed_on", "detail", "propagated_from"]
STATUS_COLUMNS = ["rule_code", "status", "hits", "error", "seconds"]
STAGES = ("facts", "combine", "propagate")


@dataclass(frozen=True)
class RiskResult:
    """What one evaluation found: ``hits`` (see :data:`HIT_COLUMNS`) and ``rule_status`` per rule."""

    as_of: date
    set_version: int
    hits: pd.DataFrame
    rule_status: pd.DataFrame


def fingerprint(enterprise_id: int, loan_id: int | None, rule_code: str, fact_key: str) -> str:
    """The stable identity of one signal: sha256 hex of ``enterprise_id|loan_id|rule_code|fact_key``.

    Args:
        enterprise_id: the enterprise.
        loan_id: the loan, or None for an enterprise-level signal.
        rule_code: the rule's code (not its version: a new version re-finding a fact is the same signal).
        fact_key: the fact's stable identity from the rule type.
    """
    raw = f"{int(enterprise_id)}|{'' if loan_id is None or pd.isna(loan_id) else int(loan_id)}|{rule_code}|{fact_key}"
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _empty_hits() -> pd.DataFrame:
    df = pd.DataFrame({c: pd.Series(dtype="object") for c in HIT_COLUMNS})
    return df.astype({"enterprise_id": "int64", "loan_id": "Int64", "rule_version": "int64", "level": "int64"})


def _finish(raw: pd.DataFrame, spec: RiskRuleSpec, level: pd.Series | int | None = None) -> pd.DataFrame:
    if raw.empty:
        return _empty_hits()
    out = raw.copy()
    out["enterprise_id"] = out["enterprise_id"].astype("int64")
    out["loan_id"] = out["loan_id"].astype("Int64")
    out["rule_code"] = spec.code
    out["rule_version"] = spec.version
    out["level"] = (level if level is not None else spec.level)
    out["level"] = out["level"].astype("int64")
    out["colour"] = colours_of(out["level"])
    out["fact_key"] = out["fact_key"].astype(str)
    out["fingerprint"] = [fingerprint(e, lo, spec.code, f) for e, lo, f in
                          zip(out["enterprise_id"], out["loan_id"], out["fact_key"], strict=True)]
    if "propagated_from" not in out:
        out["propagated_from"] = None
    return out[HIT_COLUMNS].drop_duplicates("fingerprint")


def _combine(hits: pd.DataFrame, spec: RiskRuleSpec, rule_set: RiskRuleSet) -> pd.DataFrame:
    """One hit per enterprise with fact hits of at least ``min_level`` in ``min_categories`` categories."""
    p = spec.params
    combinable = {r.code: r.category for r in rule_set.rules if r.rule_type.stage == "facts"}
    h = hits[hits["rule_code"].isin(combinable) & (hits["level"] >= int(p["min_level"]))]
    h = h.assign(category=h["rule_code"].map(combinable))
    g = h.groupby("enterprise_id", sort=True)
    agg = pd.DataFrame({"categories": g["category"].agg(lambda s: sorted(set(s))), "since": g["observed_on"].min(),
                        "signals": g.size()})
    agg = agg[agg["categories"].str.len() >= int(p["min_categories"])]
    if agg.empty:
        return _empty_hits()
    raw = pd.DataFrame({
        "enterprise_id": agg.index.to_numpy(), "loan_id": pd.array([None] * len(agg), dtype="Int64"),
        "fact_key": ("combo|" + agg["categories"].str.join("+")).to_numpy(),
        "observed_on": agg["since"].to_numpy(),
        "detail": [{"categories": len(c), "signals": int(n)} for c, n in zip(agg["categories"], agg["signals"],
                                                                               strict=True)],
    })
    return _finish(raw, spec)


def _propagate(hits: pd.DataFrame, spec: RiskRuleSpec, ctx: PointInTime) -> pd.DataFrame:
    """Lower-level hits for the related parties of enterprises with a qualifying hit (vectorized merge)."""
    p = spec.params
    src = hits[(hits["level"] >= int(p["min_source_level"])) & hits["propagated_from"].isna()]
    if src.empty:
        return _empty_hits()
    groups = related_groups(ctx.graph, float(p["min_share"]))
    if not groups:
        return _empty_hits()
    member = pd.DataFrame({"target": list(groups), "group": list(groups.values())})
    src = src.assign(group=src["enterprise_id"].map(groups)).dropna(subset=["group"])
    # The strongest hit per source enterprise (ties: the smallest fingerprint), then every other member.
    src = src.sort_values(["enterprise_id", "level", "fingerprint"], ascending=[True, False, True])
    src = src.drop_duplicates("enterprise_id")
    pairs = src.merge(member, on="group")
    pairs = pairs[pairs["target"] != pairs["enterprise_id"]]
    if pairs.empty:
        return _empty_hits()
    level = (pairs["level"] - int(p["level_drop"])).clip(lower=1, upper=spec.level)
    detail = [{"source_enterprise_id": int(e), "source_rule": r, "source_level": int(lv)}
              for e, r, lv in zip(pairs["enterprise_id"], pairs["rule_code"], pairs["level"], strict=True)]
    raw = pd.DataFrame({
        "enterprise_id": pairs["target"].astype("int64").to_numpy(),
        "loan_id": pd.array([None] * len(pairs), dtype="Int64"),
        "fact_key": ("related|" + pairs["enterprise_id"].astype(str) + "|" + pairs["rule_code"] + "|"
                     + pairs["fact_key"]).to_numpy(),
        "observed_on": pairs["observed_on"].to_numpy(),
        "detail": detail,
        "propagated_from": pairs["fingerprint"].to_numpy(),
    })
    return _finish(raw, spec, pd.Series(level.to_numpy()))


def evaluate(
    inputs: RiskInputs, rule_set: RiskRuleSet, *, as_of: date, enterprise_ids: Iterable[int] | None = None,
    normalize: bool = True, raise_errors: bool = False,
) -> RiskResult:
    """Evaluate every enabled rule of ``rule_set`` at ``as_of``.

    Args:
        inputs: the frames (see :class:`~core.risk.inputs.RiskInputs`); money in yuan.
        rule_set: a parsed rule set.
        as_of: the evaluation date; only what was known by its end is used.
        enterprise_ids: evaluate only these enterprises (an incremental run); propagation still reaches
            their related parties outside the set.
        normalize: convert date columns first (pass False when ``inputs`` is already normalized).
        raise_errors: re-raise a failing rule's exception (tests) instead of reporting it.

    Returns:
        :class:`RiskResult` with the hits of enabled rules and one status row per rule of the set.
    """
    ctx = PointInTime(inputs.normalized() if normalize else inputs, as_of, enterprise_ids)
    parts: list[pd.DataFrame] = []
    status: list[dict] = []
    ordered = sorted(rule_set.rules, key=lambda r: STAGES.index(r.rule_type.stage))
    for spec in ordered:
        if not spec.enabled:
            status.append({"rule_code": spec.code, "status": "disabled", "hits": 0, "error": None, "seconds": 0.0})
            continue
        t0 = time.perf_counter()
        try:
            if spec.rule_type.stage != "facts":
                so_far = pd.concat(parts, ignore_index=True) if parts else _empty_hits()
                if spec.rule_type.stage == "combine":
                    found = _combine(so_far, spec, rule_set)
                else:
                    found = _propagate(so_far, spec, ctx)
            else:
                found = _finish(spec.rule_type.evaluate(ctx, spec), spec)
        except Exception as exc:  # noqa: BLE001 - one failing rule must not stop the run
            if raise_errors:
                raise
            status.append({"rule_code": spec.code, "status": "error", "hits": 0,
                           "error": f"{type(exc).__name__}: {exc}", "seconds": time.perf_counter() - t0})
            continue
        parts.append(found)
        status.append({"rule_code": spec.code, "status": "evaluated", "hits": len(found), "error": None,
                       "seconds": round(time.perf_counter() - t0, 4)})
    parts = [p for p in parts if not p.empty]
    hits = pd.concat(parts, ignore_index=True) if parts else _empty_hits()
    hits = hits.astype({"enterprise_id": "int64", "loan_id": "Int64", "rule_version": "int64", "level": "int64"})
    order = {s.code: i for i, s in enumerate(rule_set.rules)}
    st = pd.DataFrame(status, columns=STATUS_COLUMNS)
    st = st.sort_values("rule_code", key=lambda s: s.map(order), ignore_index=True)
    return RiskResult(as_of=as_of, set_version=rule_set.set_version, hits=hits, rule_status=st)
