#!/usr/bin/env python
"""Event weights on MovieLens: ratings as weights against unweighted training, same seeds.

For each data set (leave-last-out split of the library, :func:`item2vec.evaluation.leave_last_out`)
and each weighting of the training events it fits ``Item2Vec`` (its defaults,
``n_threads=1``, seeds 0..n-1) on the split's training part and prints:

* recall@10 and NDCG@10 of the test targets (:func:`item2vec.evaluation.evaluate`),
  mean ± std over the seeds;
* how ``similar_items`` changes: for every film with at least ``--query-min``
  training events, its top 10 (``min_count=5``); overlap@10 with the unweighted
  model of the same seed (and, as the yardstick, between unweighted models of
  two different seeds), and the mean rating of the neighbours (each film's
  mean rating in the training data).

Weightings (``r`` is the rating): ``rating`` (``w = r``; the weight of a pair is
the product of its two events' weights, so this also raises the step size up
to 25x ``alpha``), then weights scaled to a mean of 1 over the training
events: ``rating/mean`` (``w ∝ r``), ``rating>2`` (``w ∝ r`` if ``r > 2``
else 0: the event keeps its place but trains nothing), ``1[rating>2]``
(``w ∝ 1`` if ``r > 2`` else 0) and, for comparison, ``drop<=2`` (those
events removed from the training sequences).

Example::

    ITEM2VEC_DATA=/work/shared/datasets/movielens python benchmarks/weights.py --datasets ml-100k --seeds 3
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from item2vec import Item2Vec
from item2vec.datasets import load_movielens
from item2vec.evaluation import evaluate, leave_last_out

def _unit_mean(w: np.ndarray) -> np.ndarray:
    return w / w.mean()


WEIGHTINGS = {
    "unweighted": None,
    "rating": lambda r: r,  # raw: pair steps up to 25x alpha
    "rating/mean": lambda r: _unit_mean(r),  # the same relative weights, mean event weight 1
    "rating>2": lambda r: _unit_mean(np.where(r > 2, r, 0.0)),  # w ∝ r, but 0 for r <= 2; mean 1
    "1[rating>2]": lambda r: _unit_mean((r > 2).astype(np.float32)),  # w ∝ 1, but 0 for r <= 2; mean 1
    "drop<=2": "drop",  # the events rated <= 2 removed
}


def fit_variant(train: pd.DataFrame, how, seed: int, epochs: int | None) -> Item2Vec:
    kw = dict(n_threads=1, random_state=seed, verbose=False)
    if epochs is not None:
        kw["epochs"] = epochs
    if how is None:
        return Item2Vec(**kw).fit(train)
    if how == "drop":
        return Item2Vec(**kw).fit(train[train["rating"] > 2])
    return Item2Vec(weight_col="w", **kw).fit(train.assign(w=how(train["rating"].to_numpy(np.float32))))


def neighbours(model: Item2Vec, queries: list) -> np.ndarray:
    ids, _ = model.similar_items(queries, k=10, min_count=5, on_unknown="ignore")
    return ids


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean([len(set(x) & set(y)) / 10 for x, y in zip(a.tolist(), b.tolist())]))


def run(name: str, seeds: int, epochs: int | None, query_min: int, weightings: list[str]) -> None:
    df = load_movielens(name, progress=False).interactions
    split = leave_last_out(df)
    train = split.fit_data("test")
    mean_rating = train.groupby("item")["rating"].mean()
    counts = train["item"].value_counts()
    queries = counts.index[counts >= query_min].tolist()
    low = float((train["rating"] <= 2).mean())
    print(f"\n## {name}: {len(train):,} training events ({low:.1%} rated <= 2), {len(split.test):,} test targets; "
          f"{len(queries)} query films (>= {query_min} events); Item2Vec defaults"
          + (f", epochs={epochs}" if epochs else "") + f", 1 thread, seeds 0..{seeds - 1}")
    rows, base = [], {}
    for label in weightings:
        how = WEIGHTINGS[label]
        rec, ndcg, ov, mr, secs = [], [], [], [], []
        for seed in range(seeds):
            t0 = time.perf_counter()
            try:
                model = fit_variant(train, how, seed, epochs)
            except ValueError as e:  # diverged
                print(f"# {label}, seed {seed}: {e}")
                continue
            secs.append(time.perf_counter() - t0)
            res = evaluate(model, split, ks=(10,), fit=False)
            rec.append(res["recall@10"])
            ndcg.append(res["ndcg@10"])
            nb = neighbours(model, queries)
            ratings = mean_rating.reindex(nb.ravel()).to_numpy()
            mr.append(float(np.nanmean(ratings)))
            if how is None:
                base[seed] = nb
            else:
                ov.append(overlap(nb, base[seed]))
        if how is None and seeds > 1:  # seed-to-seed overlap of the unweighted model: the noise floor
            ov = [overlap(base[s], base[(s + 1) % seeds]) for s in range(seeds)]
        rows.append((label, rec, ndcg, ov, mr, secs))
    print("| weights | recall@10 | NDCG@10 | overlap@10 vs unweighted | neighbours' mean rating | fit s |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, rec, ndcg, ov, mr, secs in rows:
        def ms(v, d=4):
            return f"{np.mean(v):.{d}f} ± {np.std(v):.{d}f}" if v else "n/a"
        ov_text = ms(ov, 3) + (" (seed vs seed)" if label == "unweighted" else "")
        print(f"| {label} | {ms(rec)} | {ms(ndcg)} | {ov_text} | {ms(mr, 3)} | {np.mean(secs) if secs else float('nan'):.1f} |")
    print(f"(mean rating of the query films: {mean_rating.reindex(queries).mean():.3f}; of all training events: "
          f"{train['rating'].mean():.3f})")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--datasets", default="ml-100k,ml-latest-small")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=None, help="override Item2Vec's default epochs (50)")
    p.add_argument("--query-min", type=int, default=20)
    p.add_argument("--weightings", default=",".join(WEIGHTINGS), help=f"comma-separated, from {list(WEIGHTINGS)}")
    p.add_argument("--quick", action="store_true", help="a CI-sized run: ml-100k, 1 seed, 2 epochs, two weightings")
    args = p.parse_args(argv)
    if args.quick:
        args.datasets, args.seeds, args.epochs, args.weightings = "ml-100k", 1, 2, "unweighted,rating>2"
    chosen = [w.strip() for w in args.weightings.split(",")]
    unknown = [w for w in chosen if w not in WEIGHTINGS]
    if unknown:
        p.error(f"unknown weightings {unknown}; choose from {list(WEIGHTINGS)}")
    chosen = ["unweighted"] + [w for w in chosen if w != "unweighted"]  # the reference comes first
    for name in args.datasets.split(","):
        run(name.strip(), args.seeds, args.epochs, args.query_min, chosen)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
