"""Approximate nearest-neighbour serving at catalogue scale: recall and speed-up vs the exact path.

``Item2Vec.from_vectors`` on 1M clustered item vectors (64 dims by default) built
in a few seconds (:func:`clustered_vectors`: 2,000 topic clusters, Zipf counts,
context-vector norms growing with popularity as in a trained SGNS model), and a
batch of 10,000 histories of 3-20 items drawn mostly from one topic each. In ONE
process:

* exact: ``model.recommend(histories, 10)`` without an index (BLAS scores + heap top-k);
* ANN: ``model.build_index(...)`` then the same call (index search, over-fetch,
  filtering, exact fallback for short rows); recall@10 of the ANN ids against the
  exact ids, the number of rows that fell back, build time and index memory;
* the same for ``similar_items`` (cosine index) on 10,000 query items.

Example::

    python benchmarks/ann.py --items 1000000 --histories 10000 --threads 2 --spaces ip --M 16 --ef-construction 64 --ef 256 512 --exact-subset 1000
    python benchmarks/ann.py --quick
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def clustered_vectors(n: int, dim: int, n_histories: int, seed: int = 0):
    """``(W, C, counts, histories)``: item vectors with topic structure and histories over them."""
    rng = np.random.default_rng(seed)
    n_clusters = max(16, n // 500)
    centers = rng.standard_normal((n_clusters, dim), dtype=np.float32)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    sizes = rng.zipf(1.5, n_clusters).astype(np.float64)
    labels = rng.choice(n_clusters, size=n, p=np.minimum(sizes, 1e3) / np.minimum(sizes, 1e3).sum()).astype(np.int32)
    W = rng.standard_normal((n, dim), dtype=np.float32)
    W *= np.float32(0.7 / np.sqrt(dim))
    W += centers[labels]
    counts = np.maximum(1, (n / np.arange(1, n + 1) ** 0.9)).astype(np.int64)
    rng.shuffle(counts)
    scale = (0.5 + 0.1 * np.log1p(counts)).astype(np.float32)
    C = rng.standard_normal((n, dim), dtype=np.float32)
    C *= np.float32(0.5 / np.sqrt(dim))
    C += W
    C *= scale[:, None]
    order = np.argsort(labels, kind="stable")
    start = np.searchsorted(labels[order], np.arange(n_clusters))
    size = np.bincount(labels, minlength=n_clusters)
    lengths = rng.integers(3, 21, n_histories)
    topic = labels[rng.integers(0, n, n_histories)]  # a topic weighted by its size
    histories = []
    for t, L in zip(topic, lengths):
        own = order[start[t] + rng.integers(0, size[t], L)]
        other = rng.integers(0, n, L)
        histories.append(np.where(rng.random(L) < 0.8, own, other).astype(np.int64))
    return W, C, counts, histories


def exact_topk(Q: np.ndarray, X: np.ndarray, k: int, rows: int = 128) -> np.ndarray:
    """Brute-force top-``k`` rows of ``X`` by inner product with each row of ``Q``."""
    from item2vec.scoring import topk_rows

    out = np.empty((Q.shape[0], k), dtype=np.int64)
    for a in range(0, Q.shape[0], rows):
        out[a : a + rows] = topk_rows(Q[a : a + rows] @ X.T, k)[0]
    return out


def recall_at(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of each row's exact ids (padding excluded) found by the ANN row."""
    hits, total = 0, 0
    for a, b in zip(found, truth):
        b = set(b[b >= 0].tolist())
        hits += len(b & set(a.tolist()))
        total += len(b)
    return hits / max(total, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--histories", type=int, default=10_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--kind", default="hnsw")
    ap.add_argument("--M", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=64)
    ap.add_argument("--ef", type=int, nargs="+", default=[256, 512])
    ap.add_argument("--spaces", nargs="+", default=["ip", "cosine"], help="ip: recommend; cosine: similar_items")
    ap.add_argument("--similar-queries", type=int, default=10_000)
    ap.add_argument("--exact-subset", type=int, default=None,
                    help="run the exact path on the first N histories/queries only (its q/s and the recall "
                         "reference); the ANN q/s is still for the whole batch")
    ap.add_argument("--quick", action="store_true", help="20k items, 1,000 histories (smoke test)")
    args = ap.parse_args()
    if args.quick:
        args.items, args.histories, args.similar_queries = 20_000, 1_000, 1_000
    import numba
    from threadpoolctl import threadpool_limits

    from item2vec import Item2Vec

    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    t0 = time.perf_counter()
    W, C, counts, hist = clustered_vectors(args.items, args.dim, args.histories)
    model = Item2Vec.from_vectors(np.arange(args.items), W, C, counts=counts, verbose=False)
    del W, C
    print(f"items={args.items:,} dim={args.dim} histories={args.histories:,} threads={args.threads} "
          f"kind={args.kind} M={args.M} efConstruction={args.ef_construction} exact subset={args.exact_subset or 'all'}"
          f"  (data {time.perf_counter() - t0:.1f} s)")
    queries = np.random.default_rng(1).integers(0, args.items, args.similar_queries)
    rows = []
    with threadpool_limits(args.threads):
        n_exact = args.exact_subset or max(len(hist), len(queries))
        exact_ids = exact_sim = None
        exact_rec = exact_sims = 0.0
        model.recommend(hist[:2], 10), model.similar_items(queries[:2], 10)  # warm-up (numba loads its kernels)
        if "ip" in args.spaces:
            t0 = time.perf_counter()
            exact_ids, _ = model.recommend(hist[:n_exact], 10)
            exact_rec = (time.perf_counter() - t0) * len(hist) / len(hist[:n_exact])  # seconds for the whole batch
        if "cosine" in args.spaces:
            t0 = time.perf_counter()
            exact_sim, _ = model.similar_items(queries[:n_exact], 10)
            exact_sims = (time.perf_counter() - t0) * len(queries) / len(queries[:n_exact])
        t0 = time.perf_counter()
        model.build_index(args.kind, spaces=args.spaces, M=args.M, ef_construction=args.ef_construction, threads=args.threads)
        build = time.perf_counter() - t0
        info = model.index_.info()
        for ef in args.ef:
            model.index_.set_search(ef=ef)
            for space, what, call, exact_ids_, exact_s, n_q in (
                ("ip", "recommend (ip)", lambda: model.recommend(hist, 10), exact_ids, exact_rec, len(hist)),
                ("cosine", "similar_items (cosine)", lambda: model.similar_items(queries, 10), exact_sim, exact_sims,
                 len(queries)),
            ):
                if space not in args.spaces:
                    continue
                call()  # warm-up (first call may compile / page in)
                t0 = time.perf_counter()
                ids, _ = call()
                secs = time.perf_counter() - t0
                rows.append((what, ef, n_q / exact_s, n_q / secs, exact_s / secs,
                             recall_at(ids[: len(exact_ids_)], exact_ids_), model.index_.last_fallbacks))
    print(f"index build {build:.1f} s; index memory {info['bytes'] / 2**20:,.0f} MiB ({info['library']} {info['version']}, "
          f"spaces {info['spaces']})")
    print("| query | ef | exact q/s | ANN q/s | speed-up | recall@10 vs exact | exact fallbacks |")
    print("|---|---|---|---|---|---|---|")
    for what, ef, eq, aq, ratio, rec, fb in rows:
        print(f"| {what} | {ef} | {eq:,.0f} | {aq:,.0f} | {ratio:.1f}x | {rec:.4f} | {fb} |")


if __name__ == "__main__":
    main()
