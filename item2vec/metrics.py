"""Top-k ranking metrics over a full catalogue ranking, vectorised over users.

The inputs are the recommendation lists of ``n`` users, a ``(n, K)`` array ``recs``
(best first, the user's history already filtered out by the model, short rows
padded with ``-1`` for integer ids or ``""`` for string ids), and each user's set of
target items ``T_u``. There are no sampled negatives: a model ranks every item of
the catalogue and only the top ``K`` are kept.

Definitions, for user ``u``, cut-off ``k``, 1-based rank ``i`` and
``rel_i = 1`` if the ``i``-th recommendation is in ``T_u`` else ``0``:

* ``recall@k = (sum_{i<=k} rel_i) / |T_u|``. The denominator is ``|T_u|``, the number
  of the user's target items, *not* ``min(k, |T_u|)``: a user with more than ``k``
  targets cannot reach 1. (``implicit.evaluation.precision_at_k`` divides by
  ``min(k, |T_u|)`` instead, so its numbers are not comparable with these.)
* ``hit@k = 1`` if ``sum_{i<=k} rel_i > 0`` else ``0``.
* ``ndcg@k = DCG@k / IDCG@k`` with ``DCG@k = sum_{i<=k} rel_i / log2(i + 1)`` and
  ``IDCG@k = sum_{i=1}^{min(k, |T_u|)} 1 / log2(i + 1)``.
* ``mrr@k = 1 / i*`` where ``i*`` is the rank of the first hit if ``i* <= k``, else 0.
* ``coverage@k = |union_u top-k(u) ∩ C| / |C|`` for the catalogue ``C`` (the training
  items), over the evaluated users.

Per-user values are averaged with equal weight over the users whose target set is
non-empty; users with an empty target set are excluded and counted in
``n_users_no_targets``.

Target sets are sets: a repeated target item counts once. Recommendation rows
must not repeat an item (apart from padding); this is checked.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .validation import is_int

__all__ = ["check_ks", "encode_ids", "hit_matrix", "per_user_metrics", "ranking_metrics", "coverage", "METRICS"]

#: Per-user metric names, in report order (coverage is a catalogue-level metric).
METRICS = ("recall", "ndcg", "hit", "mrr")


def _default_pad(recs: np.ndarray) -> Any:
    return -1 if recs.dtype.kind in "iu" else ""


def _as_recs(recs: Any) -> np.ndarray:
    arr = np.asarray(recs)
    if arr.ndim != 2:
        raise ValueError(f"recs must be a 2-D array (n_users, K), got shape {arr.shape}")
    if arr.dtype.kind not in "iuUSO":
        raise TypeError(f"recs must hold integer or string item ids, got dtype {arr.dtype}")
    return arr


def check_ks(ks: int | Iterable[int], width: int) -> tuple[int, ...]:
    """Validate metric cut-offs and return them as a tuple of ``int``.

    Parameters
    ----------
    ks : int or iterable of int
        One cut-off or several; each must be an integer >= 1.
    width : int
        The largest allowed cut-off (the number of recommendations per user;
        callers without a limit pass a huge number).

    Returns
    -------
    tuple of int
        The cut-offs in the order given.

    Raises
    ------
    ValueError
        If ``ks`` is empty, a cut-off is not a positive integer, or one exceeds ``width``.
    """
    ks_t = (ks,) if is_int(ks) else tuple(ks)
    if not ks_t:
        raise ValueError("ks must contain at least one cut-off")
    for k in ks_t:
        if not is_int(k) or k < 1:
            raise ValueError(f"every k in ks must be a positive integer, got {k!r}")
        if k > width:
            raise ValueError(
                f"k={k} exceeds the {width} recommendations per user in recs; ask the model for at least {k}"
            )
    return tuple(int(k) for k in ks_t)


def encode_ids(ids: Any, catalogue: Any, pad: Any = None) -> np.ndarray:
    """Positions of raw item ids in ``catalogue``; ``-1`` for padding and unknown ids.

    Parameters
    ----------
    ids : array-like
        Raw ids of any shape (e.g. a ``(n, K)`` string array of recommendations).
    catalogue : array-like
        Distinct raw item ids; ``catalogue[j]`` gets index ``j``.
    pad : optional
        Padding value mapped to ``-1`` (default: ``-1`` for integer ids, ``""`` else).

    Returns
    -------
    numpy.ndarray of int64, same shape as ``ids``.
    """
    arr = np.asarray(ids)
    index = pd.Index(np.asarray(catalogue).reshape(-1))
    if not index.is_unique:
        raise ValueError("catalogue ids must be distinct")
    pad = _default_pad(arr) if pad is None else pad
    flat = arr.reshape(-1)
    out = index.get_indexer(flat.astype(object) if arr.dtype.kind in "US" else flat).astype(np.int64)
    out[flat == pad] = -1
    return out.reshape(arr.shape)


def _flatten_targets(targets: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, item) pairs of the targets, from a list of arrays or a sparse matrix."""
    if sp.issparse(targets):
        csr = sp.csr_matrix(targets, copy=True)
        csr.eliminate_zeros()
        if csr.shape[0] != n:
            raise ValueError(f"targets has {csr.shape[0]} rows but recs has {n}")
        rows = np.repeat(np.arange(n), np.diff(csr.indptr))
        return rows, csr.indices.astype(np.int64)
    if isinstance(targets, (np.ndarray, pd.Series)):
        targets = list(targets)  # object array of arrays, or a 2-D array with one row per user
    if isinstance(targets, (str, bytes)) or not isinstance(targets, Sequence):
        raise TypeError(f"targets must be a list of arrays or a scipy sparse matrix, got {type(targets).__name__}")
    if len(targets) != n:
        raise ValueError(f"targets has {len(targets)} entries but recs has {n} rows")
    parts = [np.asarray(t).reshape(-1) for t in targets]
    lengths = np.array([p.size for p in parts], dtype=np.int64)
    nonempty = [p for p in parts if p.size]
    items = np.concatenate(nonempty) if nonempty else np.empty(0, dtype=np.int64)
    return np.repeat(np.arange(n), lengths), items


