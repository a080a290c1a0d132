"""Numba SGNS kernels: pure functions over arrays, one call trains one epoch.

Nothing here validates input or owns state; :mod:`item2vec.model` does that.
The random numbers and negative draws live in :mod:`item2vec._draws`. The
inputs of an epoch travel in a few named bundles: :class:`Corpus` (the
sequences and their blocks), :class:`Tables` (subsampling, noise and sigmoid
tables), :class:`~item2vec._draws.HardNegatives`, :class:`Settings` (window,
negatives, modes) and :class:`Schedule` (learning rate, epoch, seed); each
worker thread owns one :class:`Scratch`.

Update rule. Every (center ``c``, context ``o``) pair of a window is trained
in word2vec.c's order: the context's input vector ``W[o]`` predicts the
center's output ("context") vector ``C[c]`` against negatives ``n_k``, with
learning rate ``lr``::

    g_c   = lr * (1 - σ(W[o]·C[c]))          C[c]   += g_c   * W[o]
    g_n_k = lr * (0 - σ(W[o]·C[n_k]))        C[n_k] += g_n_k * W[o]
    W[o] += g_c * C[c] + Σ_k g_n_k * C[n_k]   (applied at the end of the pair)

which is stochastic gradient ascent on ``log σ(v_o·u_c) + Σ_k log σ(−v_o·u_n_k)``;
all scores of a pair are taken before its first update (:func:`_sgd_rows`).
With symmetric windows this is over the corpus the same objective as "the
center predicts its contexts"; with ``backward < window`` it is directional:
an item's ``W`` is trained against the ``C`` of items up to ``window`` steps
after it and only up to ``backward`` steps before it (``backward == 0``:
never, so ``W[last]·C[candidate]`` scores what comes next; see
:func:`_contexts`). ``shared=True`` keeps the
center as the input (see :func:`_train_center_shared`). σ and log σ come
from lookup tables over ``[-MAX_EXP, MAX_EXP]``; scores outside that range are
*clipped* to it (not skipped), so a saturated pair still gets the small
gradient ``σ(±MAX_EXP)``. The steps are in :mod:`item2vec._sgd`.

Event weights. With ``corpus.weights`` (one float32 ``>= 0`` per token)
every pair of events ``(a, b)`` is trained with its step scaled by
``w_a * w_b``: the learning rate of the positive and of its negatives is
``lr * w_a * w_b`` (with ``shared``, a shared negative's ``lr * m`` becomes
``lr * w_c * Σ_t w_t`` over the center's contexts). Small steps add up, so an
integer weight ``w`` acts, in expectation, like the event repeated ``w``
times with every copy pairing with every copy of its neighbours (``w_a * w_b``
steps). A pair of weight 0 is skipped (no negatives drawn): an event of
weight 0 trains nothing, yet it still takes its place in the sequence (its
neighbours are no closer) and its item can still be drawn as a negative.
Subsampling does not look at weights (an event is kept with its item's
keep probability). The loss and the pair weight of a block are sums scaled
by the pair weights, so ``loss / weight`` is the mean loss per unit of
weight; ``block_pairs`` counts the pairs trained (weight > 0). The weighted
path is a separate block function (:func:`_train_block_weighted`), chosen
once per epoch, so the unweighted path is the code it was before weights;
all-ones weights train bit-identical vectors.

Parallelism: the corpus is cut into fixed blocks of whole sequences. Each of
``n_workers`` threads (a ``prange`` over workers) claims the next unclaimed
block from an atomic counter and trains it with Hogwild (lock-free) updates,
so the blocks are trained in corpus order by whichever thread is free and the
learning rate, which follows the token position, decays with the global
progress as in word2vec.c. Every block has its own random stream derived from
``(seed, epoch, block)``, so with one thread the result is bit-identical run
to run.

Memory: each drawn negative row is prefetched (:func:`prefetch_row`), the
alias table is packed into one ``uint64`` per bucket, and every score of a
pair is taken before its first update, so the cache misses of a pair overlap.
The measurements behind these choices (and the ideas not kept) are in
``benchmarks/README.md`` ("Kernel ideas, measured" and the dated sections).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from ._draws import (HardNegatives, below, block_seed, coin, draw_negative_samples, draw_noise_samples,
                     next_random, no_hard_negatives)
from ._intrinsics import fetch_add
from ._sgd import MAX_EXP, TABLE_SIZE, _train_center_shared, _train_center_shared_weighted, _train_pair

__all__ = ["MAX_EXP", "TABLE_SIZE", "BLOCK_TOKENS", "MAX_BLOCKS", "Corpus", "Tables", "Settings", "Schedule", "Scratch",
           "make_settings", "make_schedule",
           "HardNegatives", "no_hard_negatives", "sigmoid_tables", "sgns_epoch", "make_blocks", "corpus_blocks",
           "all_finite", "block_seed", "draw_noise_samples", "draw_negative_samples"]

#: Tokens per unit of parallel work (blocks are cut from the corpus alone).
BLOCK_TOKENS = 2048
#: At most this many blocks per epoch.
MAX_BLOCKS = 1 << 16


class Corpus(NamedTuple):
    """The training sequences in CSR form, cut into blocks of parallel work."""

    items: np.ndarray  # int32 (n_tokens,): item indices, sequences concatenated
    offsets: np.ndarray  # int64 (n_sequences + 1,): sequence s is items[offsets[s]:offsets[s+1]]
    blocks: np.ndarray  # int64 (n_blocks + 1,): block b is sequences blocks[b]:blocks[b+1]
    # A corpus streamed in parts (one part per call) sits in a larger one; these place it there, so
    # that the learning rate and the random streams are those of the whole corpus:
    weights: np.ndarray = np.zeros(0, np.float32)  # float32 (n_tokens,) event weights; (0,): unweighted
    start: int = 0  # index of items[0] in the whole corpus
    total: int = -1  # tokens of the whole corpus (-1: this part is the whole corpus)
    first_block: int = 0  # index of block 0 among the whole corpus' blocks


class Tables(NamedTuple):
    """Per-item sampling tables and the σ lookup tables."""

    keep_prob: np.ndarray  # float32 (V,): subsampling keep probability (all ones: off)
    noise: np.ndarray  # uint64 (V,): packed alias table of the noise distribution
    sig: np.ndarray  # float32 (TABLE_SIZE,): σ at the bin centres (see sigmoid_tables)
    logsig: np.ndarray  # float32 (TABLE_SIZE,): log σ at the bin centres


class Settings(NamedTuple):
    """What one center trains: its contexts and its negatives (build with :func:`make_settings`)."""

    window: int  # max distance from an input item to a FOLLOWING output item (window mode)
    backward: int  # max distance from an input item to a PRECEDING output item (== window: symmetric; 0: forward-only)
    shrink: bool  # draw the effective window per center (see _train_block)
    set_mode: bool  # every other item of the sequence is context
    max_contexts: int  # set mode: contexts drawn per center on long sequences
    negative: int  # negatives per positive pair (or per center with shared)
    shared: bool  # one set of negatives per center, shared by its contexts


class Schedule(NamedTuple):
    """Where this epoch sits in training: the learning rate decays linearly over all epochs."""

    lr_start: float  # at the start of epoch 0
    lr_end: float  # at the end of the last epoch
    epoch: int
    epochs: int
    seed: np.uint64  # with (epoch, block), seeds every block's random stream


class Scratch(NamedTuple):
    """One worker's buffers (never shared between threads)."""

    buf: np.ndarray  # int32 (longest sequence,): the subsampled sequence
    ctx: np.ndarray  # int32: the contexts of the current center
    rows: np.ndarray  # int64 (negative + 1,): output rows of the current pair, target first
    scores: np.ndarray  # float32 (negative + 1,): W[inp]·C[row] for each row
    grads: np.ndarray  # float32 (negative + 1,): the step (lr-scaled gradient) of each row
    grad_in: np.ndarray  # float32 (D,): gradient collected for the input vector W[inp]
    ctx_w: np.ndarray  # float32 (like ctx): weighted path, the weights of the contexts' events


