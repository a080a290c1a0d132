"""Sampling tables for SGNS, in plain numpy so they can be tested on their own.

* Negative ("noise") distribution ``P(i) ∝ count_i ** alpha`` stored as a Walker
  alias table: one draw costs O(1) (one uniform index and one biased coin).
  The kernel reads it packed into one ``uint64`` per bucket (:func:`pack_alias`).
* Frequent-item subsampling keep probabilities (word2vec's formula).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["noise_distribution", "alias_table", "pack_alias", "keep_probabilities"]


def noise_distribution(counts: np.ndarray, ns_exponent: float) -> np.ndarray:
    """Probabilities ``count ** ns_exponent / sum(...)`` (float64).

    Any finite real exponent is allowed: 0 is uniform, 1 is the unigram
    distribution, negative values oversample rare items. Counts must be > 0.
    Computed in log space so large negative or positive exponents do not
    overflow.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.size == 0:
        raise ValueError("cannot build a noise distribution over an empty vocabulary")
    if not np.isfinite(ns_exponent):
        raise ValueError(f"ns_exponent must be a finite real number, got {ns_exponent!r}")
    if (counts <= 0).any():
        raise ValueError("all item counts must be positive to build the noise distribution")
    logw = ns_exponent * np.log(counts)
    w = np.exp(logw - logw.max())
    return w / w.sum()


def alias_table(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker/Vose alias table for the discrete distribution ``p``.

    Returns ``(prob, alias)``: draw ``i`` uniformly from ``0..n-1``, then
    return ``i`` with probability ``prob[i]`` and ``alias[i]`` otherwise.
    ``prob`` is float64 (exactness matters for rare items); ``alias`` int32.
    Built in O(n) by a compiled loop (a million items take milliseconds).
    """
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or p.size == 0 or not np.isfinite(p).all() or (p < 0).any() or p.sum() <= 0:
        raise ValueError("alias_table needs a non-empty 1-D array of non-negative, finite weights with a positive sum")
    return _vose(p * (p.size / p.sum()))


@njit(inline="always")
def _push(i, scaled, small, ns, large, nl):
    """Put item ``i`` on the small (< 1) or large stack; returns the new stack sizes."""
    if scaled[i] < 1.0:
        small[ns] = i
        return ns + 1, nl
    large[nl] = i
    return ns, nl + 1


@njit(cache=True)
def _vose(scaled):
    n = scaled.size
    prob = np.ones(n, dtype=np.float64)
    alias = np.arange(n).astype(np.int32)
    small = np.empty(n, dtype=np.int64)
    large = np.empty(n, dtype=np.int64)
    ns = 0
    nl = 0
    for i in range(n - 1, -1, -1):
        ns, nl = _push(i, scaled, small, ns, large, nl)
    while ns > 0 and nl > 0:
        ns -= 1
        s = small[ns]
        nl -= 1
        g = large[nl]
        prob[s] = scaled[s]
        alias[s] = g
        scaled[g] = (scaled[g] + scaled[s]) - 1.0
        ns, nl = _push(g, scaled, small, ns, large, nl)
    return prob, alias  # leftovers keep prob 1 and alias to themselves (1 up to rounding)


def pack_alias(prob: np.ndarray, alias: np.ndarray) -> np.ndarray:
    """Pack an alias table into one ``uint64`` per bucket for the kernel.

    Bucket ``i`` holds ``threshold << 32 | alias[i]`` with
    ``threshold = ceil(prob[i] * 2**32)``: for a 32-bit coin ``u``,
    ``u < threshold`` exactly when ``u / 2**32 < prob[i]``, so the packed table
    makes the same choices as the float test on the same random bits, with one
    load instead of two. Thresholds are capped at ``2**32 - 1``: a bucket with
    ``prob == 1`` must alias to itself (Vose's construction guarantees it), so
    its one coin above the cap still picks ``i``; a bucket with ``prob``
    within ``2**-32`` of 1 picks its alias on that coin (a ``2**-32`` change).

    Raises
    ------
    ValueError
        If the arrays differ in length, ``prob`` is outside [0, 1], an alias
        is out of range, or a bucket with ``prob == 1`` aliases elsewhere.
    """
    prob = np.asarray(prob, dtype=np.float64)
    alias = np.asarray(alias)
    n = prob.size
    if prob.ndim != 1 or alias.shape != prob.shape:
        raise ValueError(f"prob and alias must be 1-D arrays of equal length, got shapes {prob.shape} and {alias.shape}")
    if not ((prob >= 0) & (prob <= 1)).all():
        raise ValueError("alias probabilities must lie in [0, 1]")
    if n and not ((alias >= 0) & (alias < n)).all():
        raise ValueError(f"alias entries must lie in [0, {n})")
    if n >= 1 << 32:
        raise ValueError(f"a packed alias table holds at most 2**32 - 1 buckets, got {n}")
    full = prob >= 1.0
    if (alias[full] != np.flatnonzero(full)).any():
        raise ValueError("a bucket with probability 1 must alias to itself")
    threshold = np.minimum(np.ceil(prob * 4294967296.0), 4294967295.0).astype(np.uint64)
    return (threshold << np.uint64(32)) | alias.astype(np.uint64)


def keep_probabilities(counts: np.ndarray, sample: float) -> np.ndarray:
    """word2vec keep probability of every item for subsampling threshold ``sample``.

    ``keep = (sqrt(f / (s*T)) + 1) * (s*T) / f`` capped at 1, where ``f`` is the
    item's count, ``T`` the total number of tokens and ``s = sample``.
    ``sample == 0`` disables subsampling (all ones). Returned as float32.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if sample < 0 or not np.isfinite(sample):
        raise ValueError(f"sample must be >= 0, got {sample!r}")
    if sample == 0:
        return np.ones(counts.size, dtype=np.float32)
    thr = sample * counts.sum()
    keep = (np.sqrt(counts / thr) + 1.0) * thr / counts
    return np.minimum(keep, 1.0).astype(np.float32)
