"""Model-validation command: the platform's scorecard pipeline in stratified k-fold CV on any CSV.

    python -m core.scoring.evaluate --csv PATH --target COLUMN --bad VALUE --folds 5 --seed N --json

Prints exactly one JSON object on stdout, ``{"auc": …, "ks": …, "gini": …, "folds": [...]}``; progress
goes to stderr. Numeric columns are binned as numbers and the rest as categories; missing values get
their own bin; constant and identifier-like columns are left out. Bad input exits with status 2 and
one line on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any

import numpy as np
import pandas as pd

from core.scoring.scorecard import (
    ScorecardConfig,
    ScorecardError,
    classification_metrics,
    fit_scorecard,
    is_categorical,
)


class EvaluateError(ValueError):
    """Input the command cannot evaluate; the message is the one line printed."""


def usable_features(frame: pd.DataFrame) -> list[str]:
    """Columns worth binning: not all missing, not constant, not a unique text identifier."""
    out = []
    n = len(frame)
    for col in frame.columns:
        s = frame[col]
        distinct = s.nunique(dropna=True)
        if distinct < 1 or (distinct == 1 and not s.isna().any()):
            continue
        if is_categorical(s) and distinct > max(50, 0.5 * n):
            continue  # free text or an identifier: one category per row carries no pattern
        out.append(str(col))
    return out


def prepare(frame: pd.DataFrame, target: str, bad: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Split a frame into features and a 0/1 target (1 where the target equals ``bad``)."""
    if target not in frame.columns:
        raise EvaluateError(f"target column {target!r} not found; columns: {', '.join(map(str, frame.columns))}")
    t = frame[target]
    known = t.notna()
    if not known.all():
        frame, t = frame[known], t[known]
    as_text = t.astype(str).str.strip()
    y = (as_text == str(bad).strip()).to_numpy().astype(np.int64)
    if len(y) == 0 or y.min() == y.max():
        what = "no row" if y.sum() == 0 else "every row"
        raise EvaluateError(f"target {target!r} has one class: {what} equals bad value {bad!r}")
    X = frame.drop(columns=[target])
    cols = usable_features(X)
    if not cols:
        raise EvaluateError("no usable feature: every other column is empty, constant or an identifier")
    return X[cols], y


def cross_validate(
    X: pd.DataFrame,
    y: np.ndarray,
    *,
    folds: list[tuple[np.ndarray, np.ndarray]],
    config: ScorecardConfig | None = None,
    progress=None,
) -> dict[str, Any]:
    """Fit on each training part, measure on its held-out part; mean AUC/KS/Gini and per-fold details.

    Every choice the pipeline makes by inner cross-validation (C, penalty, any design grid in ``config``)
    sees the training part only: ``fit_scorecard`` receives nothing else.

    Args:
        X: features, one row per case.
        y: 1 for bad, 0 for good.
        folds: (training rows, held-out rows) position arrays.
        config: pipeline settings; the platform defaults when omitted.
        progress: optional ``callback(fold_number, metrics)``.
    """
    results = []
    for k, (train, test) in enumerate(folds, start=1):
        card = fit_scorecard(X.iloc[train], y[train], config)
        m = classification_metrics(y[test], card.predict_pd(X.iloc[test]))
        results.append({"fold": k, "auc": m["auc"], "ks": m["ks"], "gini": m["gini"], "n_train": int(len(train)),
                        "n_test": int(len(test)), "bads_test": int(y[test].sum()),
                        "features": [fb.name for fb in card.features], "C": card.training.get("C"),
                        "design": card.training.get("design")})
        if progress:
            progress(k, m)
    aucs = np.array([r["auc"] for r in results])
    return {"auc": float(aucs.mean()), "ks": float(np.mean([r["ks"] for r in results])),
            "gini": float(np.mean([r["gini"] for r in results])), "auc_sd": float(aucs.std(ddof=1)) if len(aucs) > 1 else 0.0,
            "folds": results}


def stratified_folds(y: np.ndarray, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.model_selection import StratifiedKFold

    return list(StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.scoring.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("--csv", required=True, help="CSV file with one row per case")
    parser.add_argument("--target", required=True, help="outcome column")
    parser.add_argument("--bad", required=True, help="value of the outcome column that means bad")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object (the default)")
    args = parser.parse_args(argv)

    def fail(message: str) -> int:
        print(f"error: {message}", file=sys.stderr)  # noqa: T201
        return 2

    try:
        frame = pd.read_csv(args.csv)
    except FileNotFoundError:
        return fail(f"cannot read {args.csv}: no such file")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        return fail(f"cannot read {args.csv}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
    try:
        X, y = prepare(frame, args.target, args.bad)
        n_folds = int(args.folds)
        if n_folds < 2:
            raise EvaluateError("--folds must be at least 2")
        if min(np.bincount(y)) < n_folds:
            raise EvaluateError(f"too few rows of the rarer class ({min(np.bincount(y))}) for {n_folds} folds")
        print(f"{len(y)} rows, {int(y.sum())} bad, {X.shape[1]} features; {n_folds} folds", file=sys.stderr)  # noqa: T201

        def progress(k, m):
            print(f"fold {k}/{n_folds}: AUC {m['auc']:.4f} KS {m['ks']:.4f}", file=sys.stderr)  # noqa: T201

        # Libraries that print would corrupt the one JSON object: everything else on stdout goes to stderr.
        with contextlib.redirect_stdout(sys.stderr):
            result = cross_validate(X, y, folds=stratified_folds(y, n_folds, args.seed), progress=progress)
    except (EvaluateError, ScorecardError) as exc:
        return fail(str(exc))
    result = {"auc": result["auc"], "ks": result["ks"], "gini": result["gini"], "auc_sd": result["auc_sd"],
              "n_rows": int(len(y)), "n_bad": int(y.sum()), "seed": args.seed, "folds": result["folds"]}
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
