"""The :class:`Item2Vec` estimator: validation, state, training schedule, queries."""

from __future__ import annotations

import os
import time
import warnings
from typing import Any, Callable, Iterable

import numba
import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import __version__
from ._kernels import corpus_blocks, no_hard_negatives, sgns_epoch, sigmoid_tables
from .model_io import ModelFileError, read_model, write_model
from .params import validate_params
from .sampling import alias_table, keep_probabilities, noise_distribution, pack_alias
from .ann import IndexMixin
from .export import ExportMixin
from .recommender import NotFittedError, RecommenderBase, check_k, is_scalar_id
from .scoring import SCORING_RULES, check_on_unknown, cosine_neighbours, normalize_rows, profiles
from .sequences import Sequences, build_sequences
from .vocab import Vocabulary

__all__ = ["Item2Vec", "NotFittedError"]


class Item2Vec(IndexMixin, ExportMixin, RecommenderBase):
    """Item embeddings trained with skip-gram negative sampling (SGNS) on item sequences.

    All hyperparameters are keyword-only and stored unchanged; they are
    validated in :meth:`fit`.

    Parameters
    ----------
    vector_size : int, default 64
        Embedding dimension.
    window : int, default 5
        Maximum distance between a center item and a context item
        (``context="window"``).
    context : {"window", "set"}, default "window"
        ``"set"`` treats every other item of a sequence as context (the
        original item2vec); on sequences longer than ``max_set_contexts + 1``
        that many contexts are drawn uniformly per center, so cost stays linear.
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
    history_decay : float in (0, 1] or None, default None
        Recency weighting of the profile: the item at age ``a`` (newest
        ``a = 0``) weighs ``history_decay ** a``, after the ``history_length``
        cut-off; both scoring rules. ``None`` (or 1) is the plain mean.
    user_col, item_col, time_col : str
        Columns used when ``fit`` receives a DataFrame. ``time_col="auto"``
        uses ``"timestamp"`` when present, else input order.
    session_gap : float, Timedelta or None
        Split histories into sessions at gaps larger than this (seconds).
    hard_negatives : {None, "group", "mined"}
        Optional hard negatives (see :mod:`item2vec.hard_negatives`).
    hard_negative_ratio : float in [0, 1], default 0.2
        Share of negative draws taken from the hard candidates.
    hard_negative_start : int, default 1
        Epochs of plain training before hard negatives begin.
    item_groups : mapping, Series or DataFrame, optional
        For ``"group"``: item -> group, or item -> list of groups.
    groups_on_unknown : {"raise", "ignore"}, default "raise"
        Items of ``item_groups`` missing from the training data raise a
        ``KeyError`` naming them, or are dropped (``"ignore"``: a mapping for
        a whole catalogue, fitted on part of it).
    mine_every, mine_k, cooccurrence_threshold : int
        For ``"mined"``: re-mine every ``mine_every`` epochs the ``mine_k``
        nearest neighbours of each item, excluding neighbours that co-occur
        with it in more than ``cooccurrence_threshold`` sequences.
    mine_pool : int or None, default 1024
        For ``"mined"``: neighbours are searched among this many most frequent
        items (``None``: the whole catalogue). Bounds the cost of a mining
        round at ``V × mine_pool`` scores.
    verbose : bool, default True
        Show a progress bar (one tick per epoch).
    callbacks : list of callables, optional
        Each is called as ``cb(model, epoch, loss)`` after every epoch, with
        the mean loss per positive pair.

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
        self, *, vector_size: int = 64, window: int = 5, context: str = "window", max_set_contexts: int = 20,
        shrink_windows: bool = True, negative: int = 5, shared_negatives: bool = False, ns_exponent: float = 0.75, sample: float = 1e-3,
        min_count: int = 1, min_length: int = 2, epochs: int = 20, alpha: float = 0.025, min_alpha: float = 1e-4,
        n_threads: int | None = None, random_state: int | np.random.Generator | None = None,
        scoring: str = "sgns", history_length: int | None = 3, history_decay: float | None = None,
        user_col: str = "user", item_col: str = "item", time_col: str | None = "auto", session_gap: Any = None,
        hard_negatives: str | None = None, hard_negative_ratio: float = 0.2, hard_negative_start: int = 1,
        item_groups: Any = None, groups_on_unknown: str = "raise", mine_every: int = 5, mine_k: int = 20, cooccurrence_threshold: int = 0,
        mine_pool: int | None = 1024,
        verbose: bool = True, callbacks: Iterable[Callable[..., Any]] | None = None,
    ) -> None:  # fmt: skip
        self.vector_size = vector_size
        self.window = window
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
        self.history_decay = history_decay
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
        """
        params = self.get_params()
        validate_params(params)
        seqs = self._sequences(data)
        V, D = len(seqs.vocab), self.vector_size
        seed = self._resolve_seed()
        init_rng = np.random.default_rng(seed)
        W = init_rng.random((V, D), dtype=np.float32)  # U(-0.5, 0.5) / D, built in place (no temporaries)
        W -= np.float32(0.5)
        W /= np.float32(D)
        C = np.zeros((V, D), dtype=np.float32)
        noise = pack_alias(*alias_table(noise_distribution(seqs.vocab.counts, self.ns_exponent)))
        keep = keep_probabilities(seqs.vocab.counts, self.sample)
        sig, logsig = sigmoid_tables()
        blocks = corpus_blocks(seqs.offsets)
        block_loss = np.zeros(blocks.size - 1, dtype=np.float64)
        block_pairs = np.zeros(blocks.size - 1, dtype=np.int64)
        hard_sampler = self._hard_negative_sampler(seqs)
        self.vocab_ = seqs.vocab
        self.item_vectors_, self.context_vectors_ = W, C
        self.loss_history_: list[float] = []
        self.training_seconds_ = 0.0
        self.mining_seconds_ = 0.0
        self.n_pairs_ = 0
        threads = self._n_threads()
        previous = numba.get_num_threads()
        bar = tqdm(range(self.epochs), desc="item2vec", unit="epoch", disable=not self.verbose, leave=False)
        try:
            numba.set_num_threads(threads)
            for epoch in bar:
                hard = no_hard_negatives()
                if hard_sampler is not None and epoch >= self.hard_negative_start:
                    t0 = time.perf_counter()
                    hard = hard_sampler(self, epoch)
                    self.mining_seconds_ += time.perf_counter() - t0
                t0 = time.perf_counter()
                sgns_epoch(seqs.items, seqs.offsets, blocks, W, C, keep, noise, hard,
                           self.window, self.shrink_windows, self.context == "set", self.max_set_contexts,
                           self.negative, self.shared_negatives, float(self.alpha), float(self.min_alpha), epoch, self.epochs,
                           np.uint64(seed), sig, logsig, block_loss, block_pairs, threads)
                self.training_seconds_ += time.perf_counter() - t0
                pairs = int(block_pairs.sum())
                if epoch == 0 and pairs == 0:
                    warnings.warn(f"the first epoch trained no (center, context) pairs: subsampling (sample={self.sample}) "
                                  f"left no sequence with 2 items; on small data use sample=0", RuntimeWarning, stacklevel=2)
                self.n_pairs_ += pairs
                loss = float(block_loss.sum() / max(pairs, 1))
                self.loss_history_.append(loss)
                bar.set_postfix(loss=f"{loss:.4f}")
                for cb in self.callbacks or ():
                    cb(self, epoch, loss)
        finally:
            numba.set_num_threads(previous)
            bar.close()
        self.n_tokens_ = seqs.n_tokens
        self._normed = None
        return self

    def _resolve_seed(self) -> int:
        rs = self.random_state
        if rs is None:
            return int(np.random.default_rng().integers(1, 2**63 - 1))
        if isinstance(rs, np.random.Generator):
            return int(rs.integers(1, 2**63 - 1))
        if isinstance(rs, bool) or not isinstance(rs, (int, np.integer)) or rs < 0:
            raise ValueError(f"random_state must be None, a non-negative int or a numpy Generator, got {rs!r}")
        return int(rs)

    def _n_threads(self) -> int:
        available = numba.config.NUMBA_NUM_THREADS
        if self.n_threads is None:
            return available
        if self.n_threads > available:
            warnings.warn(f"n_threads={self.n_threads} but numba has {available} threads (NUMBA_NUM_THREADS); "
                          f"training with {available}", RuntimeWarning, stacklevel=3)
        return min(int(self.n_threads), available)

    def _hard_negative_sampler(self, seqs: Sequences) -> Callable[["Item2Vec", int], Any] | None:
        if self.hard_negatives is None or self.hard_negative_ratio == 0:
            return None
        from .hard_negatives import make_sampler

        return make_sampler(self, seqs)

    # ------------------------------------------------------------------ queries (pipeline: recommender.py)
    _fitted_attr = "item_vectors_"

    def _unit_vectors(self) -> np.ndarray:
        if getattr(self, "_normed", None) is None:
            self._normed = normalize_rows(self.item_vectors_)
        return self._normed

    def _scorer(self, scoring: str | None = None) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """``recommend``'s scores: the profile of each history against every item (``scoring`` overrides the rule)."""
        rule = self.scoring if scoring is None else scoring
        if rule not in SCORING_RULES:
            raise ValueError(f"scoring must be 'sgns' or 'cosine', got scoring={rule!r}")
        if rule == "cosine":
            U = self._unit_vectors()
            return lambda ptr, idx: normalize_rows(profiles(U, ptr, idx, self.history_length, self.history_decay)) @ U.T
        W, C = self.item_vectors_, self.context_vectors_
        return lambda ptr, idx: profiles(W, ptr, idx, self.history_length, self.history_decay) @ C.T

    def similar_items(self, item_ids: Any, k: int = 10, *, min_count: int = 1,
                      on_unknown: str = "raise") -> tuple[np.ndarray, np.ndarray]:
        """Most similar items by cosine between input vectors.

        Parameters
        ----------
        item_ids : raw id or list of raw ids
        k : int
        min_count : int, default 1
            Only items with at least this many training events are candidates
            (the query itself may be rarer). Rare items have noisy vectors and
            crowd the top of the list: on ml-100k, ``min_count=5`` cuts the share
            of neighbours rated fewer than 5 times from about a third to 0
            (``benchmarks/similar_floor.py``).
        on_unknown : {"raise", "ignore"}
            ``"ignore"`` returns an all-padding row for unknown ids.

        Returns
        -------
        ids, scores : ndarray
            1-D for a scalar id, 2-D ``(len(item_ids), min(k, n_items))`` for a
            list. The query item is never its own neighbour. Positions without
            a candidate hold id ``-1`` (``""`` for string ids) and score ``-inf``.
        """
        self._check_fitted()
        k = check_k(k)
        if isinstance(min_count, bool) or not isinstance(min_count, (int, np.integer)) or min_count < 1:
            raise ValueError(f"min_count must be an integer >= 1, got min_count={min_count!r}")
        check_on_unknown(on_unknown)
        scalar = is_scalar_id(item_ids)
        query = np.asarray([item_ids] if scalar else list(item_ids), dtype=object)
        idx = self.vocab_.encode(query) if on_unknown == "raise" else self.vocab_.lookup(query)
        kk, allowed = min(k, len(self.vocab_)), self.vocab_.counts >= min_count
        found = self._index_similar(idx, kk, allowed)  # the ANN index (item2vec.ann), None without one
        top, scores = found if found is not None else cosine_neighbours(self._unit_vectors(), idx, kk, allowed)
        ids = self.vocab_.decode(top)
        return (ids[0], scores[0]) if scalar else (ids, scores)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> str:
        """Save to ``path`` (``.npz`` added if missing) atomically; returns the path written."""
        self._check_fitted()
        params = {k: v for k, v in self.get_params().items() if k not in ("callbacks", "item_groups", "random_state")}
        params["session_gap"] = None if params["session_gap"] is None else str(params["session_gap"])
        rs = self.random_state
        params["random_state"] = int(rs) if isinstance(rs, (int, np.integer)) and not isinstance(rs, bool) else None
        meta = {"library_version": __version__, "params": params, "vocab_kind": self.vocab_.kind,
                "loss_history": self.loss_history_, "n_tokens": int(getattr(self, "n_tokens_", 0))}
        arrays = {"item_vectors": self.item_vectors_, "context_vectors": self.context_vectors_, **self.vocab_.to_arrays()}
        return str(write_model(path, {**arrays, **self._index_arrays()}, {**meta, **self._index_meta()}))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Item2Vec":
        """Load a model saved by :meth:`save` (no pickle; checksums verified)."""
        arrays, meta = read_model(path)
        try:
            params = meta["params"]
            session_gap = params.pop("session_gap", None)
            model = cls(**{k: v for k, v in params.items() if k in cls().get_params()})
            model.session_gap = None if session_gap is None else pd.Timedelta(session_gap) if " " in str(session_gap) else float(session_gap)
            vocab = Vocabulary.from_arrays(arrays["vocab_ids"], arrays["vocab_counts"], meta["vocab_kind"])
            model.n_tokens_ = int(meta.get("n_tokens", 0))
            model._set_fitted(vocab, arrays["item_vectors"], arrays["context_vectors"], meta.get("loss_history", []))
            model._restore_index(arrays, meta)  # the saved ANN index, if any (item2vec.ann)
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

