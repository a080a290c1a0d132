"""Numba SGNS kernels: pure functions over arrays, one call trains one epoch.

Nothing here validates input or owns state; :mod:`item2vec.model` does that.

Update rule. Every (center ``c``, context ``o``) pair of a window is trained
in word2vec.c's order: the context's input vector ``W[o]`` predicts the
center's output ("context") vector ``C[c]`` against negatives ``n_k``, with
learning rate ``lr``::

    g_c   = lr * (1 - σ(W[o]·C[c]))          C[c]   += g_c   * W[o]
    g_n_k = lr * (0 - σ(W[o]·C[n_k]))        C[n_k] += g_n_k * W[o]
    W[o] += g_c * C[c] + Σ_k g_n_k * C[n_k]   (applied at the end of the pair)

which is stochastic gradient ascent on ``log σ(v_o·u_c) + Σ_k log σ(−v_o·u_n_k)``;
all scores of a pair are taken before its first update (see :func:`_train_pair`).
Windows are symmetric, so over the corpus this is the same objective as "the
center predicts its contexts"; the order matters in practice (an A/B run over
14 seeds: about +0.25 points of recall@10 on ml-100k and ml-latest-small
against the center predicting its window with one accumulated update).
``shared=True`` keeps the center as the input (see :func:`_train_center_shared`).
σ and log σ come from lookup tables over ``[-MAX_EXP, MAX_EXP]``; scores outside
that range are *clipped* to it (not skipped), so a saturated pair still gets the
small gradient ``σ(±MAX_EXP)``.

Parallelism: the corpus is cut into fixed blocks of whole sequences. Each of
``n_workers`` threads (a ``prange`` over workers) claims the next unclaimed
block from an atomic counter and trains it with Hogwild (lock-free) updates,
so the blocks are trained in corpus order by whichever thread is free. The
learning rate, which follows the token position, therefore decays with the
global progress as in word2vec.c; ``prange``'s static halves would have the
second thread start at the middle of the schedule (one epoch on 10M tokens:
loss 1.91 static vs 1.70 claimed in order). A thread slowed down by the
machine also no longer leaves the other idle at the end. Every block has its
own random stream derived from ``(seed, epoch, block)``, so with one thread
the result is bit-identical run to run.

Memory. With a large vocabulary the pair's negative rows are random rows of
a table far larger than the caches, and the kernel waits on them more than
it computes. Three measures, kept because they won in-process A/B runs
(variants alternated in one process on the same inputs; 200k-item Zipf
corpus, 1 thread, 128 dims, window 3, 10 negatives unless noted; time
relative to before):

* software prefetch of each drawn negative row (:func:`prefetch_row`) instead
  of loading one float per cache line: 0.86 (0.87 with every row in cache);
* the alias table packed into one ``uint64`` per bucket (threshold and alias
  in one load, integer coin): a further 0.95–0.98;
* every score of a pair before its first update: a further 0.86.

Together, against the kernel without them (``benchmarks/kernel_ab.py
--against 7f1035e``): 0.69 / 0.72 (1 / 2 threads) and 0.67 / 0.64 for 64
dims, window 5, 5 negatives. Not kept: pipelining the
draws of the next 1, 2 or 4 pairs ahead of the current pair's updates
(1.12–1.27 in the form tried), and prefetching the next center's rows
(0.90–1.06).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from ._intrinsics import fetch_add, prefetch_row

MAX_EXP = 6.0
TABLE_SIZE = 2048
#: Tokens per unit of parallel work (blocks are cut from the corpus alone).
BLOCK_TOKENS = 2048
#: At most this many blocks per epoch.
MAX_BLOCKS = 1 << 16

_U64 = np.uint64
_MASK32 = np.uint64(0xFFFFFFFF)
_INV32 = 1.0 / 4294967296.0


class HardNegatives(NamedTuple):
    """Hard-negative candidates in the kernel's layout (all arrays contiguous).

    Item ``i`` belongs to groups ``item_groups[item_ptr[i]:item_ptr[i+1]]``;
    group ``g`` has members ``members[group_ptr[g]:group_ptr[g+1]]``; ``cum``
    is the running sum of all member weights over the whole ``members`` array,
    so group ``g``'s weights are differences of ``cum`` over its slice. ``ratio`` is the
    probability that one negative draw is taken from a group of the positive
    item instead of the noise distribution. ``ratio == 0`` disables the path
    entirely (no random numbers are consumed, so results equal plain SGNS).
    """

    item_ptr: np.ndarray  # int64 (V+1)
    item_groups: np.ndarray  # int32
    group_ptr: np.ndarray  # int64 (G+1)
    members: np.ndarray  # int32
    cum: np.ndarray  # float64, running sum of member weights
    ratio: float


def no_hard_negatives() -> HardNegatives:
    """The disabled configuration (empty arrays, ratio 0)."""
    z64 = np.zeros(1, dtype=np.int64)
    return HardNegatives(z64, np.zeros(0, np.int32), z64, np.zeros(0, np.int32), np.zeros(0, np.float64), 0.0)


def sigmoid_tables() -> tuple[np.ndarray, np.ndarray]:
    """σ(x) and log σ(x) sampled at the centres of ``TABLE_SIZE`` bins on [-MAX_EXP, MAX_EXP]."""
    x = (np.arange(TABLE_SIZE) + 0.5) / TABLE_SIZE * 2 * MAX_EXP - MAX_EXP
    sig = 1.0 / (1.0 + np.exp(-x))
    return sig.astype(np.float32), np.log(sig).astype(np.float32)


# ---------------------------------------------------------------------- random numbers
@njit(inline="always")
def _splitmix(x):
    x = x + _U64(0x9E3779B97F4A7C15)
    z = x
    z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
    return z ^ (z >> _U64(31))


@njit(inline="always")
def _next(state):
    """xorshift64*: returns (new_state, 64 random bits)."""
    state ^= state >> _U64(12)
    state ^= state << _U64(25)
    state ^= state >> _U64(27)
    return state, state * _U64(0x2545F4914F6CDD1D)


@njit(cache=True)
def block_seed(seed, epoch, block):
    """Independent, non-zero RNG state for one block of one epoch."""
    s = _splitmix(_U64(seed) ^ _splitmix(_U64(epoch) * _U64(0x100000001B3) + _U64(block)))
    if s == _U64(0):
        s = _U64(0x853C49E6748FEA9B)
    return s


@njit(inline="always")
def _below(r, n):
    """Map 64 random bits to an integer in [0, n) (multiply-shift on the high half)."""
    return np.int64(((r >> _U64(32)) * _U64(n)) >> _U64(32))


@njit(inline="always")
def _draw_noise(r, noise):
    """One draw from the packed alias table ``noise`` (see :func:`item2vec.sampling.pack_alias`).

    The high 32 bits of ``r`` pick the bucket, the low 32 bits are the coin,
    compared as integers with the bucket's threshold: one 8-byte load per draw.
    """
    i = _below(r, noise.shape[0])
    e = noise[i]
    if (r & _MASK32) < (e >> _U64(32)):
        return i
    return np.int64(e & _MASK32)


@njit(inline="always")
def _draw_hard(r1, r2, o, hard):
    """One member of a random group of item ``o`` (weighted by ``hard.cum``); -1 if none."""
    a = hard.item_ptr[o]
    n_groups = hard.item_ptr[o + 1] - a
    if n_groups == 0:
        return -1
    g = hard.item_groups[a + _below(r1, n_groups)]
    lo = hard.group_ptr[g]
    hi = hard.group_ptr[g + 1]
    if hi == lo:
        return -1
    base = hard.cum[lo - 1] if lo > 0 else 0.0
    x = base + (hard.cum[hi - 1] - base) * (np.float64(r2 >> _U64(11)) * (1.0 / 9007199254740992.0))
    # first index in [lo, hi) with cum > x
    while lo < hi:
        mid = (lo + hi) >> 1
        if hard.cum[mid] > x:
            hi = mid
        else:
            lo = mid + 1
    if lo >= hard.group_ptr[g + 1]:
        lo = hard.group_ptr[g + 1] - 1
    return np.int64(hard.members[lo])


@njit(inline="always")
def _table_index(f):
    if f <= -MAX_EXP:
        return 0
    if f >= MAX_EXP:
        return TABLE_SIZE - 1
    return int((f + MAX_EXP) * (TABLE_SIZE / (2.0 * MAX_EXP)))


@njit(inline="always")
def _update_pair(W, C, c, t, label, lr, neu, sig, logsig):
    """One logistic step on (W[c], C[t]); returns the pair's -log-likelihood."""
    D = W.shape[1]
    f = np.float32(0.0)
    for d in range(D):
        f += W[c, d] * C[t, d]
    k = _table_index(f)
    if label:
        g = np.float32(lr) * (np.float32(1.0) - sig[k])
        loss = -logsig[k]
    else:
        g = -np.float32(lr) * sig[k]
        loss = -logsig[TABLE_SIZE - 1 - k]  # log σ(-f)
    for d in range(D):
        neu[d] += g * C[t, d]
        C[t, d] += g * W[c, d]
    return loss


