"""The data-panel benchmark: item2vec against tuned ALS, popularity and transitions.

For each data set (ml-100k, ml-latest-small, toys, yelp, lastfm; diginetica as a
sanity row): ``leave_last_out`` split (per user: last event = test target, the one
before = validation target, full-catalogue ranking, seen items filtered; targets
whose item never occurs in training are dropped, as in ``item2vec evaluate``).

* **ALS** (``implicit``) tuned on validation over the grid factors x regularization
  x alpha (default {64,128,256} x {0.01,0.1} x {1,10,40}, 15 iterations), best by
  val recall@10, refitted on train+val and scored on test. The result of each data
  set and grid is cached in ``--als-cache FILE`` (JSON, written after every trial),
  so later sweeps reuse it.
* **pop**, **transition** and **item2vec** (library defaults, ``--set key=value``,
  or several named settings from ``--configs FILE.json``: ``{"name": {params}}``),
  fitted on train+val and scored on test.

Printed: recall@10 / NDCG@10 per model and data set, item2vec/ALS recall ratio per
data set, its worst value and geometric mean over the five main sets (diginetica
excluded), and the published SASRec / S3-Rec HR@10 / NDCG@10 for Toys, Yelp, LastFM.

Run:  ITEM2VEC_DATA=/work/shared/datasets/movielens python benchmarks/panel.py \
          --als-cache /work/notes/als_cache.json
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import load_movielens_frame, machine_note, markdown_table

MAIN = ("ml-100k", "ml-latest-small", "toys", "yelp", "lastfm")
ALL = MAIN + ("diginetica",)
GRID = {"factors": [64, 128, 256], "regularization": [0.01, 0.1], "alpha": [1, 10, 40]}
QUICK_GRID = {"factors": [8], "regularization": [0.1], "alpha": [1, 10]}
#: Published full-ranking results (S3-Rec repository, see shared/datasets/sequential/README.md):
#: model -> data set -> (HR@10, NDCG@10).
PUBLISHED = {
    "SASRec": {"toys": (0.0675, 0.0374), "yelp": (0.0274, 0.0136), "lastfm": (0.0688, 0.0390)},
    "S3-Rec": {"toys": (0.0700, 0.0376), "yelp": (0.0341, 0.0168), "lastfm": (0.0743, 0.0427)},
}
METRICS = ("recall@10", "ndcg@10")
#: A claimed ALS trial not finished after this long is taken over by another run.
CLAIM_SECONDS = 3600.0


# ---------------------------------------------------------------------------- data
def load_set(name: str):
    """``(interactions, item_groups or None)`` of a panel set: MovieLens (ITEM2VEC_DATA) with its genres,
    or toys/yelp/lastfm/diginetica (item2vec.seqdata, found from ITEM2VEC_DATA) with the attribute file."""
    from item2vec.datasets import DatasetNotFoundError, genre_map, load_movielens
    from item2vec.seqdata import load_sequence_dataset

    if name.startswith("ml-"):
        df = load_movielens_frame(name)[["user", "item", "timestamp"]]
        return df, genre_map(load_movielens(name, download=False, progress=False).items)
    try:
        ds = load_sequence_dataset(name, download=False)
        return ds.interactions, ds.item_groups
    except DatasetNotFoundError as e:
        raise SystemExit(f"{e}\n(For the panel: ITEM2VEC_DATA=/work/shared/datasets/movielens finds "
                         "../sequential and ../sessions.)") from e


def quick_frame(seed: int = 0):
    """A tiny synthetic log with sequential structure (for --quick)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    rows = []
    for u in range(150):
        start = int(rng.integers(0, 60))
        for t in range(int(rng.integers(5, 12))):
            item = (start + t) % 60 if rng.random() < 0.7 else int(rng.integers(0, 60))
            rows.append((u, item, t))
    return pd.DataFrame(rows, columns=["user", "item", "timestamp"])


# ---------------------------------------------------------------------------- ALS cache
def _grid_key(grid: dict[str, list[Any]], iterations: int) -> str:
    return json.dumps({**{k: grid[k] for k in sorted(grid)}, "iterations": iterations, "split": "leave_last_out"},
                      sort_keys=True)


