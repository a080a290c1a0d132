"""Incremental training: the body of :meth:`item2vec.Item2Vec.partial_fit`.

A fitted model continues training on NEW sequences only (no replay of the old
data), so an update costs about ``new tokens / old tokens`` of a refit:

* **Vocabulary.** Known items keep their codes (rows of the vectors); items
  new to the model are APPENDED after them, by decreasing count in the update
  (ties: by id for non-negative integer ids, else by first appearance). A new
  item joins only with at least ``min_count`` events in the update (the model
  never stored the counts of items its earlier fits dropped); known items are
  always kept. Events of items left out are removed before sequences shorter
  than ``min_length`` are dropped, as in ``fit``. A :class:`Sequences` input
  is used as it is (every item of it joins).
* **Counts and tables.** ``vocab_.counts`` become old + update counts; the
  noise table (``count ** ns_exponent``) and the subsampling
  keep-probabilities are rebuilt from them.
* **New rows** start as ``fit`` starts every row
  (:func:`item2vec.training.initial_vectors`: input vectors
  U(-0.5, 0.5) / dim, output vectors 0), from a seed derived from the model's
  seed and the update's number.
* **Learning rate.** Linear from ``alpha`` (default
  ``PARTIAL_ALPHA * model.alpha``) to ``min_alpha`` over the update's
  ``epochs`` (default ``model.epochs``): the schedule of a fresh fit,
  restarted at a fraction of its start. Measured on ml-latest-small
  (``benchmarks/incremental.py``, blend=0.5, recall@10 vs a refit): 1.01x from
  ``alpha``, 1.03x from ``0.5 * alpha``, 1.00x from ``0.25 * alpha``; much
  lower rates leave new items half-trained (context vectors near 0 score
  above the many negative scores and crowd the top of the lists).
* **Negative replay** (``replay``, :mod:`item2vec._replay`). In a fit every
  item's output vector is pushed down as a negative by pairs of the whole
  corpus each epoch; an update's pairs alone give the items it trains far
  more positives per negative (on the DIGINETICA sample new items took 77 %
  of the top-10 slots). After each update epoch, the output rows of new items
  (``"new"``, the default) - with ``"all"`` also known items whose update
  share exceeds the update's share of all tokens - get the negatives the old
  corpus would have given them (:func:`replay_plan`), with input vectors drawn
  like the old tokens and the epoch's mean learning rate; input vectors are
  never changed by it. Its work is capped at :data:`REPLAY_BUDGET` times the
  update's own negative draws (fewer, proportionally larger steps).
  ``"off"`` is the plain continued training of earlier versions.
* **Consolidation.** Training on the update alone drifts the model towards
  the update's items (on ml-latest-small it recommended items of half the
  usual popularity, and recall@10 stayed at the no-update level). So after
  the last epoch every existing row moves only part of the way from its old
  value ``x0`` to its trained value ``x1``: ``x0 + s ** blend * (x1 - x0)``,
  where ``s`` is the item's share of update events in its updated count
  (``new / (old + new)``). Items absent from the update keep their vectors
  exactly; new items (``s = 1``) keep their trained vectors. ``blend=0`` is
  plain continued training; the default 0.5 (:data:`BLEND`) was best on the
  ml-latest-small time split of ``benchmarks/incremental.py`` (recall@10 vs a
  refit: 0.90x with ``blend=0``, 0.97x with 1, 1.03x with 0.5; 1.01x with 0.5
  on a second seed). Callbacks and ``loss_history_`` see the vectors before
  this step.
* **history_decay.** ``"auto"`` keeps the decay the first fit chose
  (``history_decay_``): choosing again would withhold the last events of the
  update, its most recent ones, and the decay is a property of the data set
  rather than of a day (on ml-latest-small the kept 0.7 scored 0.0950 on the
  test targets, the best decay of the grid with hindsight 0.0971).
  A float or ``None`` is used as given.
* **Hard negatives** work as in ``fit``, on the update's sequences:
  ``GroupNegatives`` needs groups for the update's vocabulary (a loaded model
  has none: set ``hard_negatives=GroupNegatives(groups)`` first, or the call
  raises ``ValueError``); ``MinedNegatives`` mines from the current vectors,
  with co-occurrence exclusions counted in the update only.
* **Seeds.** Update ``n`` (``n_updates_``) trains with a seed derived from
  ``(seed, n)``, so the same seed, data and sequence of updates with
  ``n_threads=1`` give bit-identical vectors, and two updates never replay
  the same random streams.

Measured (``benchmarks/incremental.py``, 1 thread, seed 0; fit on the first
80 % of time, update with the next 10 %, next-item recall@10 on the last 10 %
vs a refit on 90 %). ml-latest-small: ``replay="new"`` 1.03x a refit at
0.07x its time (``"off"`` 1.025x; ``"all"`` only 0.79x: replaying known
items' excess hurts long user histories), 5 daily updates tracked daily
refits at 0.98-1.04x (``"off"``; ``"new"``: day 5 at 1.02x the 90 % refit). DIGINETICA sample (update: 1.2k views,
617 new items, onto 9.9k views; 249 queries, seeds 0/1): ``"off"`` 0.27x/0.30x
(new items took 77 % of the top-10 slots), ``"new"`` 0.82x/0.70x (about the
no-update model, 0.85x/0.78x), ``"all"`` 1.09x/0.97x at about 0.2-0.3x the
refit's time, and 5 daily ``"all"`` updates 1.00-1.13x daily refits
(``"new"``: falling to 0.47x by day 5; ``"off"``: 0.004 recall). With
cuts at 70 %/85 % (334 queries) ``"all"`` reached 0.86x (``"new"`` 0.68x,
``"off"`` 0.27x, no update 0.64x). So: the default ``"new"`` is safe on
both; use ``replay="all"`` for sparse session data.

The learned state is installed when every epoch has finished (a failing update
leaves the model as it was). An ANN index built before the update belongs to
the old vectors: it is dropped (with a warning) at the next query, as after ``fit``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ._replay import Replay, replay_negatives
from .recommender import NotFittedError
from .sampling import keep_probabilities, noise_distribution
from .sequences import Sequences
from .training import check_callbacks, initial_vectors, resolve_seed, thread_count, train
from .validation import check_int, is_real
from .vocab import Vocabulary, count_codes

__all__ = ["PARTIAL_ALPHA", "BLEND", "REPLAY", "partial_fit", "update_corpus", "update_seeds", "consolidate",
           "pairs_per_token", "replay_plan"]

#: ``partial_fit``'s learning rate starts at this fraction of ``alpha`` (and decays to ``min_alpha``).
PARTIAL_ALPHA = 0.5
#: Default exponent of the consolidation step (see the module notes).
BLEND = 0.5
#: Default negative replay: ``"new"`` (new items only), ``"all"`` (also known items' excess share) or ``"off"``.
REPLAY = "new"
#: The replay takes at most about this many steps per negative draw of the update's own training.
REPLAY_BUDGET = 0.25


def update_seeds(seed: int, update: int) -> tuple[int, int]:
    """(training seed, new-rows seed) of update number ``update`` (1, 2, ...) of a model seeded ``seed``."""
    train_seed, init_seed = np.random.SeedSequence([int(seed), int(update)]).generate_state(2, dtype=np.uint64)
    return int(train_seed), int(init_seed)


def _is_empty(data: Any) -> bool:
    if isinstance(data, pd.DataFrame):
        return len(data) == 0
    if isinstance(data, Sequences):
        return data.n_tokens == 0
    return all(len(s) == 0 for s in data)


def _drop_tokens(codes: np.ndarray, offsets: np.ndarray, min_length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Remove codes -1, then sequences shorter than ``min_length``; the remaining (items, offsets) and the kept mask."""
    keep = codes >= 0
    kept = np.zeros(codes.size + 1, dtype=np.int64)
    np.cumsum(keep, out=kept[1:])
    lengths = kept[offsets[1:]] - kept[offsets[:-1]]
    long_enough = lengths >= min_length
    keep &= np.repeat(long_enough, np.diff(offsets))
    new_offsets = np.zeros(int(long_enough.sum()) + 1, dtype=np.int64)
    np.cumsum(lengths[long_enough], out=new_offsets[1:])
    return np.ascontiguousarray(codes[keep], dtype=np.int32), new_offsets, keep


