"""Know the cost before you pay it: training pairs, memory and wall time of a fit, estimated.

:func:`estimate` builds the sequences exactly as ``Item2Vec.fit`` would, then

* **pairs per epoch** - positive (center, context) pairs after subsampling and
  windowing, by expectation: the subsampling of one epoch is simulated token by
  token with the model's keep probabilities (its sum over many sequences is close
  to its mean), and the windowing is exact in expectation given each kept length
  ``L``: with ``shrink_windows`` the window ``w`` is uniform on ``1..window``, a
  center at position ``i`` has ``min(w, i) + min(w, L - 1 - i)`` contexts (with
  ``backward_window`` the two sides have their own maximum); in set
  mode ``min(L - 1, max_set_contexts)``; sequences with ``L < 2`` train nothing
  (as in the kernel). Each positive pair costs ``1 + negative`` updates.
* **memory** of the training state: input and context vectors (``2 V D`` float32),
  the noise alias table (``V`` uint64), keep probabilities (``V`` float32) and the
  sequences (int32 items, int64 offsets);
* **wall time** from a calibration: ``fit`` for one epoch on growing random
  subsets of the sequences (same settings and threads) until one takes
  ``calibration_seconds / 2``, giving pairs/s; the estimate is
  ``pairs_per_epoch * epochs / (pairs/s)`` plus the measured preparation time.

Compare with a real fit: ``model.n_pairs_`` is the pairs trained over all epochs
(see ``tests/test_cost.py``).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .sampling import keep_probabilities
from .sequences import Sequences
from .training import resolve_seed
from .widen import candidate_settings
from .validation import is_real

__all__ = ["CostEstimate", "estimate", "expected_pairs"]


@dataclass(frozen=True)
class CostEstimate:
    """The result of :func:`estimate` (all counts per the given settings)."""

    n_sequences: int
    n_tokens: int
    n_items: int
    pairs_per_epoch: float
    updates_per_epoch: float
    epochs: int
    total_pairs: float
    vector_bytes: int
    table_bytes: int
    sequence_bytes: int
    pairs_per_second: float
    calibration_pairs: int
    preparation_seconds: float
    estimated_seconds: float
    wide_pairs_per_epoch: float = 0.0  # the second candidate fit of the window choice (item2vec.widen), 0: none

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """A few lines for people (what ``item2vec train --dry-run`` prints)."""
        mib = 2.0 ** 20
        return "\n".join([
            f"data: {self.n_sequences:,} sequences, {self.n_tokens:,} events, {self.n_items:,} items",
            f"pairs per epoch: {self.pairs_per_epoch:,.0f} positive (after subsampling and windowing) "
            f"x (1 + negative) = {self.updates_per_epoch:,.0f} updates; {self.epochs} epochs: {self.total_pairs:,.0f} pairs",
            f"memory: vectors {self.vector_bytes / mib:,.1f} MiB, sampling tables {self.table_bytes / mib:,.1f} MiB, "
            f"sequences {self.sequence_bytes / mib:,.1f} MiB",
            *([f"window choice: a second fit at the wide window, {self.wide_pairs_per_epoch:,.0f} positive pairs per "
               f"epoch (in the total; an integer window skips it)"] if self.wide_pairs_per_epoch else []),
            f"speed (calibrated on {self.calibration_pairs:,} pairs): {self.pairs_per_second:,.0f} pairs/s",
            f"estimated wall time: {self.estimated_seconds:,.1f} s "
            f"(training {self.estimated_seconds - self.preparation_seconds:,.1f} s + preparation {self.preparation_seconds:,.1f} s)",
        ])


def _one_side_pairs(L: np.ndarray, w: int) -> np.ndarray:
    """Contexts on one side (``min(w, i)`` summed over the centers ``i``) of sequences of lengths ``L``."""
    L = L.astype(np.float64)
    return np.where(w >= L - 1, L * (L - 1) / 2, w * (w - 1) / 2 + (L - w) * w)


def _side_mean(L: np.ndarray, w: int, shrink: bool) -> float:
    """Expected one-side contexts of all sequences when that side's window is ``w`` (uniform on ``1..w`` with shrink)."""
    if w <= 0:
        return 0.0
    widths = range(1, w + 1) if shrink else [w]
    return float(np.mean([_one_side_pairs(L, x).sum() for x in widths]))


def expected_pairs(kept_lengths: np.ndarray, *, window: int, shrink_windows: bool, context: str,
                   max_set_contexts: int, backward_window: int | None = None) -> float:
    """Expected positive pairs of sequences with the given (subsampled) lengths.

    Parameters
    ----------
    kept_lengths : ndarray of int
        Length of every sequence after subsampling.
    window, shrink_windows, context, max_set_contexts, backward_window
        As in :class:`~item2vec.Item2Vec` (each side of an asymmetric window is
        uniform on ``1..its maximum`` with ``shrink_windows``, as in the kernel).
    """
    L = np.asarray(kept_lengths, dtype=np.int64)
    L = L[L >= 2]
    if context == "set":
        return float(np.sum(L * np.minimum(L - 1, max_set_contexts), dtype=np.float64))
    back = window if backward_window is None else backward_window
    shrink = bool(shrink_windows) and (window > 1 or back > 1)
    return _side_mean(L, window, shrink) + _side_mean(L, back, shrink)