@njit(inline="always")
def _draw_negative(state, c, o, noise, hard):
    """One negative for the pair (input ``c``, positive target ``o``): returns (state, item, is_hard).

    With probability ``hard.ratio`` the draw comes from a random group of the
    positive ``o`` (falling back to noise when ``o`` has no group); otherwise
    from the noise alias table. A draw equal to ``o`` (or, for hard draws, to
    ``c``) is skipped (item -1), as in word2vec.
    """
    if hard.ratio > 0.0:
        # The coin gets its own random number: reusing its bits for the noise
        # draw would condition the alias accept test on "not hard" and skew
        # the noise towards the alias (popular) items.
        state, r = _next(state)
        if np.float64(r & _MASK32) * _INV32 < hard.ratio:
            state, r1 = _next(state)
            state, r2 = _next(state)
            n = _draw_hard(r1, r2, o, hard)
            if n >= 0:
                if n == c or n == o:
                    return state, -1, True
                return state, n, True
    state, r = _next(state)
    n = _draw_noise(r, noise)
    if n == o:
        return state, -1, False
    return state, n, False


@njit(inline="always")
def _train_pair(W, C, inp, target, negative, noise, hard, lr, neu, sig, logsig, state, rows, grads):
    """One (input, target) pair: the positive step plus up to ``negative`` negative steps; returns (state, loss).

    ``W[inp]`` predicts ``C[target]`` against the sampled negatives. The rows
    are drawn first (``rows[0]`` is the target) and prefetched, then all their
    scores ``W[inp]·C[row]`` are taken, then the rows are updated in order and
    ``W[inp]`` gets its gradient, collected in ``neu``, at the end of the pair
    as in word2vec.c. Scoring every row before updating any lets the dot
    products and the cache misses of a pair overlap; it differs from
    word2vec.c's score-update-score order only when a negative is drawn twice
    for the same pair (its second score then does not see its first update).
    """
    D = W.shape[1]
    rows[0] = target
    n_rows = 1
    for _ in range(negative):
        state, n, _hard = _draw_negative(state, inp, target, noise, hard)
        if n >= 0:
            rows[n_rows] = n
            prefetch_row(C, n)
            n_rows += 1
    for k in range(n_rows):
        row = rows[k]
        f = np.float32(0.0)
        for d in range(D):
            f += W[inp, d] * C[row, d]
        grads[k] = f
    flr = np.float32(lr)
    idx = _table_index(grads[0])
    grads[0] = flr * (np.float32(1.0) - sig[idx])
    loss = -logsig[idx]
    for k in range(1, n_rows):
        idx = _table_index(grads[k])
        grads[k] = -flr * sig[idx]
        loss -= logsig[TABLE_SIZE - 1 - idx]  # log σ(-f)
    for d in range(D):
        neu[d] = 0.0
    for k in range(n_rows):
        row = rows[k]
        g = grads[k]
        for d in range(D):
            neu[d] += g * C[row, d]
            C[row, d] += g * W[inp, d]
    for d in range(D):
        W[inp, d] += neu[d]
    return state, loss


