"""The recommender contract shared by item2vec and the baselines.

Every recommender the evaluator scores (``Item2Vec``, ``ALSRecommender``,
``PopularityRecommender``, ``ItemCosineRecommender``) implements
:class:`Recommender`, so that all of them see the same training data and the same
candidate filtering.
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np
import pandas as pd

__all__ = ["Recommender", "topk_rows"]


@runtime_checkable
class Recommender(Protocol):
    """What the evaluator needs from a model.

    ``fit(interactions)`` takes a DataFrame with columns ``user``, ``item`` and
    (optionally) ``timestamp``, rows in any order, and returns ``self``.

    ``recommend(histories, k, filter_seen=True, on_unknown="raise")`` takes a list
    of histories (each a 1-D array of raw item ids in time order) and returns
    ``(ids, scores)``: ``ids`` of shape ``(n, k)`` holding raw item ids and
    ``scores`` of shape ``(n, k)`` (float32, best first). Rows with fewer than ``k``
    candidates are padded with the id ``-1`` (``""`` for string ids) and the
    score ``-inf``. ``filter_seen`` removes the history's items from the
    candidates. ``on_unknown="ignore"`` drops history items the model never saw
    in training; ``"raise"`` raises ``KeyError`` naming them.
    """

    def fit(self, interactions: pd.DataFrame) -> "Recommender": ...

    def recommend(
        self,
        histories: Sequence[Any],
        k: int = 10,
        *,
        filter_seen: bool = True,
        on_unknown: str = "raise",
    ) -> tuple[np.ndarray, np.ndarray]: ...


def topk_rows(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` column indices and values of each row, best first.

    ``scores`` is ``(n, m)`` float; entries equal to ``-inf`` are treated as
    excluded and returned as index ``-1`` / score ``-inf``. Uses
    ``argpartition`` then a sort of the ``k`` survivors (O(m + k log k) per row).
    Ties are broken by the lower column index, so results are deterministic.
    """
    n, m = scores.shape
    kk = min(k, m)
    if kk <= 0 or n == 0:
        return np.full((n, k), -1, dtype=np.int64), np.full((n, k), -np.inf, dtype=np.float32)
    if kk < m:
        # k-th largest value per row, then an exact selection that breaks ties at
        # the boundary by the lower column index (argpartition alone would not)
        kth = -np.partition(-scores, kk - 1, axis=1)[:, kk - 1 : kk]
        above = scores > kth
        tied = scores == kth
        room = kk - above.sum(axis=1, keepdims=True)
        chosen = above | (tied & (np.cumsum(tied, axis=1) <= room))
        part = np.nonzero(chosen)[1].reshape(n, kk)
    else:
        part = np.broadcast_to(np.arange(m), (n, m)).copy()
    vals = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -vals), axis=1)  # by score, then by column index
    idx = np.take_along_axis(part, order, axis=1).astype(np.int64)
    vals = np.take_along_axis(vals, order, axis=1).astype(np.float32)
    idx[np.isneginf(vals)] = -1
    if kk < k:
        idx = np.concatenate([idx, np.full((n, k - kk), -1, dtype=np.int64)], axis=1)
        vals = np.concatenate([vals, np.full((n, k - kk), -np.inf, dtype=np.float32)], axis=1)
    return idx, vals
