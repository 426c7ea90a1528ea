"""Eight signal levels (八级信号), their four colours, and the per-enterprise aggregation of hits."""

from __future__ import annotations

import pandas as pd

from core.enums import SIGNAL_COLOURS

LEVELS = tuple(range(1, 9))
COLOUR_ORDER = ("blue", "yellow", "orange", "red")


def colour_of(level: int) -> str:
    """The colour banks use for a level: 1–2 blue, 3–4 yellow, 5–6 orange, 7–8 red.

    Args:
        level: 1–8.

    Raises:
        ValueError: the level is outside 1–8.
    """
    try:
        return SIGNAL_COLOURS[int(level)]
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"signal level must be 1–8, got {level!r}") from None


def colours_of(levels: pd.Series) -> pd.Series:
    """Vectorized :func:`colour_of`."""
    return levels.astype("int64").map(SIGNAL_COLOURS)


def aggregate(hits: pd.DataFrame) -> pd.DataFrame:
    """One row per enterprise: its highest level and colour, how many signals, and which rules.

    Args:
        hits: rows with at least ``enterprise_id, rule_code, level`` (e.g. ``RiskResult.hits``).

    Returns:
        Columns ``enterprise_id, max_level, colour, n_signals, rule_codes`` (sorted codes), highest first.
    """
    cols = ["enterprise_id", "max_level", "colour", "n_signals", "rule_codes"]
    if hits.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    g = hits.groupby("enterprise_id", sort=True)
    out = pd.DataFrame({
        "max_level": g["level"].max().astype("int64"),
        "n_signals": g.size().astype("int64"),
        "rule_codes": g["rule_code"].agg(lambda s: sorted(set(s))),
    }).reset_index()
    out["colour"] = colours_of(out["max_level"])
    out = out.sort_values(["max_level", "n_signals", "enterprise_id"], ascending=[False, False, True],
                          ignore_index=True)
    return out[cols]
