"""The SGD steps of the numba SGNS kernel: one (input, output) pair, or one center with shared negatives.

Pure functions over arrays, inlined into :func:`item2vec._kernels.sgns_epoch`
(the update rule is described there); nothing here validates input. The
weighted path of the kernel calls the same steps with the learning rate
scaled by the weight of the pair.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._draws import below, draw_negative, next_random
from ._intrinsics import prefetch_row

MAX_EXP = 6.0
TABLE_SIZE = 2048


@njit(inline="always")
def _table_index(f):
    if f <= -MAX_EXP:
        return 0
    if f >= MAX_EXP:
        return TABLE_SIZE - 1
    return int((f + MAX_EXP) * (TABLE_SIZE / (2.0 * MAX_EXP)))


@njit(inline="always")
def _sgd_rows(W, C, inp, n_rows, n_pos, lr, tables, scratch):
    """One scores-first SGD step of ``W[inp]`` against ``C[rows[:n_rows]]``; returns the -log-likelihood (float32).

    The first ``n_pos`` rows of ``scratch.rows`` are positives (label 1), the
    rest negatives (label 0). Every score ``W[inp]·C[row]`` is taken first,
    then each row is updated in order while the input's gradient is added
    to ``scratch.grad_in`` (the caller applies it to ``W[inp]``). Scoring
    every row before updating any lets the dot products and the cache misses
    overlap; it differs from word2vec.c's score-update-score order only when
    a row appears twice among ``rows`` (its second score then does not see
    its first update).
    """
    D = W.shape[1]
    rows, scores, grads, grad_in = scratch.rows, scratch.scores, scratch.grads, scratch.grad_in
    sig, logsig = tables.sig, tables.logsig
    for k in range(n_rows):
        row = rows[k]
        f = np.float32(0.0)
        for d in range(D):
            f += W[inp, d] * C[row, d]
        scores[k] = f
    flr = np.float32(lr)
    loss = np.float32(0.0)
    for k in range(n_rows):
        idx = _table_index(scores[k])
        if k < n_pos:
            grads[k] = flr * (np.float32(1.0) - sig[idx])
            loss -= logsig[idx]
        else:
            grads[k] = -flr * sig[idx]
            loss -= logsig[TABLE_SIZE - 1 - idx]  # log σ(-f)
    for k in range(n_rows):
        row = rows[k]
        g = grads[k]
        for d in range(D):
            grad_in[d] += g * C[row, d]
            C[row, d] += g * W[inp, d]
    return loss


@njit(inline="always")
def _zero(v):
    # a loop, not ``v[:] = 0``: inside the prange of sgns_epoch, numba turns an
    # array expression into a parfor of its own, which trained wrong vectors
    for d in range(v.shape[0]):
        v[d] = 0.0


@njit(inline="always")
def _apply_grad_in(W, inp, grad_in):
    for d in range(W.shape[1]):
        W[inp, d] += grad_in[d]


@njit(inline="always")
def _train_pair(W, C, inp, target, negative, lr, tables, hard, state, scratch):
    """One (input, target) pair: the positive plus up to ``negative`` negatives in one step; returns (state, loss).

    ``W[inp]`` predicts ``C[target]`` against the sampled negatives; the rows
    are drawn (``rows[0]`` is the target) and prefetched before any is scored.
    """
    rows = scratch.rows
    rows[0] = target
    n_rows = 1
    for _ in range(negative):
        state, n, _hard = draw_negative(state, inp, target, tables.noise, hard)
        if n >= 0:
            rows[n_rows] = n
            prefetch_row(C, n)
            n_rows += 1
    _zero(scratch.grad_in)
    loss = _sgd_rows(W, C, inp, n_rows, 1, lr, tables, scratch)
    _apply_grad_in(W, inp, scratch.grad_in)
    return state, loss


@njit(inline="always")
def _train_center_shared(W, C, c, m, negative, lr, tables, hard, state, scratch):
    """All ``m`` positives ``scratch.ctx[:m]`` of center ``c``, then ``negative`` negatives shared by them.

    Each shared negative stands for the ``m`` per-pair negatives it replaces,
    so its step is weighted by ``m`` (the expected gradient equals per-pair
    sampling; only the variance differs). A draw equal to any context is
    skipped. Hard negatives come from the group of a random context. Rows are
    stepped one at a time (score, then update); ``W[c]`` gets its gradient,
    collected in ``scratch.grad_in``, once at the end.
    """
    ctx, rows = scratch.ctx, scratch.rows
    if m == 0:  # no contexts (the last item with backward_window=0): nothing to train, no negatives to draw
        return state, 0.0
    _zero(scratch.grad_in)
    loss = 0.0
    for t in range(m):
        rows[0] = ctx[t]
        loss += _sgd_rows(W, C, c, 1, 1, lr, tables, scratch)
    state, loss = _shared_negatives(W, C, c, m, np.float64(m), negative, lr, tables, hard, state, scratch, loss)
    _apply_grad_in(W, c, scratch.grad_in)
    return state, loss


@njit(inline="always")
def _shared_negatives(W, C, c, m, scale, negative, lr, tables, hard, state, scratch, loss):
    """The ``negative`` shared negatives of center ``c`` (contexts ``scratch.ctx[:m]``), each stepped by ``lr * scale``.

    A draw equal to a context is skipped; hard negatives come from the group
    of a random context. Returns (state, ``loss`` plus theirs scaled by ``scale``).
    """
    ctx, rows = scratch.ctx, scratch.rows
    for _ in range(negative):
        o = ctx[0]
        if hard.ratio > 0.0 and m > 1:
            state, r = next_random(state)
            o = ctx[below(r, m)]
        state, n, _hard = draw_negative(state, c, o, tables.noise, hard)
        if n < 0:
            continue
        clash = False
        for t in range(m):
            if ctx[t] == n:
                clash = True
                break
        if not clash:
            rows[0] = n
            loss += scale * _sgd_rows(W, C, c, 1, 0, lr * scale, tables, scratch)
    return state, loss


@njit(inline="always")
def _train_center_shared_weighted(W, C, c, wc, m, negative, lr, tables, hard, state, scratch):
    """:func:`_train_center_shared` with event weights; returns (state, loss, pairs, weight).

    Center ``c`` has weight ``wc`` and context ``t`` the weight
    ``scratch.ctx_w[t]``: the positive step of context ``t`` is scaled by
    ``wc * ctx_w[t]`` (skipped when 0), and each shared negative, which stands
    for the per-pair negatives of all ``m`` contexts, by ``wc * Σ_t ctx_w[t]``
    (``m`` when every weight is 1, the unweighted step). ``loss`` is summed
    with those scales, ``pairs`` counts the trained positives and ``weight``
    is ``wc * Σ_t ctx_w[t]``.
    """
    ctx, ctx_w, rows = scratch.ctx, scratch.ctx_w, scratch.rows
    _zero(scratch.grad_in)
    loss = 0.0
    pairs = 0
    w_sum = np.float32(0.0)
    for t in range(m):
        w_sum += ctx_w[t]
        w = wc * ctx_w[t]
        if w > 0.0:
            rows[0] = ctx[t]
            loss += np.float64(w) * _sgd_rows(W, C, c, 1, 1, lr * w, tables, scratch)
            pairs += 1
    w_neg = wc * w_sum
    if w_neg > 0.0:  # m == 0 (the last item with backward_window=0) has none
        state, loss = _shared_negatives(W, C, c, m, np.float64(w_neg), negative, lr, tables, hard, state, scratch, loss)
    _apply_grad_in(W, c, scratch.grad_in)
    return state, loss, pairs, np.float64(w_neg)