def update_corpus(model: Any, data: Any, weights: Any = None) -> Sequences | None:
    """The update's sequences over the extended vocabulary (known codes kept, new items appended).

    The returned :class:`Sequences` has the vocabulary the model will have
    after the update (counts: old + update). ``None`` when no event is left
    (empty data, or every sequence dropped by ``min_count``/``min_length``).

    Raises
    ------
    TypeError
        The update's item ids are of another kind (integers vs strings) than the model's.
    ValueError
        A prepared folder (``item2vec.spark.prepare``): updates are read in memory.
    """
    from .shards import is_prepared

    if is_prepared(data):
        raise ValueError(f"partial_fit reads its update in memory; {data!r} is a prepared folder: pass "
                         f"open_prepared(path).to_sequences() (the update is usually small)")
    if not isinstance(data, (pd.DataFrame, Sequences)):
        if isinstance(data, (str, bytes)) or not hasattr(data, "__iter__"):
            raise TypeError(f"new_data must be a DataFrame, Sequences or an iterable of item-id sequences, "
                            f"got {type(data).__name__}")
        data = [s if isinstance(s, np.ndarray) else list(s) for s in data]  # a generator is read once
    if _is_empty(data):
        return None
    given = isinstance(data, Sequences)
    raw = model._sequences(data, weights, min_count=1, min_length=1)  # the model's filters are applied below
    old = model.vocab_
    if raw.vocab.kind != old.kind:
        raise TypeError(f"new_data has {raw.vocab.kind} item ids but the model's items are {old.kind} ids; "
                        f"convert them first")
    n_old = len(old)
    known = old.lookup(raw.vocab.ids)
    min_count = 1 if given else int(model.min_count)
    joining = np.flatnonzero((known < 0) & (raw.vocab.counts >= min_count))
    table = known.copy()
    table[joining] = n_old + np.arange(joining.size, dtype=np.int32)
    items, offsets, kept = _drop_tokens(table[raw.items], raw.offsets, 1 if given else int(model.min_length))
    if items.size == 0:
        return None
    counts = count_codes(items, n_old + joining.size)
    fresh = counts[n_old:]
    order = np.argsort(-fresh, kind="stable")
    order = order[fresh[order] > 0]  # items whose every sequence was dropped do not join
    remap = np.full(n_old + joining.size, -1, dtype=np.int32)
    remap[:n_old] = np.arange(n_old, dtype=np.int32)
    remap[n_old + order] = n_old + np.arange(order.size, dtype=np.int32)
    items = remap[items]
    vocab = Vocabulary(np.concatenate([old.ids, raw.vocab.ids[joining[order]]]),
                       np.concatenate([old.counts + counts[:n_old], fresh[order]]))
    return Sequences(items=items, offsets=offsets, vocab=vocab,
                     weights=None if raw.weights is None else np.ascontiguousarray(raw.weights[kept]))


