"""The :class:`Item2Vec` estimator: validation, state, training schedule, queries."""

from __future__ import annotations

import os
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from . import __version__
from ._kernels import make_settings
from .hard_negatives import LEGACY_PARAMS, as_strategy, strategy_from_json, strategy_to_json
from .model_io import ModelFileError, read_model, write_model
from .params import validate_params
from .scoring import encode_histories, normalize_rows, profiles, top_k_scores
from .sequences import Sequences, build_sequences
from .training import check_callbacks, resolve_seed, thread_count, train
from .vocab import Vocabulary

__all__ = ["Item2Vec", "NotFittedError"]


class NotFittedError(RuntimeError):
    """A query method was called before ``fit``."""


def _is_scalar_id(x: Any) -> bool:
    return isinstance(x, (str, bytes, int, float, np.generic)) or x is None


class Item2Vec:
    """Item embeddings trained with skip-gram negative sampling (SGNS) on item sequences.

    All hyperparameters are keyword-only and stored unchanged; they are
    validated in :meth:`fit`.

    Parameters
    ----------
    vector_size : int, default 64
        Embedding dimension.
    window : int, default 5
        Maximum distance between a center item and a context item
        (``context="window"``): the distance to FOLLOWING items, and to
        preceding items too unless ``backward_window`` is set.
    backward_window : int or None, default None
        Maximum distance to PRECEDING items (``context="window"`` only): an
        item's input vector is trained against the context vectors of the
        items up to ``window`` positions after it and up to
        ``backward_window`` positions before it.
        ``None``: same as ``window`` (symmetric). ``0``: forward-only, every
        pair trains the earlier item's input vector against the later item's
        context vector, so that ``v_last · u_candidate`` (``scoring="sgns"``)
        scores what comes next. Other values give asymmetric windows. With
        ``shrink_windows`` one uniform draw per center shrinks both sides by
        the same quantile (each side uniform on ``1..its maximum``).
    context : {"window", "set"}, default "window"
        ``"set"`` treats every other item of a sequence as context (the
        original item2vec); on sequences longer than ``max_set_contexts + 1``
        that many contexts are drawn uniformly per center, so cost stays linear;
        it has no direction (``backward_window`` must stay None).
    max_set_contexts : int, default 20
        Bound on contexts per center in set mode.
    shrink_windows : bool, default True
        Draw the effective window uniformly from ``1..window`` per center.
    negative : int, default 5
        Negatives per positive pair.
    shared_negatives : bool, default False
        Draw ``negative`` negatives once per center and share them among all
        its contexts, each weighted by the number of contexts (same expected
        gradient, far fewer random memory accesses: faster on large
        catalogues). ``False`` is exact word2vec sampling.
    ns_exponent : float, default 0.75
        Noise distribution ``∝ count ** ns_exponent``; any finite real,
        negative values oversample rare items.
    sample : float, default 1e-3
        Subsampling threshold for frequent items; 0 disables it.
    min_count : int, default 1
        Items seen fewer times are dropped from the corpus.
    min_length : int, default 2
        Sequences shorter than this (after dropping rare items) are dropped.
    epochs : int, default 20
    alpha, min_alpha : float, default 0.025, 1e-4
        Learning rate, decayed linearly from ``alpha`` to ``min_alpha``.
    n_threads : int or None, default None
        Threads for training; ``None`` uses all numba threads.
    random_state : int, numpy Generator or None
        Seed. With a fixed seed and ``n_threads=1`` vectors are bit-identical
        across runs.
    scoring : {"sgns", "cosine"}, default "sgns"
        How :meth:`recommend` scores candidates (see :mod:`item2vec.scoring`).
        Measured on MovieLens next-item (leave-last-out): "sgns" gives about
        2-3x the NDCG@10 of "cosine", which ignores popularity.
    history_length : int or None, default 3
        Only the last ``history_length`` items of a history form the profile
        (``None``: all of it). The last 3 beat the whole history by 1.5-2x
        NDCG@10 on MovieLens next-item; use ``None`` for unordered baskets.
    user_col, item_col, time_col : str
        Columns used when ``fit`` receives a DataFrame. ``time_col="auto"``
        uses ``"timestamp"`` when present, else input order.
    session_gap : float, Timedelta or None
        Split histories into sessions at gaps larger than this (seconds).
    hard_negatives : None, GroupNegatives, MinedNegatives or {"mined", "group"}
        Optional hard negatives (see :mod:`item2vec.hard_negatives`), e.g.
        ``GroupNegatives(item_to_genre, ratio=0.1)`` or
        ``MinedNegatives(k=20, every=5)``. ``"mined"`` is ``MinedNegatives()``;
        ``"group"`` is ``GroupNegatives(item_groups, ratio=0.2)``.
    hard_negative_ratio, hard_negative_start, item_groups, groups_on_unknown, \
mine_every, mine_k, cooccurrence_threshold, mine_pool
        Deprecated: the settings of the string forms ``"group"`` / ``"mined"``
        (a ``DeprecationWarning`` when changed). They are the fields
        ``ratio``, ``start``, ``groups``, ``on_unknown``, ``every``, ``k``,
        ``cooccurrence_threshold`` and ``pool`` of the strategy objects, and
        must keep their defaults when ``hard_negatives`` is an object.
    verbose : bool, default True
        Show a progress bar (one tick per epoch) when stderr is a terminal or
        in a notebook; nothing is written to a redirected stderr.
    callbacks : list of callables, optional
        Each is called as ``cb(model, epoch, loss)`` after every epoch, with
        the mean loss per positive pair. During the call the model holds this
        epoch's state (``vocab_``, ``item_vectors_``, ``context_vectors_``,
        ``loss_history_`` so far), so ``model.similar_items`` and
        ``model.recommend`` answer with the current vectors; the vector
        arrays are the training arrays themselves (copy them to keep a
        snapshot). After the call the model's previous state comes back; the
        final state is installed when ``fit`` returns. Checked before training.

    Attributes
    ----------
    item_vectors_ : ndarray (n_items, vector_size), float32
        Input vectors ``v``.
    context_vectors_ : ndarray (n_items, vector_size), float32
        Output vectors ``u``.
    vocab_ : Vocabulary
    loss_history_ : list of float
        Mean loss per positive pair after each epoch.
    """

    def __init__(
        self, *, vector_size: int = 64, window: int = 5, backward_window: int | None = None, context: str = "window", max_set_contexts: int = 20,
        shrink_windows: bool = True, negative: int = 5, shared_negatives: bool = False, ns_exponent: float = 0.75, sample: float = 1e-3,
        min_count: int = 1, min_length: int = 2, epochs: int = 20, alpha: float = 0.025, min_alpha: float = 1e-4,
        n_threads: int | None = None, random_state: int | np.random.Generator | None = None,
        scoring: str = "sgns", history_length: int | None = 3,
        user_col: str = "user", item_col: str = "item", time_col: str | None = "auto", session_gap: Any = None,
        hard_negatives: str | None = None, hard_negative_ratio: float = 0.2, hard_negative_start: int = 1,
        item_groups: Any = None, groups_on_unknown: str = "raise", mine_every: int = 5, mine_k: int = 20, cooccurrence_threshold: int = 0,
        mine_pool: int | None = 1024,
        verbose: bool = True, callbacks: Iterable[Callable[..., Any]] | None = None,
    ) -> None:  # fmt: skip
        self.vector_size = vector_size
        self.window = window
        self.backward_window = backward_window
        self.context = context
        self.max_set_contexts = max_set_contexts
        self.shrink_windows = shrink_windows
        self.negative = negative
        self.shared_negatives = shared_negatives
        self.ns_exponent = ns_exponent
        self.sample = sample
        self.min_count = min_count
        self.min_length = min_length
        self.epochs = epochs
        self.alpha = alpha
        self.min_alpha = min_alpha
        self.n_threads = n_threads
        self.random_state = random_state
        self.scoring = scoring
        self.history_length = history_length
        self.user_col = user_col
        self.item_col = item_col
        self.time_col = time_col
        self.session_gap = session_gap
        self.hard_negatives = hard_negatives
        self.hard_negative_ratio = hard_negative_ratio
        self.hard_negative_start = hard_negative_start
        self.item_groups = item_groups
        self.groups_on_unknown = groups_on_unknown
        self.mine_every = mine_every
        self.mine_k = mine_k
        self.cooccurrence_threshold = cooccurrence_threshold
        self.mine_pool = mine_pool
        self.verbose = verbose
        self.callbacks = callbacks

    # ------------------------------------------------------------------ sklearn-style params
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyperparameters as a dict (scikit-learn convention)."""
        import inspect

        return {p: getattr(self, p) for p in inspect.signature(type(self).__init__).parameters if p != "self"}

    def set_params(self, **params: Any) -> "Item2Vec":
        """Set hyperparameters by name; unknown names raise ``ValueError``."""
        valid = self.get_params()
        for k, v in params.items():
            if k not in valid:
                raise ValueError(f"unknown parameter {k!r}; valid parameters: {sorted(valid)}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        defaults = type(self)().get_params()
        changed = {k: v for k, v in self.get_params().items() if not (v is defaults[k] or (type(v) is type(defaults[k]) and v == defaults[k]))}
        return f"Item2Vec({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    # ------------------------------------------------------------------ training
    def _sequences(self, data: Any) -> Sequences:
        if isinstance(data, Sequences):
            return data
        if isinstance(data, pd.DataFrame):
            time_col = self.time_col
            if time_col == "auto":
                time_col = "timestamp" if "timestamp" in data.columns else None
            return build_sequences(data, user_col=self.user_col, item_col=self.item_col, time_col=time_col,
                                   session_gap=self.session_gap, min_item_count=self.min_count, min_length=self.min_length)
        return build_sequences(data, min_item_count=self.min_count, min_length=self.min_length)

    def fit(self, data: pd.DataFrame | Sequences | Iterable[Iterable[Any]]) -> "Item2Vec":
        """Learn item vectors from an interaction log or item sequences.

        Training runs on local arrays; the learned state (``vocab_``,
        ``item_vectors_``, ``context_vectors_``, ``loss_history_``, ...) is
        installed only when every epoch has finished, so a fit that fails or
        is interrupted leaves the model as it was (unfitted, or with its
        previous fit). Callbacks are the exception, see ``callbacks``.

        Parameters
        ----------
        data : DataFrame, Sequences or iterable of item-id sequences
            A DataFrame is turned into sequences with :func:`build_sequences`
            using ``user_col``, ``item_col``, ``time_col``, ``session_gap``,
            ``min_count`` and ``min_length``; it is never modified. A
            ready-made :class:`Sequences` is used as it is (``min_count`` and
            ``min_length`` were applied when it was built).

        Returns
        -------
        self

        Raises
        ------
        ValueError
            For an invalid hyperparameter (named), or when training diverges
            (non-finite loss or vectors after an epoch: ``alpha`` too large).
        """
        params = self.get_params()
        validate_params(params)
        callbacks = check_callbacks(self.callbacks)
        seed = resolve_seed(self.random_state)
        threads = thread_count(self.n_threads)
        seqs = self._sequences(data)
        settings = make_settings(self.window, self.backward_window, self.shrink_windows, self.context == "set",
                                 self.max_set_contexts, self.negative, self.shared_negatives)

        def on_epoch(epoch: int, loss: float, W: np.ndarray, C: np.ndarray, history: list[float]) -> None:
            before = self._fitted_state()
            try:  # the callbacks see this epoch's vectors through the model; its previous state comes back after
                self._set_fitted(seqs.vocab, W, C, history)
                for cb in callbacks:
                    cb(self, epoch, loss)
            finally:
                self._restore_fitted_state(before)

        trained = train(seqs, settings, dim=self.vector_size, epochs=self.epochs, alpha=float(self.alpha),
                        min_alpha=float(self.min_alpha), ns_exponent=self.ns_exponent, sample=self.sample, seed=seed,
                        threads=threads, hard=self._hard_negative_sampler(seqs), on_epoch=on_epoch if callbacks else None,
                        progress=bool(self.verbose))
        self._set_fitted(seqs.vocab, trained.item_vectors, trained.context_vectors, trained.loss_history)
        self.n_tokens_ = seqs.n_tokens
        self.n_pairs_ = trained.n_pairs
        self.training_seconds_ = trained.training_seconds
        self.mining_seconds_ = trained.mining_seconds
        return self

    def _fitted_state(self) -> dict[str, Any]:
        """Every attribute that is not a hyperparameter (fitted state, query caches), for :meth:`_restore_fitted_state`."""
        params = self.get_params()
        return {k: v for k, v in vars(self).items() if k not in params}

    def _restore_fitted_state(self, state: dict[str, Any]) -> None:
        for k in self._fitted_state():
            delattr(self, k)
        vars(self).update(state)

    def _hard_negative_sampler(self, seqs: Sequences) -> Callable[[int, np.ndarray], Any] | None:
        strategy = as_strategy(self.hard_negatives, {k: getattr(self, k) for k in LEGACY_PARAMS})
        return None if strategy is None else strategy.sampler(seqs, self.ns_exponent)

    # ------------------------------------------------------------------ queries
    def _check_fitted(self) -> None:
        if not hasattr(self, "item_vectors_"):
            raise NotFittedError("this Item2Vec model is not fitted yet; call fit(...) or Item2Vec.load(path) first")

    @staticmethod
    def _check_k(k: Any) -> int:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k <= 0:
            raise ValueError(f"k must be a positive integer, got k={k!r}")
        return int(k)

    def _unit_vectors(self) -> np.ndarray:
        if getattr(self, "_normed", None) is None:
            self._normed = normalize_rows(self.item_vectors_)
        return self._normed

    def similar_items(self, item_ids: Any, k: int = 10, *, on_unknown: str = "raise") -> tuple[np.ndarray, np.ndarray]:
        """Most similar items by cosine between input vectors.

        Parameters
        ----------
        item_ids : raw id or list of raw ids
        k : int
        on_unknown : {"raise", "ignore"}
            ``"ignore"`` returns an all-padding row for unknown ids.

        Returns
        -------
        ids, scores : ndarray
            1-D for a scalar id, 2-D ``(len(item_ids), k)`` for a list. The
            query item is never its own neighbour. When ``k`` exceeds the
            catalogue, rows are padded with id ``-1`` (``""`` for string ids)
            and score ``-inf``.
        """
        self._check_fitted()
        k = self._check_k(k)
        scalar = _is_scalar_id(item_ids)
        query = np.asarray([item_ids] if scalar else list(item_ids), dtype=object)
        if on_unknown not in ("raise", "ignore"):
            raise ValueError(f"on_unknown must be 'raise' or 'ignore', got {on_unknown!r}")
        idx = self.vocab_.encode(query) if on_unknown == "raise" else self.vocab_.lookup(query)
        U = self._unit_vectors()
        valid = idx >= 0
        P = np.zeros((idx.size, U.shape[1]), dtype=np.float32)
        P[valid] = U[idx[valid]]
        ptr = np.zeros(idx.size + 1, dtype=np.int64)
        ptr[1:] = np.cumsum(valid)
        top, scores = top_k_scores(P, U, k, ptr, idx[valid])
        top[~valid] = -1
        scores[~valid] = -np.inf
        ids = self.vocab_.decode(top)
        return (ids[0], scores[0]) if scalar else (ids, scores)

    def recommend(
        self, histories: Any, k: int = 10, *, filter_seen: bool = True, exclude: Any = None,
        on_unknown: str = "raise", scoring: str | None = None,
    ) -> Any:  # fmt: skip
        """Recommend items for one or many histories.

        Parameters
        ----------
        histories : list of ids, list of lists, or DataFrame
            One history (a 1-D list/array of raw item ids, oldest first), a
            batch of them, or a DataFrame with ``user_col``/``item_col``
            (ordered by ``time_col`` when present).
        k : int
        filter_seen : bool
            Remove the history's own items from the candidates.
        exclude : list of raw ids, optional
            Items never to recommend (for every history). Unknown ids here are ignored.
        on_unknown : {"raise", "ignore"}
            What to do with history items the model does not know.
        scoring : {"sgns", "cosine"}, optional
            Overrides the model's ``scoring`` for this call.

        Returns
        -------
        (ids, scores) or DataFrame
            1-D arrays for one history, ``(n, k)`` arrays for a batch, and a
            long DataFrame ``user, rank, item, score`` for DataFrame input.
            A history that is empty (after dropping unknown items) gets the
            most popular training items. Rows are padded with id ``-1``
            (``""`` for string ids) and score ``-inf`` past the catalogue.
        """
        self._check_fitted()
        k = self._check_k(k)
        rule = self.scoring if scoring is None else scoring
        if rule not in ("sgns", "cosine"):
            raise ValueError(f"scoring must be 'sgns' or 'cosine', got {rule!r}")
        if isinstance(histories, pd.DataFrame):
            return self._recommend_frame(histories, k, filter_seen, exclude, on_unknown, rule)
        single = isinstance(histories, np.ndarray) and histories.ndim == 1 or (
            not isinstance(histories, np.ndarray) and all(_is_scalar_id(h) for h in histories))
        batch = [histories] if single else list(histories)
        indptr, indices = encode_histories(batch, self.vocab_, on_unknown)
        if rule == "cosine":
            U = self._unit_vectors()
            P, T = normalize_rows(profiles(U, indptr, indices, self.history_length)), U
        else:
            P, T = profiles(self.item_vectors_, indptr, indices, self.history_length), self.context_vectors_
        empty = np.diff(indptr) == 0
        global_ex = None
        if exclude is not None:
            ex = self.vocab_.lookup(np.asarray(list(exclude) if not _is_scalar_id(exclude) else [exclude], dtype=object))
            global_ex = np.zeros(len(self.vocab_), dtype=bool)
            global_ex[ex[ex >= 0]] = True
        ptr, idx = (indptr, indices) if filter_seen else (None, None)
        top, scores = top_k_scores(P, T, k, ptr, idx, global_ex)
        if empty.any():
            top[empty], scores[empty] = self._popular(k, int(empty.sum()), global_ex)
        ids = self.vocab_.decode(top)
        return (ids[0], scores[0]) if single else (ids, scores)

    def _popular(self, k: int, n: int, global_ex: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k items by log training count, for ``n`` empty histories."""
        pop = np.log1p(self.vocab_.counts.astype(np.float32))[:, None]
        return top_k_scores(np.ones((n, 1), dtype=np.float32), pop, k, None, None, global_ex)

    def _recommend_frame(self, df, k, filter_seen, exclude, on_unknown, rule) -> pd.DataFrame:
        missing = [c for c in (self.user_col, self.item_col) if c not in df.columns]
        if missing:
            raise KeyError(f"column(s) {missing} not found; the DataFrame has columns {list(df.columns)}")
        time_col = "timestamp" if self.time_col == "auto" and "timestamp" in df.columns else self.time_col
        frame = df.sort_values(time_col, kind="stable") if time_col in df.columns else df
        groups = frame.groupby(self.user_col, sort=False)[self.item_col]
        users = list(groups.groups.keys())
        hist = [g.to_numpy() for _, g in groups]
        ids, scores = self.recommend(hist, k, filter_seen=filter_seen, exclude=exclude, on_unknown=on_unknown, scoring=rule)
        out = pd.DataFrame({"user": np.repeat(np.asarray(users, dtype=object), k), "rank": np.tile(np.arange(1, k + 1), len(users)),
                            "item": ids.reshape(-1), "score": scores.reshape(-1)})
        return out[np.isfinite(out["score"])].reset_index(drop=True)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> str:
        """Save to ``path`` (``.npz`` added if missing) atomically; returns the path written."""
        self._check_fitted()
        params = {k: v for k, v in self.get_params().items() if k not in ("callbacks", "item_groups", "random_state")}
        params["session_gap"] = None if params["session_gap"] is None else str(params["session_gap"])
        params["hard_negatives"] = strategy_to_json(params["hard_negatives"])
        rs = self.random_state
        params["random_state"] = int(rs) if isinstance(rs, (int, np.integer)) and not isinstance(rs, bool) else None
        meta = {"library_version": __version__, "params": params, "vocab_kind": self.vocab_.kind,
                "loss_history": self.loss_history_, "n_tokens": int(getattr(self, "n_tokens_", 0))}
        arrays = {"item_vectors": self.item_vectors_, "context_vectors": self.context_vectors_, **self.vocab_.to_arrays()}
        return str(write_model(path, arrays, meta))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Item2Vec":
        """Load a model saved by :meth:`save` (no pickle; checksums verified)."""
        arrays, meta = read_model(path)
        try:
            params = meta["params"]
            session_gap = params.pop("session_gap", None)
            params["hard_negatives"] = strategy_from_json(params.get("hard_negatives"))
            model = cls(**{k: v for k, v in params.items() if k in cls().get_params()})
            model.session_gap = None if session_gap is None else pd.Timedelta(session_gap) if " " in str(session_gap) else float(session_gap)
            vocab = Vocabulary.from_arrays(arrays["vocab_ids"], arrays["vocab_counts"], meta["vocab_kind"])
            model.n_tokens_ = int(meta.get("n_tokens", 0))
            model._set_fitted(vocab, arrays["item_vectors"], arrays["context_vectors"], meta.get("loss_history", []))
        except (KeyError, TypeError, ValueError) as e:
            raise ModelFileError(f"{path}: model file is missing or has invalid fields: {e}") from e
        return model

    # ------------------------------------------------------------------ conveniences
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
            Hyperparameters (e.g. ``history_length``).
        """
        W = np.asarray(item_vectors)
        if W.ndim != 2:
            raise ValueError(f"item_vectors must be 2-D, got shape {W.shape}")
        if context_vectors is None:
            params.setdefault("scoring", "cosine")
            context_vectors = np.zeros(W.shape, dtype=np.float32)
        counts = np.ones(W.shape[0], dtype=np.int64) if counts is None else np.asarray(counts, dtype=np.int64)
        model = cls(vector_size=W.shape[1], **params)
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

    def get_vector(self, item_id: Any) -> np.ndarray:
        """Input vector of one raw item id (``KeyError`` if unknown)."""
        self._check_fitted()
        return self.item_vectors_[self.vocab_.encode([item_id])[0]]

    @property
    def item_ids_(self) -> np.ndarray:
        """Raw ids in index order (row ``i`` of ``item_vectors_`` is ``item_ids_[i]``)."""
        self._check_fitted()
        return self.vocab_.ids

