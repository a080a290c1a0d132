"""The training loop behind :meth:`item2vec.Item2Vec.fit`, on local arrays.

:func:`train` builds the sampling tables and the initial vectors of a corpus,
runs the numba kernel (:func:`item2vec._kernels.sgns_epoch`) once per epoch
and returns the learned state in a :class:`Trained`; it never touches a model.
After every epoch it checks the loss and the vectors, and raises
``ValueError`` naming the learning rate when training diverged.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from collections.abc import Iterable
from typing import Any, Callable

import numba
import numpy as np
from tqdm.auto import tqdm

from ._kernels import (Corpus, Settings, Tables, all_finite, corpus_blocks, make_schedule,
                       no_hard_negatives, sgns_epoch, sigmoid_tables)
from .hard_negatives import Provider
from .sampling import alias_table, keep_probabilities, noise_distribution, pack_alias
from .sequences import Sequences
from .validation import is_int

__all__ = ["Trained", "train", "initial_vectors", "resolve_seed", "thread_count", "check_callbacks"]

#: ``provider(epoch, item_vectors)``: this epoch's hard negatives, or None for plain negatives.
HardNegativeProvider = Provider
#: ``on_epoch(epoch, loss, item_vectors, context_vectors, loss_history)``, called after every epoch.
EpochHook = Callable[[int, float, np.ndarray, np.ndarray, list], None]


@dataclass
class Trained:
    """What :func:`train` learned."""

    item_vectors: np.ndarray  # float32 (V, D), input vectors
    context_vectors: np.ndarray  # float32 (V, D), output vectors
    loss_history: list[float] = field(default_factory=list)  # mean loss per positive pair (weighted: per unit of weight), per epoch
    n_pairs: int = 0  # positive pairs trained over all epochs
    training_seconds: float = 0.0  # in the kernel
    mining_seconds: float = 0.0  # building hard negatives


def resolve_seed(random_state: Any) -> int:
    """The integer seed of ``random_state`` (None: a fresh random one; a Generator: one drawn from it)."""
    rs = random_state
    if rs is None:
        return int(np.random.default_rng().integers(1, 2**63 - 1))
    if isinstance(rs, np.random.Generator):
        return int(rs.integers(1, 2**63 - 1))
    if not is_int(rs) or not 0 <= rs < 2**64:
        raise ValueError(f"random_state must be None, an integer in [0, 2**64) or a numpy Generator, "
                         f"got random_state={rs!r}")
    return int(rs)


def thread_count(n_threads: int | None) -> int:
    """Training threads for ``n_threads`` (None: all numba threads), capped at numba's with a warning."""
    available = numba.config.NUMBA_NUM_THREADS
    if n_threads is None:
        return available
    if n_threads > available:
        warnings.warn(f"n_threads={n_threads} but numba has {available} threads (NUMBA_NUM_THREADS); "
                      f"training with {available}", RuntimeWarning, stacklevel=3)
    return min(int(n_threads), available)


def check_callbacks(callbacks: Any) -> list[Callable[..., Any]]:
    """``callbacks`` as a list; ``ValueError`` unless it is None or an iterable of callables."""
    if callbacks is None:
        return []
    rule = "callbacks must be None or a list of callables cb(model, epoch, loss)"
    if callable(callbacks) or isinstance(callbacks, (str, bytes)) or not isinstance(callbacks, Iterable):
        raise ValueError(f"{rule}, got callbacks={callbacks!r}")
    cbs = list(callbacks)
    bad = [cb for cb in cbs if not callable(cb)]
    if bad:
        raise ValueError(f"{rule}; not callable: {bad[0]!r}")
    return cbs


