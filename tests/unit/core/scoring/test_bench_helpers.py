"""The benchmark's card import and NumPy ceiling agree with the engine on a small hand-made card."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[4]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_scoring", ROOT / "scripts" / "bench_scoring.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_imported_card_and_ceiling_give_identical_points():
    bench = _bench()
    spec = {"features": [
        {"name": "amount", "kind": "numeric", "edges": [1000.0, 5000.0], "points": [30.0, 20.0, 5.0, 12.0]},
        {"name": "purpose", "kind": "categorical", "categories": [["car", "tv"], ["business"]],
         "points": [25.0, 8.0, 15.0]},
    ]}
    frame = pd.DataFrame({"amount": [999.0, 1000.0, 4999.0, 5000.0, np.nan, 1e6],
                          "purpose": pd.Series(["car", "tv", "business", None, "boat", "car"], dtype=object)})
    expected = np.array([30 + 25, 20 + 25, 20 + 8, 5 + 15, 12 + 15, 5 + 25], dtype=float)
    np.testing.assert_array_equal(bench.card_from_export(spec).score(frame), expected)
    np.testing.assert_array_equal(bench.numpy_ceiling(spec)(frame), expected)
