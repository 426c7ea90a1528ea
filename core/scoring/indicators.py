"""The indicator system: versioned configuration (``data/reference/indicators/*.json``) and its scoring.

Three levels: first-level indicators (radar axes) hold second-level groups, which hold third-level
indicators. Each third-level indicator names a feature from :mod:`core.scoring.features`, a banded
scoring function and a weight. Weights are relative within their parent (siblings sum to 1); an
indicator's effective weight is the product down its path.

Banding: ``thresholds`` ascending, ``points`` one more than thresholds (0–100). Bands are left-closed:
a value below the first threshold gets ``points[0]``; a value equal to a threshold belongs to the band
above it. ``direction`` says whether higher values are better (points never fall) or worse (points
never rise); the loader checks the points agree with it.

Missing data never scores zero: a NaN feature leaves its indicator out and its weight uncovered. The
composite (0–1000) is the weighted mean over covered indicators; when covered weight falls below
``min_coverage`` the enterprise's status is ``insufficient_data`` and composite and grade are empty.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core.scoring.features import FEATURE_NAMES, FEATURES

# Best first; equals core.models.types.GRADE_ORDER (a test checks it). Not imported from there: the
# engine must not pull in sqlalchemy through the models package.
GRADE_ORDER = ["AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C"]
INDICATOR_DIR = Path(__file__).resolve().parents[2] / "data" / "reference" / "indicators"
DIRECTIONS = ("higher_better", "lower_better")
STATUS_OK = "ok"
STATUS_INSUFFICIENT = "insufficient_data"
_TOL = 1e-6


class IndicatorConfigError(ValueError):
    """The indicator configuration is invalid; the message names the indicator and the problem."""


@dataclass(frozen=True)
class Indicator:
    """One third-level indicator: a feature scored by bands, with its effective weight."""

    code: str
    name: str
    name_en: str
    feature: str
    weight: float  # relative, within its second-level group
    effective_weight: float  # product of the weights down the path; all indicators sum to 1
    direction: str
    thresholds: tuple[float, ...]
    points: tuple[float, ...]
    first_level: str
    second_level: str

    def score(self, values) -> np.ndarray:
        """Points 0–100 of each value; NaN where the value is missing."""
        x = np.asarray(values, dtype=float)
        pts = np.asarray(self.points, dtype=float).take(np.searchsorted(self.thresholds, x, side="right"))
        return np.where(np.isnan(x), np.nan, pts)

    @property
    def better_thresholds(self) -> np.ndarray:
        """Thresholds where points improve, in the order an enterprise would cross them."""
        t = np.asarray(self.thresholds, float)
        p = np.asarray(self.points, float)
        if self.direction == "higher_better":
            return t[p[1:] > p[:-1]]
        return t[p[:-1] > p[1:]][::-1]


@dataclass(frozen=True)
class Group:
    """A first- or second-level indicator."""

    code: str
    name: str
    name_en: str
    weight: float
    children: tuple[str, ...]


@dataclass
class IndicatorSystem:
    """A loaded, validated indicator system."""

    name: str
    version: str
    indicators: list[Indicator]
    first_level: list[Group]
    second_level: list[Group]
    grade_cutoffs: list[tuple[str, float]]  # best first: (grade, minimum score)
    min_coverage: float
    min_sub_coverage: float
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def features(self) -> list[str]:
        return sorted({i.feature for i in self.indicators})

    def grade_of(self, scores) -> np.ndarray:
        """Grade of each 0–1000 score by the configured cut-offs (None where the score is NaN)."""
        s = np.asarray(scores, dtype=float)
        mins = np.array([m for _, m in self.grade_cutoffs][::-1])  # ascending
        names = np.array([g for g, _ in self.grade_cutoffs][::-1], dtype=object)
        idx = np.searchsorted(mins, np.where(np.isnan(s), 0.0, s), side="right") - 1
        out = names.take(np.clip(idx, 0, len(names) - 1))
        return np.where(np.isnan(s), None, out)

    def min_score_of(self, grade: str) -> float:
        return dict(self.grade_cutoffs)[grade]

    def next_grade_floor(self, scores) -> np.ndarray:
        """Minimum score of the next better grade for each score (NaN when already at the top)."""
        s = np.asarray(scores, dtype=float)
        mins = np.array([m for _, m in self.grade_cutoffs][::-1])
        idx = np.searchsorted(mins, np.where(np.isnan(s), 0.0, s), side="right")
        floors = np.append(mins, np.nan)
        return np.where(np.isnan(s), np.nan, floors.take(idx))

    def score(self, features: pd.DataFrame) -> IndicatorResult:
        """Points per indicator, composite 0–1000, grade, status and sub-indices per first-level indicator."""
        missing = [i.feature for i in self.indicators if i.feature not in features.columns]
        if missing:
            raise IndicatorConfigError(f"features missing from the input: {', '.join(sorted(set(missing)))}")
        points = pd.DataFrame({i.code: i.score(features[i.feature].to_numpy(float, na_value=np.nan))
                               for i in self.indicators}, index=features.index)
        w = np.array([i.effective_weight for i in self.indicators])
        p = points.to_numpy()
        have = ~np.isnan(p)
        coverage = have @ w
        weighted = np.where(have, p, 0.0) @ w
        with np.errstate(invalid="ignore", divide="ignore"):
            composite = 10.0 * weighted / coverage
        ok = coverage >= self.min_coverage - _TOL
        composite = np.where(ok, composite, np.nan)
        subs = {}
        for g in self.first_level:
            cols = [k for k, i in enumerate(self.indicators) if i.first_level == g.code]
            wg = w[cols] / w[cols].sum()
            cov = have[:, cols] @ wg
            with np.errstate(invalid="ignore", divide="ignore"):
                val = (np.where(have[:, cols], p[:, cols], 0.0) @ wg) / cov
            subs[g.code] = np.where(cov >= self.min_sub_coverage - _TOL, val, np.nan)
        return IndicatorResult(
            points=points,
            composite=pd.Series(composite, index=features.index, name="composite"),
            coverage=pd.Series(coverage, index=features.index, name="coverage"),
            grade=pd.Series(self.grade_of(composite), index=features.index, name="grade", dtype=object),
            status=pd.Series(np.where(ok, STATUS_OK, STATUS_INSUFFICIENT), index=features.index, name="status"),
            sub_indices=pd.DataFrame(subs, index=features.index),
        )


@dataclass
class IndicatorResult:
    """What scoring the indicator system gives, one row per enterprise."""

    points: pd.DataFrame  # indicator code -> points 0–100 (NaN: no data)
    composite: pd.Series  # 0–1000, NaN when insufficient
    coverage: pd.Series  # share of total weight with data
    grade: pd.Series
    status: pd.Series  # ok | insufficient_data
    sub_indices: pd.DataFrame  # first-level code -> 0–100 (NaN when that axis lacks data)


# ----------------------------------------------------------------------------- loading and validation
def _req(node: dict, key: str, where: str):
    if key not in node:
        raise IndicatorConfigError(f"{where}: missing key {key!r}")
    return node[key]


def _check_weights(children: Iterable[dict], where: str) -> None:
    children = list(children)
    if not children:
        raise IndicatorConfigError(f"{where}: has no children")
    for c in children:
        w = c.get("weight")
        if not isinstance(w, int | float) or isinstance(w, bool) or not (w > 0) or math.isinf(w):
            raise IndicatorConfigError(f"{where} > {c.get('code', '?')}: weight must be a positive number, got {w!r}")
    total = sum(float(c["weight"]) for c in children)
    if abs(total - 1.0) > _TOL:
        raise IndicatorConfigError(f"{where}: child weights sum to {total:.6g}, expected 1")


def load_indicator_system(
    source: dict[str, Any] | str | Path, *, available_features: Iterable[str] | None = None
) -> IndicatorSystem:
    """Read and validate an indicator system (a dict, a path, or a version name like ``"v1"``).

    Args:
        source: the configuration, a JSON file path, or a file stem under ``data/reference/indicators``.
        available_features: feature names the configuration may reference (default: the engine's features).

    Raises:
        IndicatorConfigError: with the path of the offending indicator and what is wrong.
    """
    if isinstance(source, dict):
        raw = source
    else:
        path = Path(source)
        if not path.suffix:
            path = INDICATOR_DIR / f"{source}.json"
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise IndicatorConfigError(f"indicator system not found: {path}") from exc
        except json.JSONDecodeError as exc:
            raise IndicatorConfigError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from exc
    known = set(available_features if available_features is not None else FEATURE_NAMES)
    name = str(_req(raw, "name", "system"))
    version = str(_req(raw, "version", "system"))
    min_cov = float(raw.get("min_coverage", 0.6))
    min_sub = float(raw.get("min_sub_coverage", 0.5))
    for key, v in (("min_coverage", min_cov), ("min_sub_coverage", min_sub)):
        if not 0.0 < v <= 1.0:
            raise IndicatorConfigError(f"system: {key} must lie in (0, 1], got {v}")

    grades = _req(raw, "grades", "system")
    names = [str(_req(g, "grade", "grades")) for g in grades]
    mins = [float(_req(g, "min_score", f"grades > {n}")) for g, n in zip(grades, names, strict=True)]
    if names != GRADE_ORDER:
        raise IndicatorConfigError(f"grades: expected {', '.join(GRADE_ORDER)} in that order, got {', '.join(names)}")
    if any(b >= a for a, b in zip(mins, mins[1:], strict=False)):
        raise IndicatorConfigError("grades: minimum scores must fall strictly from AAA to C")
    if mins[-1] != 0 or mins[0] > 1000:
        raise IndicatorConfigError("grades: C must start at 0 and AAA at or below 1000")

    firsts = _req(raw, "first_level", "system")
    _check_weights(firsts, "first_level")
    seen: set[str] = set()
    indicators: list[Indicator] = []
    first_groups: list[Group] = []
    second_groups: list[Group] = []

    def claim(code: str, where: str) -> None:
        if code in seen:
            raise IndicatorConfigError(f"{where}: duplicate code {code!r}")
        seen.add(code)

    for f in firsts:
        fcode = str(_req(f, "code", "first_level"))
        claim(fcode, "first_level")
        seconds = _req(f, "children", fcode)
        _check_weights(seconds, fcode)
        for s in seconds:
            scode = str(_req(s, "code", fcode))
            where2 = f"{fcode} > {scode}"
            claim(scode, where2)
            thirds = _req(s, "children", where2)
            _check_weights(thirds, where2)
            for t in thirds:
                tcode = str(_req(t, "code", where2))
                where = f"{where2} > {tcode}"
                claim(tcode, where)
                feature = str(_req(t, "feature", where))
                if feature not in known:
                    raise IndicatorConfigError(f"{where}: unknown feature {feature!r}")
                if feature in FEATURES and FEATURES[feature].kind != "numeric":
                    raise IndicatorConfigError(f"{where}: feature {feature!r} is categorical; bands need numbers")
                direction = str(_req(t, "direction", where))
                if direction not in DIRECTIONS:
                    raise IndicatorConfigError(f"{where}: direction must be one of {', '.join(DIRECTIONS)}")
                thresholds = [float(v) for v in _req(t, "thresholds", where)]
                pts = [float(v) for v in _req(t, "points", where)]
                if not thresholds:
                    raise IndicatorConfigError(f"{where}: needs at least one threshold")
                if any(not math.isfinite(v) for v in thresholds):
                    raise IndicatorConfigError(f"{where}: thresholds must be finite numbers")
                if any(b <= a for a, b in zip(thresholds, thresholds[1:], strict=False)):
                    raise IndicatorConfigError(f"{where}: thresholds must be strictly ascending, got {thresholds}")
                if len(pts) != len(thresholds) + 1:
                    raise IndicatorConfigError(
                        f"{where}: {len(thresholds)} thresholds need {len(thresholds) + 1} points, got {len(pts)}")
                if any(not 0 <= p <= 100 for p in pts):
                    raise IndicatorConfigError(f"{where}: points must lie in 0–100, got {pts}")
                steps = np.diff(pts)
                if direction == "higher_better" and np.any(steps < 0):
                    raise IndicatorConfigError(f"{where}: higher_better points must never fall, got {pts}")
                if direction == "lower_better" and np.any(steps > 0):
                    raise IndicatorConfigError(f"{where}: lower_better points must never rise, got {pts}")
                indicators.append(Indicator(
                    code=tcode, name=str(t.get("name", tcode)), name_en=str(t.get("name_en", tcode)),
                    feature=feature, weight=float(t["weight"]),
                    effective_weight=float(f["weight"]) * float(s["weight"]) * float(t["weight"]),
                    direction=direction, thresholds=tuple(thresholds), points=tuple(pts),
                    first_level=fcode, second_level=scode))
            second_groups.append(Group(scode, str(s.get("name", scode)), str(s.get("name_en", scode)),
                                       float(s["weight"]), tuple(str(t["code"]) for t in thirds)))
        first_groups.append(Group(fcode, str(f.get("name", fcode)), str(f.get("name_en", fcode)),
                                  float(f["weight"]), tuple(str(s["code"]) for s in seconds)))
    return IndicatorSystem(name=name, version=version, indicators=indicators, first_level=first_groups,
                           second_level=second_groups, grade_cutoffs=list(zip(names, mins, strict=True)),
                           min_coverage=min_cov, min_sub_coverage=min_sub, raw=raw)