def make_settings(window: int, backward: int | None, shrink: bool, set_mode: bool, max_contexts: int, negative: int,
             shared: bool) -> Settings:
    """A :class:`Settings` with the kernel's types (``backward=None``: symmetric, same as ``window``)."""
    back = int(window) if backward is None else int(backward)
    return Settings(int(window), back, bool(shrink), bool(set_mode), int(max_contexts), int(negative), bool(shared))


def make_schedule(lr_start: float, lr_end: float, epoch: int, epochs: int, seed: int) -> Schedule:
    """A :class:`Schedule` with the kernel's types."""
    return Schedule(float(lr_start), float(lr_end), int(epoch), int(epochs), np.uint64(seed))


def sigmoid_tables() -> tuple[np.ndarray, np.ndarray]:
    """σ(x) and log σ(x) sampled at the centres of ``TABLE_SIZE`` bins on [-MAX_EXP, MAX_EXP]."""
    x = (np.arange(TABLE_SIZE) + 0.5) / TABLE_SIZE * 2 * MAX_EXP - MAX_EXP
    sig = 1.0 / (1.0 + np.exp(-x))
    return sig.astype(np.float32), np.log(sig).astype(np.float32)



@njit(inline="always")
def _subsample(corpus, s, keep_prob, state, buf):
    """Sequence ``s`` with frequent items dropped, into ``buf``; returns (state, length)."""
    L = 0
    for p in range(corpus.offsets[s], corpus.offsets[s + 1]):
        it = corpus.items[p]
        if keep_prob[it] < 1.0:
            state, r = next_random(state)
            if np.float32(coin(r)) >= keep_prob[it]:
                continue
        buf[L] = it
        L += 1
    return state, L