@njit(inline="always")
def _train_center_shared(W, C, c, ctx, m, negative, noise, hard, lr, neu, sig, logsig, state):
    """All ``m`` positives of center ``c``, then ``negative`` negatives shared by them.

    Each shared negative stands for the ``m`` per-pair negatives it replaces,
    so its step is weighted by ``m`` (the expected gradient equals per-pair
    sampling; only the variance differs). A draw equal to any context is
    skipped. Hard negatives come from the group of a random context. ``W[c]``
    gets its gradient, collected in ``neu``, once at the end.
    """
    D = W.shape[1]
    for d in range(D):
        neu[d] = 0.0
    loss = 0.0
    for t in range(m):
        loss += _update_pair(W, C, c, ctx[t], True, lr, neu, sig, logsig)
    for _ in range(negative):
        o = ctx[0]
        if hard.ratio > 0.0 and m > 1:
            state, r = _next(state)
            o = ctx[_below(r, m)]
        state, n, _hard = _draw_negative(state, c, o, noise, hard)
        if n < 0:
            continue
        clash = False
        for t in range(m):
            if ctx[t] == n:
                clash = True
                break
        if not clash:
            loss += m * _update_pair(W, C, c, n, False, lr * m, neu, sig, logsig)
    for d in range(D):
        W[c, d] += neu[d]
    return state, loss


