"""Query-time profile variants on one fit: does the holdout pick what the test rewards?

For each data set and seed, ``Item2Vec(**params)`` (library defaults unless
``--set``) is fitted once on the leave-last-out train+val data (``history_decay="auto"``,
so ``fit`` withholds its holdout slice). Every profile variant is then scored without
refitting, both on the fit's own holdout (what ``fit`` could choose on) and on the test
targets (what we report):

* ``decay|0.0|0.0``: recency-weighted profile over the whole history (today's rule;
  decays 0.3 ... 0.95 as in ``holdout.DECAY_GRID``, and 0.98, 1.0 = plain mean);
* ``decay|0.5|0.0``: that profile plus 0.5 times the plain mean of the whole history
  (a long-term + short-term mix);
* ``decay|0.0|gamma``: scores minus ``gamma * log(count)`` (popularity correction).

``--summarize FILE`` prints, per data set, the best fixed variants on test and the
test recall@10 of what each selection pool and holdout metric picks (means over seeds).

Written: one JSON line per data set and seed (``--jsonl``): per variant, recall@10,
recall@50, MRR and NDCG@10 on the holdout and on (at most ``--test-users``) test users;
``--save`` also keeps the vectors, holdout and test queries (.npz) for offline rules.

Example::

    ITEM2VEC_DATA=/work/shared/datasets/movielens python benchmarks/scoring_variants.py --datasets lastfm --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import item2vec.model as model_mod
from item2vec import Item2Vec
from item2vec.scoring import encode_histories, mask_rows, profiles
from item2vec.splits import leave_last_out

DECAYS = (0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.98, 1.0)
BETAS = (0.0, 0.25, 0.5, 1.0, 2.0)


def target_ranks(W, T, indptr, indices, targets, decay, beta=0.0, pop=None, gamma=0.0):
    """0-based rank of each target among the unmasked items, ties broken as ``topk_rows`` does; masked: a miss."""
    P = profiles(W, indptr, indices, None, None if decay == 1.0 else decay).astype(np.float64)
    if beta:
        P = P + beta * profiles(W, indptr, indices, None, None)
    P = P.astype(np.float32)
    n = len(targets)
    ranks = np.empty(n, dtype=np.int64)
    step = max(1, (1 << 22) // T.shape[0])
    for a in range(0, n, step):
        b = min(n, a + step)
        S = P[a:b] @ T.T
        if gamma:
            S -= gamma * pop[None, :]
        mask_rows(S, indptr, indices, a, b)
        tg = targets[a:b]
        t = S[np.arange(b - a), tg]
        cols = np.arange(S.shape[1])[None, :]
        # ties rank by the lower column first, as topk_rows does (an all-zero profile must not score a hit)
        ranks[a:b] = (S > t[:, None]).sum(axis=1) + ((S == t[:, None]) & (cols < tg[:, None])).sum(axis=1)
        ranks[a:b][~np.isfinite(t)] = S.shape[1]
    return ranks


def summary(ranks):
    return {"r10": float((ranks < 10).mean()), "r50": float((ranks < 50).mean()),
            "mrr": float((1.0 / (ranks + 1)).mean()), "ndcg10": float(np.where(ranks < 10, 1 / np.log2(ranks + 2), 0).mean())}


POOLS = {
    "today (decay <= 0.95)": lambda d, b, g: b == 0 and g == 0 and d <= 0.95,
    "decays incl. 0.98, 1.0": lambda d, b, g: b == 0 and g == 0,
    "decay x mix": lambda d, b, g: g == 0,
    "decay x popularity": lambda d, b, g: b == 0,
}


def summarize(path: str) -> int:
    rows: dict[str, list[dict]] = {}
    with open(path) as fh:
        for line in fh:
            r = json.loads(line)
            rows.setdefault(r["data"], []).append(r)
    for data, rs in rows.items():
        names = list(rs[0]["variants"])
        mean = {v: np.mean([r["variants"][v]["test"]["r10"] for r in rs]) for v in names}
        print(f"## {data}: seeds {[r['seed'] for r in rs]}, auto picked {[r['auto'] for r in rs]}")
        print("best fixed variants (test R@10): " + ", ".join(f"{v} {mean[v]:.4f}" for v in sorted(names, key=mean.get)[::-1][:4]))
        for label, keep in POOLS.items():
            pool = [v for v in names if keep(*map(float, v.split("|")))]
            got = {m: np.mean([r["variants"][max(pool, key=lambda v: r["variants"][v]["hold"][m])]["test"]["r10"]
                               for r in rs]) for m in ("r10", "r50", "mrr", "ndcg10")}
            print(f"  pool {label:24s} chosen by holdout " + "  ".join(f"{m} -> {x:.4f}" for m, x in got.items()))
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("Example")[0])
    p.add_argument("--datasets", default="lastfm")
    p.add_argument("--seeds", default="0")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--test-users", type=int, default=8000, help="score at most this many random test users")
    p.add_argument("--save", default=None, help="folder: write each fit's vectors, holdout and test queries (.npz)")
    p.add_argument("--jsonl", default=None, help="append one line per data set and seed here")
    p.add_argument("--summarize", default=None, metavar="FILE", help="only summarise a --jsonl file")
    args = p.parse_args(argv)
    if args.summarize:
        return summarize(args.summarize)
    if not args.jsonl:
        p.error("--jsonl FILE is required (or --summarize FILE)")
    from panel import load_set

    params = {}
    for kv in args.set:
        k, v = kv.split("=", 1)
        try:
            params[k] = ast.literal_eval(v)
        except (ValueError, SyntaxError):
            params[k] = v
    captured = {}
    real = model_mod.choose_decay

    def spy(W, C, held, **kw):
        captured["held"] = held
        return real(W, C, held, **kw)

    model_mod.choose_decay = spy
    variants = [(d, 0.0, 0.0) for d in DECAYS] + [(d, 0.5, 0.0) for d in DECAYS if d < 1]
    variants += [(d, 0.0, g) for d in (0.5, 0.7, 0.8, 0.9) for g in (-0.2, 0.2)]
    for name in args.datasets.split(","):
        df, _ = load_set(name)
        split = leave_last_out(df)
        for seed in [int(s) for s in args.seeds.split(",")]:
            t0 = time.time()
            m = Item2Vec(n_threads=args.threads, random_state=seed, verbose=False, **params).fit(split.fit_data("test"))
            fit_s = time.time() - t0
            held = captured.pop("held", None)
            _, hist, tg = split.queries("test")
            if len(hist) > args.test_users:
                pick = np.sort(np.random.default_rng(1234).choice(len(hist), args.test_users, replace=False))
                hist, tg = [hist[i] for i in pick], [tg[i] for i in pick]
            ip, ix = encode_histories(hist, m.vocab_, "ignore")
            tt = m.vocab_.lookup(np.array([t[0] for t in tg]))
            keep = tt >= 0
            W, C = m.item_vectors_, m.context_vectors_
            if args.save:
                Path(args.save).mkdir(parents=True, exist_ok=True)
                np.savez(Path(args.save) / f"{name}_s{seed}.npz", W=W, C=C, counts=m.vocab_.counts, test_indptr=ip,
                         test_indices=ix, test_targets=tt, **({} if held is None else {
                             "held_indptr": held.indptr, "held_indices": held.indices, "held_targets": held.targets}))
            logc = np.log(m.vocab_.counts.astype(np.float64)).astype(np.float32)
            out = {}
            for d, b, g in variants:
                rt = target_ranks(W, C, ip, ix, np.maximum(tt, 0), d, b, logc, g)[keep]
                rh = (target_ranks(W, C, held.indptr, held.indices, held.targets, d, b, logc, g)
                      if held is not None else np.zeros(0, dtype=np.int64))
                out[f"{d}|{b}|{g}"] = {"hold": summary(rh), "test": summary(rt)}
            print(f"# {name} seed {seed}: fit {fit_s:.0f}s, auto decay {m.history_decay_}, "
                  f"held {0 if held is None else len(held)}, test users {keep.sum()}", flush=True)
            with open(args.jsonl, "a") as fh:
                fh.write(json.dumps({"data": name, "seed": seed, "params": params, "auto": m.history_decay_,
                                     "variants": out}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