def _kept_lengths(seqs: Any, keep: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Every sequence's length after one draw of subsampling (``keep``: per-item probabilities).

    In memory, or part by part for a streamed prepared folder (its withheld items left out).
    """
    if isinstance(seqs, Sequences):
        return _part_kept(seqs.items, seqs.offsets, keep, rng)
    _, parts = seqs.corpus_parts()
    counts = [_part_kept(corpus.items, corpus.offsets, keep, rng) for corpus, _ in parts()]
    return np.concatenate(counts) if counts else np.zeros(0, np.int64)


def _part_kept(items: np.ndarray, offsets: np.ndarray, keep: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    kept = (rng.random(items.size, dtype=np.float32) < keep[items]) if (keep < 1).any() \
        else np.ones(items.size, dtype=bool)
    lengths = np.diff(offsets)
    seq_of = np.repeat(np.arange(lengths.size), lengths)
    return np.bincount(seq_of[kept], minlength=lengths.size)


def _in_memory_sample(seqs: Any) -> Sequences:
    """``seqs`` itself, or for a streamed folder its first part in memory (the speed calibration's data)."""
    if isinstance(seqs, Sequences):
        return seqs
    _, parts = seqs.corpus_parts()
    for corpus, _ in parts():
        return Sequences(corpus.items, corpus.offsets, seqs.vocab)
    return Sequences(np.zeros(0, np.int32), np.zeros(1, np.int64), seqs.vocab)


def _subset(seqs: Sequences, rows: np.ndarray) -> Sequences:
    lengths = seqs.lengths[rows]
    offsets = np.zeros(rows.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    chosen = np.zeros(len(seqs), dtype=bool)
    chosen[rows] = True
    tokens = np.repeat(chosen, seqs.lengths)
    return Sequences(seqs.items[tokens], offsets, seqs.vocab, weights=None if seqs.weights is None else seqs.weights[tokens])


def _calibrate(model: Any, seqs: Sequences, window: int, seconds: float, seed: int) -> tuple[float, int]:
    """``(pairs/s, pairs)`` of the largest of one-epoch fits on random subsets growing 4x (after a warm-up fit),
    each a single fit with ``window`` (the first window ``fit`` trains)."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(seqs))
    tokens = np.cumsum(seqs.lengths[order])
    probe = type(model)(**{**model.get_params(), "epochs": 1, "verbose": False, "callbacks": None,
                               "window": window})  # one fit per probe: the speed is per pair either way
    probe.fit(_subset(seqs, np.sort(order[: min(len(seqs), 8)])))  # warm-up: numba loads/compiles here, not timed
    size, spent, best = 2_000, 0.0, (0.0, 0)
    while True:
        n = int(np.searchsorted(tokens, size)) + 1
        sub = _subset(seqs, np.sort(order[:n]))
        t0 = time.perf_counter()
        probe.fit(sub)
        spent += time.perf_counter() - t0
        if probe.n_pairs_ and probe.training_seconds_ > 0:
            best = (probe.n_pairs_ / probe.training_seconds_, int(probe.n_pairs_))
        if n >= len(seqs) or probe.training_seconds_ >= seconds / 2 or spent >= seconds:
            return best
        size *= 4


def estimate(data: Any, *, calibration_seconds: float = 3.0, seed: int = 0, **params: Any) -> CostEstimate:
    """Estimate the cost of ``Item2Vec(**params).fit(data)`` without running it.

    Parameters
    ----------
    data : DataFrame, Sequences, iterable of sequences, or a prepared folder
        What ``fit`` would receive. A prepared folder (:mod:`item2vec.shards`)
        is read part by part, as ``fit`` streams it; the speed is calibrated on
        its first part. Settings that need the corpus in memory
        (``group_sentences``, hard negatives) raise ``ValueError`` as in ``fit``.
    calibration_seconds : float, default 3.0
        Budget of the speed calibration (0 skips it: no time estimate).
    seed : int, default 0
        Seed of the subsampling simulation and the calibration subsets.
    **params
        ``Item2Vec`` hyperparameters (validated as in ``fit``).

    Returns
    -------
    CostEstimate
        Its :meth:`CostEstimate.summary` is what ``item2vec train --dry-run`` prints.
    """
    from .model import Item2Vec
    from .params import validate_params

    if not is_real(calibration_seconds) or calibration_seconds < 0:
        raise ValueError(f"calibration_seconds must be a number >= 0, got calibration_seconds={calibration_seconds!r}")
    model = Item2Vec(**params)
    validate_params(model.get_params())
    t0 = time.perf_counter()
    full = model._sequences(data)
    fit_seed = resolve_seed(model.random_state)
    _, held, seqs = model._training_data(full, fit_seed)  # what fit trains on: holdout, group sentences
    keep = keep_probabilities(seqs.vocab.counts, model.sample)
    prep = time.perf_counter() - t0
    kept = _kept_lengths(seqs, keep, np.random.default_rng(seed))
    fits = candidate_settings(model._settings(), model.window, model.context, held is not None)  # as fit trains
    pairs, *wide = [expected_pairs(kept, window=f.window, shrink_windows=model.shrink_windows, context=model.context,
                                   max_set_contexts=model.max_set_contexts, backward_window=f.backward) for f in fits]
    wide_pairs = sum(wide)
    V, D = len(seqs.vocab), model.vector_size
    speed, calib = _calibrate(model, _in_memory_sample(seqs), fits[0].window, float(calibration_seconds), seed) \
        if calibration_seconds > 0 else (0.0, 0)
    total = (pairs + wide_pairs) * model.epochs
    secs = prep + (total / speed if speed > 0 else float("nan"))
    return CostEstimate(
        n_sequences=len(full), n_tokens=full.n_tokens, n_items=V, pairs_per_epoch=pairs,
        updates_per_epoch=pairs * (1 + model.negative), epochs=int(model.epochs), total_pairs=total,
        vector_bytes=2 * V * D * 4, table_bytes=V * (8 + 4), sequence_bytes=4 * full.n_tokens + full.offsets.nbytes,
        pairs_per_second=speed, calibration_pairs=calib, preparation_seconds=prep, estimated_seconds=secs,
        wide_pairs_per_epoch=float(wide_pairs))
