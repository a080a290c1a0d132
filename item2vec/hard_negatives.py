"""Hard negatives: candidates that look like the positive item but are not positives.

Two strategies, both delivered to the numba kernel as one CSR layout
(:class:`item2vec._kernels.HardNegatives`): item -> groups -> weighted members.
A share ``hard_negative_ratio`` of the negative draws for a positive context
item ``o`` is taken from a random group of ``o``; the rest stay
popularity^α noise. A hard draw equal to the center or to ``o`` is skipped.

``"group"``
    The caller supplies item -> group(s) (genre, category, market, brand).
    Members of a group are drawn ∝ ``count ** ns_exponent`` (popularity^α
    within the group), as in market-aware negatives for listing embeddings.
``"mined"``
    Every ``mine_every`` epochs the ``mine_k`` nearest neighbours of each item
    under the current input vectors are found exactly among the ``mine_pool``
    most frequent items (blocked matrix products, O(V·mine_k) memory; the
    pool keeps a round cheap on large catalogues, ``mine_pool=None`` searches
    them all). Neighbours that co-occur with the item in more than
    ``cooccurrence_threshold`` training sequences are removed (the
    false-negative guard: they are probably true positives); the rest are drawn
    uniformly. The guard is applied relative to the positive item ``o``, which
    the center co-occurs with by construction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import pandas as pd
from numba import njit, prange
from threadpoolctl import threadpool_limits

from ._draws import HardNegatives
from .scoring import normalize_rows
from .sequences import Sequences, stable_group_order
from .vocab import Vocabulary

if TYPE_CHECKING:  # pragma: no cover
    from .model import Item2Vec

__all__ = ["group_candidates", "mining_pool", "mine_neighbors", "cooccurrence_counts", "mined_candidates", "make_sampler",
           "groups_to_frame"]


def groups_to_frame(item_groups: Any) -> pd.DataFrame:
    """Normalise an item -> group(s) mapping to a long ``(item, group)`` DataFrame.

    Accepts a dict or Series mapping item -> label or list of labels, or a
    DataFrame with columns ``item`` and ``group`` (one row per membership).
    Missing or empty-string labels are an error (an item with no group should
    simply be left out, or given an empty list).
    """
    if isinstance(item_groups, pd.DataFrame):
        if not {"item", "group"} <= set(item_groups.columns):
            raise KeyError(f"item_groups DataFrame needs columns 'item' and 'group', has {list(item_groups.columns)}")
        long = item_groups[["item", "group"]].reset_index(drop=True)
    else:
        if isinstance(item_groups, Mapping):
            s = pd.Series(list(item_groups.values()), index=list(item_groups.keys()), dtype=object)
        elif isinstance(item_groups, pd.Series):
            s = item_groups.astype(object)
        else:
            raise TypeError(f"item_groups must be a dict, Series or DataFrame(item, group), got {type(item_groups).__name__}")
        s = s.map(lambda g: list(g) if isinstance(g, (list, tuple, set, frozenset, np.ndarray)) else [g])
        long = s.explode().rename("group").rename_axis("item").reset_index()
        long = long[s.loc[long["item"]].map(len).to_numpy() > 0]  # empty lists: no group
    bad = long["group"].isna() | (long["group"].astype(str) == "")
    if bad.any():
        items = long.loc[bad, "item"].tolist()[:10]
        raise ValueError(f"item_groups has empty or missing group labels for items {items}")
    if long.empty:
        raise ValueError("item_groups is empty: no item belongs to any group")
    return long.drop_duplicates()


def _csr(keys: np.ndarray, values: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    order, ptr = stable_group_order(keys, n_keys, values, True)
    return ptr, values[order]


def group_candidates(vocab: Vocabulary, item_groups: Any, ns_exponent: float, ratio: float,
                     on_unknown: str = "raise") -> HardNegatives:
    """Kernel layout for the ``"group"`` strategy.

    Items of the mapping that are not in the training vocabulary raise a
    ``KeyError`` naming them (``on_unknown="raise"``) or are dropped
    (``"ignore"``, for a mapping that covers a whole catalogue).
    """
    long = groups_to_frame(item_groups)
    idx = vocab.lookup(long["item"].to_numpy())
    if on_unknown == "ignore" and (idx < 0).any():
        if (idx < 0).all():
            raise ValueError(f"none of the {long['item'].nunique()} item(s) of item_groups is in the training vocabulary")
        long, idx = long[idx >= 0], idx[idx >= 0]
    if (idx < 0).any():
        unknown = long.loc[idx < 0, "item"].drop_duplicates().tolist()
        shown = ", ".join(repr(x) for x in unknown[:10])
        raise KeyError(
            f"item_groups has {len(unknown)} item(s) not in the training vocabulary: {shown}"
            f"{' ...' if len(unknown) > 10 else ''}; keep only items present in the training data"
        )
    gcodes, _ = pd.factorize(long["group"].astype(str))
    n_groups = int(gcodes.max()) + 1
    item_ptr, item_groups_arr = _csr(idx.astype(np.int64), gcodes.astype(np.int32), len(vocab))
    group_ptr, members = _csr(gcodes.astype(np.int64), idx.astype(np.int32), n_groups)
    weights = np.exp(ns_exponent * np.log(vocab.counts[members].astype(np.float64)))
    return HardNegatives(item_ptr, item_groups_arr, group_ptr, members, np.cumsum(weights), float(ratio))


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


def make_sampler(model: "Item2Vec", seqs: Sequences) -> Callable[[int, np.ndarray], HardNegatives | None]:
    """Per-epoch provider ``(epoch, item_vectors) -> HardNegatives | None`` for ``model.fit`` (None: plain negatives)."""
    ratio, start = float(model.hard_negative_ratio), int(model.hard_negative_start)
    if model.hard_negatives == "group":
        fixed = group_candidates(seqs.vocab, model.item_groups, model.ns_exponent, ratio, model.groups_on_unknown)
        return lambda epoch, vectors: fixed if epoch >= start else None
    index = item_sequence_index(seqs)
    pool = mining_pool(seqs.vocab.counts, model.mine_pool)
    every, k, threshold = int(model.mine_every), int(model.mine_k), int(model.cooccurrence_threshold)
    state: dict[str, HardNegatives] = {}

    def mined(epoch: int, vectors: np.ndarray) -> HardNegatives | None:
        if epoch < start:
            return None
        if "last" not in state or (epoch - start) % every == 0:
            state["last"] = mined_candidates(vectors, index, k, threshold, ratio, pool)
        return state["last"]

    return mined
