"""Backtest the early-warning rule library on the generated demo history.

Generates the demo data in memory (``core.seed.generator.generate("demo", seed)``), evaluates the rules at
every month-end using only what was known by then, and reports per rule, per level and overall the share
of defaults warned at least 90 days ahead (recall_90d), the false-alarm rate and the lead-time
distribution (definitions in :mod:`core.risk.backtest`). An enterprise counts as warned overall from
``--min-level`` (default 5: orange and red, the levels a bank acts on). Progress goes to stderr.

Loans the generator left 90 or more days past due without a default date are dropped before the run
(their number is printed; ``--keep-inconsistent-loans`` keeps them, and they then count as defaults on the
day they reached 90 days past due).

    .venv/bin/python scripts/backtest_risk.py                    # tables for the shipped rule set
    .venv/bin/python scripts/backtest_risk.py --json --seed 42   # tables, then one JSON object as the last line
    .venv/bin/python scripts/backtest_risk.py --rule-set 1       # an older shipped version (v1.json)
    .venv/bin/python scripts/backtest_risk.py --rule-set my.json --min-level 7 --seed 7
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tqdm import tqdm  # noqa: E402

from core.risk.backtest import (  # noqa: E402
    inconsistent_loans,
    inputs_from_frames,
    month_ends,
    run_history,
    score_history,
    without_loans,
)
from core.risk.levels import colour_of  # noqa: E402
from core.risk.rules import SHIPPED_VERSION, load_shipped_rule_set, parse_rule_set  # noqa: E402
from core.seed.generator import DEFAULT_AS_OF, generate  # noqa: E402

FIRST_EVAL = date(2024, 10, 31)  # 12 months into the 36-month history, so year-on-year rules can see
DEFAULT_MIN_LEVEL = 5  # orange and red: the levels at which a bank acts, so an enterprise counts as warned
TARGET_RECALL, TARGET_FALSE_ALARMS = 0.6, 0.2


def _fmt(x, pct=False) -> str:
    if x is None:
        return "—"
    return f"{x * 100:5.1f}%" if pct else f"{x:5.0f}"


def _rule_doc(arg: str) -> dict:
    """The rule-set document named by ``--rule-set``: a shipped version number or a JSON file."""
    if arg.isdigit():
        return load_shipped_rule_set(int(arg))
    return json.loads(Path(arg).read_text(encoding="utf-8"))


def _print_tables(result: dict, rule_levels: dict[str, int], out) -> None:
    print(f"{'rule':<28} {'lvl':>3} {'hits':>6} {'ents':>5} {'warned':>6} {'recall90':>8} {'flagged':>7} "
          f"{'false%':>7} {'lead p25':>8} {'median':>6} {'p75':>5}", file=out)
    for r in result["rules"]:
        print(f"{r['rule_code']:<28} {rule_levels.get(r['rule_code'], 0):>3} {r['hits']:>6} {r['enterprises']:>5} "
              f"{r['warned_90d']:>6} {_fmt(r['recall_90d'], True):>8} {r['flagged']:>7} "
              f"{_fmt(r['false_alarm_rate'], True):>7} {_fmt(r['lead_p25']):>8} {_fmt(r['lead_median']):>6} "
              f"{_fmt(r['lead_p75']):>5}", file=out)
    print(f"{'OVERALL (level ≥ ' + str(result['min_level']) + ')':<28} {'':>3} {'':>6} {'':>5} "
          f"{result['warned_90d']:>6} {_fmt(result['recall_90d'], True):>8} {result['flagged']:>7} "
          f"{_fmt(result['false_alarm_rate'], True):>7} {_fmt(result['lead_p25']):>8} "
          f"{_fmt(result['lead_median']):>6} {_fmt(result['lead_p75']):>5}", file=out)
    print("\nwarned from level   colour   warned  recall90  flagged  false alarms  false%  lead median", file=out)
    for lv in result["levels"]:
        print(f"  ≥ {lv['min_level']}{'':<14} {colour_of(lv['min_level']):<7} {lv['warned_90d']:>7} "
              f"{_fmt(lv['recall_90d'], True):>9} {lv['flagged']:>8} {lv['false_alarms']:>13} "
              f"{_fmt(lv['false_alarm_rate'], True):>7} {_fmt(lv['lead_median']):>12}", file=out)
    buckets = ", ".join(f"{k} days: {v}" for k, v in result["lead_days"].items())
    print(f"\nlead time of the {result['warned_90d']} defaults warned ≥ 90 days ahead (first warning in the year "
          f"before default): {buckets}; warned only in the last 90 days: {result['warned_late']}; "
          f"not warned: {result['defaults'] - result['warned_90d'] - result['warned_late']}", file=out)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--n-enterprises", type=int, default=None)
    ap.add_argument("--min-level", type=int, default=DEFAULT_MIN_LEVEL, choices=range(1, 9),
                    help="level from which an enterprise counts as warned overall (default 5: orange and red)")
    ap.add_argument("--rule-set", default=str(SHIPPED_VERSION),
                    help=f"a shipped version number (default {SHIPPED_VERSION}) or a rule-set JSON file")
    ap.add_argument("--keep-inconsistent-loans", action="store_true",
                    help="keep loans 90+ days past due that have no default date (they then count as defaults)")
    args = ap.parse_args(argv)

    rule_set = parse_rule_set(_rule_doc(args.rule_set))
    t0 = time.perf_counter()
    frames = generate("demo", args.seed, n_enterprises=args.n_enterprises)
    t_gen = time.perf_counter() - t0
    inputs = inputs_from_frames(frames)
    dates = month_ends(FIRST_EVAL, DEFAULT_AS_OF)
    dropped = inconsistent_loans(inputs.loans, inputs.installments, dates[-1])
    if not args.keep_inconsistent_loans:
        inputs = without_loans(inputs, dropped)
    t1 = time.perf_counter()
    history = run_history(inputs, rule_set, dates,
                          progress=lambda it: tqdm(it, desc="month-ends", unit="run", file=sys.stderr))
    t_eval = time.perf_counter() - t1
    result = score_history(history, inputs.loans, dates, min_level=args.min_level,
                           rule_codes=[r.code for r in rule_set.rules], installments=inputs.installments)
    met = (result["recall_90d"] or 0) >= TARGET_RECALL and (
        result["false_alarm_rate"] if result["false_alarm_rate"] is not None else 1) < TARGET_FALSE_ALARMS
    result.update({"seed": args.seed, "enterprises": int(len(inputs.enterprises)), "month_ends": len(dates),
                   "first_month_end": dates[0].isoformat(), "last_month_end": dates[-1].isoformat(),
                   "set_version": rule_set.set_version, "rule_set": args.rule_set,
                   "inconsistent_loans": len(dropped), "inconsistent_loans_dropped": not args.keep_inconsistent_loans,
                   "seconds_generate": round(t_gen, 1), "seconds_evaluate": round(t_eval, 1),
                   "seconds_per_run": round(t_eval / max(len(dates), 1), 2), "target_met": bool(met)})

    out = sys.stdout
    print(f"Backtest of rule set v{rule_set.set_version} on the demo history (seed {args.seed}, "
          f"{result['enterprises']} enterprises, {len(dates)} month-ends {dates[0]}…{dates[-1]}, "
          f"warned = level ≥ {args.min_level}, {colour_of(args.min_level)} and above)", file=out)
    _print_tables(result, {r.code: r.level for r in rule_set.rules}, out)
    how = "kept, counted as defaults at 90 days past due" if args.keep_inconsistent_loans else "dropped"
    print(f"defaults in scope: {result['defaults']}; loans 90+ days past due without a default date: "
          f"{len(dropped)} ({how}); evaluation {t_eval:.1f}s ({result['seconds_per_run']}s per month-end run); "
          f"generation {t_gen:.1f}s", file=out)
    print(f"target (recall_90d ≥ {TARGET_RECALL:.0%} and false-alarm rate < {TARGET_FALSE_ALARMS:.0%}) at level ≥ "
          f"{args.min_level}: {'met' if met else 'NOT met'}", file=out)
    if args.json:
        print(json.dumps(result, ensure_ascii=False), file=out)
    return result


if __name__ == "__main__":
    main()
