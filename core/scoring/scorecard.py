"""Statistical scorecard: monotonic optimal binning, WOE, logistic regression, points, PD (pure).

Fitting uses optbinning's ``OptimalBinning`` (a mixed-integer formulation with monotonicity constraints;
a well-kept library beats hand-written binning) for the bin edges only; the WOE of each bin, the
logistic regression (scikit-learn) and the points are computed here, so the fitted card is plain data
(:meth:`Scorecard.to_dict`) that can live in ``ScoringModel.parameters`` and be re-loaded without
optbinning. Scoring is a vectorized NumPy lookup: ``np.searchsorted`` on the bin edges and ``take``
for numeric features; for categorical ones, ``pd.factorize`` of the column and a small lookup of its
distinct values (unseen categories and missing values go to the missing bin).

Conventions: ``y = 1`` is bad. ``WOE = ln(share of goods in the bin / share of bads in the bin)``, so a
higher WOE is better. Points scale the odds of good: ``score = offset + factor * ln(odds_good)`` with
``factor = pdo / ln 2`` and ``offset = base_score - factor * ln(base_odds)``. Numeric bins are
left-closed, ``[edge_i, edge_{i+1})``. Missing values have their own bin; a category unseen in training
scores as missing.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve

CARD_FORMAT = "jinfu.scorecard/1"
PSI_BANDS = (0.10, 0.25)  # below the first: stable; between: monitor; from the second: alert


class ScorecardError(ValueError):
    """The scorecard cannot be fitted or loaded as asked (one clear sentence)."""


@dataclass(frozen=True)
class ScorecardConfig:
    """Knobs of the scorecard pipeline; the defaults are the platform's, not tuned to any data set.

    Fields added after the first release all have defaults, so cards stored before them still load.
    """

    monotonic_trend: str = "auto_asc_desc"  # numeric features: strictly ascending or descending WOE
    max_n_prebins: int = 20
    min_prebin_size: float = 0.05
    min_bin_size: float = 0.05  # share of rows in every bin
    max_n_bins: int | None = None
    # Features below this information value are dropped. 0: no univariate screen; the inner-CV L2 penalty
    # and the sign rule select instead (German credit seeds 1-5 and demo data: better than 0.02).
    iv_floor: float = 0.0
    woe_smoothing: float = 0.5  # pseudo-count added to goods and bads of a bin lacking one class
    c_grid: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3, 1.0)  # L2 strengths tried by inner CV on training rows
    inner_folds: int = 5
    base_score: float = 600.0
    base_odds: float = 50.0  # odds of good at the base score
    pdo: float = 20.0  # points to double the odds
    random_state: int = 0
    time_limit: float = 30.0  # seconds per feature for the binning solver
    # --- generalization (issue 5); every choice below is made on the training rows only
    min_bin_size_grid: tuple[float, ...] = ()  # bin granularities tried by inner CV; empty: min_bin_size only
    iv_floor_grid: tuple[float, ...] = ()  # IV floors tried by inner CV; empty: iv_floor only
    penalty_grid: tuple[str, ...] = ("l2",)  # regression penalties tried by inner CV with every C
    crossfit_woe: bool = False  # fit the coefficients on out-of-fold WOE (no target leakage into the slopes)
    max_corr: float = 1.0  # of two WOE columns correlated above this, the lower-IV one is dropped
    rare_category_share: float = 0.03  # categories rarer than this share are pooled into one bin
    select_max_rows: int = 20_000  # inner-CV design choice runs on a stratified sample of at most this many rows

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in _TUPLE_FIELDS:
            d[key] = list(d[key])
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScorecardConfig:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ScorecardError(f"unknown scorecard settings: {', '.join(unknown)}")
        data = dict(data)
        for key in _TUPLE_FIELDS:
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)


_TUPLE_FIELDS = ("c_grid", "min_bin_size_grid", "iv_floor_grid", "penalty_grid")


# ----------------------------------------------------------------------------- feature bins
@dataclass
class FeatureBins:
    """The bins of one feature with their WOE and points; the last bin is always "missing"."""

    name: str
    kind: str  # numeric | categorical
    edges: list[float] = field(default_factory=list)  # numeric: inner split points, ascending
    categories: list[list[str]] = field(default_factory=list)  # categorical: categories of each bin
    woe: list[float] = field(default_factory=list)  # one per bin, missing bin last
    points: list[float] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)  # training rows per bin
    bads: list[int] = field(default_factory=list)
    coefficient: float = 0.0
    iv: float = 0.0

    @property
    def n_bins(self) -> int:
        return len(self.woe)

    @property
    def missing_bin(self) -> int:
        return self.n_bins - 1

    def labels(self) -> list[str]:
        if self.kind == "numeric":
            bounds = [-math.inf, *self.edges, math.inf]
            out = [f"[{bounds[i]:g}, {bounds[i + 1]:g})" for i in range(len(bounds) - 1)]
        else:
            out = [", ".join(c) for c in self.categories]
        return [*out, "missing"]

    def bin_index(self, values: pd.Series | np.ndarray) -> np.ndarray:
        """Bin number of every value (vectorized; missing and unseen categories go to the missing bin)."""
        if self.kind == "numeric":
            x = _as_float(values)
            idx = np.searchsorted(self._edges_array(), x, side="right")
            return np.where(np.isnan(x), self.missing_bin, idx)
        # Factorize once (a hash pass over the rows), then map the few distinct values to bins: far
        # cheaper than looking every row up in the category index.
        codes, uniques = pd.factorize(values if isinstance(values, pd.Series) else np.asarray(values, dtype=object))
        lut = self._cat_bins()[self._cat_order().get_indexer(np.asarray(uniques, dtype=object).astype(str))]
        return np.append(lut, self.missing_bin)[codes]  # -1 (missing or unseen) is the missing bin

    # cached lookup arrays (not part of the exported data)
    def _edges_array(self) -> np.ndarray:
        cached = getattr(self, "_edges_cache", None)
        if cached is None:
            cached = np.asarray(self.edges, dtype=float)
            self._edges_cache = cached
        return cached

    def _cat_order(self) -> pd.Index:
        cached = getattr(self, "_cat_cache", None)
        if cached is None:  # a hash index: get_indexer gives each value's position, -1 when unseen
            cached = pd.Index([c for group in self.categories for c in group], dtype=object)
            self._cat_cache = cached
        return cached

    def _cat_bins(self) -> np.ndarray:
        cached = getattr(self, "_catbin_cache", None)
        if cached is None:
            cached = np.array([*[b for b, group in enumerate(self.categories) for _ in group], self.missing_bin],
                              dtype=np.int64)
            self._catbin_cache = cached
        return cached

    def points_array(self) -> np.ndarray:
        cached = getattr(self, "_points_cache", None)
        if cached is None:
            cached = np.asarray(self.points, dtype=float)
            self._points_cache = cached
        return cached

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "edges": [float(e) for e in self.edges],
                "categories": [[str(c) for c in g] for g in self.categories],
                "woe": [float(w) for w in self.woe], "points": [float(p) for p in self.points],
                "counts": [int(c) for c in self.counts], "bads": [int(b) for b in self.bads],
                "coefficient": float(self.coefficient), "iv": float(self.iv)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FeatureBins:
        fb = cls(name=d["name"], kind=d["kind"], edges=list(d.get("edges", [])),
                 categories=[list(g) for g in d.get("categories", [])], woe=list(d["woe"]),
                 points=list(d["points"]), counts=list(d.get("counts", [0] * len(d["woe"]))),
                 bads=list(d.get("bads", [0] * len(d["woe"]))), coefficient=float(d.get("coefficient", 0.0)),
                 iv=float(d.get("iv", 0.0)))
        expected = (len(fb.edges) + 2) if fb.kind == "numeric" else (len(fb.categories) + 1)
        if len(fb.points) != expected or len(fb.woe) != expected:
            raise ScorecardError(f"feature {fb.name!r}: {len(fb.points)} points for {expected} bins")
        if fb.kind == "numeric" and any(b <= a for a, b in zip(fb.edges, fb.edges[1:], strict=False)):
            raise ScorecardError(f"feature {fb.name!r}: bin edges are not strictly ascending")
        return fb


def _as_float(values) -> np.ndarray:
    if isinstance(values, pd.Series):
        return values.to_numpy(dtype=float, na_value=np.nan)
    return np.asarray(values, dtype=float)


def is_categorical(series: pd.Series) -> bool:
    """Strings, booleans and pandas categoricals are binned as categories; numbers as numbers."""
    return not (pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series))


def _woe_iv(goods: np.ndarray, bads: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    # Pseudo-counts only where a class is absent, so bins keep the event-rate order the binning fixed.
    pure = (goods == 0) | (bads == 0)
    g = goods + np.where(pure, alpha, 0.0)
    b = bads + np.where(pure, alpha, 0.0)
    pg = g / g.sum()
    pb = b / b.sum()
    woe = np.log(pg / pb)
    # Empty bins (e.g. no missing values in training) are neutral and carry no information.
    woe = np.where((goods + bads) == 0, 0.0, woe)
    iv = np.where((goods + bads) == 0, 0.0, (pg - pb) * woe)
    return woe, iv


@contextlib.contextmanager
def _quiet():
    """optbinning and its solvers may print or warn; keep stdout clean for the evaluate command."""
    sink = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(sink):
        warnings.simplefilter("ignore")
        logging.getLogger("optbinning").setLevel(logging.ERROR)
        logging.getLogger("cvxpy").setLevel(logging.ERROR)
        yield


_POOLED = "\x00rare"  # stands in for the pooled rare categories while binning; never stored


def _rare_levels(values: np.ndarray, share: float) -> set[str]:
    """Categories seen in fewer than ``share`` of the non-missing rows (only when at least two are rare)."""
    if share <= 0 or not len(values):
        return set()
    levels, counts = np.unique(values.astype(str), return_counts=True)
    rare = {str(v) for v, c in zip(levels, counts, strict=True) if c < share * len(values)}
    return rare if 2 <= len(rare) < len(levels) else set()


def bin_feature(x: pd.Series, y: np.ndarray, config: ScorecardConfig) -> FeatureBins:
    """Optimal bins of one feature (monotonic WOE for numbers), with WOE/IV from the training rows."""
    with _quiet():
        from optbinning import OptimalBinning

    name = str(x.name)
    categorical = is_categorical(x)
    rare: set[str] = set()
    if categorical:
        raw = x.astype(object).where(x.notna(), None).to_numpy(dtype=object)
        raw = np.array([None if v is None else str(v) for v in raw], dtype=object)
        missing = pd.isna(raw)
        rare = _rare_levels(raw[~missing], config.rare_category_share)
        # Rare categories are pooled under one token, so the solver bins them as one category.
        values = np.where(np.isin(raw, list(rare)), _POOLED, raw) if rare else raw
        ob = OptimalBinning(name=name, dtype="categorical", solver="cp", max_n_prebins=config.max_n_prebins,
                            min_prebin_size=config.min_prebin_size, min_bin_size=config.min_bin_size,
                            max_n_bins=config.max_n_bins, time_limit=config.time_limit)
    else:
        values = _as_float(x)
        values = np.where(np.isfinite(values), values, np.nan)
        missing = np.isnan(values)
        ob = OptimalBinning(name=name, dtype="numerical", solver="cp", monotonic_trend=config.monotonic_trend,
                            max_n_prebins=config.max_n_prebins, min_prebin_size=config.min_prebin_size,
                            min_bin_size=config.min_bin_size, max_n_bins=config.max_n_bins,
                            time_limit=config.time_limit)
    present = ~missing
    fb = FeatureBins(name=name, kind="categorical" if categorical else "numeric")
    if present.sum() > 0 and len(np.unique(y[present])) == 2:
        with _quiet():
            ob.fit(values[present], y[present])
        if categorical:
            fb.categories = [sorted(str(c) for c in group) for group in ob.splits]
            seen = {c for g in fb.categories for c in g}
            rest = sorted(set(values[present]) - seen)  # categories optbinning left out, if any
            if rest:
                fb.categories.append(rest)
        else:
            fb.edges = [float(s) for s in np.asarray(ob.splits, dtype=float)]
    elif categorical and present.any():
        fb.categories = [sorted({str(v) for v in values[present]})]
    if rare:
        fb.categories = [sorted((set(g) - {_POOLED}) | (rare if _POOLED in g else set())) for g in fb.categories]
        values = raw
    n_bins = (len(fb.edges) + 2) if not categorical else (len(fb.categories) + 1)
    fb.woe = [0.0] * n_bins
    fb.points = [0.0] * n_bins
    idx = fb.bin_index(values)
    counts = np.bincount(idx, minlength=n_bins)
    bads = np.bincount(idx, weights=y, minlength=n_bins).astype(np.int64)
    woe, iv = _woe_iv(counts - bads, bads, config.woe_smoothing)
    fb.counts, fb.bads = counts.tolist(), bads.tolist()
    fb.woe, fb.iv = woe.tolist(), float(iv.sum())
    return fb


# ----------------------------------------------------------------------------- the card
@dataclass
class Scorecard:
    """A fitted scorecard: bins, WOE and points per feature, plus the scaling and training summary."""

    features: list[FeatureBins]
    intercept: float
    config: ScorecardConfig
    base_points: float = 0.0
    training: dict[str, Any] = field(default_factory=dict)  # rows, bads, IV table, score distribution

    # --------------------------------------------------------------- scaling
    @property
    def factor(self) -> float:
        return self.config.pdo / math.log(2.0)

    @property
    def offset(self) -> float:
        return self.config.base_score - self.factor * math.log(self.config.base_odds)

    def _assign_points(self) -> None:
        for fb in self.features:
            fb.points = [-self.factor * fb.coefficient * w for w in fb.woe]
            for attr in ("_points_cache",):
                if hasattr(fb, attr):
                    delattr(fb, attr)
        self.base_points = self.offset - self.factor * self.intercept

    # --------------------------------------------------------------- scoring (the hot path)
    def bin_indices(self, X: pd.DataFrame) -> np.ndarray:
        """(rows × features) bin numbers."""
        return np.column_stack([fb.bin_index(X[fb.name]) for fb in self.features]) if self.features \
            else np.zeros((len(X), 0), dtype=np.int64)

    def feature_points(self, X: pd.DataFrame) -> np.ndarray:
        """(rows × features) points."""
        return np.column_stack([fb.points_array().take(fb.bin_index(X[fb.name])) for fb in self.features]) \
            if self.features else np.zeros((len(X), 0))

    def score(self, X: pd.DataFrame) -> np.ndarray:
        """Total points per row: base points plus each feature's bin points (vectorized lookups)."""
        missing = [fb.name for fb in self.features if fb.name not in X.columns]
        if missing:
            raise ScorecardError(f"columns missing for scoring: {', '.join(missing)}")
        total = np.full(len(X), self.base_points, dtype=float)
        for fb in self.features:
            total += fb.points_array().take(fb.bin_index(X[fb.name]))
        return total

    def pd_from_score(self, score: np.ndarray) -> np.ndarray:
        log_odds_good = (np.asarray(score, float) - self.offset) / self.factor
        return 1.0 / (1.0 + np.exp(log_odds_good))

    def predict_pd(self, X: pd.DataFrame) -> np.ndarray:
        """Probability of default per row."""
        return self.pd_from_score(self.score(X))

    def score_for_pd(self, pd_: np.ndarray) -> np.ndarray:
        p = np.clip(np.asarray(pd_, float), 1e-12, 1 - 1e-12)
        return self.offset + self.factor * np.log((1 - p) / p)

    # --------------------------------------------------------------- plain data
    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable card for ``ScoringModel.parameters``."""
        return {"format": CARD_FORMAT, "config": self.config.to_dict(), "intercept": float(self.intercept),
                "base_points": float(self.base_points), "features": [fb.to_dict() for fb in self.features],
                "training": self.training}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scorecard:
        if data.get("format") != CARD_FORMAT:
            raise ScorecardError(f"not a scorecard of format {CARD_FORMAT}: {data.get('format')!r}")
        card = cls(features=[FeatureBins.from_dict(f) for f in data["features"]],
                   intercept=float(data["intercept"]), config=ScorecardConfig.from_dict(data.get("config", {})),
                   base_points=float(data["base_points"]), training=dict(data.get("training", {})))
        return card

    def table(self) -> pd.DataFrame:
        """One row per (feature, bin): label, rows, bads, WOE, points — for screens and reports."""
        rows = []
        for fb in self.features:
            for i, label in enumerate(fb.labels()):
                rows.append({"feature": fb.name, "bin": i, "label": label, "count": fb.counts[i],
                             "bads": fb.bads[i], "woe": fb.woe[i], "points": fb.points[i]})
        return pd.DataFrame(rows)

    # --------------------------------------------------------------- monitoring
    def feature_psi(self, X: pd.DataFrame) -> pd.DataFrame:
        """PSI of each feature's bin distribution against training, with its band."""
        out = []
        for fb in self.features:
            actual = np.bincount(fb.bin_index(X[fb.name]), minlength=fb.n_bins)
            value = psi(np.asarray(fb.counts, float), actual.astype(float))
            out.append({"feature": fb.name, "psi": value, "band": psi_band(value)})
        return pd.DataFrame(out)

    def score_psi(self, scores: np.ndarray) -> dict[str, Any]:
        """PSI of a score distribution against training's decile bins, with its band."""
        edges = np.asarray(self.training.get("score_edges", []), float)
        expected = np.asarray(self.training.get("score_counts", []), float)
        if not len(expected):
            raise ScorecardError("the card holds no training score distribution")
        actual = np.bincount(np.searchsorted(edges, np.asarray(scores, float), side="right"),
                             minlength=len(expected)).astype(float)
        value = psi(expected, actual)
        return {"psi": value, "band": psi_band(value)}


