"""Mined hard negatives: exact nearest neighbours in a frequent-item pool, minus co-occurring items.

The numeric core of :class:`item2vec.hard_negatives.MinedNegatives`: one
mining round finds each item's ``k`` nearest neighbours (cosine of the input
vectors) among a pool of frequent items (:func:`mine_neighbors`), drops those
that share more than a threshold of training sequences with it
(:func:`cooccurrence_counts`) and lays the rest out for the kernel
(:func:`mined_candidates`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange
from threadpoolctl import threadpool_limits

from ._draws import HardNegatives
from .scoring import normalize_rows
from .sequences import Sequences

__all__ = ["mining_pool", "mine_neighbors", "cooccurrence_counts", "item_sequence_index", "mined_candidates"]


def mining_pool(counts: np.ndarray, size: int | None) -> np.ndarray:
    """The items eligible as mined neighbours: the ``size`` most frequent (all when ``None``).

    Returned in a fixed pseudo-random order (int32). The order does not change
    which neighbours are found, only how fast: scanning candidates in
    popularity order makes the running top-k threshold rise slowly, which
    measured 2-2.5x slower on trained MovieLens vectors.
    """
    V = counts.shape[0]
    if size is None or size >= V:
        pool = np.arange(V, dtype=np.int32)
    else:
        pool = np.argsort(-counts, kind="stable")[:size].astype(np.int32)
    return np.random.default_rng(0x1E2).permutation(pool)


def mine_neighbors(vectors: np.ndarray, k: int, pool: np.ndarray | None = None, block: int = 256) -> np.ndarray:
    """Exact top-``k`` cosine neighbours of every row among ``pool`` (self excluded), ``(V, k)`` int32.

    ``pool`` holds the candidate item indices (default: all rows). Each numba
    thread takes ``block`` rows at a time, scores them against the pool with
    one single-threaded BLAS product and keeps each row's best ``k`` (best
    first): memory is O(V·k) plus one ``block × len(pool)`` score matrix per
    thread. BLAS is held to one thread meanwhile: its idle worker threads
    otherwise spin and steal the cores from the numba threads (measured: 2x
    slower), and fixed blocks make the result independent of the thread
    count. Rows with fewer than ``k`` candidates are padded with -1.
    """
    U = normalize_rows(vectors)
    cols = np.arange(U.shape[0], dtype=np.int32) if pool is None else np.ascontiguousarray(pool, dtype=np.int32)
    P = np.ascontiguousarray(U[cols].T)
    with threadpool_limits(1, "blas"):
        return _block_topk(U, P, cols, k, block)


@njit(parallel=True, cache=True)
def _block_topk(U, P, cols, k, block):
    """Rows of ``U`` in blocks: scores ``U[a:b] @ P``, then the best ``k`` of ``cols`` per row, skipping the row's own item."""
    V = U.shape[0]
    m = P.shape[1]
    out = np.full((V, k), -1, dtype=np.int32)
    for bi in prange((V + block - 1) // block):
        a = bi * block
        b = min(V, a + block)
        S = np.dot(U[a:b], P)
        vals = np.empty(k, dtype=np.float32)
        for r in range(b - a):
            vals[:] = -np.inf
            me = a + r
            thr = vals[k - 1]
            for j in range(m):
                v = S[r, j]
                if v <= thr or cols[j] == me:
                    continue
                p = k - 1
                while p > 0 and vals[p - 1] < v:
                    vals[p] = vals[p - 1]
                    out[me, p] = out[me, p - 1]
                    p -= 1
                vals[p] = v
                out[me, p] = cols[j]
                thr = vals[k - 1]
    return out


@njit(inline="always")
def _shared_count(seqs, a, ae, b, be):
    """Common elements of the sorted slices ``seqs[a:ae]`` and ``seqs[b:be]``."""
    if ae - a > be - b:
        a, ae, b, be = b, be, a, ae
    n = 0
    if (ae - a) * 8 < be - b:  # much shorter: binary-search each element in the longer list
        for p in range(a, ae):
            x = seqs[p]
            lo, hi = b, be
            while lo < hi:
                mid = (lo + hi) >> 1
                if seqs[mid] < x:
                    lo = mid + 1
                else:
                    hi = mid
            if lo < be and seqs[lo] == x:
                n += 1
            b = lo  # later elements lie further on
    else:  # similar lengths: merge
        while a < ae and b < be:
            x, y = seqs[a], seqs[b]
            n += x == y
            a += x <= y
            b += y <= x
    return n


@njit(parallel=True, cache=True)
def _cooccurrence(item_ptr, item_seqs, cand, n_stripes):
    """Number of sequences shared by item i and each candidate ``cand[i, m]``.

    Rows are dealt out in interleaved stripes: items are ordered by frequency,
    so contiguous ranges would give one thread all the long lists.
    """
    V, M = cand.shape
    out = np.zeros((V, M), dtype=np.int64)
    for t in prange(n_stripes):
        for i in range(t, V, n_stripes):
            for m in range(M):
                j = cand[i, m]
                if j >= 0:
                    out[i, m] = _shared_count(item_seqs, item_ptr[i], item_ptr[i + 1], item_ptr[j], item_ptr[j + 1])
    return out


def cooccurrence_counts(index: tuple[np.ndarray, np.ndarray], cand: np.ndarray) -> np.ndarray:
    """``(V, M)`` count of training sequences shared by item ``i`` and ``cand[i, m]`` (0 for padding)."""
    return _cooccurrence(index[0], index[1], cand, max(1, min(cand.shape[0], 256)))


def item_sequence_index(seqs: Sequences) -> tuple[np.ndarray, np.ndarray]:
    """CSR item -> sorted distinct sequence ids containing it."""
    seq_of = np.repeat(np.arange(len(seqs), dtype=np.int64), seqs.lengths)
    pairs = np.unique(seqs.items.astype(np.int64) * len(seqs) + seq_of)
    items, seq_ids = np.divmod(pairs, len(seqs))
    ptr = np.zeros(len(seqs.vocab) + 1, dtype=np.int64)
    np.cumsum(np.bincount(items, minlength=len(seqs.vocab)), out=ptr[1:])
    return ptr, seq_ids.astype(np.int64)


def mined_candidates(vectors: np.ndarray, index: tuple[np.ndarray, np.ndarray], k: int, threshold: int, ratio: float,
                     pool: np.ndarray | None = None) -> HardNegatives:
    """Kernel layout for the ``"mined"`` strategy: each item's own neighbour list is its group."""
    cand = mine_neighbors(vectors, k, pool)
    keep = (cand >= 0) & (cooccurrence_counts(index, cand) <= threshold)
    V = cand.shape[0]
    group_ptr = np.zeros(V + 1, dtype=np.int64)
    np.cumsum(keep.sum(axis=1), out=group_ptr[1:])
    members = cand[keep].astype(np.int32)  # row-major: grouped by item
    return HardNegatives(np.arange(V + 1, dtype=np.int64), np.arange(V, dtype=np.int32), group_ptr, members,
                         np.arange(1, members.size + 1, dtype=np.float64), float(ratio))
