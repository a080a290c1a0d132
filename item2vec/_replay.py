"""Negative replay for ``partial_fit``: the negative pressure of the old corpus, without the old corpus.

In a fit every item's output ("context") vector ``C[j]`` is pushed down, as a
negative, by pairs of the WHOLE corpus each epoch: about
``pairs × negative × noise(j)`` times, with the pairs' input vectors ``W[o]``
(``o`` distributed like the corpus' tokens). An update trains on its own pairs
only, so the items it trains get many positives per negative and their scores
inflate. :func:`replay_negatives` applies, once per update epoch, the missing
part to the output rows the update trained: ``draws[r]`` (in expectation; the
fraction is rounded at random) steps ``C[row] += -lr σ(W[o]·C[row]) W[o]``
with ``o`` drawn from ``inputs`` (a cumulative distribution over the old
items); ``step > 1`` lets fewer, larger steps stand for more negatives (a
budget on the work). The input vectors ``W`` are only read.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from ._draws import block_seed, coin, next_random

__all__ = ["Replay", "replay_negatives"]


class Replay(NamedTuple):
    """What one epoch's replay does (see the module notes)."""

    rows: np.ndarray  # int64 (R,): output rows that receive replayed negatives
    draws: np.ndarray  # float64 (R,): expected negative steps per row this epoch
    step: float  # each step's learning rate is ``step × lr`` (> 1: fewer, larger steps stand for more negatives)
    inputs: np.ndarray  # float64 (n_inputs,): cumulative distribution of the input rows, last entry 1


@njit(cache=True)
def replay_negatives(W, C, replay, lr, seed, epoch):
    """Apply one epoch's replayed negatives to ``C`` in place; returns the number of steps taken.

    Deterministic for a given ``(seed, epoch)``: one random stream, rows in order.
    """
    state = block_seed(seed, epoch, 0)
    cdf = replay.inputs
    D = W.shape[1]
    flr = np.float32(lr * replay.step)
    steps = 0
    for k in range(replay.rows.shape[0]):
        row = replay.rows[k]
        want = replay.draws[k]
        n = np.int64(want)
        state, r = next_random(state)
        if coin(r) < want - n:
            n += 1
        for _ in range(n):
            state, r = next_random(state)
            o = np.searchsorted(cdf, coin(r), side="right")
            if o >= cdf.shape[0]:
                o = cdf.shape[0] - 1
            f = np.float32(0.0)
            for d in range(D):
                f += W[o, d] * C[row, d]
            g = -flr / (np.float32(1.0) + np.exp(-f))
            for d in range(D):
                C[row, d] += g * W[o, d]
            steps += 1
    return steps