def _regression(penalty: str, c: float) -> LogisticRegression:
    if penalty == "l1":
        return LogisticRegression(C=c, l1_ratio=1.0, solver="liblinear", max_iter=1000)
    if penalty != "l2":
        raise ScorecardError(f"unknown penalty {penalty!r}: use l1 or l2")
    return LogisticRegression(C=c, max_iter=1000)


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return -float(np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)))


def _inner_splits(y: np.ndarray, config: ScorecardConfig) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """Stratified inner folds of the training rows, or None when the rarer class is too thin for them."""
    if config.inner_folds < 2 or min(np.bincount(y, minlength=2)) < config.inner_folds:
        return None
    from sklearn.model_selection import StratifiedKFold

    inner = StratifiedKFold(config.inner_folds, shuffle=True, random_state=config.random_state)
    return list(inner.split(np.zeros(len(y)), y))


def _select_regression(W: np.ndarray, y: np.ndarray, config: ScorecardConfig,
                       splits: list[tuple[np.ndarray, np.ndarray]] | None) -> tuple[str, float]:
    """Penalty and strength with the best log-loss in stratified CV inside the training rows only."""
    grid = [(pen, c) for pen in config.penalty_grid for c in config.c_grid]
    best = grid[-1]
    if len(grid) > 1 and splits:
        best_ll = math.inf
        for pen, c in grid:
            ll = sum(_log_loss(y[va], _regression(pen, c).fit(W[tr], y[tr]).predict_proba(W[va])[:, 1])
                     for tr, va in splits)
            if ll < best_ll - 1e-9:
                best, best_ll = (pen, c), ll
    return best