def hit_matrix(recs: Any, targets: Any, *, pad: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Which recommendations are targets, and how many distinct targets each user has.

    Parameters
    ----------
    recs : array-like, shape (n, K)
        Recommended raw item ids (int or str), best first, padded with ``pad``.
    targets : list of array-like, numpy array or scipy.sparse matrix
        ``targets[u]`` are user ``u``'s target item ids (a 2-D array is read row by
        row, a 1-D object array element by element). A sparse ``(n, m)`` matrix
        is read as target *column indices*, so ``recs`` must then hold indices.
    pad : optional
        Padding id (default ``-1`` for integer ``recs``, ``""`` otherwise).

    Returns
    -------
    hits : numpy.ndarray of bool, shape (n, K)
        ``hits[u, i]`` is True iff ``recs[u, i]`` is a (non-padding) target of ``u``.
    n_targets : numpy.ndarray of int64, shape (n,)
        ``|T_u|``, the number of distinct targets.

    Raises
    ------
    ValueError
        If a row of ``recs`` repeats a (non-padding) item.
    """
    recs = _as_recs(recs)
    n, width = recs.shape
    pad = _default_pad(recs) if pad is None else pad
    t_rows, t_items = _flatten_targets(targets, n)
    valid = recs != pad
    r_rows = np.broadcast_to(np.arange(n)[:, None], recs.shape)[valid]
    r_items = recs[valid]
    both = np.concatenate([r_items.astype(object), t_items.astype(object)]) if (
        r_items.dtype != t_items.dtype) else np.concatenate([r_items, t_items])
    codes, uniques = pd.factorize(both)
    m = max(len(uniques), 1)
    r_keys = r_rows.astype(np.int64) * m + codes[: r_items.size]
    t_keys = np.unique(t_rows.astype(np.int64) * m + codes[r_items.size:])
    if np.unique(r_keys).size != r_keys.size:
        srt = np.sort(r_keys)
        row = int(srt[np.flatnonzero(np.diff(srt) == 0)[0]] // m)
        raise ValueError(
            f"row {row} of recs repeats an item: {recs[row].tolist()}; recommendation rows must be duplicate-free"
        )
    hits = np.zeros(recs.shape, dtype=bool)
    hits[valid] = np.isin(r_keys, t_keys)
    n_targets = np.bincount(t_keys // m, minlength=n).astype(np.int64)
    return hits, n_targets


def per_user_metrics(
    recs: Any, targets: Any, ks: int | Iterable[int] = (10, 20), *, pad: Any = None
) -> dict[str, np.ndarray]:
    """Per-user ``recall``, ``ndcg``, ``hit`` and ``mrr`` at every ``k`` (formulas in the module doc).

    Returns
    -------
    dict
        ``"{metric}@{k}"`` -> float64 array of shape ``(n,)`` (NaN for users with no
        target), plus ``"n_targets"`` -> ``|T_u|``.
    """
    hits, n_t = hit_matrix(recs, targets, pad=pad)
    ks = check_ks(ks, hits.shape[1])
    has = n_t > 0
    disc = 1.0 / np.log2(np.arange(2, hits.shape[1] + 2))
    cum_disc = np.concatenate([[0.0], np.cumsum(disc)])
    out: dict[str, np.ndarray] = {"n_targets": n_t}
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in ks:
            hk = hits[:, :k]
            n_hit = hk.sum(axis=1)
            first = hk.argmax(axis=1)
            values = {
                "recall": n_hit / n_t,
                "ndcg": (hk @ disc[:k]) / cum_disc[np.minimum(k, n_t)],
                "hit": (n_hit > 0).astype(np.float64),
                "mrr": np.where(n_hit > 0, 1.0 / (first + 1), 0.0),
            }
            for name in METRICS:
                out[f"{name}@{k}"] = np.where(has, values[name], np.nan).astype(np.float64)
    return out


def coverage(
    recs: Any, catalogue: Any, ks: int | Iterable[int] = (10, 20), *, pad: Any = None,
    rows: np.ndarray | None = None,
) -> dict[str, float]:
    """Catalogue coverage ``|union_u top-k(u) ∩ C| / |C|`` at every ``k``.

    Parameters
    ----------
    recs : array-like, shape (n, K)
    catalogue : array-like or int
        The catalogue ``C`` as distinct item ids (recommended ids outside it are not
        counted), or its size ``|C|`` (every distinct recommended id is counted).
    rows : numpy.ndarray of bool, optional
        Restrict the union to these users.
    """
    recs = _as_recs(recs)
    ks = check_ks(ks, recs.shape[1])
    pad = _default_pad(recs) if pad is None else pad
    if rows is not None:
        recs = recs[rows]
    if is_int(catalogue):
        size, cat = int(catalogue), None
    else:
        cat = pd.Index(pd.unique(np.asarray(catalogue, dtype=object if recs.dtype.kind in "USO" else None).reshape(-1)))
        size = len(cat)
    if size < 1:
        raise ValueError(f"catalogue must have at least one item, got size {size}")
    out = {}
    for k in ks:
        top = recs[:, :k]
        items = pd.unique(top[top != pad].astype(object) if top.dtype.kind in "US" else top[top != pad])
        if cat is not None:
            items = items[cat.get_indexer(items) >= 0] if len(items) else items
        out[f"coverage@{k}"] = len(items) / size
    return out


def ranking_metrics(
    recs: Any,
    targets: Any,
    ks: int | Iterable[int] = (10, 20),
    *,
    catalogue: Any = None,
    pad: Any = None,
) -> dict[str, float]:
    """Mean ranking metrics over the users with at least one target.

    Parameters
    ----------
    recs : array-like, shape (n, K)
        Recommended raw item ids, best first, history already filtered out,
        padded with ``pad``. Each row must be duplicate-free.
    targets : list of array-like or scipy.sparse matrix
        Target items of each user (see :func:`hit_matrix`).
    ks : int or iterable of int, default (10, 20)
        Cut-offs, each ``<= K``.
    catalogue : array-like or int, optional
        Training items (or their number) for ``coverage@k``; omitted if None.
    pad : optional
        Padding id (default ``-1`` for integer ``recs``, ``""`` otherwise).

    Returns
    -------
    dict
        ``"recall@k"``, ``"ndcg@k"``, ``"hit@k"``, ``"mrr@k"`` (means; NaN if no user
        has targets), ``"coverage@k"`` if a catalogue was given, ``"n_users"`` (users
        averaged over) and ``"n_users_no_targets"`` (users excluded).
    """
    per_user = per_user_metrics(recs, targets, ks, pad=pad)
    has = per_user["n_targets"] > 0
    ks = check_ks(ks, np.asarray(recs).shape[1])
    out: dict[str, float] = {}
    for k in ks:
        for name in METRICS:
            vals = per_user[f"{name}@{k}"][has]
            out[f"{name}@{k}"] = float(vals.mean()) if vals.size else float("nan")
    if catalogue is not None:
        out.update(coverage(recs, catalogue, ks, pad=pad, rows=has))
    out["n_users"] = int(has.sum())
    out["n_users_no_targets"] = int((~has).sum())
    return out