def pairs_per_token(offsets: np.ndarray, settings: Any) -> float:
    """Expected (center, context) pairs per token of the sequences ``offsets`` (subsampling ignored)."""
    lengths = np.diff(offsets).astype(np.float64)
    tokens = max(float(lengths.sum()), 1.0)
    if settings.set_mode:
        return float((lengths * np.minimum(lengths - 1, settings.max_contexts)).sum()) / tokens

    def side(n: int) -> float:  # sum over positions of min(position, b), averaged over the side's b
        if n == 0:
            return 0.0
        bs = np.arange(1, n + 1) if settings.shrink else np.array([n])
        b, L = bs[None, :].astype(np.float64), lengths[:, None]
        short = L - 1 <= b
        s = np.where(short, L * (L - 1) / 2, b * (b + 1) / 2 + (L - 1 - b) * b)
        return float(s.mean(axis=1).sum())

    return (side(settings.window) + side(settings.backward)) / tokens


def replay_plan(old_counts: np.ndarray, seqs: Sequences, settings: Any, ns_exponent: float, sample: float,
                budget: float = REPLAY_BUDGET, known: bool = False) -> Replay:
    """The :class:`~item2vec._replay.Replay` of one update epoch (see the module notes).

    An item the update trains, with share ``s`` of its (updated) count in
    the update, gets the negatives that would balance its update positives in
    a refit and that the update does not give it:
    ``max(0, s × total tokens - update tokens) × pairs per token ×
    negative × noise(item)`` (pairs per token of the update's sequences, noise
    over the updated counts). A new item (``s = 1``) so gets the old corpus'
    whole pressure, a known item only its excess over the update's average
    share, an item at or below that share none (its old positives and
    negatives are already balanced in its vectors); ``known=False`` replays
    for new items only. Inputs are drawn like
    the old tokens (old counts × keep probability). When that is more than ``budget`` times the update's own
    negatives per epoch, fewer steps are taken (the same share per row), each
    with a proportionally larger learning rate, so the replay costs at most
    about ``budget`` times the update's negative work.
    """
    counts = seqs.vocab.counts
    n_old = old_counts.size
    in_update = counts.copy()
    in_update[:n_old] -= old_counts
    rows = np.flatnonzero(in_update > 0).astype(np.int64)
    ppt = pairs_per_token(seqs.offsets, settings)
    share = in_update[rows] / counts[rows]  # the update's share of each row's events
    excess = np.maximum(float(counts.sum()) * share - seqs.n_tokens, 0.0)  # old tokens for new items
    draws = excess * ppt * settings.negative * noise_distribution(counts, ns_exponent)[rows]
    if not known:
        draws[share < 1] = 0
    rows, draws = rows[draws > 0], draws[draws > 0]
    allowed = budget * seqs.n_tokens * ppt * settings.negative
    step = 1.0
    if draws.sum() > allowed > 0:
        step = float(draws.sum() / allowed)
        draws = draws / step
    weights = old_counts * keep_probabilities(counts, sample)[:n_old].astype(np.float64)
    cdf = np.cumsum(weights)
    cdf /= cdf[-1]
    return Replay(rows, draws.astype(np.float64), step, cdf)


