"""Profiles from histories, history encoding and THE top-k of every recommender.

Two scoring rules are offered for ``Item2Vec.recommend``:

``"sgns"``
    The model's own objective: the profile is the (weighted) mean of the input
    vectors of the last ``n`` history items and a candidate ``j`` scores
    ``profile · C[j]`` with ``C`` the context (output) vectors. Because σ is
    monotone this ranks candidates by the mean predicted log-odds of being a
    context of the history.
``"cosine"``
    The classic item2vec rule: the profile is the (weighted) mean of the
    L2-normalised input vectors of the last ``n`` history items and a candidate
    scores the cosine between the profile and its input vector.

Top-k selection (:func:`topk_rows`, :func:`chunked_topk`) lives here only; the
baselines and ``Item2Vec`` all call it through :class:`item2vec.recommender.RecommenderBase`.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd
from numba import njit, prange

from .vocab import Vocabulary

__all__ = ["SCORING_RULES", "encode_histories", "profiles", "topk_rows", "chunked_topk", "mask_rows",
           "cosine_neighbours", "normalize_rows", "CHUNK_CELLS"]

SCORING_RULES = ("sgns", "cosine")
#: Score-matrix cells computed at once (rows are chunked so a block holds at most this many floats).
CHUNK_CELLS = 1 << 23


def normalize_rows(X: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero), float32."""
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return (X / np.where(norms > 0, norms, 1.0)).astype(np.float32, copy=False)


# ---------------------------------------------------------------------------- encoding
def _history_array(h: Any, j: int) -> np.ndarray:
    """One history as a 1-D array without letting numpy coerce mixed ids (``[1, "x"]`` stays 1 and "x")."""
    if isinstance(h, (str, bytes)):
        raise TypeError(f"histories[{j}] is a single string {h!r}; each history must be an array of item ids")
    if isinstance(h, np.ndarray):
        a = h
    else:
        if not hasattr(h, "__len__"):
            h = list(h) if hasattr(h, "__iter__") else h
        a = np.asarray(h)
        if a.dtype.kind not in "iu" and a.size:  # "U"/"f"/"O": numpy may have coerced a mix; keep each element
            a = np.asarray(h, dtype=object)
    if a.ndim != 1:
        if a.ndim == 0:
            raise TypeError(f"histories[{j}] is a single id {h!r}; each history must be a 1-D array of item ids")
        raise TypeError(f"histories[{j}] has shape {a.shape}; each history must be a 1-D array of item ids")
    return a