@njit(inline="always")
def _train_block(
    items, offsets, s0, s1, W, C, keep_prob, noise, hard,
    window, shrink, set_mode, max_contexts, negative, shared, lr_start, lr_end, epoch, total, span,
    state, sig, logsig, buf, ctx, rows, grads, neu,
):  # fmt: skip
    """Sequences ``s0:s1`` (one block) from random state ``state``; returns (loss, pairs). ``buf`` fits the longest sequence."""
    loss = 0.0
    pairs = 0
    for s in range(s0, s1):
        start = offsets[s]
        progress = (np.float64(epoch) * total + np.float64(start)) / span
        lr = max(lr_end, lr_start - (lr_start - lr_end) * progress)
        # subsample into the block buffer
        L = 0
        for p in range(start, offsets[s + 1]):
            it = items[p]
            if keep_prob[it] < 1.0:
                state, r = _next(state)
                if np.float32(np.float64(r & _MASK32) * _INV32) >= keep_prob[it]:
                    continue
            buf[L] = it
            L += 1
        if L < 2:
            continue
        for i in range(L):
            c = buf[i]
            m = 0
            if set_mode:
                if L - 1 <= max_contexts:
                    for j in range(L):
                        if j != i:
                            ctx[m] = buf[j]
                            m += 1
                else:
                    for _ in range(max_contexts):
                        state, r = _next(state)
                        j = _below(r, L - 1)
                        ctx[m] = buf[j + 1] if j >= i else buf[j]
                        m += 1
            else:
                w = window
                if shrink and window > 1:
                    state, r = _next(state)
                    w = window - _below(r, window)
                for j in range(max(0, i - w), min(L, i + w + 1)):
                    if j != i:
                        ctx[m] = buf[j]
                        m += 1
            if shared:
                state, l = _train_center_shared(W, C, c, ctx, m, negative, noise, hard, lr, neu, sig, logsig, state)
                loss += l
            else:
                # word2vec.c's order: each context item's input vector predicts the center
                for t in range(m):
                    state, l = _train_pair(W, C, ctx[t], c, negative, noise, hard, lr, neu, sig, logsig, state, rows, grads)
                    loss += l
            pairs += m
    return loss, pairs


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def sgns_epoch(
    items, offsets, blocks, W, C, keep_prob, noise, hard,
    window, shrink, set_mode, max_contexts, negative, shared,
    lr_start, lr_end, epoch, epochs, seed, sig, logsig, block_loss, block_pairs, n_workers,
):  # fmt: skip
    """Train one epoch in place on ``W`` (input) and ``C`` (output) vectors.

    Parameters
    ----------
    items, offsets : int32, int64
        CSR sequences. ``blocks`` (int64, n_blocks + 1) are sequence indices
        cutting the corpus into units of parallel work.
    keep_prob : float32 (V,)
        Subsampling keep probability per item (all ones disables it).
    noise : uint64 (V,)
        Packed alias table of the noise distribution
        (:func:`item2vec.sampling.pack_alias`).
    hard : HardNegatives
    window : int
        Maximum distance between center and context (window mode).
    shrink : bool
        Draw the effective window uniformly from 1..window per center.
    set_mode : bool
        Every other item of the (subsampled) sequence is context. When a
        sequence has more than ``max_contexts + 1`` items, ``max_contexts``
        context positions are drawn uniformly (with replacement) per center,
        so the cost per center is bounded.
    shared : bool
        Share one set of ``negative`` draws among all contexts of a center
        (see :func:`_train_center_shared`) instead of drawing per pair.
    lr_start, lr_end, epoch, epochs :
        The learning rate decays linearly from ``lr_start`` at the start of
        epoch 0 to ``lr_end`` at the end of the last epoch, by token position.
    block_loss, block_pairs : float64, int64 (n_blocks,)
        Outputs: summed negative log-likelihood and positive pairs per block.
    n_workers : int
        Threads that claim blocks (at most numba's current thread count;
        passed in because ``numba.get_num_threads()`` inside a kernel would
        stop it from being cached).
    """
    n_blocks = blocks.shape[0] - 1
    D = W.shape[1]
    total = np.float64(offsets[offsets.shape[0] - 1])
    span = np.float64(epochs) * total
    longest = 0
    for s in range(offsets.shape[0] - 1):
        longest = max(longest, offsets[s + 1] - offsets[s])
    n_workers = max(1, min(n_workers, n_blocks))
    next_block = np.zeros(1, dtype=np.int64)
    for _worker in prange(n_workers):
        buf = np.empty(longest, dtype=np.int32)
        ctx = np.empty(max(2 * window, max_contexts, 1), dtype=np.int32)
        rows = np.empty(negative + 1, dtype=np.int64)
        grads = np.empty(negative + 1, dtype=np.float32)
        neu = np.empty(D, dtype=np.float32)
        while True:
            b = fetch_add(next_block, 1)
            if b >= n_blocks:
                break
            loss, pairs = _train_block(
                items, offsets, blocks[b], blocks[b + 1], W, C, keep_prob, noise, hard,
                window, shrink, set_mode, max_contexts, negative, shared, lr_start, lr_end, epoch, total, span,
                block_seed(seed, epoch, b), sig, logsig, buf, ctx, rows, grads, neu,
            )  # fmt: skip
            block_loss[b] = loss
            block_pairs[b] = pairs


