"""Synthetic interaction logs with planted, checkable structure.

Items are split into clusters. Inside a cluster the items form a ring (each item
has a fixed *successor*). A user's history is a Markov walk: it starts in a
random cluster; at each step it jumps to another cluster with probability
``p_switch``, otherwise it goes to the successor of the current item with
probability ``p_next``, otherwise to a popularity-weighted (Zipf) random item of
the same cluster. Timestamps come in sessions: small gaps inside a session,
large gaps between sessions.

With ``confusable=k > 1`` the clusters come in *look-alike groups* of ``k``:
each user only ever visits one member of every group, so clusters of the same
group have the same size, the same popularity profile and the same ``group``
label but are never co-consumed -- ideal hard negatives.

Everything is vectorised numpy: no Python loop over events, so tens of millions
of events take seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

import numpy as np
import pandas as pd

from .validation import check_int, check_real

__all__ = ["SyntheticData", "make_synthetic"]

#: First possible timestamp (2020-09-13 UTC) of the synthetic logs.
T0 = 1_600_000_000
#: Users start uniformly within this many seconds after :data:`T0` (one year).
START_SPAN = 365 * 24 * 3600


@dataclass
class SyntheticData:
    """A synthetic data set with its planted ground truth.

    Attributes
    ----------
    interactions : pandas.DataFrame
        Columns ``user`` (int64), ``item`` (int64), ``rating`` (float32, all 1.0)
        and ``timestamp`` (int64, unix seconds); rows grouped by user, in time order.
    items : pandas.DataFrame
        Columns ``item``, ``title`` (``"item 17"``), ``genres`` (``["cluster 3"]``),
        ``cluster`` and ``group`` (look-alike group; equals ``cluster`` when
        ``confusable=1``).
    cluster : numpy.ndarray
        ``cluster[i]`` is the cluster of item ``i``.
    successor : numpy.ndarray
        ``successor[i]`` is the planted next item of item ``i`` (same cluster).
    name : str
        Always ``"synthetic"``.
    """

    interactions: pd.DataFrame
    items: pd.DataFrame
    cluster: np.ndarray
    successor: np.ndarray
    name: str = "synthetic"


def _lengths(rng: np.random.Generator, n_users: int,
             events_per_user: Union[float, tuple[int, int]]) -> np.ndarray:
    """Per-user history lengths: uniform in ``(lo, hi)`` or lognormal with a given mean."""
    if isinstance(events_per_user, (tuple, list)):
        if len(events_per_user) != 2:
            raise ValueError(f"events_per_user must be a mean or a (low, high) pair, got {events_per_user!r}")
        lo, hi = (int(v) for v in events_per_user)
        if not 1 <= lo <= hi:
            raise ValueError(f"events_per_user=(low, high) needs 1 <= low <= high, got {events_per_user!r}")
        return rng.integers(lo, hi + 1, size=n_users)
    mean = float(events_per_user)
    if not mean >= 1.0:
        raise ValueError(f"events_per_user must be >= 1 (a mean length), got {events_per_user!r}")
    sigma = 0.8  # a realistic long tail: median ~ 0.73 * mean
    raw = rng.lognormal(np.log(mean) - sigma**2 / 2, sigma, size=n_users)
    return np.maximum(1, np.rint(raw)).astype(np.int64)


def make_synthetic(
    n_users: int = 1000,
    n_items: int = 500,
    n_clusters: int = 10,
    events_per_user: Union[float, tuple[int, int]] = 40,
    p_next: float = 0.8,
    p_switch: float = 0.05,
    zipf_a: float = 1.0,
    session_length: float = 10.0,
    confusable: Union[int, bool] = 1,
    seed: int = 0,
) -> SyntheticData:
    """Generate a seeded synthetic interaction log with planted structure.

    Parameters
    ----------
    n_users, n_items, n_clusters : int
        Sizes. Items are spread over clusters as evenly as possible
        (``n_clusters <= n_items``).
    events_per_user : float or (int, int)
        A mean history length (lengths are lognormal around it, at least 1),
        or a ``(low, high)`` pair for uniform lengths.
    p_next : float
        Probability that a within-cluster step goes to the current item's successor.
    p_switch : float
        Probability that a step jumps to a random other (allowed) cluster.
    zipf_a : float
        Zipf exponent of the item popularity inside each cluster (0 = uniform).
    session_length : float
        Mean number of events per session (geometric); gaps inside a session are
        minutes, between sessions days.
    confusable : int or bool
        Clusters per look-alike group (``True`` means 2, ``1``/``False`` disables).
        Must divide ``n_clusters``.
    seed : int
        Seed; the same arguments always give the same data.

    Returns
    -------
    SyntheticData
    """
    k = 2 if confusable is True else 1 if confusable is False else int(confusable)
    for name, value in (("n_users", n_users), ("n_items", n_items), ("n_clusters", n_clusters), ("confusable", k)):
        check_int(name, value, 1)
    if n_clusters > n_items:
        raise ValueError(f"n_clusters ({n_clusters}) must not exceed n_items ({n_items})")
    if n_clusters % k:
        raise ValueError(f"confusable={k} must divide n_clusters={n_clusters} (clusters per look-alike group)")
    p_next, p_switch = check_real("p_next", p_next, 0.0, 1.0), check_real("p_switch", p_switch, 0.0, 1.0)
    zipf_a = check_real("zipf_a", zipf_a, 0.0)
    session_length = check_real("session_length", session_length, 1.0)
    rng = np.random.default_rng(seed)

    # --- items: clusters, ring order (successor) and Zipf popularity -------------
    sizes = np.full(n_clusters, n_items // n_clusters, dtype=np.int64)
    sizes[: n_items % n_clusters] += 1
    first = np.concatenate(([0], np.cumsum(sizes)[:-1]))       # start of each cluster in `chain`
    chain = rng.permutation(n_items)                          # chain[first[c] + j] = j-th item of c
    slot_cluster = np.repeat(np.arange(n_clusters), sizes)
    pos = np.arange(n_items) - first[slot_cluster]             # position inside the cluster
    cluster = np.empty(n_items, dtype=np.int64)
    cluster[chain] = slot_cluster
    successor = np.empty(n_items, dtype=np.int64)
    successor[chain] = chain[first[slot_cluster] + (pos + 1) % sizes[slot_cluster]]
    # popularity rank inside a cluster is independent of the ring order
    rank = np.argsort(rng.random(n_items) + slot_cluster, kind="stable")  # per-cluster shuffle
    rank_in = np.empty(n_items, dtype=np.int64)
    rank_in[rank] = pos
    weight = 1.0 / (rank_in + 1.0) ** zipf_a
    cw = np.cumsum(weight)
    seg_end = cw[first + sizes - 1]
    seg_start = seg_end - np.add.reduceat(weight, first)
    cdf = slot_cluster + (cw - seg_start[slot_cluster]) / (seg_end - seg_start)[slot_cluster]
    cdf[first + sizes - 1] = np.arange(1, n_clusters + 1)      # exact segment ends

    # --- event skeleton -----------------------------------------------------------
    lengths = _lengths(rng, n_users, events_per_user)
    n = int(lengths.sum())
    user = np.repeat(np.arange(n_users, dtype=np.int64), lengths)
    ustart = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    is_first = np.zeros(n, dtype=bool)
    is_first[ustart] = True
    n_groups = n_clusters // k
    u = rng.random(n)
    switch = (u < p_switch) & ~is_first & (n_groups > 1)
    nxt = ~is_first & (u >= p_switch) & (u < p_switch + (1.0 - p_switch) * p_next)
    anchor = ~nxt                                              # item drawn by popularity

    # --- cluster per event: group walk (segment cumsum mod n_groups) + user variant --
    inc = np.zeros(n, dtype=np.int64)
    inc[switch] = rng.integers(1, max(n_groups, 2), size=int(switch.sum()))
    cs = np.cumsum(inc)
    g0 = rng.integers(0, n_groups, size=n_users)
    group_ev = (g0[user] + cs - cs[ustart][user]) % n_groups
    variant = rng.integers(0, k, size=n_users)
    ev_cluster = group_ev * k + variant[user]
    del inc, cs, group_ev, u

    # --- items: popularity draws at anchors, successor walks in between ---------
    a_idx = np.flatnonzero(anchor)
    c_a = ev_cluster[a_idx]
    slot = np.searchsorted(cdf, c_a + rng.random(a_idx.size), side="right")
    slot = np.minimum(slot, first[c_a] + sizes[c_a] - 1)      # guard against rounding
    pos_ev = np.zeros(n, dtype=np.int64)
    pos_ev[a_idx] = slot - first[c_a]
    last = np.where(anchor, np.arange(n), 0)
    np.maximum.accumulate(last, out=last)
    steps = np.arange(n) - last
    pos_ev = (pos_ev[last] + steps) % sizes[ev_cluster]
    item = chain[first[ev_cluster] + pos_ev]
    del last, steps, pos_ev, a_idx, c_a, slot

    # --- timestamps: sessions ----------------------------------------------------
    new_session = rng.random(n) < 1.0 / session_length
    gap = np.where(new_session, 3600 + rng.exponential(2 * 86400, n), 1 + rng.exponential(180, n))
    gap = gap.astype(np.int64)
    gap[ustart] = 0
    cs = np.cumsum(gap)
    t_start = T0 + rng.integers(0, START_SPAN, size=n_users)
    timestamp = t_start[user] + cs - cs[ustart][user]
    del gap, cs

    interactions = pd.DataFrame({
        "user": user,
        "item": item.astype(np.int64),
        "rating": np.ones(n, dtype=np.float32),
        "timestamp": timestamp.astype(np.int64),
    })
    ids = np.arange(n_items, dtype=np.int64)
    items = pd.DataFrame({
        "item": ids,
        "title": [f"item {i}" for i in ids],
        "genres": [[f"cluster {c}"] for c in cluster],
        "cluster": cluster,
        "group": cluster // k,
    })
    return SyntheticData(interactions=interactions, items=items, cluster=cluster, successor=successor)
