"""The dry-run cost estimate against real fits: pairs, and wall time, per setting.

For each setting: ``item2vec.cost.estimate`` (calibration budget ``--calibration``
seconds), then a real ``fit`` with the same settings in the same process; prints
estimated vs real positive pairs (``model.n_pairs_``) and training seconds
(``model.training_seconds_``).

Example::

    ITEM2VEC_DATA=/work/shared/datasets/movielens python benchmarks/cost.py --dataset ml-100k --threads 1
    python benchmarks/cost.py --quick      # synthetic data
"""

from __future__ import annotations

import argparse
import time

SETTINGS = {
    "default": {},
    "window=10,sample=0": {"window": 10, "sample": 0},
    "set, 10 contexts": {"context": "set", "max_set_contexts": 10},
    "negative=15": {"negative": 15},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="ml-100k")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--calibration", type=float, default=3.0)
    ap.add_argument("--quick", action="store_true", help="synthetic data, 3 epochs")
    args = ap.parse_args()
    from item2vec import Item2Vec
    from item2vec.cost import estimate
    from item2vec.datasets import load_dataset

    if args.quick:
        args.dataset, args.epochs = "synthetic", 3
    data = load_dataset(args.dataset)
    log = data.interactions if hasattr(data, "interactions") else data
    print(f"dataset={args.dataset} events={len(log):,} epochs={args.epochs} threads={args.threads} "
          f"calibration={args.calibration} s")
    print("| setting | est. pairs | real pairs | ratio | est. train s | real train s | ratio | real fit s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, extra in SETTINGS.items():
        params = dict(epochs=args.epochs, n_threads=args.threads, random_state=0, verbose=False, **extra)
        est = estimate(log, calibration_seconds=args.calibration, **params)
        t0 = time.perf_counter()
        model = Item2Vec(**params).fit(log)
        wall = time.perf_counter() - t0
        train = est.estimated_seconds - est.preparation_seconds
        print(f"| {name} | {est.total_pairs:,.0f} | {model.n_pairs_:,} | {est.total_pairs / model.n_pairs_:.3f} "
              f"| {train:.2f} | {model.training_seconds_:.2f} | {train / model.training_seconds_:.2f} | {wall:.2f} |",
              flush=True)


if __name__ == "__main__":
    main()
