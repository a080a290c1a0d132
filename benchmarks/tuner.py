#!/usr/bin/env python
"""The tuner at equal wall time: random search vs successive halving vs optuna, and tuned ALS.

Protocol: leave-last-out split (validation = each user's second-to-last event, test =
the last, full ranking). Every search fits on train and is scored on val by
``--metric``; its best setting is refit on train+val and scored on test
(``item2vec.tuning.test_score``), exactly what ``item2vec tune`` does. Per data set:

(a) random search with ``--random-trials`` settings (20: today's ``item2vec tune``),
    timed: T seconds (or, with ``--equal-budget S``, random search for S seconds);
(b) successive halving on epochs (``strategy="halving"``) with ``budget=T``;
(b') optuna TPE + successive-halving pruner (``strategy="optuna"``) with ``budget=T``;
(c) ALS, random search over the wide grid with ``--als-trials`` settings.

``--headline SECONDS`` instead runs what ``item2vec tune --budget SECONDS`` runs on each
data set (item2vec with the default strategy, then ALS with ``--als-trials``) and
prints test recall@10 of both and their ratio. That default: the library defaults at
full epochs, a hill climb over one-step neighbours from them for up to half the budget
(``item2vec.search.hill_climb``), successive halving for the rest; the best trial replaces the defaults only if it beats them in a paired
bootstrap over the validation users (``tune(significance=0.2)``) and again when both are refitted with a fresh seed
(``tune(confirm=True)``). As ``item2vec tune``
does, item2vec gets the data's item groups (MovieLens genres, the attribute files of
toys/yelp/lastfm), so that ``group_sentences`` is searched (``--no-groups``: not).

Data sets are loaded by name with ``item2vec.datasets.load_dataset`` (the sequence
sets through ``item2vec.seqdata``: found from ``$ITEM2VEC_DATA``, its ``../sequential``).

Examples
--------
    ITEM2VEC_DATA=/work/shared/datasets/movielens python benchmarks/tuner.py --datasets lastfm,ml-100k,toys
    python benchmarks/tuner.py --headline 300 --datasets toys,lastfm,yelp
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import sys
import time

import pandas as pd

from item2vec.splits import leave_last_out
from item2vec.tuning import test_score, tune
from item2vec.workflows import tune_base

UNIT = ""  # "cpu" with --cpu-clock


def load(name: str) -> tuple[pd.DataFrame, dict | None]:
    """Interactions and item groups of a data set by name (``item2vec.datasets.load_dataset``:
    MovieLens with its genres, and toys/yelp/lastfm/diginetica with their attribute files
    through ``item2vec.seqdata``); never downloads. ``$ITEM2VEC_SEQUENTIAL``, if set, is the
    data folder searched first. The groups are what ``item2vec tune`` gives the search."""
    from item2vec.datasets import load_dataset
    from item2vec.workflows import item_groups

    data = load_dataset(name, data_dir=os.environ.get("ITEM2VEC_SEQUENTIAL"), download=False)
    return data.interactions, item_groups(data)


def run_search(name: str, split, args, groups: dict | None = None, **kw) -> dict:
    clock = time.process_time if args.cpu_clock else time.monotonic
    base = tune_base(name, None if args.no_groups else groups)  # what item2vec tune gives the search (run_tune)
    if args.significance is not None:  # else tune's default
        kw["significance"] = None if args.significance == 0 else args.significance
    res = tune(name, split, seed=args.seed, metric=args.metric, ks=(10,), n_threads=args.threads,
               base=base, progress=args.progress, clock=clock, **kw)
    seconds = res.seconds  # in the budget's clock: wall, or this process's CPU seconds
    fitted = []  # the refit model (a callback sees it), to print the window window="auto" kept
    params = {**res.best_params, "callbacks": [lambda m, *_: fitted.append(m)]} if name == "item2vec" else res.best_params
    scores = test_score(name, params, split, ks=(10,), seed=args.seed, n_threads=args.threads)
    shown = {k: v for k, v in res.best_params.items() if k in res.space}
    first = res.trials.iloc[0] if len(res.trials) else None
    kept = first is not None and first.get("rung") == -1 and all(first[k] == v for k, v in shown.items())
    picked = "defaults" if kept else "a trial"
    if res.confirmation:  # the fresh-seed refits of the pick and the defaults (tune(confirm=True))
        picked += f"; refits: {res.confirmation['note']}"
    if fitted and fitted[-1].window == "auto":
        picked += f", refit kept window {fitted[-1].window_}"
    return {"model": name, "strategy": res.strategy, "evals": res.n_trials, "search_s": seconds,
            f"val_{args.metric}": res.best_score, "test_recall@10": scores["recall@10"],
            "test_ndcg@10": scores["ndcg@10"], "picked": picked, "params": shown}


def show(dataset: str, row: dict, label: str) -> None:
    print(f"{dataset:8s} {label:22s} evals={row['evals']:4d} search={row['search_s']:7.1f}{UNIT}s "
          f"val={row[next(k for k in row if k.startswith('val_'))]:.4f} "
          f"test recall@10={row['test_recall@10']:.4f} ndcg@10={row['test_ndcg@10']:.4f} ({row['picked']})  "
          f"{row['params']}",
          flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--datasets", default="lastfm,ml-100k,toys")
    p.add_argument("--random-trials", type=int, default=20)
    p.add_argument("--als-trials", type=int, default=20, help="0: skip ALS")
    p.add_argument("--strategies", default="halving,optuna")
    p.add_argument("--headline", type=float, default=None, metavar="SECONDS")
    p.add_argument("--equal-budget", type=float, default=None, metavar="SECONDS",
                   help="(a) is random search for SECONDS (not --random-trials); (b) gets the time (a) took")
    p.add_argument("--cpu-clock", action="store_true",
                   help="budgets and times in this process's CPU seconds (equal work on a machine shared with "
                        "other jobs; use with --threads 1), not wall-clock seconds")
    p.add_argument("--metric", default="ndcg@10")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--progress", action="store_true", help="one stderr line per evaluation")
    p.add_argument("--significance", type=float, default=None,
                   help="tune(significance=...) of the bootstrap guard (default: tune's; 0: no guard)")
    p.add_argument("--no-groups", action="store_true",
                   help="do not give item2vec the data's item groups (no group_sentences in the search)")
    args = p.parse_args(argv)
    global UNIT
    UNIT = " cpu" if args.cpu_clock else ""
    print(f"# {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC  command: python benchmarks/tuner.py "
          + " ".join(argv if argv is not None else sys.argv[1:]), flush=True)
    from item2vec.model import Item2Vec
    from item2vec.synthetic import make_synthetic

    # compile the numba kernels before any timed search (else random search pays for it)
    Item2Vec(epochs=1, verbose=False, n_threads=args.threads).fit(make_synthetic(n_users=50, n_items=20).interactions)
    for dataset in args.datasets.split(","):
        frame, groups = load(dataset)
        split = leave_last_out(frame)
        print(f"# {dataset}: {split.train['user'].nunique()} users, {split.train['item'].nunique()} items, "
              f"{len(split.train)} train events", flush=True)
        if args.headline is not None:
            i2v = run_search("item2vec", split, args, groups, trials=None, budget=args.headline)
            show(dataset, i2v, f"item2vec {i2v['strategy']} {args.headline:g}s")
        else:
            if args.equal_budget is None:
                i2v = run_search("item2vec", split, args, groups, trials=args.random_trials, strategy="random")
                show(dataset, i2v, f"(a) random {args.random_trials}")
            else:  # when 20 random trials take too long: random search for a fixed time instead
                i2v = run_search("item2vec", split, args, groups, trials=None, budget=args.equal_budget,
                                 strategy="random")
                show(dataset, i2v, f"(a) random {args.equal_budget:g}s")
            for strategy in args.strategies.split(","):
                row = run_search("item2vec", split, args, groups, trials=None, budget=i2v["search_s"], strategy=strategy)
                show(dataset, row, f"(b) {strategy} {i2v['search_s']:.0f}s")
        if args.als_trials < 1:  # ALS from another run (same seed and split give the same ALS)
            continue
        als = run_search("als", split, args, trials=args.als_trials, strategy="random")
        show(dataset, als, f"(c) ALS random {args.als_trials}")
        print(f"{dataset:8s} item2vec/ALS test recall@10 ratio (first item2vec row): "
              f"{i2v['test_recall@10'] / als['test_recall@10']:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