def _read_cache(path: str | None) -> dict[str, Any]:
    if not path or not os.path.exists(path):
        return {}
    with open(path) as fh:
        return json.load(fh)


@contextlib.contextmanager
def _locked(path: str):
    """Exclusive lock on ``path + ".lock"`` (several runs may share one cache file)."""
    import fcntl

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _edit_entry(path: str, name: str, key: str, edit) -> Any:
    """Under the lock: read the cache, ``result = edit(entry)`` on ``cache[name][key]``, write, return result."""
    with _locked(path):
        cache = _read_cache(path)
        entry = cache.setdefault(name, {}).setdefault(key, {"trials": []})
        result = edit(entry)
        _write_cache(path, cache)
        return result


def _write_cache(path: str, cache: dict[str, Any]) -> None:
    """Atomic write (a concurrent reader never sees half a file)."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".als_cache-", suffix=".json")
    with os.fdopen(fd, "w") as fh:
        json.dump(cache, fh, indent=1, sort_keys=True)
    os.replace(tmp, path)


def _scores(model, split, stage: str) -> dict[str, float]:
    from item2vec.evaluation import evaluate

    r = evaluate(model, split, ks=(10,), stage=stage)
    return {m: float(r[m]) for m in METRICS} | {"fit_seconds": float(r["fit_seconds"])}


def _tag(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True)


def _claim(tags: list[str], now: float):
    """An ``edit`` for :func:`_edit_entry`: claim the first trial neither done nor claimed by a live run."""
    def edit(entry: dict[str, Any]) -> str | None:
        done = {_tag(t["params"]) for t in entry["trials"]}
        claims = entry.setdefault("claims", {})
        for tag in tags:
            if tag not in done and now - claims.get(tag, 0.0) > CLAIM_SECONDS:
                claims[tag] = now
                return tag
        return None
    return edit


def tuned_als(name: str, split, grid: dict[str, list[Any]], iterations: int, threads: int,
              cache_path: str | None) -> dict[str, Any]:
    """Grid search on validation, refit of the best on train+val, test scores; cached trial by trial.

    Runs sharing ``cache_path`` split the work: each claims the next trial nobody has
    done or claimed (a claim older than :data:`CLAIM_SECONDS` is taken over), and the
    test refit is claimed like a trial (``"test"``).
    """
    import itertools

    from item2vec.baselines import ALSRecommender

    if cache_path is None:  # --quick: a private, temporary cache
        cache_path = os.path.join(tempfile.mkdtemp(prefix="panel-"), "als.json")
    key = _grid_key(grid, iterations)
    names = sorted(grid)
    tags = [_tag(dict(zip(names, v))) for v in itertools.product(*(grid[n] for n in names))]
    while True:
        entry = _edit_entry(cache_path, name, key, lambda e: json.loads(json.dumps(e)))
        if "test" in entry:
            return entry
        tag = _edit_entry(cache_path, name, key, _claim(tags + ["test"], time.time()))
        if tag is None:  # everything claimed: wait for the other runs
            time.sleep(10)
            continue
        if tag == "test":
            if len({_tag(t["params"]) for t in entry["trials"]} & set(tags)) < len(tags):
                _edit_entry(cache_path, name, key, lambda e: e.setdefault("claims", {}).pop("test", None))
                time.sleep(10)  # trials still running elsewhere
                continue
            trials = [t for t in entry["trials"] if _tag(t["params"]) in set(tags)]
            best = max(trials, key=lambda t: (t["val"]["recall@10"], t["val"]["ndcg@10"]))
            model = ALSRecommender(**best["params"], iterations=iterations, num_threads=threads, random_state=0)
            test = _scores(model, split, "test")
            _edit_entry(cache_path, name, key, lambda e, b=best["params"], t=test: (e.update(
                best_params={**b, "iterations": iterations}, test=t), e.pop("claims", None)))
            continue
        params = json.loads(tag)
        model = ALSRecommender(**params, iterations=iterations, num_threads=threads, random_state=0)
        trial = {"params": params, "val": _scores(model, split, "val")}
        print(f"  als {name} {params}: val recall@10 {trial['val']['recall@10']:.4f} "
              f"({trial['val']['fit_seconds']:.1f} s fit)", flush=True)
        _edit_entry(cache_path, name, key,
                    lambda e, r=trial, g=tag: (e["trials"].append(r), e.setdefault("claims", {}).pop(g, None)))


# ---------------------------------------------------------------------------- other models
def parse_value(text: str) -> Any:
    if text.lower() == "none":
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def item2vec_configs(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """``{name: params}``: from --configs FILE.json, else one "item2vec" setting from --set."""
    sets = {}
    for item in args.set or ():
        if "=" not in item:
            raise SystemExit(f"--set {item!r}: expected key=value")
        k, v = item.split("=", 1)
        sets[k.strip()] = parse_value(v.strip())
    if args.configs:
        with open(args.configs) as fh:
            configs = json.load(fh)
        if not isinstance(configs, dict) or not all(isinstance(v, dict) for v in configs.values()):
            raise SystemExit(f"--configs {args.configs}: expected a JSON object {{name: {{param: value}}}}")
        return {name: {**sets, **p} for name, p in configs.items()}
    return {"item2vec": sets}


def other_models(configs: dict[str, dict[str, Any]], quick: bool, groups: dict | None = None) -> dict[str, Any]:
    """pop, transition and one Item2Vec per config; ``hard_negatives="group"`` and ``group_sentences`` get the set's ``groups``."""
    from item2vec import Item2Vec
    from item2vec.baselines import PopularityRecommender
    from item2vec.transition import TransitionRecommender
    from item2vec.workflows import uses_groups

    models: dict[str, Any] = {"pop": PopularityRecommender(), "transition": TransitionRecommender()}
    for name, params in configs.items():
        p = {"random_state": 0, "n_threads": 1, "verbose": False, **({"epochs": 2} if quick else {}), **params}
        if uses_groups(p) and "item_groups" not in p:
            if not groups:
                continue  # no groups for this data set (diginetica, --quick)
            p.update(item_groups=groups, groups_on_unknown="ignore")
        models[name] = Item2Vec(**p)
    return models