def encode_histories(histories: list[Any], vocab: Vocabulary, on_unknown: str) -> tuple[np.ndarray, np.ndarray]:
    """Encode raw-id histories to a CSR ``(indptr int64, indices int32)``.

    Each history is encoded by its own element types: a batch that mixes an
    integer history, a string history and an empty one never changes the type
    of any id. ``on_unknown="raise"`` raises ``KeyError`` naming the unknown ids
    (and the history they came from); ``"ignore"`` drops them.
    """
    check_on_unknown(on_unknown)
    arrays = [_history_array(h, j) for j, h in enumerate(histories)]
    lengths = np.fromiter((a.size for a in arrays), dtype=np.int64, count=len(arrays))
    starts = np.zeros(len(arrays) + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    idx = np.full(int(starts[-1]), -1, dtype=np.int32)
    groups: dict[np.dtype, list[int]] = {}
    for j, a in enumerate(arrays):
        if a.size:
            groups.setdefault(a.dtype, []).append(j)
    for dtype, rows in groups.items():  # one lookup per element dtype, never a concatenation across dtypes
        flat = arrays[rows[0]] if len(rows) == 1 else np.concatenate([arrays[j] for j in rows])
        if (dtype.kind == "f" and np.isnan(flat).any()) or (dtype == object and pd.isna(flat).any()):
            raise ValueError("histories contain missing item ids (NaN/None); drop them first")
        codes = vocab.lookup(flat)
        if len(groups) == 1:  # the non-empty histories in order are the whole flat array
            idx[:] = codes
        else:
            idx[np.concatenate([np.arange(starts[j], starts[j + 1]) for j in rows])] = codes
    if (idx < 0).any():
        bad = np.flatnonzero(idx < 0)
        if on_unknown == "raise":
            row = int(np.searchsorted(starts[1:], bad[0], side="right"))
            seen: dict[Any, None] = {}
            for b in bad[:1000]:
                r = int(np.searchsorted(starts[1:], b, side="right"))
                seen.setdefault(arrays[r][b - starts[r]], None)
            unknown = list(seen)
            shown = ", ".join(repr(x.item() if isinstance(x, np.generic) else x) for x in unknown[:10])
            more = " (and more)" if len(unknown) > 10 else ""
            raise KeyError(f"unknown item ids {shown}{more} (first in history {row}); the model knows {len(vocab)} "
                           "items. Pass on_unknown='ignore' to drop them.")
        keep = idx >= 0
        row_of = np.repeat(np.arange(len(arrays)), lengths)
        lengths = np.bincount(row_of[keep], minlength=len(arrays)).astype(np.int64)
        idx = idx[keep]
    indptr = np.zeros(len(arrays) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    return indptr, idx


def check_on_unknown(on_unknown: Any) -> None:
    """The one ``on_unknown`` check and message of every query method."""
    if not isinstance(on_unknown, str) or on_unknown not in ("raise", "ignore"):
        raise ValueError(f"on_unknown must be 'raise' or 'ignore', got on_unknown={on_unknown!r}")


# ---------------------------------------------------------------------------- profiles
def profiles(vectors: np.ndarray, indptr: np.ndarray, indices: np.ndarray, last_n: int | None,
             decay: float | None = None) -> np.ndarray:
    """Weighted mean of the rows of ``vectors`` over each history's last ``last_n`` items.

    The item at age ``a`` (newest ``a = 0``) weighs ``decay ** a`` (1 when
    ``decay`` is None: the plain mean), after the ``last_n`` cut-off. Empty
    histories give a zero profile. Fully vectorised (no loop per user).
    """
    n = indptr.size - 1
    lengths = np.diff(indptr)
    starts = np.maximum(indptr[:-1], indptr[1:] - last_n) if last_n is not None else indptr[:-1]
    used = indptr[1:] - starts
    mask = np.ones(indices.size, dtype=bool)
    if last_n is not None and (lengths > used).any():
        pos = np.arange(indices.size) - np.repeat(indptr[:-1], lengths)
        mask = pos >= np.repeat(lengths - used, lengths)
    rows = np.repeat(np.arange(n), lengths)[mask]
    out = np.zeros((n, vectors.shape[1]), dtype=np.float64)
    values = vectors[indices[mask]].astype(np.float64)
    if decay is None or decay == 1:
        total = np.maximum(used, 1).astype(np.float64)
    else:
        age = np.repeat(indptr[1:], lengths)[mask] - 1 - np.flatnonzero(mask)
        w = np.power(float(decay), age.astype(np.float64))
        values *= w[:, None]
        total = np.bincount(rows, weights=w, minlength=n)
        total[total == 0] = 1.0
    if rows.size:
        starts_ = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        out[rows[starts_]] += np.add.reduceat(values, starts_, axis=0)
    out /= total[:, None]
    return out.astype(np.float32)


# ---------------------------------------------------------------------------- top-k
@njit(cache=True, inline="always")
def _worse(v1, i1, v2, i2):
    """Entry (v1, i1) ranks below (v2, i2): lower score, or equal score and higher column."""
    return v1 < v2 or (v1 == v2 and i1 > i2)


@njit(cache=True)
def _sift_down(hv, hi, pos, size):
    v, i = hv[pos], hi[pos]
    while True:
        c = 2 * pos + 1
        if c >= size:
            break
        if c + 1 < size and _worse(hv[c + 1], hi[c + 1], hv[c], hi[c]):
            c += 1
        if not _worse(hv[c], hi[c], v, i):
            break
        hv[pos], hi[pos] = hv[c], hi[c]
        pos = c
    hv[pos], hi[pos] = v, i


@njit(cache=True, parallel=True)
def _topk_kernel(S, out_idx, out_val):
    """Per row: a heap of the best ``kk`` entries (root = worst kept), then heap-sorted best first.

    ``-inf`` and NaN are excluded. Columns are scanned in increasing order, so a
    new entry tied with the root has a higher column and ranks below it: the
    tie-break by lower column index needs no extra pass.
    """
    n, m = S.shape
    kk = out_idx.shape[1]
    for r in prange(n):
        row, hv, hi = S[r], out_val[r], out_idx[r]
        size = 0
        j = 0
        while j < m and size < kk:  # fill the heap; sift up (a tied parent stays: its column is lower)
            v = row[j]
            if v > -np.inf:
                pos = size
                size += 1
                while pos > 0:
                    parent = (pos - 1) >> 1
                    if v <= hv[parent]:
                        hv[pos], hi[pos] = hv[parent], hi[parent]
                        pos = parent
                    else:
                        break
                hv[pos], hi[pos] = v, j
            j += 1
        worst = hv[0] if size else np.inf
        for j in range(j, m):  # only a strictly better score enters (a tie has a higher column)
            v = row[j]
            if v > worst:
                hv[0], hi[0] = v, j
                _sift_down(hv, hi, 0, size)
                worst = hv[0]
        for t in range(size - 1, 0, -1):  # heap sort: the worst goes to the back
            hv[0], hv[t] = hv[t], hv[0]
            hi[0], hi[t] = hi[t], hi[0]
            _sift_down(hv, hi, 0, t)
        for t in range(size, kk):
            hv[t], hi[t] = -np.inf, -1


def topk_rows(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` column indices and values of each row, best first.

    ``scores`` is ``(n, m)`` float; entries equal to ``-inf`` (or NaN) are
    excluded. The result has ``k`` columns; rows with fewer candidates are
    padded with index ``-1`` / score ``-inf``. Ties are broken by the lower
    column index, so results are deterministic. A numba heap per row
    (O(m + k log k log m) per row on typical data, rows in parallel).
    """
    n = scores.shape[0]
    idx = np.empty((n, k), dtype=np.int64)
    vals = np.empty((n, k), dtype=np.float32)
    if n and k:
        _topk_kernel(np.ascontiguousarray(scores, dtype=np.float32), idx, vals)
    return idx, vals


def mask_rows(S: np.ndarray, indptr: np.ndarray, indices: np.ndarray, a: int, b: int) -> None:
    """Set ``S[r - a, indices of CSR row r] = -inf`` for rows ``a <= r < b`` (in place)."""
    lo, hi = indptr[a], indptr[b]
    if hi > lo:
        rows = np.repeat(np.arange(b - a), np.diff(indptr[a : b + 1]))
        S[rows, indices[lo:hi]] = -np.inf


def chunked_topk(n: int, n_cols: int, k: int, block_scores: Callable[[int, int], np.ndarray],
                 max_cells: int = CHUNK_CELLS) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` of ``n`` score rows computed in blocks of at most ``max_cells`` floats.

    ``block_scores(a, b)`` returns the float32 ``(b - a, n_cols)`` scores of rows
    ``a..b`` with excluded entries already ``-inf``.
    """
    ids = np.empty((n, k), dtype=np.int64)
    vals = np.empty((n, k), dtype=np.float32)
    step = max(1, max_cells // max(n_cols, 1))
    for a in range(0, n, step):
        b = min(n, a + step)
        ids[a:b], vals[a:b] = topk_rows(block_scores(a, b), k)
    return ids, vals


def cosine_neighbours(U: np.ndarray, query: np.ndarray, k: int, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` rows of unit vectors ``U`` by cosine to ``U[query]``, only columns with ``allowed``.

    A query is never its own neighbour; a query index ``-1`` (unknown id) gives an all-padding row.
    """
    def block(a: int, b: int) -> np.ndarray:
        q = query[a:b]
        S = U[np.maximum(q, 0)] @ U.T
        S[q < 0] = -np.inf
        S[np.flatnonzero(q >= 0), q[q >= 0]] = -np.inf
        S[:, ~allowed] = -np.inf
        return S

    return chunked_topk(query.size, U.shape[0], k, block)
