#!/usr/bin/env python
"""Recommendation quality: item2vec vs gensim Word2Vec(sg=1, hs=0) at identical settings.

Protocol (leave-last-out): for every user, the last event by timestamp (stable
sort) is the test target and all earlier events are the training data and the
query history. Targets whose item never occurs in training are dropped (no
model can rank them; the count is printed). Each model ranks the full
catalogue of training items, the user's history filtered out, and we report
recall@10 (hit of the single target) and NDCG@10 (1/log2(rank+1)).

Both models are trained on the same sequences (``build_sequences`` of the
training events, time-ordered) with the same hyperparameters and are scored by
the same code (``Item2Vec.recommend``): gensim's input vectors ``wv.vectors``
and output vectors ``syn1neg`` are copied into an ``Item2Vec`` shell. Two
scoring rules: ``sgns`` (mean input vector of the history · candidate output
vector, item2vec's default) and ``cosine`` (mean of unit input vectors ·
candidate unit input vector). Training uses one thread on both sides, so a
seed gives the same numbers on every run. ALS (implicit, via
``item2vec.baselines.ALSRecommender``) is printed as a reference.

Examples
--------
    ITEM2VEC_DATA=/work/shared/datasets/movielens python benchmarks/quality.py --quick
    ITEM2VEC_DATA=/work/shared/datasets/movielens python benchmarks/quality.py
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import sys
import time


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C

K = 10


class _Evaluator:
    """Leave-last-out evaluation of one data set through ``item2vec.evaluation``."""

    def __init__(self, df):
        from item2vec.splits import leave_last_out

        self.split = leave_last_out(df, n_val=0, n_test=1, min_train=1)
        self.train = self.split.fit_data("test")
        self.n_targets = len(self.split.test)
        self.n_dropped = int(self.split.n_dropped.get("test_cold_items", 0))

    def __call__(self, model, fit: bool) -> tuple[float, float, float]:
        """(recall@10, ndcg@10, fit seconds) of ``model``."""
        from item2vec.evaluation import evaluate

        r = evaluate(model, self.split, ks=(K,), stage="test", fit=fit)
        return r[f"recall@{K}"], r[f"ndcg@{K}"], r["fit_seconds"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("Examples")[0], epilog="Examples" + __doc__.split("Examples", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="ml-100k only, 1 seed, 3 epochs")
    p.add_argument("--datasets", default=None, help="comma list (default ml-100k,ml-latest-small)")
    p.add_argument("--seeds", default=None, help="comma list of seeds (default 0,1,2)")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default 20)")
    p.add_argument("--vector-size", type=int, default=64)
    p.add_argument("--window", type=int, default=5)
    p.add_argument("--negative", type=int, default=5)
    p.add_argument("--sample", type=float, default=1e-3)
    p.add_argument("--ns-exponent", type=float, default=0.75)
    p.add_argument("--history-length", type=lambda v: None if v.lower() == "none" else int(v), default=3,
                   help="last n history items form the profile, both libraries (default 3; 'none' = all)")
    p.add_argument("--threads", type=int, default=1, help="training threads for both (1 = reproducible)")
    p.add_argument("--no-als", action="store_true", help="skip the ALS reference rows")
    args = p.parse_args(argv)

    C.require_gensim()
    from item2vec import Item2Vec
    from item2vec.scoring import SCORING_RULES

    datasets = (args.datasets or ("ml-100k" if args.quick else "ml-100k,ml-latest-small")).split(",")
    seeds = [int(s) for s in (args.seeds or ("0" if args.quick else "0,1,2")).split(",")]
    epochs = args.epochs or (3 if args.quick else 20)
    hp = dict(vector_size=args.vector_size, window=args.window, negative=args.negative, sample=args.sample,
              ns_exponent=args.ns_exponent, epochs=epochs, alpha=0.025, min_alpha=1e-4, min_count=1,
              history_length=args.history_length)
    symmetric = dict(backward_window=None, history_decay=None)  # item2vec as gensim trains and scores: symmetric window
    import item2vec

    print(f"# quality  {_dt.date.today()}  item2vec {item2vec.__version__}, gensim {C.gensim_version()}, "
          f"{C.machine_note()}")
    print(f"# settings {hp}, threads={args.threads}, seeds={seeds}, metric @{K}, leave-last-out", flush=True)
    C.warm_up_item2vec(args.threads)
    t_start = time.perf_counter()
    results: dict[tuple[str, str, str], list[tuple[float, float, float]]] = {}
    for name in datasets:
        df = C.load_movielens_frame(name)
        ev = _Evaluator(df)
        print(f"\n== {name}: {len(df):,} events, {df['user'].nunique():,} users, {df['item'].nunique():,} items; "
              f"train {len(ev.train):,} events, {ev.n_targets:,} test users "
              f"({ev.n_dropped} cold-item targets dropped)", flush=True)
        print(f"{'model':<9} {'seed':>4} {'scoring':<7} {'recall@10':>9} {'ndcg@10':>8} {'fit s':>6}", flush=True)
        for seed in seeds:
            models = {
                "item2vec": Item2Vec(**hp, **symmetric, n_threads=args.threads, random_state=seed, verbose=False),
                "gensim": C.GensimSGNS(**hp, workers=args.threads, seed=seed),
            }
            for label, model in models.items():
                for i, rule in enumerate(SCORING_RULES):
                    model.scoring = rule
                    rec, ndcg, fit_s = ev(model, fit=(i == 0))
                    if i == 0:
                        fit_seconds = fit_s
                    results.setdefault((name, label, rule), []).append((rec, ndcg, fit_seconds))
                    print(f"{label:<9} {seed:>4} {rule:<7} {rec:9.4f} {ndcg:8.4f} {fit_seconds:6.2f}", flush=True)
            if not args.no_als:
                from item2vec.baselines import ALSRecommender

                als = ALSRecommender(factors=args.vector_size, iterations=15, regularization=0.01, random_state=seed,
                                     num_threads=args.threads)
                rec, ndcg, fit_s = ev(als, fit=True)
                results.setdefault((name, "ALS", "x_u·y_i"), []).append((rec, ndcg, fit_s))
                print(f"{'ALS':<9} {seed:>4} {'-':<7} {rec:9.4f} {ndcg:8.4f} {fit_s:6.2f}", flush=True)

    print(f"\n## Summary: mean ± std over {len(seeds)} seed(s); epochs={epochs}, vector_size={args.vector_size}, "
          f"window={args.window}, negative={args.negative}, sample={args.sample}\n")
    rows = []
    for (name, label, rule), vals in results.items():
        r_m, r_s = C.mean_std([v[0] for v in vals])
        n_m, n_s = C.mean_std([v[1] for v in vals])
        f_m, _ = C.mean_std([v[2] for v in vals])
        rows.append([name, label, rule, f"{r_m:.4f} ± {r_s:.4f}", f"{n_m:.4f} ± {n_s:.4f}", f"{f_m:.2f}"])
    print(C.markdown_table(["dataset", "model", "scoring", "recall@10", "NDCG@10", "fit s"], rows))
    print(f"\ntotal wall time {time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
