"""Backtest the early-warning rule library on the generated demo history.

Generates the demo data in memory (``core.seed.generator.generate("demo", seed)``), evaluates the rules at
every month-end using only what was known by then, and reports per rule and overall the share of
defaults warned at least 90 days ahead (recall_90d), the false-alarm rate and the lead-time distribution
(definitions in :mod:`core.risk.backtest`). Progress goes to stderr.

    .venv/bin/python scripts/backtest_risk.py                # table
    .venv/bin/python scripts/backtest_risk.py --json         # table, then one JSON object as the last line
    .venv/bin/python scripts/backtest_risk.py --seed 7 --n-enterprises 1000 --min-level 6
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

from core.risk.backtest import inputs_from_frames, month_ends, run_history, score_history  # noqa: E402
from core.risk.rules import load_shipped_rule_set, parse_rule_set  # noqa: E402
from core.seed.generator import DEFAULT_AS_OF, generate  # noqa: E402

FIRST_EVAL = date(2024, 10, 31)  # 12 months into the 36-month history, so year-on-year rules can see
DEFAULT_MIN_LEVEL = 7  # red: the level at which an enterprise counts as warned overall


def _fmt(x, pct=False) -> str:
    if x is None:
        return "—"
    return f"{x * 100:5.1f}%" if pct else f"{x:5.0f}"


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--n-enterprises", type=int, default=None)
    ap.add_argument("--min-level", type=int, default=DEFAULT_MIN_LEVEL, choices=range(1, 9))
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    frames = generate("demo", args.seed, n_enterprises=args.n_enterprises)
    t_gen = time.perf_counter() - t0
    inputs = inputs_from_frames(frames)
    rule_set = parse_rule_set(load_shipped_rule_set())
    dates = month_ends(FIRST_EVAL, DEFAULT_AS_OF)
    t1 = time.perf_counter()
    history = run_history(inputs, rule_set, dates,
                          progress=lambda it: tqdm(it, desc="month-ends", unit="run", file=sys.stderr))
    t_eval = time.perf_counter() - t1
    result = score_history(history, inputs.loans, dates, min_level=args.min_level,
                           rule_codes=[r.code for r in rule_set.rules])
    result.update({"seed": args.seed, "enterprises": int(len(inputs.enterprises)), "month_ends": len(dates),
                   "first_month_end": dates[0].isoformat(), "last_month_end": dates[-1].isoformat(),
                   "set_version": rule_set.set_version, "seconds_generate": round(t_gen, 1),
                   "seconds_evaluate": round(t_eval, 1),
                   "seconds_per_run": round(t_eval / max(len(dates), 1), 2)})

    out = sys.stdout
    print(f"Backtest of rule set v{rule_set.set_version} on the demo history (seed {args.seed}, "
          f"{result['enterprises']} enterprises, {len(dates)} month-ends {dates[0]}…{dates[-1]}, "
          f"warned = level ≥ {args.min_level})", file=out)
    print(f"{'rule':<28} {'hits':>6} {'ents':>5} {'warned':>6} {'recall90':>8} {'flagged':>7} {'false%':>7} "
          f"{'lead p25':>8} {'median':>6} {'p75':>5}", file=out)
    for r in result["rules"]:
        print(f"{r['rule_code']:<28} {r['hits']:>6} {r['enterprises']:>5} {r['warned_90d']:>6} "
              f"{_fmt(r['recall_90d'], True):>8} {r['flagged']:>7} {_fmt(r['false_alarm_rate'], True):>7} "
              f"{_fmt(r['lead_p25']):>8} {_fmt(r['lead_median']):>6} {_fmt(r['lead_p75']):>5}", file=out)
    print(f"{'OVERALL':<28} {'':>6} {'':>5} {result['warned_90d']:>6} {_fmt(result['recall_90d'], True):>8} "
          f"{result['flagged']:>7} {_fmt(result['false_alarm_rate'], True):>7} {_fmt(result['lead_p25']):>8} "
          f"{_fmt(result['lead_median']):>6} {_fmt(result['lead_p75']):>5}", file=out)
    print(f"defaults in scope: {result['defaults']}; evaluation {t_eval:.1f}s "
          f"({result['seconds_per_run']}s per month-end run); generation {t_gen:.1f}s", file=out)
    met = (result["recall_90d"] or 0) >= 0.6 and (result["false_alarm_rate"] if result["false_alarm_rate"] is not None
                                                    else 1) < 0.2
    result["target_met"] = bool(met)
    print(f"target (recall_90d ≥ 60 % and false-alarm rate < 20 %): {'met' if met else 'NOT met'}", file=out)
    if args.json:
        print(json.dumps(result, ensure_ascii=False), file=out)
    return result


if __name__ == "__main__":
    main()
