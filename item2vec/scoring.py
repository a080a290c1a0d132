"""User profiles from histories and batched top-k scoring (numpy + BLAS).

Two scoring rules are offered for ``recommend``:

``"sgns"``
    The model's own objective: the profile is the mean of the input vectors of
    the last ``n`` history items and a candidate ``j`` scores
    ``profile · C[j]`` with ``C`` the context (output) vectors. Because σ is
    monotone this ranks candidates by the mean predicted log-odds of being a
    context of the history.
``"cosine"``
    The classic item2vec rule: the profile is the mean of the L2-normalised
    input vectors of the last ``n`` history items and a candidate scores the
    cosine between the profile and its input vector.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .base import topk_rows
from .vocab import Vocabulary

__all__ = ["SCORING_RULES", "encode_histories", "profiles", "top_k_scores", "normalize_rows"]

SCORING_RULES = ("sgns", "cosine")


def normalize_rows(X: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero), float32."""
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return (X / np.where(norms > 0, norms, 1.0)).astype(np.float32, copy=False)


def encode_histories(histories: list[Any], vocab: Vocabulary, on_unknown: str) -> tuple[np.ndarray, np.ndarray]:
    """Encode raw-id histories to a CSR ``(indptr int64, indices int32)``.

    ``on_unknown="raise"`` raises ``KeyError`` naming the unknown ids (and the
    history they came from); ``"ignore"`` drops them.
    """
    if on_unknown not in ("raise", "ignore"):
        raise ValueError(f"on_unknown must be 'raise' or 'ignore', got {on_unknown!r}")
    if isinstance(histories, (str, bytes, pd.DataFrame)) or not hasattr(histories, "__len__"):
        raise TypeError(f"histories must be a list of 1-D arrays of item ids, got {type(histories).__name__}")
    for j, h in enumerate(histories):
        if isinstance(h, (str, bytes)):
            raise TypeError(f"histories[{j}] is a single string {h!r}; each history must be an array of item ids")
    arrays = [np.asarray(h, dtype=object if vocab.kind == "str" else None).reshape(-1) for h in histories]
    lengths = np.fromiter((a.size for a in arrays), dtype=np.int64, count=len(arrays))
    flat = np.concatenate(arrays) if arrays and lengths.sum() > 0 else np.empty(0, dtype=vocab.ids.dtype)
    if flat.dtype.kind == "f" and np.isnan(flat).any():
        raise ValueError("histories contain NaN item ids")
    idx = vocab.lookup(flat)
    if (idx < 0).any():
        if on_unknown == "raise":
            bad = np.flatnonzero(idx < 0)
            row = int(np.searchsorted(np.cumsum(lengths), bad[0], side="right"))
            unknown = list(dict.fromkeys(flat[bad].tolist()))
            shown = ", ".join(repr(x) for x in unknown[:10])
            more = f" (and {len(unknown) - 10} more)" if len(unknown) > 10 else ""
            raise KeyError(
                f"unknown item ids {shown}{more} (first in history {row}); the model knows {len(vocab)} items. "
                "Pass on_unknown='ignore' to drop them."
            )
        keep = idx >= 0
        row_of = np.repeat(np.arange(len(arrays)), lengths)
        lengths = np.bincount(row_of[keep], minlength=len(arrays)).astype(np.int64)
        idx = idx[keep]
    indptr = np.zeros(len(arrays) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    return indptr, idx.astype(np.int32)


def profiles(vectors: np.ndarray, indptr: np.ndarray, indices: np.ndarray, last_n: int | None) -> np.ndarray:
    """Mean of the rows of ``vectors`` over each history's last ``last_n`` items.

    Empty histories give a zero profile. Fully vectorised (no loop per user).
    """
    n = indptr.size - 1
    lengths = np.diff(indptr)
    if last_n is not None:
        starts = np.maximum(indptr[:-1], indptr[1:] - last_n)
    else:
        starts = indptr[:-1]
    used = indptr[1:] - starts
    mask = np.ones(indices.size, dtype=bool)
    if last_n is not None and (lengths > used).any():
        pos = np.arange(indices.size) - np.repeat(indptr[:-1], lengths)
        mask = pos >= np.repeat(lengths - used, lengths)
    rows = np.repeat(np.arange(n), lengths)[mask]
    out = np.zeros((n, vectors.shape[1]), dtype=np.float64)
    if rows.size:
        _segment_sum(out, rows, vectors[indices[mask]])
    out /= np.maximum(used, 1)[:, None]
    return out.astype(np.float32)


def _segment_sum(out: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """``out[rows] += values`` for sorted ``rows``, one ``np.add.reduceat`` call."""
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    out[rows[starts]] += np.add.reduceat(values.astype(np.float64), starts, axis=0)


def top_k_scores(
    P: np.ndarray,
    T: np.ndarray,
    k: int,
    exclude_ptr: np.ndarray | None = None,
    exclude_idx: np.ndarray | None = None,
    global_exclude: np.ndarray | None = None,
    max_cells: int = 1 << 24,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` targets for each profile by ``P @ T.T``, in row batches.

    ``exclude_ptr/exclude_idx`` is a CSR of per-row excluded columns (seen
    items); ``global_exclude`` a boolean mask of columns excluded for all rows.
    Batches bound the score matrix to ``max_cells`` floats.
    """
    n, V = P.shape[0], T.shape[0]
    ids = np.empty((n, k), dtype=np.int64)
    vals = np.empty((n, k), dtype=np.float32)
    step = max(1, max_cells // max(V, 1))
    for a in range(0, n, step):
        b = min(n, a + step)
        S = P[a:b] @ T.T
        if global_exclude is not None:
            S[:, global_exclude] = -np.inf
        if exclude_ptr is not None:
            lo, hi = exclude_ptr[a], exclude_ptr[b]
            rows = np.repeat(np.arange(b - a), np.diff(exclude_ptr[a : b + 1]))
            S[rows, exclude_idx[lo:hi]] = -np.inf
        ids[a:b], vals[a:b] = topk_rows(S, k)
    return ids, vals