def make_blocks(offsets: np.ndarray, n_blocks_hint: int) -> np.ndarray:
    """Cut sequences into about ``n_blocks_hint`` blocks of equal token counts.

    Returns sequence indices ``blocks`` (int64) with ``blocks[0] = 0`` and
    ``blocks[-1] = n_sequences``. A sequence longer than a block gets a block
    of its own; the cut depends only on the corpus, never on the thread count,
    so results with the same seed do not depend on scheduling.
    """
    n_seq = offsets.size - 1
    total = int(offsets[-1])
    n_blocks_hint = max(1, min(int(n_blocks_hint), n_seq))
    targets = np.linspace(0, total, n_blocks_hint + 1)[1:-1]
    cuts = np.searchsorted(offsets, targets, side="left")
    blocks = np.unique(np.concatenate([[0], cuts, [n_seq]])).astype(np.int64)
    return blocks


def corpus_blocks(offsets: np.ndarray) -> np.ndarray:
    """The training blocks of a corpus: about one per ``BLOCK_TOKENS`` tokens, at most ``MAX_BLOCKS``."""
    return make_blocks(offsets, min(MAX_BLOCKS, max(1, int(offsets[-1]) // BLOCK_TOKENS)))


@njit(cache=True)
def draw_noise_samples(noise, n, seed):
    """``n`` draws from a packed alias table with the kernel's own generator (for tests and diagnostics)."""
    out = np.empty(n, dtype=np.int64)
    state = block_seed(seed, 0, 0)
    for t in range(n):
        state, r = _next(state)
        out[t] = _draw_noise(r, noise)
    return out


@njit(cache=True)
def draw_negative_samples(c, o, noise, hard, n, seed):
    """``n`` negative draws for the pair (c, o) exactly as the kernel makes them.

    Returns ``(items, is_hard)``; skipped draws have item -1 (for tests and diagnostics).
    """
    items = np.empty(n, dtype=np.int64)
    is_hard = np.empty(n, dtype=np.bool_)
    state = block_seed(seed, 0, 0)
    for t in range(n):
        state, items[t], is_hard[t] = _draw_negative(state, c, o, noise, hard)
    return items, is_hard
