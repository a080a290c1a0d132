"""A first-order transition baseline: "what followed this item in training".

:class:`TransitionRecommender` counts, in every training user's time-ordered
sequence, how often item ``j`` follows item ``i`` within ``window`` steps (a pair
``d`` steps apart counts ``1 / d``), normalises each item's row to a distribution
``P(j | i)`` and scores a history by the recency-weighted sum of the rows of its
last ``history_length`` items. It is the "sequential rules" family of session-based
recommendation: cheap, strong on session data, blind to long-range taste.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .baselines import InteractionRecommender
from .validation import check_int, check_real

__all__ = ["TransitionRecommender"]

#: Popularity breaks ties and fills the list below this fraction of a row's smallest
#: positive transition score, so it never outranks an observed transition.
_POP_SHARE = 1e-3


class TransitionRecommender(InteractionRecommender):
    """Next-item transition counts with a popularity fallback.

    Fit: each user's events are put in time order (stable sort on ``timestamp``
    when present, else the input order). For every pair of events ``d`` steps
    apart, ``1 <= d <= window``, the count ``C[i, j]`` of (earlier item ``i``, later
    item ``j``) grows by ``1 / d`` (``1`` when ``distance_weighting=False``). Rows
    are normalised, ``P(j | i) = C[i, j] / sum_j C[i, j]``.

    Score: a history's last ``history_length`` known items, newest at age ``a = 0``,
    get weights ``history_decay ** a``; item ``j`` scores
    ``sum_a history_decay ** a * P(j | h_a)``. Items with no observed transition
    from the history are ranked after all others by training popularity, which
    also breaks ties; an empty history gets popularity alone (as every baseline).

    Parameters
    ----------
    window : int, default 5
        Largest forward distance counted as a transition (>= 1).
    distance_weighting : bool, default True
        Weight a pair ``d`` steps apart by ``1 / d`` (else 1).
    history_length : int, default 5
        Newest history items used for scoring (>= 1).
    history_decay : float, default 0.5
        Weight ratio between consecutive history items, in (0, 1].

    The defaults were the best of 35 settings (window 1-5, with and without distance
    weights, history length 1-5, decay 0.3-1) by the geometric mean over ml-100k,
    Toys, LastFM and DIGINETICA of val recall@10 relative to each set's best setting
    (0.98; 0.95 of the best or more on each): ``benchmarks/panel.py --transition-sweep``.

    Attributes
    ----------
    transitions_ : scipy.sparse.csr_matrix, shape (n_items, n_items)
        Row-normalised ``P(j | i)`` (rows of items never followed by anything are empty).

    Notes
    -----
    Built on :class:`item2vec.baselines.InteractionRecommender` for ``fit`` (input checks,
    vocabulary, popularity and the per-event codes, counted by ``_fit_model``) and for
    ``get_params``; it plugs into the shared query pipeline through ``_scorer`` (which
    sees each history in time order), so
    ``recommend``, ``recommend_frame``, filtering, exclusion and the popularity
    fallback for empty histories are those of every recommender.
    """

    def __init__(self, *, window: int = 5, distance_weighting: bool = True, history_length: int = 5,
                 history_decay: float = 0.5) -> None:
        self.window = window
        self.distance_weighting = distance_weighting
        self.history_length = history_length
        self.history_decay = history_decay

    def _check_params(self) -> None:
        for name in ("window", "history_length"):
            check_int(name, getattr(self, name), 1)
        if not isinstance(self.distance_weighting, (bool, np.bool_)):
            raise ValueError(f"distance_weighting must be True or False, got {self.distance_weighting!r}")
        check_real("history_decay", self.history_decay, 0.0, 1.0, lo_open=True)

    def _fit_model(self, interactions: pd.DataFrame, user_codes: np.ndarray, item_codes: np.ndarray) -> None:
        """Count the transitions of the time-ordered events (codes of the base class's ``fit``)."""
        if "timestamp" in interactions.columns:
            order = np.lexsort([np.arange(len(user_codes)), interactions["timestamp"].to_numpy(), user_codes])
        else:
            order = np.argsort(user_codes, kind="stable")
        items = item_codes[order].astype(np.int64)
        users = user_codes[order]
        m = len(self.vocab_)
        rows, cols, vals = [], [], []
        for d in range(1, int(self.window) + 1):
            same = users[d:] == users[:-d]
            rows.append(items[:-d][same])
            cols.append(items[d:][same])
            vals.append(np.full(int(same.sum()), 1.0 / d if self.distance_weighting else 1.0))
        counts = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                               shape=(m, m), dtype=np.float64)
        counts.sum_duplicates()
        totals = np.asarray(counts.sum(axis=1)).ravel()
        inv = np.divide(1.0, totals, out=np.zeros_like(totals), where=totals > 0)
        self.transitions_ = sp.csr_matrix(sp.diags(inv) @ counts)

    def _weights(self, indptr: np.ndarray, indices: np.ndarray) -> sp.csr_matrix:
        """``(n, n_items)`` recency weights of each history's last ``history_length`` items."""
        n = indptr.size - 1
        row = np.repeat(np.arange(n), np.diff(indptr))
        age = indptr[row + 1] - 1 - np.arange(indices.size)
        keep = age < int(self.history_length)
        w = float(self.history_decay) ** age[keep].astype(np.float64)
        return sp.csr_matrix((w, (row[keep], indices[keep])), shape=(n, len(self.vocab_)))

    def _scorer(self) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """Scores of a block of encoded histories (in time order) for the shared query pipeline.

        A history scores ``sum_a decay**a * P(j | item at age a)`` over its last
        ``history_length`` items, plus a popularity term smaller than any positive
        transition score (it breaks ties and fills the list).
        """
        pop = self.popularity_.astype(np.float64) / max(float(self.popularity_.max()), 1.0)

        def score(indptr: np.ndarray, indices: np.ndarray) -> np.ndarray:
            s = (self._weights(indptr - indptr[0], indices) @ self.transitions_).toarray()
            pos = np.where(s > 0, s, np.inf).min(axis=1, keepdims=True)
            s += pop * np.where(np.isfinite(pos), pos * _POP_SHARE, 1.0)
            return s.astype(np.float32)

        return score