def transition_sweep(name: str, split) -> list[tuple[dict[str, Any], dict[str, float]]]:
    """Validation scores of a small grid of transition settings (one fit per window)."""
    from item2vec.evaluation import evaluate
    from item2vec.transition import TransitionRecommender

    out = []
    for window, weighting in ((1, True), (2, True), (3, True), (3, False), (5, True)):
        model = TransitionRecommender(window=window, distance_weighting=weighting).fit(split.fit_data("val"))
        for length, decay in ((1, 1.0), (2, 0.5), (3, 0.3), (3, 0.5), (3, 0.8), (5, 0.5), (5, 0.8)):
            model.history_length, model.history_decay = length, decay
            r = evaluate(model, split, ks=(10,), stage="val", fit=False)
            params = {"window": window, "distance_weighting": weighting, "history_length": length,
                      "history_decay": decay}
            out.append((params, {m: float(r[m]) for m in METRICS}))
            print(f"  transition {name} {params}: val recall@10 {r['recall@10']:.4f} ndcg@10 {r['ndcg@10']:.4f}",
                  flush=True)
    return out


# ---------------------------------------------------------------------------- report
def ratio_summary(ratios: dict[str, float]) -> tuple[float, float]:
    """Worst and geometric mean of the ratios of the main sets (of all but diginetica if none is there)."""
    keys = [d for d in MAIN if d in ratios] or [d for d in ratios if d != "diginetica"]
    vals = [ratios[d] for d in keys if ratios[d] > 0]
    if not vals:
        return float("nan"), float("nan")
    return min(vals), math.exp(sum(math.log(v) for v in vals) / len(vals))