@njit(inline="always")
def _contexts(i, L, settings, state, scratch):
    """The contexts of position ``i`` of ``scratch.buf[:L]`` into ``scratch.ctx``; returns (state, count).

    Window mode: a pair always trains an input vector ``W[a]`` against the
    output vector ``C[b]`` of an item ``b`` up to ``window`` positions after
    ``a`` or up to ``backward`` positions before it. On the exact path the
    center is the output (its contexts are the inputs, word2vec.c's order),
    so its contexts are the items up to ``window`` before it and ``backward``
    after it; with ``shared`` the center is the input and the sides swap.
    With ``shrink`` one random number shrinks both sides together: at the same
    uniform quantile ``u``, a side of maximum ``n`` gets ``n - floor(u * n)``
    (uniform on ``1..n``; 0 when ``n == 0``), so a symmetric window stays
    symmetric and is drawn exactly as before ``backward`` existed.
    """
    buf, ctx = scratch.buf, scratch.ctx
    m = 0
    if settings.set_mode:
        if L - 1 <= settings.max_contexts:
            for j in range(L):
                if j != i:
                    ctx[m] = buf[j]
                    m += 1
        else:
            for _ in range(settings.max_contexts):
                state, r = next_random(state)
                j = below(r, L - 1)
                ctx[m] = buf[j + 1] if j >= i else buf[j]
                m += 1
        return state, m
    before, after = settings.window, settings.backward
    if settings.shared:
        before, after = settings.backward, settings.window
    if settings.shrink and (before > 1 or after > 1):
        state, r = next_random(state)
        before -= below(r, before)
        after -= below(r, after)
    for j in range(max(0, i - before), min(L, i + after + 1)):
        if j != i:
            ctx[m] = buf[j]
            m += 1
    return state, m


