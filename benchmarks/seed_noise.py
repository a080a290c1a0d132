#!/usr/bin/env python
"""How much one fit's validation (or test) score moves with the training seed alone.

The tuner compares single fits; this measures the noise it compares through. Per
data set: a leave-last-out split, each setting fitted on train with each seed
(``--threads``, default 1, so that a seed gives one result) and scored on the
validation targets, as ``item2vec tune`` scores a trial (``item2vec.selection.val_scores``;
the data's item groups are given, as ``item2vec tune`` gives them). Printed: one
row per setting, its validation NDCG@10 per seed, the mean and the half-range
over seeds relative to the mean.

``--model als`` refits ALS instead (``--configs`` then gives its settings), to see how
much the denominator of the ratios moves with its own seed.

``--stage test`` instead fits each setting on train + val and scores the test
targets, as the tuner's headline refits its pick (``item2vec.tuning.test_score``):
recall@10 per seed, and its ratio to ``--als`` (a tuned ALS's test recall@10) when given.

Settings: ``--configs FILE.json`` (``{"name": {params}}``), default the five
LastFM settings of the README (defaults; ``group_sentences=1``; + window 40;
+ decay 0.8; window 40 + decay 0.8).

Examples
--------
    ITEM2VEC_DATA=/work/shared/datasets/movielens python benchmarks/seed_noise.py --dataset lastfm --seeds 0,1,2,3
    python benchmarks/seed_noise.py --dataset lastfm --seeds 0,1,2,3,4,5,6,7 --threads 2 --stage test --als 0.0864
    python benchmarks/seed_noise.py --dataset lastfm --seeds 0,1,2,3,4,5,6,7 --stage test --model als --configs als.json
    python benchmarks/seed_noise.py --quick      # synthetic data, two seeds, seconds
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import markdown_table

from item2vec.registry import make_model
from item2vec.selection import val_scores
from item2vec.splits import leave_last_out
from item2vec.tuning import test_score
from item2vec.workflows import tune_base

SETTINGS = {
    "defaults": {},
    "group_sentences=1": {"group_sentences": 1},
    "group_sentences=1, window 40": {"group_sentences": 1, "window": 40},
    "group_sentences=1, window 40, decay 0.8": {"group_sentences": 1, "window": 40, "history_decay": 0.8},
    "window 40, decay 0.8": {"window": 40, "history_decay": 0.8},
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="lastfm")
    p.add_argument("--seeds", default="0,1,2,3")
    p.add_argument("--configs", default=None, metavar="FILE.json")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--model", default="item2vec", help="the model refitted (als: its seed noise, the ratios' denominator)")
    p.add_argument("--stage", choices=("val", "test"), default="val",
                   help="val: fit on train, NDCG@10 on val (what tune compares); test: fit on train+val, recall@10 on test")
    p.add_argument("--als", type=float, default=None, metavar="RECALL", help="with --stage test: ratios to this")
    p.add_argument("--quick", action="store_true", help="synthetic data with planted groups, 2 seeds, 2 epochs")
    args = p.parse_args(argv)
    print("# command: python benchmarks/seed_noise.py " + " ".join(argv if argv is not None else sys.argv[1:]),
          flush=True)
    settings = json.loads(Path(args.configs).read_text()) if args.configs else dict(SETTINGS)
    seeds = [0, 1] if args.quick else [int(s) for s in args.seeds.split(",")]
    if args.quick:
        from item2vec.synthetic import make_synthetic

        frame = make_synthetic(n_users=200, n_items=60, n_clusters=6, seed=0).interactions
        groups = {item: [f"g{int(item) % 6}"] for item in frame["item"].unique()}
        few = {"item2vec": {"epochs": 2}, "als": {"iterations": 2}}.get(args.model, {})
        settings = {name: {**cfg, **few} for name, cfg in settings.items()} if args.model == "item2vec" \
            or args.configs else {"defaults": few}
    else:
        from tuner import load

        frame, groups = load(args.dataset)
    split = leave_last_out(frame)
    base = tune_base(args.model, groups)
    metric, label = ("recall@10", "recall@10") if args.stage == "test" else ("ndcg@10", "NDCG@10")
    ratios = args.stage == "test" and args.als is not None and args.als > 0
    rows = []
    for name, cfg in settings.items():
        scores = []
        for seed in seeds:
            t0 = time.perf_counter()
            if args.stage == "test":
                scores.append(test_score(args.model, {**base, **cfg}, split, ks=(10,), seed=seed,
                                         n_threads=args.threads)[metric])
            else:
                model = make_model(args.model, {**base, **cfg}, seed=seed, n_threads=args.threads)
                scores.append(val_scores(model, split, (10,), metric)[0][metric])
            print(f"{name}: seed {seed} {args.stage} {metric} {scores[-1]:.4f} ({time.perf_counter() - t0:.0f} s)",
                  file=sys.stderr, flush=True)
        mean = sum(scores) / len(scores)
        spread = (max(scores) - min(scores)) / 2 / mean if mean > 0 else float("nan")
        row = [name, " / ".join(f"{s:.4f}" for s in scores), f"{mean:.4f}", f"±{100 * spread:.0f} %"]
        if ratios:
            row.append(f"{mean / args.als:.2f}x ({min(scores) / args.als:.2f}-{max(scores) / args.als:.2f}x)")
        rows.append(row)
    print(f"\n{args.dataset if not args.quick else 'synthetic'}, seeds {', '.join(map(str, seeds))}, "
          f"{args.threads} thread(s):\n")
    head = ["setting", f"{args.stage} {label} per seed", "mean", "half-range / mean"]
    print(markdown_table(head + (["/ ALS: mean (range)"] if ratios else []), rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