def _woe_column(fb: FeatureBins, idx: np.ndarray) -> np.ndarray:
    return np.asarray(fb.woe).take(idx)


def _oof_woe_column(fb: FeatureBins, idx: np.ndarray, y: np.ndarray, config: ScorecardConfig,
                    splits: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Each training row's WOE computed from the other inner folds' rows (bins held fixed)."""
    out = np.empty(len(idx))
    for tr, va in splits:
        counts = np.bincount(idx[tr], minlength=fb.n_bins)
        bads = np.bincount(idx[tr], weights=y[tr], minlength=fb.n_bins)
        woe, _ = _woe_iv(counts - bads, bads, config.woe_smoothing)
        out[va] = woe.take(idx[va])
    return out


def _decorrelate(selected: list[FeatureBins], W: np.ndarray, max_corr: float) -> list[int]:
    """Columns kept: strongest IV first, each dropped when it correlates above ``max_corr`` with a kept one."""
    order = sorted(range(len(selected)), key=lambda j: -selected[j].iv)
    if max_corr >= 1.0 or len(order) < 2:
        return sorted(order)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.nan_to_num(np.corrcoef(W, rowvar=False))
    kept: list[int] = []
    for j in order:
        if all(abs(corr[j, k]) <= max_corr for k in kept):
            kept.append(j)
    return sorted(kept)


def _fit_fixed(X: pd.DataFrame, y: np.ndarray, config: ScorecardConfig) -> Scorecard:
    """One card with every design choice fixed by ``config`` (C and penalty still chosen by inner CV)."""
    bins = [bin_feature(X[c].rename(c), y, config) for c in X.columns]
    iv_table = {fb.name: fb.iv for fb in bins}
    selected = [fb for fb in bins if fb.iv >= config.iv_floor and fb.n_bins > 2 - (fb.kind == "categorical")]
    if not selected:
        raise ScorecardError(f"no feature separates goods from bads (at least two bins and an information "
                             f"value of at least {config.iv_floor})")
    splits = _inner_splits(y, config)
    idx = {fb.name: fb.bin_index(X[fb.name]) for fb in selected}
    full = {fb.name: _woe_column(fb, idx[fb.name]) for fb in selected}
    crossfit = config.crossfit_woe and splits is not None
    fit_cols = {fb.name: _oof_woe_column(fb, idx[fb.name], y, config, splits) for fb in selected} if crossfit \
        else full
    keep = _decorrelate(selected, np.column_stack([full[fb.name] for fb in selected]), config.max_corr)
    selected = [selected[j] for j in keep]
    # Every coefficient must have the sign that keeps points monotone in WOE (negative: higher WOE,
    # lower PD); features that flip sign under collinearity are dropped one at a time and the model refitted
    # with the same strength, which is chosen again (by inner CV) once the set of features has settled.
    W = np.column_stack([fit_cols[fb.name] for fb in selected])
    params, settled = _select_regression(W, y, config, splits), True
    while True:
        model = _regression(*params).fit(W, y)
        coef = model.coef_[0]
        wrong = np.flatnonzero(coef >= 0)
        if len(wrong) and len(selected) > 1:
            drop = wrong[np.argmax(coef[wrong])]
            selected = selected[:drop] + selected[drop + 1:]
            W = np.delete(W, drop, axis=1)
            settled = False
            continue
        if settled:
            break
        again, settled = _select_regression(W, y, config, splits), True
        if again == params:
            break
        params = again
    for fb, b in zip(selected, coef, strict=True):
        fb.coefficient = float(b)
    card = Scorecard(features=selected, intercept=float(model.intercept_[0]), config=config)
    card._assign_points()
    card.training = {"iv": {k: float(v) for k, v in sorted(iv_table.items(), key=lambda kv: -kv[1])},
                     "C": float(model.C), "penalty": "l1" if model.l1_ratio == 1.0 else "l2"}
    return card


def _designs(config: ScorecardConfig) -> list[ScorecardConfig]:
    """Every combination of the design grids (bin granularity × IV floor) as a fixed configuration."""
    from dataclasses import replace

    sizes = config.min_bin_size_grid or (config.min_bin_size,)
    floors = config.iv_floor_grid or (config.iv_floor,)
    return [replace(config, min_bin_size=m, iv_floor=f, min_bin_size_grid=(), iv_floor_grid=())
            for m in sizes for f in floors]


def _choose_design(X: pd.DataFrame, y: np.ndarray, config: ScorecardConfig) -> tuple[ScorecardConfig, list]:
    """The design with the best inner-CV log-loss, fitted and judged on the training rows only.

    Large training sets are judged on a stratified sample of ``select_max_rows`` rows (granularity
    matters little there and the whole pipeline runs once per design and inner fold).
    """
    designs = _designs(config)
    if len(designs) == 1:
        return designs[0], []
    rows = np.arange(len(y))
    if len(y) > config.select_max_rows:
        from sklearn.model_selection import train_test_split

        rows, _ = train_test_split(rows, train_size=config.select_max_rows, stratify=y,
                                   random_state=config.random_state)
        rows = np.sort(rows)
    ys = y[rows]
    splits = _inner_splits(ys, config)
    if splits is None:
        return designs[0], []
    Xs = X.iloc[rows]
    trials = []
    for design in designs:
        ll, ok = 0.0, True
        for tr, va in splits:
            try:
                card = _fit_fixed(Xs.iloc[tr], ys[tr], design)
            except ScorecardError:
                ok = False
                break
            ll += _log_loss(ys[va], card.predict_pd(Xs.iloc[va]))
        trials.append({"min_bin_size": design.min_bin_size, "iv_floor": design.iv_floor,
                       "log_loss": ll / len(ys) if ok else None})
    scored = [(t["log_loss"], k) for k, t in enumerate(trials) if t["log_loss"] is not None]
    if not scored:
        return designs[0], trials
    return designs[min(scored)[1]], trials


def fit_scorecard(X: pd.DataFrame, y, config: ScorecardConfig | None = None) -> Scorecard:
    """Bin every column of ``X``, keep those with IV ≥ the floor, fit the regression, scale to points.

    Design choices given as grids in ``config`` (bin granularity, IV floor, penalty and C) are made by
    stratified inner cross-validation on these rows alone; the card is then refitted on all of them.

    Args:
        X: one column per candidate feature (numeric or categorical), one row per case.
        y: 1 for bad, 0 for good.
        config: pipeline settings; the platform defaults when omitted.
    """
    config = config or ScorecardConfig()
    y = np.asarray(y).astype(np.int64)
    if len(y) != len(X):
        raise ScorecardError("features and target differ in length")
    if set(np.unique(y)) != {0, 1}:
        raise ScorecardError("the target needs both classes (goods and bads)")
    design, trials = _choose_design(X, y, config)
    card = _fit_fixed(X, y, design)
    card.config = config  # the stored card keeps the grids it was chosen with ...
    chosen = {"min_bin_size": design.min_bin_size, "iv_floor": design.iv_floor}  # ... and what was chosen
    scores = card.score(X)
    edges = np.unique(np.quantile(scores, np.linspace(0.1, 0.9, 9)))
    card.training = {
        "rows": int(len(y)), "bads": int(y.sum()), "bad_rate": float(y.mean()),
        **card.training, "design": chosen, "design_trials": trials, "score_edges": edges.tolist(),
        "score_counts": np.bincount(np.searchsorted(edges, scores, side="right"),
                                    minlength=len(edges) + 1).tolist(),
        **classification_metrics(y, card.pd_from_score(scores)),
    }
    return card


# ----------------------------------------------------------------------------- segments
def segment_keys(frame: pd.DataFrame, by: tuple[str, ...] = ("industry_section", "scale")) -> pd.Series:
    """``"C:small"``-style segment key of every row."""
    key = frame[by[0]].astype(str)
    for col in by[1:]:
        key = key + ":" + frame[col].astype(str)
    return key


@dataclass
class SegmentedScorecard:
    """A card per segment that had enough data, and the whole-population card for the rest."""

    population: Scorecard
    segments: dict[str, Scorecard] = field(default_factory=dict)
    by: tuple[str, ...] = ("industry_section", "scale")

    def card_for(self, key: str) -> Scorecard:
        return self.segments.get(key, self.population)

    def _apply(self, X: pd.DataFrame, method: str) -> np.ndarray:
        out = getattr(self.population, method)(X)
        if not self.segments:
            return out
        keys = segment_keys(X, self.by).to_numpy()
        for key, card in self.segments.items():
            rows = np.flatnonzero(keys == key)
            if len(rows):
                out[rows] = getattr(card, method)(X.iloc[rows])
        return out

    def score(self, X: pd.DataFrame) -> np.ndarray:
        return self._apply(X, "score")

    def predict_pd(self, X: pd.DataFrame) -> np.ndarray:
        return self._apply(X, "predict_pd")

    def to_dict(self) -> dict[str, Any]:
        return {"format": CARD_FORMAT + "+segments", "by": list(self.by), "population": self.population.to_dict(),
                "segments": {k: v.to_dict() for k, v in self.segments.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SegmentedScorecard:
        return cls(population=Scorecard.from_dict(data["population"]), by=tuple(data["by"]),
                   segments={k: Scorecard.from_dict(v) for k, v in data["segments"].items()})


def fit_segmented(
    X: pd.DataFrame,
    y,
    config: ScorecardConfig | None = None,
    *,
    by: tuple[str, ...] = ("industry_section", "scale"),
    min_rows: int = 500,
    min_bads: int = 50,
) -> SegmentedScorecard:
    """The population card plus one card per segment with at least ``min_rows`` rows and ``min_bads`` bads.

    Args:
        X: features; must contain the ``by`` columns (they are not used as features inside a segment).
        y: 1 for bad, 0 for good.
        config: pipeline settings.
        by: columns whose values form the segment key.
        min_rows: thinner segments are scored by the population card.
        min_bads: segments with fewer bads are scored by the population card.
    """
    y = np.asarray(y).astype(np.int64)
    population = fit_scorecard(X, y, config)
    keys = segment_keys(X, by).to_numpy()
    segments: dict[str, Scorecard] = {}
    for key in pd.unique(keys):
        rows = np.flatnonzero(keys == key)
        bads = int(y[rows].sum())
        if len(rows) >= min_rows and bads >= min_bads and bads < len(rows):
            segments[str(key)] = fit_scorecard(X.iloc[rows].drop(columns=list(by)), y[rows], config)
    return SegmentedScorecard(population=population, segments=segments, by=by)


# ----------------------------------------------------------------------------- metrics
def ks_statistic(y, pd_) -> float:
    """Kolmogorov–Smirnov: the largest gap between the bads' and goods' cumulative distributions."""
    fpr, tpr, _ = roc_curve(np.asarray(y), np.asarray(pd_))
    return float(np.max(tpr - fpr))


def classification_metrics(y, pd_) -> dict[str, float]:
    """AUC, KS and Gini of PDs against outcomes (1 = bad)."""
    auc = float(roc_auc_score(np.asarray(y), np.asarray(pd_)))
    return {"auc": auc, "ks": ks_statistic(y, pd_), "gini": 2 * auc - 1}


def psi(expected: np.ndarray, actual: np.ndarray, eps: float = 1e-4) -> float:
    """Population stability index of two count (or share) vectors over the same bins."""
    e = np.asarray(expected, float)
    a = np.asarray(actual, float)
    e = np.maximum(e / e.sum(), eps)
    a = np.maximum(a / a.sum(), eps)
    return float(np.sum((a - e) * np.log(a / e)))


def psi_band(value: float) -> str:
    """``stable`` below 0.10, ``monitor`` from 0.10, ``alert`` from 0.25."""
    if value < PSI_BANDS[0]:
        return "stable"
    if value < PSI_BANDS[1]:
        return "monitor"
    return "alert"


def woe_is_monotone(fb: FeatureBins) -> bool:
    """Whether a numeric feature's non-missing bins have monotone (never reversing) WOE."""
    w = np.asarray(fb.woe[:-1])
    d = np.diff(w)
    return bool(len(d) == 0 or np.all(d >= 0) or np.all(d <= 0))
