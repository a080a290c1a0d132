"""Do hard negatives help? recall@10 / NDCG@10 with hard negatives off, group and mined.

Leave-last-out, full ranking, test stage (fit on train+val), base item2vec
settings held fixed (the tuned defaults of ``item2vec evaluate``), several
ratios, several seeds; prints mean ± std, the training time (kernel + mining)
against "off",
mining time relative to training time, and the cost of one mining round
measured in training epochs.

    ITEM2VEC_DATA=../shared/datasets/movielens python benchmarks/hard_negatives.py
    python benchmarks/hard_negatives.py --quick        # one dataset, one seed, one ratio

Datasets: ml-100k and ml-latest-small (groups = MovieLens genres) and the
planted-structure synthetic data with confusable clusters (groups = look-alike
cluster families that are never co-consumed).
"""

from __future__ import annotations

import argparse
from typing import Any
import time

import numpy as np
import pandas as pd

from item2vec import GroupNegatives, Item2Vec, MinedNegatives
from item2vec.cli import parse_settings
from item2vec.datasets import genre_map, load_dataset
from item2vec.evaluation import evaluate
from item2vec.splits import leave_last_out
from item2vec.workflows import DEFAULT_MODEL_PARAMS, CLIError

#: Base settings held fixed for every hard-negative variant: the tuned defaults of ``item2vec evaluate``.
BASE = dict(DEFAULT_MODEL_PARAMS["item2vec"])


def item_groups(data) -> Any:
    """item -> group label(s) for the whole catalogue: the synthetic look-alike families, else MovieLens genres.

    Used with ``GroupNegatives(on_unknown="ignore")``, as the CLI does: items absent
    from the training part of the split are dropped by the model.
    """
    return data.items.set_index("item")["group"] if "group" in data.items.columns else genre_map(data.items)


def run(dataset: str, variants: list[tuple[str, float]], seeds: list[int], base: dict, threads: int) -> pd.DataFrame:
    kw = dict(n_users=3000, n_items=1200, n_clusters=24, confusable=2, events_per_user=30) if dataset == "synthetic" else {}
    data = load_dataset(dataset, **kw)
    split = leave_last_out(data.interactions)
    groups = item_groups(data)
    rows = []
    for strategy, ratio in variants:
        for seed in seeds:
            params = dict(base, n_threads=threads, random_state=seed, verbose=False)
            if strategy == "group":
                params.update(hard_negatives=GroupNegatives(groups, ratio=ratio, start=1, on_unknown="ignore"))
            elif strategy == "mined":
                params.update(hard_negatives=MinedNegatives(ratio=ratio, start=1))
            model = Item2Vec(**params)
            t0 = time.perf_counter()
            res = evaluate(model, split, ks=(10,), stage="test")
            rows.append(dict(dataset=dataset, strategy=strategy, ratio=ratio, seed=seed, recall=res["recall@10"],
                             ndcg=res["ndcg@10"], fit_s=res["fit_seconds"], mining_s=model.mining_seconds_,
                             train_s=model.training_seconds_, epochs=model.epochs, rounds=mining_rounds(model),
                             total_s=time.perf_counter() - t0))
            print(f"  {dataset:16s} {strategy:5s} ratio={ratio:<4} seed={seed} recall@10={res['recall@10']:.4f} "
                  f"ndcg@10={res['ndcg@10']:.4f} fit={res['fit_seconds']:.2f}s", flush=True)
    return pd.DataFrame(rows)


def mining_cost(dataset: str, pools: list[int | None], threads: int, repeats: int = 5) -> pd.DataFrame:
    """Seconds of one mining round (neighbours + co-occurrence guard) per ``mine_pool``, against one epoch.

    Vectors come from a plain 5-epoch fit of the base settings on the whole
    dataset; the epoch time is the numba kernel's (``training_seconds_ / 5``).
    """
    from item2vec import build_sequences
    from item2vec.mining import item_sequence_index, mined_candidates, mining_pool

    data = load_dataset(dataset)
    seqs = build_sequences(data.interactions, time_col="timestamp")
    model = Item2Vec(**dict(BASE, epochs=5), n_threads=threads, random_state=0, verbose=False).fit(seqs)
    epoch = model.training_seconds_ / 5
    index = item_sequence_index(seqs)
    rows = []
    for size in pools:
        pool = mining_pool(seqs.vocab.counts, size)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            mined_candidates(model.item_vectors_, index, 20, 0, 0.2, pool)
            times.append(time.perf_counter() - t0)
        rows.append(dict(dataset=dataset, items=len(seqs.vocab), mine_pool="all" if size is None else size,
                         round_s=float(np.median(times)), epoch_s=epoch))
        print(f"  {dataset:16s} mine_pool={rows[-1]['mine_pool']!s:6s} round={rows[-1]['round_s']:.3f}s "
              f"epoch={epoch:.3f}s", flush=True)
    out = pd.DataFrame(rows)
    out["round_in_epochs"] = out["round_s"] / out["epoch_s"]
    return out


