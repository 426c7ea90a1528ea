"""The benchmark's card import and NumPy ceiling agree with the engine; the rating step runs in a child process."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

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


FAKE_SERVICES = '''
"""A stand-in for core.services.scoring: the two calls the benchmark makes, with the same signatures."""
from dataclasses import dataclass

CALLS = []


@dataclass
class RatingRunReport:
    rated: int
    failed: int


def bootstrap_demo_rating(*, actor):
    assert actor.can("rating.run") and actor.can("models.approve")
    return {"model_id": 7}


def run_batch_rating(*, actor, as_of=None, progress=None):
    blob = bytearray(64 * 1024 * 1024)  # 64 MB, so the child's peak RSS visibly exceeds it
    blob[::4096] = b"x" * len(blob[::4096])
    if progress:
        progress(1, 1)
    return RatingRunReport(rated=3, failed=0)
'''


@pytest.mark.slow  # a child Python process
def test_rating_runs_the_services_in_a_child_and_reports_time_memory_and_report(tmp_path, monkeypatch):
    bench = _bench()
    (tmp_path / "fake_rating_services.py").write_text(FAKE_SERVICES)
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}:{ROOT}")
    out = bench.rating(f"sqlite:///{tmp_path / 'absent.db'}", module_name="fake_rating_services")
    assert "error" not in out, out
    assert out["report"] == {"rated": 3, "failed": 0}
    assert out["bootstrap"] == {"model_id": 7}
    assert out["rating_s"] >= 0 and out["bootstrap_s"] >= 0 and out["rating_cpu_s"] >= 0
    assert out["peak_rss_mb"] >= 64 and out["child_peak_rss_mb"] >= out["peak_rss_mb"] - 1


@pytest.mark.slow  # a child Python process
def test_rating_without_the_services_says_so_instead_of_failing(tmp_path):
    bench = _bench()
    out = bench.rating(f"sqlite:///{tmp_path / 'absent.db'}", module_name="no_such_rating_module")
    assert "rating services not available" in out["error"]