@njit(inline="always")
def _sequence_lr(corpus, s, schedule):
    """The learning rate of sequence ``s``: linear in its first token's place in the whole corpus, over all epochs."""
    total = np.float64(corpus.offsets[corpus.offsets.shape[0] - 1] if corpus.total < 0 else corpus.total)
    progress = (np.float64(schedule.epoch) * total + np.float64(corpus.start + corpus.offsets[s])) / (
        np.float64(schedule.epochs) * total)
    return max(schedule.lr_end, schedule.lr_start - (schedule.lr_start - schedule.lr_end) * progress)


@njit(inline="always")
def _train_block(corpus, b, W, C, tables, hard, settings, schedule, scratch):
    """Sequences of block ``b`` with the block's own random stream; returns (loss, pairs)."""
    state = block_seed(schedule.seed, schedule.epoch, corpus.first_block + b)
    loss = 0.0
    pairs = 0
    for s in range(corpus.blocks[b], corpus.blocks[b + 1]):
        lr = _sequence_lr(corpus, s, schedule)
        state, L = _subsample(corpus, s, tables.keep_prob, state, scratch.buf)
        if L < 2:
            continue
        for i in range(L):
            c = scratch.buf[i]
            state, m = _contexts(i, L, settings, state, scratch)
            if settings.shared:
                state, l = _train_center_shared(W, C, c, m, settings.negative, lr, tables, hard, state, scratch)
                loss += l
            else:
                # word2vec.c's order: each context item's input vector predicts the center
                for t in range(m):
                    state, l = _train_pair(W, C, scratch.ctx[t], c, settings.negative, lr, tables, hard, state, scratch)
                    loss += l
            pairs += m
    return loss, pairs


@njit(inline="always")
def _subsample_positions(corpus, s, keep_prob, state, buf):
    """:func:`_subsample` for the weighted path: the kept events' positions in sequence ``s``, not their items.

    It makes the same draws as :func:`_subsample`, so both keep the same events.
    """
    base = corpus.offsets[s]
    L = 0
    for p in range(base, corpus.offsets[s + 1]):
        it = corpus.items[p]
        if keep_prob[it] < 1.0:
            state, r = next_random(state)
            if np.float32(coin(r)) >= keep_prob[it]:
                continue
        buf[L] = p - base
        L += 1
    return state, L


@njit(inline="always")
def _context_events(corpus, base, m, scratch):
    """Context positions ``ctx[:m]`` in the sequence at ``base`` -> their items (in ``ctx``) and weights (``ctx_w``)."""
    ctx, ctx_w = scratch.ctx, scratch.ctx_w
    for t in range(m):
        p = base + ctx[t]
        ctx_w[t] = corpus.weights[p]
        ctx[t] = corpus.items[p]


@njit(fastmath=True, nogil=True)  # not inlined: compiled once on its own, it adds little to sgns_epoch's compile time
def _train_block_weighted(corpus, b, W, C, tables, hard, settings, schedule, scratch):
    """:func:`_train_block` with event weights (see "Event weights" above); returns (loss, pairs, weight).

    ``scratch.buf`` holds positions, which :func:`_contexts` copies like
    items; the events' items and weights are read through them. ``loss`` and
    ``weight`` are sums over the pairs scaled by their weights; ``pairs``
    counts the trained pairs (weight > 0).
    """
    items, weights, buf = corpus.items, corpus.weights, scratch.buf
    state = block_seed(schedule.seed, schedule.epoch, corpus.first_block + b)
    loss = 0.0
    pairs = 0
    weight = 0.0
    for s in range(corpus.blocks[b], corpus.blocks[b + 1]):
        lr = _sequence_lr(corpus, s, schedule)
        state, L = _subsample_positions(corpus, s, tables.keep_prob, state, buf)
        if L < 2:
            continue
        base = corpus.offsets[s]
        for i in range(L):
            c = items[base + buf[i]]
            wc = weights[base + buf[i]]
            state, m = _contexts(i, L, settings, state, scratch)
            _context_events(corpus, base, m, scratch)
            if settings.shared:
                state, l, n, w = _train_center_shared_weighted(W, C, c, wc, m, settings.negative, lr, tables, hard,
                                                               state, scratch)
                loss += l
                pairs += n
                weight += w
            else:
                for t in range(m):
                    w = wc * scratch.ctx_w[t]
                    if w > 0.0:
                        state, l = _train_pair(W, C, scratch.ctx[t], c, settings.negative, lr * w, tables, hard,
                                               state, scratch)
                        loss += np.float64(w) * l
                        pairs += 1
                        weight += w
    return loss, pairs, weight


