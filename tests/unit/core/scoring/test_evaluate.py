"""The evaluate command: one JSON object on stdout, and one clear line for every bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[4]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "core.scoring.evaluate", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def csv(tmp_path_factory) -> Path:
    rng = np.random.default_rng(0)
    n = 900
    debt = rng.uniform(0, 1, n)
    sector = rng.choice(["farm", "shop", "mill"], n)
    y = rng.random(n) < 1 / (1 + np.exp(-(-1.5 + 3 * (debt - 0.5) + (sector == "mill"))))
    df = pd.DataFrame({"id": [f"E{i:05d}" for i in range(n)], "debt": debt, "sector": sector,
                       "const": 1, "status": np.where(y, "default", "ok")})
    df.loc[rng.random(n) < 0.05, "debt"] = np.nan
    path = tmp_path_factory.mktemp("eval") / "cases.csv"
    df.to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_prints_exactly_one_json_object(csv):
    proc = run("--csv", str(csv), "--target", "status", "--bad", "default", "--folds", "3", "--seed", "1", "--json")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 1
    out = json.loads(lines[0])
    assert 0.6 < out["auc"] <= 1.0 and 0.0 < out["ks"] <= 1.0
    assert len(out["folds"]) == 3
    assert out["auc"] == pytest.approx(np.mean([f["auc"] for f in out["folds"]]))
    used = set(out["folds"][0]["features"])
    assert "id" not in used and "const" not in used and "debt" in used
    assert "fold 3/3" in proc.stderr


def _one_line_error(proc, needle):
    assert proc.returncode != 0
    assert proc.stdout == ""
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and needle in lines[0], proc.stderr


def test_missing_target_column(csv):
    _one_line_error(run("--csv", str(csv), "--target", "nope", "--bad", "1"), "not found")


def test_one_class_target(csv):
    _one_line_error(run("--csv", str(csv), "--target", "status", "--bad", "never"), "one class")


def test_no_usable_feature(tmp_path):
    p = tmp_path / "ids.csv"
    pd.DataFrame({"id": [f"x{i}" for i in range(200)], "k": 7, "y": [0, 1] * 100}).to_csv(p, index=False)
    _one_line_error(run("--csv", str(p), "--target", "y", "--bad", "1"), "no usable feature")


def test_unreadable_file(tmp_path):
    _one_line_error(run("--csv", str(tmp_path / "absent.csv"), "--target", "y", "--bad", "1"), "cannot read")
    p = tmp_path / "binary.csv"
    p.write_bytes(bytes(range(256)) * 20)
    _one_line_error(run("--csv", str(p), "--target", "y", "--bad", "1"), "cannot read")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    _one_line_error(run("--csv", str(empty), "--target", "y", "--bad", "1"), "cannot read")