def mining_rounds(model: Item2Vec) -> int:
    """How many times ``fit`` mined neighbours (epochs start, start + every, ... below epochs)."""
    hard = model.hard_negatives
    if not isinstance(hard, MinedNegatives) or hard.start >= model.epochs:
        return 0
    return len(range(hard.start, model.epochs, hard.every))


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    g = df.groupby(["dataset", "strategy", "ratio"], sort=False)
    out = g.agg(recall_mean=("recall", "mean"), recall_std=("recall", "std"), ndcg_mean=("ndcg", "mean"),
                ndcg_std=("ndcg", "std"), fit_s=("fit_s", "mean"), mining_s=("mining_s", "mean"),
                train_s=("train_s", "mean"), epochs=("epochs", "first"), rounds=("rounds", "first")).reset_index()
    # overhead = (numba kernel + mining) / kernel time without hard negatives: steadier than wall-clock fit
    # time, which also holds sequence building and interpreter noise
    off = out[out.strategy == "off"].set_index("dataset")["train_s"]
    out["overhead"] = (out["train_s"] + out["mining_s"]) / out["dataset"].map(off)
    out["mining_share"] = out["mining_s"] / out["train_s"]  # mining time per epoch / training time per epoch
    out["round_epochs"] = (out["mining_s"] / out["rounds"].clip(lower=1)) / (out["train_s"] / out["epochs"])
    return out


def markdown(s: pd.DataFrame) -> str:
    lines = ["| dataset | hard negatives | ratio | recall@10 | NDCG@10 | training time vs off | mining / training time "
             "| one mining round, in epochs |", "|---|---|---|---|---|---|---|---|"]
    for r in s.itertuples():
        ratio = "-" if r.strategy == "off" else f"{r.ratio:g}"
        lines.append(f"| {r.dataset} | {r.strategy} | {ratio} | {r.recall_mean:.4f} ± {np.nan_to_num(r.recall_std):.4f} | "
                     f"{r.ndcg_mean:.4f} ± {np.nan_to_num(r.ndcg_std):.4f} | {r.overhead:.2f}x | "
                     + ("- | - |" if r.strategy != "mined" else f"{r.mining_share:.1%} | {r.round_epochs:.2f} |"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default="ml-100k,ml-latest-small,synthetic")
    ap.add_argument("--ratios", default="0.1,0.25,0.5")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--set", action="append", default=[], metavar="PARAM=VALUE", help="override a base item2vec setting")
    ap.add_argument("--quick", action="store_true", help="one dataset, one seed, one ratio, few epochs")
    ap.add_argument("--mining-cost", metavar="POOLS", default=None,
                    help="only time one mining round per mine_pool size (comma list, 'all' = whole catalogue) "
                         "against one training epoch, e.g. 512,1024,2048,all")
    args = ap.parse_args(argv)
    try:  # the CLI's own --set parser: literals, None/true/false, names checked against Item2Vec
        base = {**BASE, **parse_settings(args.set, ["item2vec"], default_model="item2vec").get("item2vec", {})}
    except CLIError as e:
        ap.error(str(e))
    datasets, ratios, seeds = args.datasets.split(","), [float(r) for r in args.ratios.split(",")], list(range(args.seeds))
    if args.quick:
        datasets, ratios, seeds = ["synthetic"], [0.25], [0]
        base["epochs"] = 3
    if args.mining_cost:
        pools = [None if p == "all" else int(p) for p in args.mining_cost.split(",")]
        cost = pd.concat([mining_cost(d, pools, args.threads) for d in datasets if d != "synthetic"], ignore_index=True)
        print()
        print("| dataset | items | mine_pool | one round s | one epoch s | round / epoch |\n|---|---|---|---|---|---|")
        for r in cost.itertuples():
            print(f"| {r.dataset} | {r.items:,} | {r.mine_pool} | {r.round_s:.3f} | {r.epoch_s:.3f} | {r.round_in_epochs:.2f} |")
        return 0
    variants = [("off", 0.0)] + [(s, r) for s in ("group", "mined") for r in ratios]
    print(f"base settings: {base}")
    warm = [[i % 7, (i + 1) % 7, (i + 3) % 7] for i in range(50)]  # load compiled kernels before timing
    Item2Vec(epochs=2, verbose=False, hard_negatives=GroupNegatives({i: [i % 2] for i in range(7)})).fit(warm)
    Item2Vec(epochs=2, verbose=False, hard_negatives=MinedNegatives(k=3)).fit(warm)
    results = pd.concat([run(d, variants, seeds, base, args.threads) for d in datasets], ignore_index=True)
    print()
    print(markdown(summarise(results)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