def consolidate(old: np.ndarray, trained: np.ndarray, share: np.ndarray, blend: float) -> np.ndarray:
    """``trained`` with its first ``len(old)`` rows moved back to ``old + share ** blend * (trained - old)``, in place.

    Rows with ``share == 0`` become ``old`` exactly; ``blend == 0`` leaves ``trained`` as it is.
    """
    if blend == 0:
        return trained
    lam = np.power(share, blend).astype(np.float32)[:, None]
    rows = trained[: old.shape[0]]
    rows -= old
    rows *= lam
    rows += old
    return trained


def _check_args(model: Any, epochs: Any, alpha: Any) -> tuple[int, float]:
    if getattr(model, "item_vectors_", None) is None:
        raise NotFittedError(f"this {type(model).__name__} is not fitted yet: call fit (or load a model) "
                             f"before partial_fit")
    from .params import validate_params

    validate_params(model.get_params())
    epochs = model.epochs if epochs is None else epochs
    check_int("epochs", epochs, 1)
    alpha = PARTIAL_ALPHA * float(model.alpha) if alpha is None else alpha
    if not is_real(alpha) or not np.isfinite(alpha) or alpha <= 0:
        raise ValueError(f"alpha must be a positive real, got alpha={alpha!r}")
    if alpha < model.min_alpha:
        raise ValueError(f"alpha must be >= min_alpha={model.min_alpha!r}, got alpha={alpha!r}")
    dim = model.item_vectors_.shape[1]
    if model.vector_size != dim:
        raise ValueError(f"vector_size must equal the fitted vectors' dimension {dim} to continue training, "
                         f"got vector_size={model.vector_size!r}")
    return int(epochs), float(alpha)


