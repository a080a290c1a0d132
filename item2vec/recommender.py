"""The one query pipeline of every recommender: :class:`RecommenderBase`.

``recommend`` runs the same steps for ``Item2Vec`` and every baseline::

    histories --as_batch--> list of 1-D id arrays (single vs batch decided without consuming)
              --encode_histories--> CSR of vocabulary indices (unknown ids: raise or drop)
              --_scorer(...)(indptr, indices)--> dense float32 scores, one block of rows at a time
              --> popularity for empty histories, -inf for seen / excluded items
              --topk_rows--> (ids, scores), best first, ties by lower index

A subclass provides only the scoring: ``_scorer(**options)`` returns a function
``score(indptr, indices) -> (n, n_items)`` for a block of encoded histories
(``indptr`` starts at 0). It must be fitted with ``vocab_`` (a
:class:`~item2vec.vocab.Vocabulary`, whose ``counts`` are the popularity
fallback); ``_fitted_attr`` names the attribute whose presence means "fitted".
"""

from __future__ import annotations

import inspect
from contextlib import nullcontext
from typing import Any, Callable, ContextManager

import numpy as np
import pandas as pd

from .scoring import check_on_unknown, chunked_topk, encode_histories, mask_rows
from .validation import is_int

__all__ = ["RecommenderBase", "NotFittedError", "as_batch", "check_k"]

Scorer = Callable[[np.ndarray, np.ndarray], np.ndarray]


class NotFittedError(RuntimeError):
    """A query method was called before ``fit``."""


def is_scalar_id(x: Any) -> bool:
    """A single raw id (not a history): a number, a string or a numpy scalar."""
    return isinstance(x, (str, bytes, int, float, np.generic)) or x is None


def check_k(k: Any) -> int:
    """``k`` as an int, or ``ValueError`` naming it."""
    if not is_int(k) or k <= 0:
        raise ValueError(f"k must be a positive integer, got k={k!r}")
    return int(k)


def as_batch(histories: Any) -> tuple[list[Any], bool]:
    """``(list of histories, single)`` without consuming more than once.

    * a 1-D array of ids, or a list/tuple whose elements are all ids (or empty):
      ONE history (``single=True``);
    * a list/tuple/1-D object array whose elements are all histories, a 2-D
      array (rows), or any other iterable (generator, iterator, ``map``): a batch;
    * a DataFrame: ``TypeError`` pointing to ``recommend_frame``.
    """
    if isinstance(histories, pd.DataFrame):
        raise TypeError("recommend takes histories of item ids, not a DataFrame; "
                        "use recommend_frame(df, k) for a long user, rank, item, score DataFrame")
    if isinstance(histories, pd.Series):
        histories = histories.to_numpy()
    if is_scalar_id(histories):
        raise TypeError(f"histories must be one history (a list/array of item ids) or a batch of them, "
                        f"got a single {type(histories).__name__} {histories!r}")
    if isinstance(histories, np.ndarray):
        if histories.ndim == 2:
            return list(histories), False
        if histories.ndim != 1:
            raise TypeError(f"histories must be a 1-D array (one history) or 2-D (a batch), got shape {histories.shape}")
        if histories.dtype != object:
            return [histories], True
        items = list(histories)
    elif isinstance(histories, (list, tuple)):
        items = list(histories)
    elif hasattr(histories, "__iter__"):
        items = list(histories)  # consumed exactly once; an iterator always yields histories
        for j, h in enumerate(items):
            if is_scalar_id(h):
                raise TypeError(f"an iterator of histories yielded the id {h!r} at position {j}; it must yield "
                                "histories (lists/arrays of ids). Pass one history as a list")
        return items, False
    else:
        raise TypeError(f"histories must be a list/array of item ids or a batch of them, got {type(histories).__name__}")
    scalars = [is_scalar_id(h) for h in items]
    if all(scalars):
        return [items], True
    if any(scalars):
        j = scalars.index(True)
        raise TypeError(f"histories mixes ids and histories (element {j} is the id {items[j]!r}); pass one history "
                        "(a list of ids) or a batch (a list of lists)")
    return items, False


