"""Installing learned state on an :class:`~item2vec.Item2Vec` (``fit``, ``partial_fit``, ``load``, ``from_vectors``).

Split from :mod:`item2vec.model`: :class:`FittedStateMixin` holds the methods
that put vectors and a vocabulary on a model, snapshot and restore its fitted
state (for callbacks), and build a fitted model from existing vectors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from .params import validate_params
from .vocab import Vocabulary

if TYPE_CHECKING:
    from .model import Item2Vec

__all__ = ["FittedStateMixin"]


class FittedStateMixin:
    """Fitted-state plumbing shared by ``fit``, ``partial_fit``, ``load`` and ``from_vectors``."""

    @classmethod
    def from_vectors(cls, item_ids: Any, item_vectors: np.ndarray, context_vectors: np.ndarray | None = None,
                     counts: Any = None, **params: Any) -> "Item2Vec":
        """A fitted model from existing vectors (e.g. trained elsewhere, such as gensim).

        Parameters
        ----------
        item_ids : array-like
            Raw ids, one per row.
        item_vectors : ndarray (n_items, dim)
            Input vectors.
        context_vectors : ndarray (n_items, dim), optional
            Output vectors; without them only ``scoring="cosine"`` makes sense,
            so it becomes the default.
        counts : array-like of int, optional
            Item frequencies (used for the popularity fallback); ones if absent.
        **params
            Hyperparameters (e.g. ``history_length``), validated as ``fit`` validates them.

        Raises
        ------
        ValueError
            Vectors that are not 2-D, not finite, or of mismatched shapes; an
            invalid hyperparameter (named).
        """
        W = np.asarray(item_vectors)
        if W.ndim != 2:
            raise ValueError(f"item_vectors must be 2-D, got shape {W.shape}")
        if context_vectors is None:
            params.setdefault("scoring", "cosine")
            context_vectors = np.zeros(W.shape, dtype=np.float32)
        for name, V in (("item_vectors", W), ("context_vectors", np.asarray(context_vectors))):
            if V.dtype.kind not in "iuf" or not np.isfinite(V).all():
                raise ValueError(f"{name} must hold finite numbers (dtype {V.dtype}); "
                                 f"NaN or inf rows would poison every score")
        counts = np.ones(W.shape[0], dtype=np.int64) if counts is None else np.asarray(counts, dtype=np.int64)
        model = cls(vector_size=W.shape[1], **params)
        validate_params(model.get_params())
        model._set_fitted(Vocabulary(item_ids, counts), W, context_vectors)
        return model

    def _set_fitted(self, vocab: Vocabulary, item_vectors: Any, context_vectors: Any, loss_history: Iterable[float] = ()) -> None:
        """Install learned state (shared by :meth:`load` and :meth:`from_vectors`); ``ValueError`` on shape mismatch."""
        W = np.ascontiguousarray(item_vectors, dtype=np.float32)
        C = np.ascontiguousarray(context_vectors, dtype=np.float32)
        if W.ndim != 2 or W.shape[0] != len(vocab):
            raise ValueError(f"item_vectors shape {W.shape} does not match {len(vocab)} items")
        if C.shape != W.shape:
            raise ValueError(f"context_vectors shape {C.shape} differs from item_vectors shape {W.shape}")
        self.vocab_, self.item_vectors_, self.context_vectors_ = vocab, W, C
        self.loss_history_ = list(loss_history)
        self._normed = None

    def _fitted_state(self) -> dict[str, Any]:
        """Every attribute that is not a hyperparameter (fitted state, query caches), for :meth:`_restore_fitted_state`."""
        params = self.get_params()
        return {k: v for k, v in vars(self).items() if k not in params}

    def _restore_fitted_state(self, state: dict[str, Any]) -> None:
        for k in self._fitted_state():
            delattr(self, k)
        vars(self).update(state)

    def _call_back(self, callbacks: Iterable[Any], vocab: Vocabulary, W: np.ndarray, C: np.ndarray,
                   history: list[float], epoch: int, loss: float) -> None:
        """Run ``cb(self, epoch, loss)`` for each callback with this epoch's vectors installed; the previous state comes back after."""
        before = self._fitted_state()
        try:
            self._set_fitted(vocab, W, C, history)
            for cb in callbacks:
                cb(self, epoch, loss)
        finally:
            self._restore_fitted_state(before)

    def get_vector(self, item_id: Any) -> np.ndarray:
        """Input vector of one raw item id (``KeyError`` if unknown)."""
        self._check_fitted()
        return self.item_vectors_[self.vocab_.encode([item_id])[0]]

    @property
    def item_ids_(self) -> np.ndarray:
        """Raw ids in index order (row ``i`` of ``item_vectors_`` is ``item_ids_[i]``)."""
        self._check_fitted()
        return self.vocab_.ids