@njit(parallel=True, fastmath=True, cache=True, nogil=True)
def sgns_epoch(corpus, W, C, tables, hard, settings, schedule, block_loss, block_pairs, n_workers):
    """Train one epoch in place on ``W`` (input) and ``C`` (output) vectors.

    Parameters
    ----------
    corpus : Corpus
    W, C : float32 (V, D)
        Input and output vectors, updated in place (Hogwild across threads).
    tables : Tables
    hard : HardNegatives
    settings : Settings
        In set mode every other item of the (subsampled) sequence is context;
        when a sequence has more than ``max_contexts + 1`` items,
        ``max_contexts`` context positions are drawn uniformly (with
        replacement) per center, so the cost per center is bounded.
    schedule : Schedule
        The learning rate decays linearly from ``lr_start`` at the start of
        epoch 0 to ``lr_end`` at the end of the last epoch, by token position.
    block_loss, block_pairs : float64, int64 (n_blocks,)
        Outputs: summed negative log-likelihood and positive pairs per block
        (weighted corpus: the loss scaled by the pair weights, the pairs of
        weight > 0).
    n_workers : int
        Threads that claim blocks (at most numba's current thread count;
        passed in because ``numba.get_num_threads()`` inside a kernel would
        stop it from being cached).

    Returns
    -------
    block_weight : float64 (n_blocks,)
        The summed weight of every block's positive pairs (the pair count
        when unweighted): the mean loss per pair is
        ``block_loss.sum() / block_weight.sum()``.
    """
    offsets = corpus.offsets
    n_blocks = corpus.blocks.shape[0] - 1
    D = W.shape[1]
    longest = 0
    for s in range(offsets.shape[0] - 1):
        longest = max(longest, offsets[s + 1] - offsets[s])
    n_ctx = max(settings.window + settings.backward, settings.max_contexts, 1)
    n_rows = settings.negative + 1
    n_workers = max(1, min(n_workers, n_blocks))
    next_block = np.zeros(1, dtype=np.int64)
    block_weight = np.zeros(n_blocks, dtype=np.float64)
    weighted = corpus.weights.shape[0] != 0
    for _worker in prange(n_workers):
        scratch = Scratch(np.empty(longest, dtype=np.int32), np.empty(n_ctx, dtype=np.int32),
                          np.empty(n_rows, dtype=np.int64), np.empty(n_rows, dtype=np.float32),
                          np.empty(n_rows, dtype=np.float32), np.empty(D, dtype=np.float32),
                          np.empty(n_ctx if weighted else 0, dtype=np.float32))
        while True:
            b = fetch_add(next_block, 1)
            if b >= n_blocks:
                break
            if weighted:
                loss, pairs, weight = _train_block_weighted(corpus, b, W, C, tables, hard, settings, schedule, scratch)
                block_weight[b] = weight
            else:
                loss, pairs = _train_block(corpus, b, W, C, tables, hard, settings, schedule, scratch)
                block_weight[b] = pairs
            block_loss[b] = loss
            block_pairs[b] = pairs
    return block_weight


@njit(cache=True)
def all_finite(M):
    """Whether every element of the 2-d array ``M`` is finite (stops at the first that is not)."""
    for i in range(M.shape[0]):
        for j in range(M.shape[1]):
            if not np.isfinite(M[i, j]):
                return False
    return True


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