class RecommenderBase:
    """Shared ``recommend`` / ``recommend_frame``; subclasses implement ``_scorer``."""

    #: Attribute set by ``fit``/``load``; its absence means "not fitted".
    _fitted_attr = "vocab_"
    #: DataFrame columns read by ``recommend_frame`` unless overridden by the instance.
    user_col = "user"
    item_col = "item"
    time_col: str | None = "auto"

    # ------------------------------------------------------------------ hooks
    def _scorer(self, **options: Any) -> Scorer:
        """``score(indptr, indices)``: float32 ``(n, n_items)`` scores of a block of encoded histories."""
        raise NotImplementedError

    def _query_context(self) -> ContextManager[Any]:
        """Context held around a query (e.g. BLAS thread limits); none by default."""
        return nullcontext()

    def _index_topk(self, indptr: np.ndarray, indices: np.ndarray, k: int, exclude: np.ndarray | None,
                    filter_seen: bool, block: Callable[[int, int], np.ndarray], options: dict[str, Any]) -> Any:
        """Top-``k`` ``(ids, scores)`` from an ANN index (same filtering), or None for the exact path (the default)."""
        return None

    def _check_fitted(self) -> None:
        if not hasattr(self, self._fitted_attr):
            name = type(self).__name__
            raise NotFittedError(f"this {name} is not fitted yet; call fit(...) first"
                                 + (" or Item2Vec.load(path)" if name == "Item2Vec" else ""))

    def _popularity(self) -> np.ndarray:
        """The one fallback score of every recommender: training event counts (float32)."""
        return self.vocab_.counts.astype(np.float32)

    # ------------------------------------------------------------------ queries
    def recommend(self, histories: Any, k: int = 10, *, filter_seen: bool = True, exclude: Any = None,
                  on_unknown: str = "raise", **options: Any) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` items for one history or a batch of histories.

        Parameters
        ----------
        histories : list/array of ids, batch of them, or iterable of histories
            One history is a 1-D list/array of raw item ids, oldest first
            (``[]`` is one empty history). A batch is a list of histories, a 1-D
            object array of lists (``df.groupby(u)[i].apply(list).to_numpy()``),
            a 2-D array (one row each) or any iterable of histories (a
            generator is read once). A DataFrame raises ``TypeError``: use
            :meth:`recommend_frame`.
        k : int
            Recommendations per history.
        filter_seen : bool, default True
            Remove the history's own items from the candidates.
        exclude : id or list of ids, optional
            Items never to recommend (for every history); unknown ids are ignored.
        on_unknown : {"raise", "ignore"}, default "raise"
            History items the model never saw: ``KeyError`` naming them, or dropped.
        **options
            Model-specific scoring options (``Item2Vec``: ``scoring``).

        Returns
        -------
        ids, scores : ndarray
            1-D for one history, 2-D ``(n, width)`` for a batch, best first
            (ties by the lower vocabulary index). ``width = min(k, n_items)``:
            the allocation never exceeds the catalogue. Positions without a
            candidate (seen or excluded items) hold id ``-1`` (``""`` for string
            ids) and score ``-inf``. A history that is empty (after dropping
            unknown ids) gets the most popular training items, scored by their
            training event counts.
        """
        self._check_fitted()
        k = check_k(k)
        check_on_unknown(on_unknown)
        score = self._scorer(**self._check_options(options))
        batch, single = as_batch(histories)
        indptr, indices = encode_histories(batch, self.vocab_, on_unknown)
        V = len(self.vocab_)
        ex = self._exclusion_mask(exclude)
        pop = self._popularity()
        empty = np.diff(indptr) == 0

        def block(a: int, b: int) -> np.ndarray:
            lo, hi = indptr[a], indptr[b]
            S = np.asarray(score(indptr[a : b + 1] - lo, indices[lo:hi]), dtype=np.float32)
            if not (S.flags.owndata and S.flags.writeable):  # a view of model state: never write into it
                S = S.copy()
            if S.shape != (b - a, V):
                raise ValueError(f"{type(self).__name__} scorer returned shape {S.shape}, expected {(b - a, V)}")
            S[empty[a:b]] = pop
            if ex is not None:
                S[:, ex] = -np.inf
            if filter_seen:
                mask_rows(S, indptr, indices, a, b)
            return S

        with self._query_context():
            found = self._index_topk(indptr, indices, min(k, V), ex, filter_seen, block, options)
            top, scores = found if found is not None else chunked_topk(len(batch), V, min(k, V), block)
        ids = self.vocab_.decode(top)
        return (ids[0], scores[0]) if single else (ids, scores)

    def _check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        allowed = [p for p in inspect.signature(self._scorer).parameters if p != "options"]
        bad = sorted(set(options) - set(allowed))
        if bad:
            raise TypeError(f"{type(self).__name__}.recommend got unknown option(s) {bad}; "
                            f"its scoring options are {allowed or 'none'}")
        return options

    def _exclusion_mask(self, exclude: Any) -> np.ndarray | None:
        if exclude is None:
            return None
        ex = self.vocab_.lookup(np.asarray([exclude] if is_scalar_id(exclude) else list(exclude), dtype=object))
        mask = np.zeros(len(self.vocab_), dtype=bool)
        mask[ex[ex >= 0]] = True
        return mask

    def recommend_frame(self, df: pd.DataFrame, k: int = 10, *, filter_seen: bool = True, exclude: Any = None,
                        on_unknown: str = "raise", **options: Any) -> pd.DataFrame:
        """Recommendations for every user of a log, as a long DataFrame.

        Parameters
        ----------
        df : DataFrame
            Columns ``user_col`` and ``item_col`` (``"user"``/``"item"`` for the
            baselines), ordered by ``time_col`` when present (``"auto"``:
            ``"timestamp"`` if there is one), else by row order. Rows with a
            missing user raise ``ValueError`` (they would be dropped silently).
        k, filter_seen, exclude, on_unknown, **options
            As in :meth:`recommend`.

        Returns
        -------
        DataFrame
            Columns ``user, rank, item, score``, users in the order of their
            first event, padding rows (score ``-inf``) left out.
        """
        if not isinstance(df, pd.DataFrame):
            raise TypeError(f"recommend_frame takes a pandas DataFrame, got {type(df).__name__}; "
                            "use recommend(histories, k) for lists of ids")
        user_col, item_col = self.user_col, self.item_col
        missing = [c for c in (user_col, item_col) if c not in df.columns]
        if missing:
            raise KeyError(f"column(s) {missing} not found; the DataFrame has columns {list(df.columns)}")
        n_missing = int(df[user_col].isna().sum())
        if n_missing:
            raise ValueError(f"{n_missing} row(s) of recommend_frame's input have a missing user ({user_col!r} is "
                             "NaN/None); drop or fill them first")
        time_col = "timestamp" if self.time_col == "auto" and "timestamp" in df.columns else self.time_col
        frame = df.sort_values(time_col, kind="stable") if time_col in df.columns else df
        groups = frame.groupby(user_col, sort=False)[item_col]
        users = list(groups.groups.keys())
        hist = [g.to_numpy() for _, g in groups]
        ids, scores = self.recommend(hist, k, filter_seen=filter_seen, exclude=exclude, on_unknown=on_unknown, **options)
        width = ids.shape[1]
        out = pd.DataFrame({"user": np.repeat(np.asarray(users, dtype=object), width),
                            "rank": np.tile(np.arange(1, width + 1), len(users)),
                            "item": ids.reshape(-1), "score": scores.reshape(-1)})
        return out[np.isfinite(out["score"])].reset_index(drop=True)
