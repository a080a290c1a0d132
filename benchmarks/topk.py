"""Top-k selection before/after, in one process: the old argpartition + tie cumsum
(copied here as the reference) against the numba heap of :func:`item2vec.scoring.topk_rows`.

Two measurements, both with the same inputs and checked to give identical results:

* ``topk``: ``topk_rows`` alone on a ``(rows, items)`` float32 score matrix;
* ``recommend``: ``Item2Vec.recommend`` for ``--histories`` histories against
  ``--items`` random item vectors (the pipeline with the old top-k patched in, then the new).

Example::

    python benchmarks/topk.py --items 100000 --histories 20000 --threads 1
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np

import item2vec.scoring as scoring
from item2vec import Item2Vec


def old_topk_rows(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The top-k of item2vec.base before the change (argpartition, tie cumsum, lexsort)."""
    n, m = scores.shape
    kk = min(k, m)
    if kk <= 0 or n == 0:
        return np.full((n, k), -1, dtype=np.int64), np.full((n, k), -np.inf, dtype=np.float32)
    if kk < m:
        kth = -np.partition(-scores, kk - 1, axis=1)[:, kk - 1 : kk]
        above = scores > kth
        tied = scores == kth
        room = kk - above.sum(axis=1, keepdims=True)
        chosen = above | (tied & (np.cumsum(tied, axis=1) <= room))
        part = np.nonzero(chosen)[1].reshape(n, kk)
    else:
        part = np.broadcast_to(np.arange(m), (n, m)).copy()
    vals = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -vals), axis=1)
    idx = np.take_along_axis(part, order, axis=1).astype(np.int64)
    vals = np.take_along_axis(vals, order, axis=1).astype(np.float32)
    idx[np.isneginf(vals)] = -1
    if kk < k:
        idx = np.concatenate([idx, np.full((n, k - kk), -1, dtype=np.int64)], axis=1)
        vals = np.concatenate([vals, np.full((n, k - kk), -np.inf, dtype=np.float32)], axis=1)
    return idx, vals


def best_of(fn, repeats: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("Example")[0])
    p.add_argument("--items", type=int, default=100_000)
    p.add_argument("--histories", type=int, default=20_000)
    p.add_argument("--rows", type=int, default=500, help="rows of the topk-alone matrix")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--threads", type=int, default=1, help="numba and BLAS threads")
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args(argv)
    from threadpoolctl import threadpool_limits

    numba.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    S = rng.standard_normal((args.rows, args.items), dtype=np.float32)
    S[:, rng.integers(args.items, size=args.items // 100)] = -np.inf  # some excluded columns
    scoring.topk_rows(S[:2], args.k)  # compile / load the numba cache outside the timing
    with threadpool_limits(args.threads):
        t_old, a = best_of(lambda: old_topk_rows(S, args.k), args.repeats)
        t_new, b = best_of(lambda: scoring.topk_rows(S, args.k), args.repeats)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
        print(f"# threads={args.threads}, k={args.k}, items={args.items:,}")
        print(f"topk alone ({args.rows} x {args.items:,}): old {t_old * 1e3:.0f} ms, new {t_new * 1e3:.0f} ms, "
              f"speed-up {t_old / t_new:.1f}x")

        W = rng.standard_normal((args.items, args.dim), dtype=np.float32)
        C = rng.standard_normal((args.items, args.dim), dtype=np.float32)
        model = Item2Vec.from_vectors(np.arange(args.items), W, C, counts=rng.integers(1, 100, args.items))
        hist = [rng.integers(args.items, size=int(rng.integers(1, 20))) for _ in range(args.histories)]
        new_topk = scoring.topk_rows
        scoring.topk_rows = old_topk_rows
        try:
            t_rold, ra = best_of(lambda: model.recommend(hist, k=args.k), 1)
        finally:
            scoring.topk_rows = new_topk
        t_rnew, rb = best_of(lambda: model.recommend(hist, k=args.k), 1)
        assert np.array_equal(ra[0], rb[0]) and np.array_equal(ra[1], rb[1])
        print(f"recommend ({args.histories:,} histories x {args.items:,} items): old top-k {t_rold:.2f} s, "
              f"new top-k {t_rnew:.2f} s, speed-up {t_rold / t_rnew:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