def partial_fit(model: Any, new_data: Any, epochs: int | None = None, alpha: float | None = None,
                blend: float = BLEND, replay: str = REPLAY, weights: Any = None) -> Any:
    """Continue training a fitted ``model`` on ``new_data`` (see the module notes); returns ``model``.

    Raises
    ------
    NotFittedError
        ``model`` was never fitted (nor loaded).
    ValueError
        An invalid hyperparameter, ``epochs`` or ``alpha`` (named); hard
        negatives that cannot be built for the update; diverging training.
    TypeError
        ``new_data`` of an unsupported type, or item ids of another kind than the model's.
    """
    epochs, alpha = _check_args(model, epochs, alpha)
    if not is_real(blend) or not np.isfinite(blend) or blend < 0:
        raise ValueError(f"blend must be a real >= 0, got blend={blend!r}")
    if replay not in ("new", "all", "off"):
        raise ValueError(f"replay must be 'new', 'all' or 'off', got replay={replay!r}")
    callbacks = check_callbacks(model.callbacks)
    threads = thread_count(model.n_threads)
    seqs = update_corpus(model, new_data, weights)
    if seqs is None:
        warnings.warn("partial_fit: new_data holds no sequence of known or new items after min_count="
                      f"{model.min_count} and min_length={model.min_length}; the model is unchanged",
                      RuntimeWarning, stacklevel=3)
        return model
    update = int(getattr(model, "n_updates_", 0)) + 1
    base_seed = resolve_seed(model.random_state)
    seed, init_seed = update_seeds(base_seed, update)
    n_old, dim = model.item_vectors_.shape
    W_new, C_new = initial_vectors(len(seqs.vocab) - n_old, dim, init_seed)
    W = np.concatenate([model.item_vectors_, W_new])  # copies: the model keeps its vectors until the end
    C = np.concatenate([model.context_vectors_, C_new])
    history = list(model.loss_history_)
    settings = model._fitted_settings()  # with the window fit kept (item2vec.widen)
    plan = None
    if replay != "off":
        plan = replay_plan(model.vocab_.counts, seqs, settings, model.ns_exponent, model.sample,
                           known=replay == "all")
    replay_seed = int(np.random.SeedSequence([base_seed, update, 1]).generate_state(1)[0])
    min_alpha = float(model.min_alpha)

    def on_epoch(epoch: int, loss: float, W: np.ndarray, C: np.ndarray, losses: list[float]) -> None:
        if plan is not None:  # this epoch's mean learning rate
            lr = alpha - (alpha - min_alpha) * (epoch + 0.5) / epochs
            replay_negatives(W, C, plan, lr, np.uint64(replay_seed), epoch)
        if callbacks:
            model._call_back(callbacks, seqs.vocab, W, C, history + losses, epoch, loss)

    trained = train(seqs, settings, dim=dim, epochs=epochs, alpha=alpha, min_alpha=min_alpha,
                    ns_exponent=model.ns_exponent, sample=model.sample, seed=seed, threads=threads,
                    hard=model._hard_negative_sampler(seqs), on_epoch=on_epoch if callbacks or plan is not None else None,
                    progress=bool(model.verbose), init=(W, C))
    pairs_before = getattr(model, "n_pairs_", None)  # None: unknown (a loaded model)
    total = seqs.vocab.counts[:n_old].astype(np.float64)
    share = np.divide(total - model.vocab_.counts, total, out=np.zeros(n_old), where=total > 0)  # update's share
    W = consolidate(model.item_vectors_, trained.item_vectors, share, float(blend))
    C = consolidate(model.context_vectors_, trained.context_vectors, share, float(blend))
    model._set_fitted(seqs.vocab, W, C, history + trained.loss_history)
    model.n_tokens_ = int(getattr(model, "n_tokens_", 0) or 0) + seqs.n_tokens
    if pairs_before is not None or trained.n_pairs:
        model.n_pairs_ = (pairs_before or 0) + trained.n_pairs
    model.training_seconds_ = trained.training_seconds
    model.mining_seconds_ = trained.mining_seconds
    model.n_updates_ = update
    return model