def initial_vectors(n_items: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """word2vec's start: input vectors U(-0.5, 0.5) / dim (built in place, no temporaries), output vectors 0."""
    W = np.random.default_rng(seed).random((n_items, dim), dtype=np.float32)
    W -= np.float32(0.5)
    W /= np.float32(dim)
    return W, np.zeros((n_items, dim), dtype=np.float32)


def corpus_parts(seqs: Any) -> tuple[int, Callable[[], Iterable[tuple[Corpus, slice]]]]:
    """The kernel blocks of ``seqs`` and a factory of ``(Corpus, blocks)`` parts to train in order.

    In-memory :class:`Sequences` are one part; a streamed corpus (an object with
    ``corpus_parts()``, such as :class:`item2vec.shards.ShardedSequences`) gives
    bounded parts placed in the whole corpus, so the result is the same.
    """
    if hasattr(seqs, "corpus_parts"):
        return seqs.corpus_parts()
    corpus = Corpus(seqs.items, seqs.offsets, corpus_blocks(seqs.offsets),
                    np.zeros(0, np.float32) if seqs.weights is None else seqs.weights)
    n_blocks = corpus.blocks.size - 1
    return n_blocks, lambda: ((corpus, slice(0, n_blocks)),)


def train(seqs: Sequences, settings: Settings, *, dim: int, epochs: int, alpha: float, min_alpha: float,
          ns_exponent: float, sample: float, seed: int, threads: int, hard: HardNegativeProvider | None = None,
          on_epoch: EpochHook | None = None, progress: bool = False,
          init: tuple[np.ndarray, np.ndarray] | None = None) -> Trained:
    """Train SGNS vectors on ``seqs`` for ``epochs`` epochs; returns a :class:`Trained`.

    ``alpha`` decays linearly to ``min_alpha`` over all epochs. ``threads``
    numba threads train (restored afterwards). ``hard`` provides each epoch's
    hard negatives from the current input vectors. ``on_epoch`` sees the
    training arrays themselves (not copies) after every epoch. ``progress``
    shows a bar on stderr when it is a terminal (and in notebooks), one tick
    per epoch. ``init``: the (input, output) vectors to start from, float32
    C-contiguous ``(len(seqs.vocab), dim)``, trained IN PLACE (pass copies);
    ``None`` starts from :func:`initial_vectors` (``partial_fit`` passes the
    fitted vectors, see :mod:`item2vec.incremental`).

    Raises
    ------
    ValueError
        When an epoch ends with a non-finite loss or non-finite vectors
        (training diverged), naming the epoch and ``alpha``.
    """
    W, C = initial_vectors(len(seqs.vocab), dim, seed) if init is None else init
    noise = pack_alias(*alias_table(noise_distribution(seqs.vocab.counts, ns_exponent)))
    tables = Tables(keep_probabilities(seqs.vocab.counts, sample), noise, *sigmoid_tables())
    n_blocks, parts = corpus_parts(seqs)
    weights = getattr(seqs, "weights", None)  # a streamed corpus carries none
    block_loss = np.zeros(n_blocks, dtype=np.float64)
    block_pairs = np.zeros(n_blocks, dtype=np.int64)
    out = Trained(W, C)
    previous = numba.get_num_threads()
    # disable=None: no bar when stderr is not a terminal (logs get no "\r" updates); notebooks still get one
    bar = tqdm(total=epochs, desc="item2vec", unit="epoch", disable=None if progress else True, leave=False)
    try:
        numba.set_num_threads(threads)
        for epoch in range(epochs):
            negatives = None
            if hard is not None:
                t0 = time.perf_counter()
                negatives = hard(epoch, W)
                out.mining_seconds += time.perf_counter() - t0
            t0 = time.perf_counter()
            epoch_weight = 0.0
            for corpus, part in parts():  # one part in memory; a streamed corpus (item2vec.shards) in bounded parts
                epoch_weight += float(sgns_epoch(corpus, W, C, tables,
                                                 no_hard_negatives() if negatives is None else negatives, settings,
                                                 make_schedule(alpha, min_alpha, epoch, epochs, seed),
                                                 block_loss[part], block_pairs[part], threads).sum())
            out.training_seconds += time.perf_counter() - t0
            pairs = int(block_pairs.sum())
            if epoch == 0 and pairs == 0:
                why = " or every pair has weight 0" if weights is not None else ""
                warnings.warn(f"the first epoch trained no (center, context) pairs: subsampling (sample={sample}) "
                              f"left no sequence with 2 items{why}; on small data use sample=0", RuntimeWarning, stacklevel=3)
            weight = max(pairs, 1) if weights is None else epoch_weight  # weighted: loss per unit
            loss = float(block_loss.sum() / weight) if weight > 0 else 0.0
            if not (math.isfinite(loss) and all_finite(W) and all_finite(C)):
                raise ValueError(f"training diverged in epoch {epoch} (loss {loss}, non-finite vectors): the learning "
                                 f"rate alpha={alpha!r} is too large for this data"
                                 f"{'' if weights is None else ' and weights (a pair steps by alpha x its weight)'}"
                                 f"; try a smaller alpha, e.g. "
                                 f"alpha={alpha / 10:g}")
            out.n_pairs += pairs
            out.loss_history.append(loss)
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4f}")  # refreshes, so the counter advances even on fast fits
            if on_epoch is not None:
                on_epoch(epoch, loss, W, C, out.loss_history)
    finally:
        numba.set_num_threads(previous)
        bar.close()
    return out
