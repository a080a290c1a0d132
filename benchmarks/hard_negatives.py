"""Do hard negatives help? recall@10 / NDCG@10 with hard negatives off, group and mined.

Leave-last-out, full ranking, test stage (fit on train+val), base item2vec
settings held fixed, several ratios, several seeds; prints mean ± std, the fit
time overhead against "off", and the share of fit time spent mining.

    ITEM2VEC_DATA=../shared/datasets/movielens python benchmarks/hard_negatives.py
    python benchmarks/hard_negatives.py --quick        # one dataset, one seed, one ratio

Datasets: ml-100k and ml-latest-small (groups = MovieLens genres) and the
planted-structure synthetic data with confusable clusters (groups = look-alike
cluster families that are never co-consumed).
"""

from __future__ import annotations

import argparse
import ast
import time

import numpy as np
import pandas as pd

from item2vec import Item2Vec
from item2vec.datasets import load_dataset
from item2vec.evaluation import evaluate
from item2vec.splits import leave_last_out

#: Base settings held fixed for every hard-negative variant (the tuned defaults).
BASE = dict(vector_size=64, window=5, negative=5, epochs=20, ns_exponent=0.75, sample=1e-3)


def item_groups(data, train_items: np.ndarray) -> dict:
    """item -> list of group labels, restricted to items present in the training data."""
    items = data.items
    col = "group" if "group" in items.columns else "genres"
    keep = items[items["item"].isin(train_items)]
    if col == "genres":
        return {i: [g for g in gs if g != "(no genres listed)"] for i, gs in zip(keep["item"], keep["genres"])}
    return {i: [g] for i, g in zip(keep["item"], keep[col])}


def run(dataset: str, variants: list[tuple[str, float]], seeds: list[int], base: dict, threads: int) -> pd.DataFrame:
    kw = dict(n_users=3000, n_items=1200, n_clusters=24, confusable=2, events_per_user=30) if dataset == "synthetic" else {}
    data = load_dataset(dataset, **kw)
    split = leave_last_out(data.interactions)
    groups = item_groups(data, split.fit_data("test")["item"].unique())
    rows = []
    for strategy, ratio in variants:
        for seed in seeds:
            params = dict(base, n_threads=threads, random_state=seed, verbose=False)
            if strategy != "off":
                params.update(hard_negatives=strategy, hard_negative_ratio=ratio, hard_negative_start=1)
                if strategy == "group":
                    params["item_groups"] = groups
            model = Item2Vec(**params)
            t0 = time.perf_counter()
            res = evaluate(model, split, ks=(10,), stage="test")
            rows.append(dict(dataset=dataset, strategy=strategy, ratio=ratio, seed=seed, recall=res["recall@10"],
                             ndcg=res["ndcg@10"], fit_s=res["fit_seconds"], mining_s=model.mining_seconds_,
                             total_s=time.perf_counter() - t0))
            print(f"  {dataset:16s} {strategy:5s} ratio={ratio:<4} seed={seed} recall@10={res['recall@10']:.4f} "
                  f"ndcg@10={res['ndcg@10']:.4f} fit={res['fit_seconds']:.2f}s", flush=True)
    return pd.DataFrame(rows)


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    g = df.groupby(["dataset", "strategy", "ratio"], sort=False)
    out = g.agg(recall_mean=("recall", "mean"), recall_std=("recall", "std"), ndcg_mean=("ndcg", "mean"),
                ndcg_std=("ndcg", "std"), fit_s=("fit_s", "mean"), mining_s=("mining_s", "mean")).reset_index()
    off = out[out.strategy == "off"].set_index("dataset")["fit_s"]
    out["overhead"] = out["fit_s"] / out["dataset"].map(off)
    out["mining_share"] = out["mining_s"] / out["fit_s"]
    return out


def markdown(s: pd.DataFrame) -> str:
    lines = ["| dataset | hard negatives | ratio | recall@10 | NDCG@10 | fit time vs off | mining share |",
             "|---|---|---|---|---|---|---|"]
    for r in s.itertuples():
        ratio = "-" if r.strategy == "off" else f"{r.ratio:g}"
        lines.append(f"| {r.dataset} | {r.strategy} | {ratio} | {r.recall_mean:.4f} ± {np.nan_to_num(r.recall_std):.4f} | "
                     f"{r.ndcg_mean:.4f} ± {np.nan_to_num(r.ndcg_std):.4f} | {r.overhead:.2f}x | {r.mining_share:.1%} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", default="ml-100k,ml-latest-small,synthetic")
    ap.add_argument("--ratios", default="0.1,0.25,0.5")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--set", action="append", default=[], metavar="PARAM=VALUE", help="override a base item2vec setting")
    ap.add_argument("--quick", action="store_true", help="one dataset, one seed, one ratio, few epochs")
    args = ap.parse_args(argv)
    base = dict(BASE)
    for item in args.set:
        k, _, v = item.partition("=")
        try:
            base[k] = ast.literal_eval(v)
        except (ValueError, SyntaxError):
            base[k] = v
    datasets, ratios, seeds = args.datasets.split(","), [float(r) for r in args.ratios.split(",")], list(range(args.seeds))
    if args.quick:
        datasets, ratios, seeds = ["synthetic"], [0.25], [0]
        base["epochs"] = 3
    variants = [("off", 0.0)] + [(s, r) for s in ("group", "mined") for r in ratios]
    print(f"base settings: {base}")
    warm = [[i % 7, (i + 1) % 7, (i + 3) % 7] for i in range(50)]  # load compiled kernels before timing
    Item2Vec(epochs=2, verbose=False, hard_negatives="group", item_groups={i: [i % 2] for i in range(7)}).fit(warm)
    Item2Vec(epochs=2, verbose=False, hard_negatives="mined", mine_k=3).fit(warm)
    results = pd.concat([run(d, variants, seeds, base, args.threads) for d in datasets], ignore_index=True)
    print()
    print(markdown(summarise(results)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