def report(results: dict[str, dict[str, dict[str, float]]], configs: list[str]) -> str:
    datasets = [d for d in ALL if d in results] + [d for d in results if d not in ALL]  # panel order
    models = list(dict.fromkeys(m for d in datasets for m in results[d]))
    headers = ["model"] + [f"{d} R@10 / N@10" for d in datasets]
    rows = [[m] + [(f"{results[d][m]['recall@10']:.4f} / {results[d][m]['ndcg@10']:.4f}" if m in results[d] else "-")
                   for d in datasets] for m in models]
    for pub, by_set in PUBLISHED.items():
        if any(d in by_set for d in datasets):
            rows.append([f"{pub} (published)"] + [f"{by_set[d][0]:.4f} / {by_set[d][1]:.4f}" if d in by_set else "-"
                                                  for d in datasets])
    lines = [markdown_table(headers, rows), ""]
    for c in configs:
        ratios = {d: results[d][c]["recall@10"] / results[d]["als"]["recall@10"]
                  for d in datasets if c in results[d] and results[d].get("als", {}).get("recall@10", 0) > 0}
        worst, gmean = ratio_summary(ratios)
        main_n = sum(d in ratios for d in MAIN) or sum(d != "diginetica" for d in ratios)
        cells = ", ".join(f"{d} {r:.2f}" for d, r in ratios.items())
        lines.append(f"{c}/ALS recall@10: {cells} | worst {worst:.2f}, geometric mean {gmean:.2f} "
                     f"(over {main_n} set(s), diginetica excluded)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", default=",".join(ALL), help=f"comma-separated, from {', '.join(ALL)} (default: all)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="item2vec parameter (repeatable)")
    p.add_argument("--configs", metavar="FILE.json", help="several named item2vec settings {name: {params}}")
    p.add_argument("--als-cache", metavar="FILE", help="JSON cache of the tuned-ALS results")
    p.add_argument("--als-iterations", type=int, default=15)
    p.add_argument("--als-threads", type=int, default=1, help="threads of implicit's ALS (default: 1)")
    p.add_argument("--models", default="als,pop,transition,item2vec",
                   help="subset of als,pop,transition,item2vec (item2vec = every --configs setting)")
    p.add_argument("--transition-sweep", action="store_true",
                   help="only print validation scores of a grid of transition settings (to choose its defaults)")
    p.add_argument("--quick", action="store_true", help="tiny synthetic data set, tiny grid (seconds)")
    args = p.parse_args(argv)

    from item2vec.splits import leave_last_out

    wanted = [m.strip() for m in args.models.split(",") if m.strip()]
    configs = item2vec_configs(args)
    names = ["quick"] if args.quick else [d.strip() for d in args.datasets.split(",") if d.strip()]
    bad = [d for d in names if d not in ALL and d != "quick"]
    if bad:
        raise SystemExit(f"unknown data set(s) {bad}; choose from {', '.join(ALL)}")
    grid = QUICK_GRID if args.quick else GRID
    iterations = 3 if args.quick else args.als_iterations
    print(f"# panel benchmark | {machine_note()} | ALS grid {grid}, {iterations} iterations, "
          f"{args.als_threads} thread(s)", flush=True)
    t_start = time.perf_counter()
    results: dict[str, dict[str, dict[str, float]]] = {}
    for name in names:
        df, groups = (quick_frame(), None) if args.quick else load_set(name)
        split = leave_last_out(df)
        print(f"{name}: {df['user'].nunique():,} users, {df['item'].nunique():,} items, {len(df):,} events, "
              f"{len(split.test):,} test users, dropped {split.n_dropped}", flush=True)
        results[name] = {}
        if args.transition_sweep:
            sweep = transition_sweep(name, split)
            best = max(sweep, key=lambda x: x[1]["recall@10"])
            print(f"  transition {name} best on val: {best}", flush=True)
            continue
        if "als" in wanted:
            entry = tuned_als(name, split, grid, iterations, args.als_threads, args.als_cache)
            results[name]["als"] = entry["test"]
            print(f"  als best {entry['best_params']}: test {entry['test']}", flush=True)
        elif "test" in (cached := _read_cache(args.als_cache).get(name, {}).get(_grid_key(grid, iterations), {})):
            results[name]["als"] = cached["test"]  # the cached tuned ALS, for the ratios
        models = other_models(configs, args.quick, groups)
        for mname, model in models.items():
            kind = "item2vec" if mname in configs else mname
            if kind not in wanted:
                continue
            results[name][mname] = _scores(model, split, "test")
            chosen = f" | window {model.window_} (holdout {model.window_scores_})" if getattr(
                model, "window_scores_", None) else ""  # item2vec's window choice (item2vec.widen)
            print(f"  {mname}: test {results[name][mname]}{chosen}", flush=True)
    if args.transition_sweep:
        return 0
    print()
    print(report(results, [c for c in configs if "item2vec" in wanted]))
    print(f"\nwall time {time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
