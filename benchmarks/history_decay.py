"""Recency weighting of the query profile: ``history_length`` x ``history_decay`` on MovieLens.

Fits Item2Vec once per seed with its defaults (1 thread) on the leave-last-out
train+val data, then evaluates the test targets for every combination of the two
query-time parameters (``evaluate(..., fit=False)``: no refit). Prints NDCG@10 and
recall@10 (means over seeds).

Example::

    ITEM2VEC_DATA=/path/to/movielens python benchmarks/history_decay.py --dataset ml-100k --seeds 0,1
"""

from __future__ import annotations

import argparse

import numpy as np

from item2vec import Item2Vec
from item2vec.datasets import load_movielens
from item2vec.evaluation import evaluate
from item2vec.splits import leave_last_out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("Example")[0])
    p.add_argument("--dataset", default="ml-100k")
    p.add_argument("--seeds", default="0")
    p.add_argument("--lengths", default="1,3,10,none")
    p.add_argument("--decays", default="none,0.9,0.7,0.5")
    args = p.parse_args(argv)
    lengths = [None if v.lower() == "none" else int(v) for v in args.lengths.split(",")]
    decays = [None if v.lower() == "none" else float(v) for v in args.decays.split(",")]
    split = leave_last_out(load_movielens(args.dataset, progress=False).interactions)
    results: dict[tuple, list[tuple[float, float]]] = {}
    for seed in [int(s) for s in args.seeds.split(",")]:
        model = Item2Vec(n_threads=1, random_state=seed, verbose=False).fit(split.fit_data("test"))
        for n in lengths:
            for d in decays:
                r = evaluate(model.set_params(history_length=n, history_decay=d), split, ks=(10,), fit=False)
                results.setdefault((n, d), []).append((r["ndcg@10"], r["recall@10"]))
    print(f"# {args.dataset}, leave-last-out test, Item2Vec() defaults, seeds {args.seeds}")
    print("| history_length | history_decay | NDCG@10 | recall@10 |")
    print("|---:|---:|---:|---:|")
    for (n, d), v in results.items():
        m = np.mean(v, axis=0)
        print(f"| {n} | {d} | {m[0]:.4f} | {m[1]:.4f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
