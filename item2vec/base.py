"""The recommender contract shared by item2vec and the baselines.

Every recommender the evaluator scores (``Item2Vec``, ``ALSRecommender``,
``PopularityRecommender``, ``ItemCosineRecommender``) implements
:class:`Recommender`, so that all of them see the same training data and the same
candidate filtering. The library's own recommenders all inherit the one
implementation, :class:`item2vec.recommender.RecommenderBase`.
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np
import pandas as pd

from .scoring import topk_rows  # re-exported: the one top-k lives in scoring

__all__ = ["Recommender", "topk_rows"]


@runtime_checkable
class Recommender(Protocol):
    """What the evaluator needs from a model.

    ``fit(interactions)`` takes a DataFrame with columns ``user``, ``item`` and
    (optionally) ``timestamp``, rows in any order, and returns ``self``.

    ``recommend(histories, k, filter_seen=True, on_unknown="raise")`` takes a list
    of histories (each a 1-D array of raw item ids in time order) and returns
    ``(ids, scores)``: ``ids`` of shape ``(n, w)`` holding raw item ids and
    ``scores`` of shape ``(n, w)`` (float32, best first), ``w = min(k, n_items)``
    (the evaluator pads narrower results). Positions without a candidate are
    padded with the id ``-1`` (``""`` for string ids) and the score ``-inf``.
    ``filter_seen`` removes the history's items from the candidates. ``on_unknown="ignore"`` drops history items the model never saw
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
