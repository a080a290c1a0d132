"""Random numbers and negative draws of the numba SGNS kernel.

* A per-block xorshift64* stream seeded from ``(seed, epoch, block)`` by
  splitmix64 (:func:`block_seed`), so a block's draws never depend on which
  thread trains it.
* One negative draw (:func:`draw_negative`): with probability ``hard.ratio``
  a member of a random group of the positive item (:class:`HardNegatives`),
  otherwise an item of the noise distribution from its packed alias table
  (:func:`item2vec.sampling.pack_alias`).

Pure functions over arrays, compiled with numba; nothing here validates input.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

__all__ = ["HardNegatives", "no_hard_negatives", "block_seed", "next_random", "below", "coin", "draw_negative",
           "draw_noise_samples", "draw_negative_samples"]

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


@njit(inline="always")
def _splitmix(x):
    x = x + _U64(0x9E3779B97F4A7C15)
    z = x
    z = (z ^ (z >> _U64(30))) * _U64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> _U64(27))) * _U64(0x94D049BB133111EB)
    return z ^ (z >> _U64(31))


@njit(inline="always")
def next_random(state):
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
def below(r, n):
    """Map 64 random bits to an integer in [0, n) (multiply-shift on the high half)."""
    return np.int64(((r >> _U64(32)) * _U64(n)) >> _U64(32))


@njit(inline="always")
def coin(r):
    """The low 32 bits of ``r`` as a uniform float64 in [0, 1)."""
    return np.float64(r & _MASK32) * _INV32


@njit(inline="always")
def _draw_noise(r, noise):
    """One draw from the packed alias table ``noise`` (see :func:`item2vec.sampling.pack_alias`).

    The high 32 bits of ``r`` pick the bucket, the low 32 bits are the coin,
    compared as integers with the bucket's threshold: one 8-byte load per draw.
    """
    i = below(r, noise.shape[0])
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
    g = hard.item_groups[a + below(r1, n_groups)]
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
def draw_negative(state, c, o, noise, hard):
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
        state, r = next_random(state)
        if coin(r) < hard.ratio:
            state, r1 = next_random(state)
            state, r2 = next_random(state)
            n = _draw_hard(r1, r2, o, hard)
            if n >= 0:
                if n == c or n == o:
                    return state, -1, True
                return state, n, True
    state, r = next_random(state)
    n = _draw_noise(r, noise)
    if n == o:
        return state, -1, False
    return state, n, False


@njit(cache=True)
def draw_noise_samples(noise, n, seed):
    """``n`` draws from a packed alias table with the kernel's own generator (for tests and diagnostics)."""
    out = np.empty(n, dtype=np.int64)
    state = block_seed(seed, 0, 0)
    for t in range(n):
        state, r = next_random(state)
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
        state, items[t], is_hard[t] = draw_negative(state, c, o, noise, hard)
    return items, is_hard
