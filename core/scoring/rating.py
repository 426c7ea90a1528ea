"""The rating: scorecard PD blended with the indicator composite, reason codes, and what would raise it.

Scales. The scorecard's log-odds of good are mapped linearly onto 0–1000 between two anchor PDs
(``pd_at_0`` scores 0, ``pd_at_1000`` scores 1000, clipped). The blended score is
``card_weight × card score + (1 − card_weight) × composite``; its PD is the inverse of the same map,
so score, grade and PD always agree. Because both parts are linear in their points, every feature's
pull on the blended score is exact: for the card, the points the row's bin lacks against the
feature's best bin; for the indicators, the weighted points the row's band lacks against 100.

Reason codes: the features with the largest pull (codes ``RC.<FEATURE>``, with the value and the
points lost as parameters for the message catalog). What would raise it: for every actionable
feature (an enterprise can change it by its conduct; never years in business, size or industry),
the better band and bin boundaries are tried in order, vectorized over enterprises; the answer is the
feature that reaches the next grade's floor in the fewest boundary crossings (ties: the smallest
change relative to the feature's band span).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.scoring.features import FEATURES
from core.scoring.indicators import STATUS_INSUFFICIENT, STATUS_OK, IndicatorSystem
from core.scoring.scorecard import Scorecard, SegmentedScorecard, segment_keys


@dataclass(frozen=True)
class RatingConfig:
    """How the two parts are blended and how much the explanation says."""

    card_weight: float = 0.5  # share of the scorecard in the blended score
    pd_at_0: float = 0.35  # PD that maps to score 0
    pd_at_1000: float = 0.002  # PD that maps to score 1000
    n_reasons: int = 4
    min_points_lost: float = 5.0  # smaller pulls are not worth a reason code

    def __post_init__(self) -> None:
        if not 0.0 <= self.card_weight <= 1.0:
            raise ValueError("card_weight must lie in [0, 1]")
        if not 0.0 < self.pd_at_1000 < self.pd_at_0 < 1.0:
            raise ValueError("anchors need 0 < pd_at_1000 < pd_at_0 < 1")

    @property
    def lo(self) -> float:
        return math.log((1 - self.pd_at_0) / self.pd_at_0)

    @property
    def hi(self) -> float:
        return math.log((1 - self.pd_at_1000) / self.pd_at_1000)

    def score_of_pd(self, pd_) -> np.ndarray:
        p = np.clip(np.asarray(pd_, float), 1e-12, 1 - 1e-12)
        return np.clip(1000.0 * (np.log((1 - p) / p) - self.lo) / (self.hi - self.lo), 0.0, 1000.0)

    def pd_of_score(self, score) -> np.ndarray:
        log_odds = self.lo + np.asarray(score, float) / 1000.0 * (self.hi - self.lo)
        return 1.0 / (1.0 + np.exp(log_odds))


def _card_groups(card: Scorecard | SegmentedScorecard | None, X: pd.DataFrame) -> list[tuple[np.ndarray, Scorecard]]:
    if card is None:
        return []
    if isinstance(card, Scorecard):
        return [(np.arange(len(X)), card)]
    keys = segment_keys(X, card.by).to_numpy()
    groups = []
    covered = np.zeros(len(X), dtype=bool)
    for key, seg in card.segments.items():
        rows = np.flatnonzero(keys == key)
        if len(rows):
            groups.append((rows, seg))
            covered[rows] = True
    rest = np.flatnonzero(~covered)
    if len(rest):
        groups.append((rest, card.population))
    return groups


def _feature_direction(name: str, system: IndicatorSystem, cards: list[Scorecard]) -> str | None:
    for ind in system.indicators:
        if ind.feature == name:
            return ind.direction
    for card in cards:
        for fb in card.features:
            if fb.name == name and fb.kind == "numeric" and len(fb.points) > 2:
                pts = np.asarray(fb.points[:-1])
                return "higher_better" if pts[-1] > pts[0] else "lower_better"
    return None


def rate(
    features: pd.DataFrame,
    *,
    system: IndicatorSystem,
    card: Scorecard | SegmentedScorecard | None,
    config: RatingConfig | None = None,
) -> pd.DataFrame:
    """Rate every enterprise (row of ``features``, index = enterprise id).

    Args:
        features: the frame from :func:`core.scoring.features.compute_features`.
        system: the indicator system.
        card: the approved scorecard (or segmented card); ``None`` rates on indicators alone.
        config: blend and explanation settings.

    Returns:
        One row per enterprise: ``status, score, grade, pd, composite, card_score, card_pd, coverage``,
        the first-level sub-indices (``sub.<code>``), ``reason_codes`` (list of codes), ``reasons`` (list
        of dicts with code, feature, value, points_lost), and ``raise_feature, raise_from, raise_to,
        raise_score, raise_grade`` (empty when no single actionable change lifts the grade).
    """
    config = config or RatingConfig()
    cw = config.card_weight if card is not None else 0.0
    n = len(features)
    ind = system.score(features)
    coverage = ind.coverage.to_numpy()
    composite = ind.composite.to_numpy()

    # --- scorecard part
    groups = _card_groups(card, features)
    card_points = np.full(n, np.nan)
    for rows, c in groups:
        card_points[rows] = c.score(features.iloc[rows])
    card_pd = np.full(n, np.nan)
    card_score = np.full(n, np.nan)
    for rows, c in groups:
        card_pd[rows] = c.pd_from_score(card_points[rows])
        card_score[rows] = config.score_of_pd(card_pd[rows])
    k_card = np.full(n, 0.0)  # blended-score units per card point
    for rows, c in groups:
        k_card[rows] = 1000.0 / (c.factor * (config.hi - config.lo))

    ok = ind.status.to_numpy() == STATUS_OK
    blended = np.where(ok, (cw * np.nan_to_num(card_score) if cw else 0.0) + (1 - cw) * composite, np.nan)
    grade = system.grade_of(blended)
    pd_final = np.where(ok, config.pd_of_score(blended), np.nan)

    # --- pulls per feature (blended-score points lost)
    names: list[str] = sorted({i.feature for i in system.indicators}
                              | {fb.name for _, c in groups for fb in c.features})
    col = {f: j for j, f in enumerate(names)}
    loss = np.zeros((n, len(names)))
    p = ind.points.to_numpy()
    for k, i in enumerate(system.indicators):
        with np.errstate(invalid="ignore", divide="ignore"):
            lost = 10.0 * i.effective_weight * (100.0 - p[:, k]) / coverage * (1 - cw)
        loss[:, col[i.feature]] += np.nan_to_num(lost)
    for rows, c in groups:
        for fb in c.features:
            pts = fb.points_array()
            got = pts.take(fb.bin_index(features[fb.name].iloc[rows]))
            loss[rows, col[fb.name]] += (pts.max() - got) * k_card[rows] * cw
    loss[~ok] = 0.0
    order = np.argsort(-loss, axis=1, kind="stable")[:, : config.n_reasons]
    top_loss = np.take_along_axis(loss, order, axis=1)
    name_arr = np.array(names, dtype=object)
    top_names = np.where(top_loss >= config.min_points_lost, name_arr[order], None)
    reason_codes = [[f"RC.{f.upper()}" for f in row if f] for row in top_names.tolist()]
    reasons = []
    for row_i, (row_names, row_loss) in enumerate(zip(top_names.tolist(), top_loss.tolist(), strict=True)):
        items = []
        for f, lost in zip(row_names, row_loss, strict=True):
            if f:
                value = features[f].iat[row_i]
                items.append({"code": f"RC.{f.upper()}", "feature": f,
                              "value": None if pd.isna(value) else (value if isinstance(value, str) else float(value)),
                              "points_lost": round(float(lost), 1)})
        reasons.append(items)

    # --- what would raise it
    raise_cols = _what_would_raise(features, system, groups, config, cw, composite, coverage, card_points,
                                   blended, ok)

    out = pd.DataFrame({
        "status": np.where(ok, STATUS_OK, STATUS_INSUFFICIENT),
        "score": np.round(blended, 1), "grade": pd.Series(grade, dtype=object).to_numpy(), "pd": pd_final,
        "composite": composite, "card_score": card_score, "card_pd": card_pd, "coverage": coverage,
    }, index=features.index)
    for code in ind.sub_indices.columns:
        out[f"sub.{code}"] = ind.sub_indices[code].to_numpy()
    out["reason_codes"] = pd.Series(reason_codes, index=features.index, dtype=object)
    out["reasons"] = pd.Series(reasons, index=features.index, dtype=object)
    for k, v in raise_cols.items():
        out[k] = v
    return out


def _what_would_raise(features, system, groups, config, cw, composite, coverage, card_points, blended, ok):
    n = len(features)
    target = system.next_grade_floor(blended)
    todo = ok & ~np.isnan(target)
    cards = [c for _, c in groups]
    best_steps = np.full(n, np.inf)
    best_rel = np.full(n, np.inf)
    best_feature = np.full(n, None, dtype=object)
    best_to = np.full(n, np.nan)
    best_score = np.full(n, np.nan)
    candidates_by_feature: dict[str, list[float]] = {}
    for i in system.indicators:
        candidates_by_feature.setdefault(i.feature, []).extend(i.thresholds)
    for c in cards:
        for fb in c.features:
            if fb.kind == "numeric":
                candidates_by_feature.setdefault(fb.name, []).extend(fb.edges)
    for f, cands in candidates_by_feature.items():
        spec = FEATURES.get(f)
        if spec is None or not spec.actionable or spec.kind != "numeric":
            continue
        direction = _feature_direction(f, system, cards)
        if direction is None:
            continue
        x = features[f].to_numpy(float, na_value=np.nan)
        t = np.unique(np.asarray(cands, float))
        if not len(t):
            continue
        span = max(float(t[-1] - t[0]), 1e-9)
        if direction == "higher_better":
            # Candidate k: the k-th threshold above x (being at a threshold means being in the band above).
            start = np.searchsorted(t, x, side="right")
            idx = start[:, None] + np.arange(len(t))[None, :]
            valid = idx < len(t)
            V = np.where(valid, t.take(np.minimum(idx, len(t) - 1)), np.nan)
        else:
            # Candidate k: just below the k-th threshold at or below x.
            start = np.searchsorted(t, x, side="right") - 1
            idx = start[:, None] - np.arange(len(t))[None, :]
            valid = idx >= 0
            edge = t.take(np.maximum(idx, 0))
            below = (np.ceil(edge) - 1.0) if spec.integer else np.nextafter(edge, -np.inf)
            V = np.where(valid, below, np.nan)
        V = np.where(np.isnan(x)[:, None] | ~todo[:, None], np.nan, V)
        if np.all(np.isnan(V)):
            continue
        new_scores = np.full(V.shape, np.nan)
        inds = [i for i in system.indicators if i.feature == f]
        with np.errstate(invalid="ignore", divide="ignore"):
            d_comp = np.zeros(V.shape)
            for i in inds:
                old = i.score(x)
                d_comp += 10.0 * i.effective_weight * (i.score(V) - old[:, None]) / coverage[:, None]
            new_comp = composite[:, None] + d_comp
            new_card = np.zeros(V.shape)
            for rows, c in groups:
                pts_new = np.repeat(card_points[rows][:, None], V.shape[1], axis=1)
                for fb in c.features:
                    if fb.name == f:
                        pa = fb.points_array()
                        old_pts = pa.take(fb.bin_index(x[rows]))
                        new_pts = pa.take(fb.bin_index(V[rows].ravel())).reshape(len(rows), -1)
                        pts_new = pts_new + new_pts - old_pts[:, None]
                new_card[rows] = config.score_of_pd(c.pd_from_score(pts_new)) if cw else 0.0
            new_scores = cw * new_card + (1 - cw) * new_comp
        reach = (new_scores >= target[:, None] - 1e-9) & ~np.isnan(V)
        any_reach = reach.any(axis=1)
        first = np.argmax(reach, axis=1)
        steps = np.where(any_reach, first + 1, np.inf)
        to = np.take_along_axis(V, first[:, None], axis=1)[:, 0]
        rel = np.abs(to - x) / span
        better = any_reach & ((steps < best_steps) | ((steps == best_steps) & (rel < best_rel)))
        best_steps = np.where(better, steps, best_steps)
        best_rel = np.where(better, rel, best_rel)
        best_feature = np.where(better, f, best_feature)
        best_to = np.where(better, to, best_to)
        best_score = np.where(better, np.take_along_axis(new_scores, first[:, None], axis=1)[:, 0], best_score)
    frm = np.full(n, np.nan)
    for f in {v for v in best_feature if v}:
        m = best_feature == f
        frm[m] = features[f].to_numpy(float, na_value=np.nan)[m]
    return {"raise_feature": best_feature, "raise_from": frm, "raise_to": best_to,
            "raise_score": np.round(best_score, 1),
            "raise_grade": pd.Series(system.grade_of(best_score), dtype=object).to_numpy()}
