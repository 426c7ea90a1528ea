"""Model review: two versions side by side, population stability (PSI) and the indicator-system table.

PSI compares today's population with the training rows of a model's population card, for the card's
score and for every feature in it; the bands are ``ok`` (below 0.10), ``watch`` (0.10–0.25) and
``alert`` (0.25 and above). A full batch rating stores the latest measurement in the model's
metrics (``monitoring``); ``model_stability`` measures it on demand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from core.auth import Actor, Permission
from core.models import ScoringModel
from core.models.types import utcnow
from core.scoring.scorecard import psi
from core.services.scoring import INDICATOR_VERSION, features_for, indicator_system, load_frames, today_local
from core.services.scoring_models import HIST_EDGES, ModelSummary, _load, _summary, band_of, population_card
from core.usecase import use_case


@dataclass(frozen=True)
class ModelComparison:
    """Two model versions side by side."""

    left: ModelSummary
    right: ModelSummary
    metrics: pd.DataFrame  # metric, left, right
    iv: pd.DataFrame  # feature, left, right (population card information values)
    bins: dict[str, pd.DataFrame]  # "left"/"right" -> the population card's bin table
    scores: pd.DataFrame  # bin_from, left, right (shares of training rows per score bin)
    feature_psi: pd.DataFrame  # feature, left, right (latest monitored PSI per feature)


@use_case(permission=Permission.oversight)
def compare_models(uow, *, actor: Actor, left_id: int, right_id: int) -> ModelComparison:
    """Metrics, per-feature IV and bins, score distributions and PSI of two versions side by side.

    Args:
        left_id: one model.
        right_id: the other model.
    """
    session = uow.session
    left, right = _load(session, left_id), _load(session, right_id)
    names = ["auc", "ks", "gini", "train_auc", "rows", "bads", "holdout_rows", "holdout_bads"]
    metrics = pd.DataFrame({"metric": names, "left": [(left.metrics or {}).get(n) for n in names],
                            "right": [(right.metrics or {}).get(n) for n in names]})
    cards = {"left": population_card(left), "right": population_card(right)}
    ivs = {side: card.training.get("iv", {}) for side, card in cards.items()}
    features = sorted(set(ivs["left"]) | set(ivs["right"]), key=lambda f: -max(ivs["left"].get(f, 0),
                                                                                 ivs["right"].get(f, 0)))
    iv = pd.DataFrame({"feature": features, "left": [ivs["left"].get(f) for f in features],
                       "right": [ivs["right"].get(f) for f in features]})
    hist = {}
    for side, m in (("left", left), ("right", right)):
        counts = np.asarray((m.metrics or {}).get("score_hist") or [0] * (len(HIST_EDGES) - 1), float)
        hist[side] = counts / counts.sum() if counts.sum() else counts
    scores = pd.DataFrame({"bin_from": HIST_EDGES[:-1], "left": hist["left"], "right": hist["right"]})
    psis = {side: ((m.metrics or {}).get("monitoring") or {}).get("features", {}) for side, m in
            (("left", left), ("right", right))}
    pf = sorted(set(psis["left"]) | set(psis["right"]))
    feature_psi = pd.DataFrame({"feature": pf, "left": [psis["left"].get(f) for f in pf],
                                "right": [psis["right"].get(f) for f in pf]})
    return ModelComparison(left=_summary(session, left), right=_summary(session, right), metrics=metrics, iv=iv,
                           bins={side: card.table() for side, card in cards.items()}, scores=scores,
                           feature_psi=feature_psi)


# ----------------------------------------------------------------------------------- stability
class PsiAccumulator:
    """Bin counts of the current population, chunk by chunk, against the population card's training."""

    def __init__(self, model: ScoringModel) -> None:
        self.card = population_card(model)
        self.edges = np.asarray(self.card.training.get("score_edges", []), float)
        self.score_counts = np.zeros(len(self.card.training.get("score_counts", [])), float)
        self.feature_counts = {fb.name: np.zeros(fb.n_bins, float) for fb in self.card.features}

    def add(self, features: pd.DataFrame) -> None:
        if features.empty:
            return
        for fb in self.card.features:
            self.feature_counts[fb.name] += np.bincount(fb.bin_index(features[fb.name]), minlength=fb.n_bins)
        if len(self.score_counts):
            idx = np.searchsorted(self.edges, self.card.score(features), side="right")
            self.score_counts += np.bincount(idx, minlength=len(self.score_counts))

    def result(self) -> dict[str, Any]:
        """``score_psi``, ``score_band`` and ``features`` (feature → PSI) and ``feature_bands``."""
        score = psi(np.asarray(self.card.training["score_counts"], float), self.score_counts) \
            if self.score_counts.sum() else None
        features = {fb.name: psi(np.asarray(fb.counts, float), self.feature_counts[fb.name])
                    for fb in self.card.features if self.feature_counts[fb.name].sum()}
        return {"score_psi": score, "score_band": band_of(score), "features": features,
                "feature_bands": {k: band_of(v) for k, v in features.items()}, "measured_at": utcnow().isoformat()}


@use_case(permission=Permission.oversight)
def model_stability(uow, *, actor: Actor, model_id: int, as_of: date | None = None,
                    chunk_size: int = 20_000) -> pd.DataFrame:
    """PSI of today's population against a model's training distribution: the score and every feature.

    Args:
        model_id: the model.
        as_of: the population's date (default: today).
        chunk_size: enterprises loaded at a time.

    Returns:
        DataFrame ``item`` (``score`` or a feature name), ``psi``, ``band`` (ok / watch / alert).
    """
    session = uow.session
    model = _load(session, model_id)
    acc = PsiAccumulator(model)
    as_of = as_of or today_local()
    from core.services.rating_runs import id_chunks

    for lo, hi in id_chunks(session, chunk_size):
        acc.add(features_for(load_frames(session.connection(), as_of=as_of, id_range=(lo, hi)), as_of))
    out = acc.result()
    rows = [{"item": "score", "psi": out["score_psi"], "band": out["score_band"]}]
    rows += [{"item": k, "psi": v, "band": out["feature_bands"][k]} for k, v in sorted(out["features"].items(),
                                                                                        key=lambda kv: -kv[1])]
    return pd.DataFrame(rows, columns=["item", "psi", "band"])


@use_case(permission=None)
def indicator_table(uow, *, actor: Actor, version: str = INDICATOR_VERSION) -> pd.DataFrame:
    """The indicator system as rows: level, code, parent, names, relative and effective weights.

    Args:
        version: the indicator-system version.
    """
    system = indicator_system(version)
    rows = [{"level": 1, "code": g.code, "parent": None, "name_zh": g.name, "name_en": g.name_en,
             "weight": g.weight, "effective_weight": g.weight, "feature": None} for g in system.first_level]
    first_of = {s: f.code for f in system.first_level for s in f.children}
    weight_of = {g.code: g.weight for g in system.first_level}
    rows += [{"level": 2, "code": g.code, "parent": first_of[g.code], "name_zh": g.name, "name_en": g.name_en,
              "weight": g.weight, "effective_weight": g.weight * weight_of[first_of[g.code]], "feature": None}
             for g in system.second_level]
    rows += [{"level": 3, "code": i.code, "parent": i.second_level, "name_zh": i.name, "name_en": i.name_en,
              "weight": i.weight, "effective_weight": i.effective_weight, "feature": i.feature}
             for i in system.indicators]
    frame = pd.DataFrame(rows)
    frame.attrs["version"] = system.version
    return frame
