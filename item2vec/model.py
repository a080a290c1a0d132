"""The :class:`Item2Vec` estimator: validation, state, training schedule, queries."""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from .model_io import PersistenceMixin
from .params import HyperParameters, validate_params
from .ann import IndexMixin
from .export import ExportMixin
from .fitted_state import FittedStateMixin
from .recommender import NotFittedError, RecommenderBase, check_k, is_scalar_id
from .scoring import SCORING_RULES, check_on_unknown, cosine_neighbours, normalize_rows
from ._kernels import make_settings
from .group_sentences import with_group_sentences
from .hard_negatives import LEGACY_PARAMS, as_strategy
from .holdout import FALLBACK_DECAY, wants_holdout
from .widen import base_window, best_candidate, candidate_settings, evaluated, widened
from .sequences import Sequences, as_sequences
from .shards import ShardedSequences, is_prepared, open_prepared, split_for_fit
from .training import check_callbacks, resolve_seed, thread_count, train
from .validation import check_int

__all__ = ["Item2Vec", "NotFittedError"]


class Item2Vec(HyperParameters, FittedStateMixin, PersistenceMixin, IndexMixin, ExportMixin, RecommenderBase):
    """Item embeddings trained with skip-gram negative sampling (SGNS) on item sequences.

    All hyperparameters are keyword-only and stored unchanged; they are
    validated in :meth:`fit`.

    Parameters
    ----------
    vector_size : int, default 128
        Embedding dimension.
    window : int or "auto", default "auto"
        Maximum distance between a center item and a context item
        (``context="window"``): the distance to FOLLOWING items, and to
        preceding items too unless ``backward_window`` is set. ``"auto"``
        (at any ``history_decay``): ``fit`` trains with 20 and with 40
        and keeps whichever ranks the holdout's withheld items better (higher
        mean reciprocal rank; :mod:`item2vec.widen`; long-range taste data such
        as LastFM wants 40, MovieLens and Amazon 20), at about 2.7x the time of
        one fit and two sets of vectors in memory until the choice. The window
        kept is ``window_``, each candidate's holdout reciprocal rank ``window_scores_``.
        The holdout is the one of ``history_decay="auto"`` (below); with a
        fixed decay it is withheld for the window alone. Without a holdout
        (``context="set"``, tiny data) ``"auto"`` is 20.
    backward_window : int or None, default 5
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
        it has no direction (``backward_window`` is ignored).
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
    ns_exponent : float, default 0.0
        Noise distribution ``∝ count ** ns_exponent``; any finite real,
        negative values oversample rare items. 0 (uniform noise) beat
        word2vec's 0.75 by 15-40 % recall@10 on MovieLens and was never worse
        on the rest of the data panel.
    sample : float, default 1e-3
        Subsampling threshold for frequent items; 0 disables it.
    min_count : int, default 1
        Items seen fewer times are dropped from the corpus.
    min_length : int, default 2
        Sequences shorter than this (after dropping rare items) are dropped.
    epochs : int, default 50
        Passes over the corpus. Sparse catalogues need many (Amazon Toys: +70 %
        recall@10 from 20 to 50).
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
    history_length : int or None, default None
        Only the last ``history_length`` items of a history form the profile
        (``None``: all of it, weighted by ``history_decay``).
    history_decay : "auto", float in (0, 1] or None, default "auto"
        Recency weighting of the profile: the item at age ``a`` (newest
        ``a = 0``) weighs ``history_decay ** a``, after the ``history_length``
        cut-off; both scoring rules. ``None`` (or 1) is the plain mean.
        ``"auto"``: ``fit`` withholds the last item of a seeded sample of the
        training sequences (at most 2,000 sequences and 2 % of the events),
        trains on the rest and picks the decay of
        :data:`item2vec.holdout.DECAY_GRID` that ranks the withheld items best
        (recall@10); no second fit. The choice is ``history_decay_`` and
        every candidate's recall is ``decay_scores_``. With fewer than 50
        sequences of 3+ items nothing is withheld and 0.7 is used.
    user_col, item_col, time_col : str
        Columns used when ``fit`` receives a DataFrame. ``time_col="auto"``
        uses ``"timestamp"`` when present, else input order.
    weight_col : str or None, default None
        DataFrame input: a column of event weights (e.g. ratings), see ``fit``.
    session_gap : float, Timedelta or None
        Split histories into sessions at gaps larger than this (seconds).
    hard_negatives : None, GroupNegatives, MinedNegatives or {"mined", "group"}
        Optional hard negatives (see :mod:`item2vec.hard_negatives`), e.g.
        ``GroupNegatives(item_to_genre, ratio=0.1)`` or
        ``MinedNegatives(k=20, every=5)``. ``"mined"`` is ``MinedNegatives()``;
        ``"group"`` is ``GroupNegatives(item_groups, ratio=0.2)``.
    item_groups : mapping, Series or DataFrame(item, group), optional
        Item -> group label(s) (categories, brand, tags): the data of
        ``group_sentences`` and of ``hard_negatives="group"``.
    groups_on_unknown : {"raise", "ignore"}, default "raise"
        Items of ``item_groups`` not in the training data: a ``KeyError``, or left out.
    group_sentences : int, default 0
        Each group of ``item_groups`` adds this many shuffled sentences of its
        members to every epoch's corpus (:mod:`item2vec.group_sentences`), so
        items that share a group get alike. Off by default: +7 % recall@10 with
        LastFM tags (at window 40), none with Amazon categories/brand or
        ml-latest-small genres, −3 to −6 % with ml-100k genres and Yelp
        categories/city (README, Results);
        ``item2vec tune`` searches it where the data has groups.
    hard_negative_ratio, hard_negative_start, mine_every, mine_k, cooccurrence_threshold, mine_pool
        Deprecated: the settings of the string forms ``"group"`` / ``"mined"``
        (a ``DeprecationWarning`` when changed). They are the fields
        ``ratio``, ``start``, ``every``, ``k``, ``cooccurrence_threshold`` and
        ``pool`` of the strategy objects, and must keep their defaults when
        ``hard_negatives`` is an object (``item_groups`` and
        ``groups_on_unknown`` are ``"group"``'s ``groups`` and ``on_unknown``).
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
        With ``window="auto"`` they see the epochs of both candidate fits,
        the narrow one first, each numbered from 0.

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
        self, *, vector_size: int = 128, window: int | str = "auto", backward_window: int | None = 5, context: str = "window", max_set_contexts: int = 20,
        shrink_windows: bool = True, negative: int = 5, shared_negatives: bool = False, ns_exponent: float = 0.0, sample: float = 1e-3,
        min_count: int = 1, min_length: int = 2, epochs: int = 50, alpha: float = 0.025, min_alpha: float = 1e-4,
        n_threads: int | None = None, random_state: int | np.random.Generator | None = None,
        scoring: str = "sgns", history_length: int | None = None, history_decay: float | str | None = "auto",
        user_col: str = "user", item_col: str = "item", time_col: str | None = "auto", session_gap: Any = None, weight_col: str | None = None,
        hard_negatives: str | None = None, hard_negative_ratio: float = 0.2, hard_negative_start: int = 1,
        item_groups: Any = None, groups_on_unknown: str = "raise", group_sentences: int = 0,
        mine_every: int = 5, mine_k: int = 20, cooccurrence_threshold: int = 0, mine_pool: int | None = 1024,
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
        self.history_decay = history_decay
        self.user_col = user_col
        self.item_col = item_col
        self.time_col = time_col
        self.session_gap = session_gap
        self.weight_col = weight_col
        self.hard_negatives = hard_negatives
        self.hard_negative_ratio = hard_negative_ratio
        self.hard_negative_start = hard_negative_start
        self.item_groups = item_groups
        self.groups_on_unknown = groups_on_unknown
        self.group_sentences = group_sentences
        self.mine_every = mine_every
        self.mine_k = mine_k
        self.cooccurrence_threshold = cooccurrence_threshold
        self.mine_pool = mine_pool
        self.verbose = verbose
        self.callbacks = callbacks

    # ------------------------------------------------------------------ training
    def _sequences(self, data: Any, weights: Iterable[Iterable[float]] | None = None, *,
                   min_count: int | None = None, min_length: int | None = None) -> Sequences:
        """``data`` as Sequences (``min_count``/``min_length`` default to the hyperparameters)."""
        if is_prepared(data):  # a folder written by item2vec.spark.prepare, streamed shard by shard
            if weights is not None:
                raise ValueError("a prepared folder carries no event weights; got weights= too")
            return data if isinstance(data, ShardedSequences) else open_prepared(data)
        keys = ("user_col", "item_col", "time_col", "session_gap", "weight_col")
        return as_sequences(data, weights, **{k: getattr(self, k) for k in keys},
                            min_count=self.min_count if min_count is None else min_count,
                            min_length=self.min_length if min_length is None else min_length)

    def _training_data(self, seqs: Any, seed: int) -> tuple[Any, Any, Any]:
        """What ``fit`` trains on, from its sequences and resolved ``seed``: ``(train_seqs, held, corpus)``.

        ``train_seqs`` is ``seqs`` without the withheld targets ``held`` (a
        :class:`~item2vec.holdout.Holdout`, or None: :func:`~item2vec.holdout.wants_holdout`),
        in memory or streamed; ``corpus`` adds the item groups' sentences
        (``group_sentences``). :func:`item2vec.cost.estimate` counts the same corpus.
        """
        withhold = wants_holdout(self.history_decay, self.window, self.context)  # targets for the "auto" choices
        train_seqs, held = split_for_fit(seqs, withhold, seed, self.hard_negatives)
        corpus = with_group_sentences(train_seqs, self.item_groups, self.group_sentences, seed, self.groups_on_unknown)
        return train_seqs, held, corpus

    def fit(self, data: pd.DataFrame | Sequences | Iterable[Iterable[Any]],
            weights: Iterable[Iterable[float]] | None = None) -> "Item2Vec":
        """Learn item vectors from an interaction log or item sequences.

        Training runs on local arrays; the learned state (``vocab_``,
        ``item_vectors_``, ``context_vectors_``, ``loss_history_``, ...) is
        installed only when every epoch has finished, so a fit that fails or
        is interrupted leaves the model as it was (unfitted, or with its
        previous fit). Callbacks are the exception, see ``callbacks``.

        Parameters
        ----------
        data : DataFrame, Sequences, iterable of item-id sequences, or a prepared folder
            A DataFrame is turned into sequences with :func:`build_sequences`
            using ``user_col``, ``item_col``, ``time_col``, ``session_gap``,
            ``weight_col``, ``min_count``, ``min_length``; never modified. A
            ready-made :class:`Sequences` is used as it is (``min_count`` and
            ``min_length`` were applied when it was built), and so is a folder written by
            :func:`item2vec.spark.prepare` (a path or a ``ShardedSequences``), streamed shard by shard.
        weights : iterable of iterables of numbers, optional
            For sequence input, the weight of every event (``weights[s][j]``
            weighs ``data[s][j]``; DataFrames use ``weight_col``), finite and
            >= 0: each pair's step is scaled by the product of its two
            events' weights (details: :func:`build_sequences`). Counts count
            events; the loss is the mean per unit of weight.

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
        seqs = self._sequences(data, weights)
        settings = self._settings()

        train_seqs, held, corpus = self._training_data(seqs, seed)

        def on_epoch(epoch: int, loss: float, W: np.ndarray, C: np.ndarray, history: list[float]) -> None:
            self._call_back(callbacks, seqs.vocab, W, C, history, epoch, loss)

        candidates, windows = [], candidate_settings(settings, self.window, self.context, held is not None)
        for cand in windows:
            trained = train(corpus, cand, dim=self.vector_size, epochs=self.epochs, alpha=float(self.alpha),
                            min_alpha=float(self.min_alpha), ns_exponent=self.ns_exponent, sample=self.sample,
                            seed=seed, threads=threads, hard=self._hard_negative_sampler(train_seqs),
                            on_epoch=on_epoch if callbacks else None, progress=bool(self.verbose))
            candidates.append(evaluated(cand, trained, held, self.history_decay, scoring=self.scoring,
                                        history_length=self.history_length, compare=len(windows) > 1))
        chosen = candidates[best_candidate(candidates)]
        trained = chosen.trained
        self._set_fitted(seqs.vocab, trained.item_vectors, trained.context_vectors, trained.loss_history)
        self.history_decay_ = chosen.decay
        self.decay_scores_ = chosen.scores
        self.window_ = int(chosen.settings.window)
        self.window_scores_ = {int(c.settings.window): c.mrr for c in candidates} \
            if len(candidates) > 1 else {}
        self.n_tokens_ = seqs.n_tokens
        self.n_updates_ = 0  # partial_fit calls since this fit
        self.n_pairs_ = sum(c.trained.n_pairs for c in candidates)  # all training done, as the seconds
        self.training_seconds_ = sum(c.trained.training_seconds for c in candidates)
        self.mining_seconds_ = sum(c.trained.mining_seconds for c in candidates)
        return self

    def partial_fit(self, new_data: pd.DataFrame | Sequences | Iterable[Iterable[Any]], epochs: int | None = None, *,
                    alpha: float | None = None, blend: float = 0.5, replay: str = "new",
                    weights: Iterable[Iterable[float]] | None = None) -> "Item2Vec":
        """Continue training on new data only: new items are appended, existing codes never change.

        Details and measurements: :mod:`item2vec.incremental`. Counts become
        old + new (noise and subsampling tables follow); new items need
        ``min_count`` events in ``new_data``; new rows start as in ``fit``;
        existing vectors continue from where they are, then each moves back
        towards its old value by its share of update events (``blend``).

        Parameters
        ----------
        new_data : DataFrame, Sequences or iterable of item-id sequences
            As for :meth:`fit` (same columns and filters).
        epochs : int, optional
            Passes over ``new_data`` (default ``epochs``).
        alpha : float, optional
            Start of the learning rate, decayed linearly to ``min_alpha`` over
            these epochs (default ``incremental.PARTIAL_ALPHA * alpha``).
        blend : float >= 0, default 0.5
            An existing item's row ends at ``old + s ** blend * (trained - old)``,
            ``s`` its share of update events in its count: items absent from
            the update keep their vectors; ``0`` is plain continued training.
            0.5 was best on a MovieLens time split (``benchmarks/incremental.py``).
        replay : {"new", "all", "off"}, default "new"
            Negative replay after each epoch: the negatives the old corpus would
            give the update's new items (``"all"``: also known items' excess
            share; best on sparse session data, worse on MovieLens).
        weights : iterable of iterables of numbers, optional
            Event weights of sequence input, as for :meth:`fit` (DataFrames use ``weight_col``).

        Returns
        -------
        self
            ``loss_history_`` grows by these epochs, ``n_tokens_`` by the
            update's tokens, ``n_updates_`` by one. ``history_decay="auto"``
            keeps ``history_decay_``. Without any usable event the model is
            unchanged (``RuntimeWarning``).

        Raises
        ------
        NotFittedError
            Before ``fit`` (or ``load``).
        ValueError, TypeError
            Invalid parameters (named), item ids of another kind than the
            model's, hard negatives that cannot be built, diverging training.
        """
        from .incremental import partial_fit

        return partial_fit(self, new_data, epochs, alpha, blend, replay, weights)

    def _settings(self) -> Any:
        """The kernel's :class:`~item2vec._kernels.Settings` for these hyperparameters."""
        return make_settings(base_window(self.window), None if self.context == "set" else self.backward_window, self.shrink_windows,
                             self.context == "set", self.max_set_contexts, self.negative, self.shared_negatives)

    def _fitted_settings(self) -> Any:
        """:meth:`_settings` with the window fit kept (``window_``, see :mod:`item2vec.widen`)."""
        settings = self._settings()
        wide = getattr(self, "window_", settings.window)
        return settings if wide == settings.window or self.context == "set" else widened(settings, wide)

    def _hard_negative_sampler(self, seqs: Sequences) -> Callable[[int, np.ndarray], Any] | None:
        strategy = as_strategy(self.hard_negatives, {k: getattr(self, k) for k in LEGACY_PARAMS})
        return None if strategy is None else strategy.sampler(seqs, self.ns_exponent)

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
        space = self._space(rule)  # the query and item vectors of the rule (item2vec.ann, shared with the index)
        queries, items = self._space_queries(space), self._space_vectors(space)
        return lambda ptr, idx: queries(ptr, idx) @ items.T

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
        check_int("min_count", min_count, 1)
        check_on_unknown(on_unknown)
        scalar = is_scalar_id(item_ids)
        query = np.asarray([item_ids] if scalar else list(item_ids), dtype=object)
        idx = self.vocab_.encode(query) if on_unknown == "raise" else self.vocab_.lookup(query)
        kk, allowed = min(k, len(self.vocab_)), self.vocab_.counts >= min_count
        found = self._index_similar(idx, kk, allowed)  # the ANN index (item2vec.ann), None without one
        top, scores = found if found is not None else cosine_neighbours(self._unit_vectors(), idx, kk, allowed)
        ids = self.vocab_.decode(top)
        return (ids[0], scores[0]) if scalar else (ids, scores)

    def _profile_decay(self) -> float | None:
        """The decay profiles use: ``history_decay``, or for ``"auto"`` the one ``fit`` chose (0.7 if none)."""
        if self.history_decay != "auto":
            return self.history_decay
        chosen = getattr(self, "history_decay_", None)
        return FALLBACK_DECAY if chosen is None else chosen
