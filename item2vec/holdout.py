"""Choosing the recency decay of profiles on withheld training events.

With ``Item2Vec(history_decay="auto")`` (the default), ``fit`` withholds the
last item of a random sample of the training sequences, trains on the rest and
then picks, from :data:`DECAY_GRID`, the decay whose profiles rank the withheld
items best (recall@10, seen items filtered, the model's scoring rule). The
chosen value is ``history_decay_``; no second fit is made. The same holdout
chooses ``window="auto"`` (:mod:`item2vec.widen`), also when the decay is fixed
(:func:`wants_holdout`).

Why: the best decay is a property of the data (measured on the data panel,
README, "What decided the defaults"): Amazon Toys wants fast decay (0.3, the last item
matters most), Yelp and LastFM slow decay (0.8-0.9, long-range taste) and
MovieLens sits in between. A held-out slice of the *training* sequences whose
targets were never trained on finds the right region; the sequences' own last
items (trained on) pick too slow a decay, so they are withheld.

Everything here is numpy over the CSR layout of :class:`Sequences`.
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np

from .scoring import CHUNK_CELLS, chunked_topk, mask_rows, normalize_rows, profiles
from .sequences import Sequences

__all__ = ["DECAY_GRID", "FALLBACK_DECAY", "Holdout", "withhold_last", "wants_holdout", "training_split", "choose_decay", "reciprocal_rank", "fitted_decay"]

#: Decays tried by ``history_decay="auto"`` (weight of the item at age ``a`` is ``decay ** a``).
DECAY_GRID = (0.3, 0.5, 0.7, 0.8, 0.9, 0.95)
#: Used when too few sequences can be withheld to choose (and to break exact ties).
FALLBACK_DECAY = 0.7
#: Withhold the last item of at most this many sequences ...
MAX_HELD = 2000
#: ... and at most this share of all training events.
MAX_HELD_SHARE = 0.02
#: Sequences need this many items to give one (history of >= 2 items, target).
MIN_HELD_LENGTH = 3
#: Fewer eligible sequences than this: no holdout, ``FALLBACK_DECAY`` is used.
MIN_HELD = 50


class Holdout(NamedTuple):
    """Withheld targets: histories as a CSR of vocabulary indices and one target per history."""

    indptr: np.ndarray  # int64 (n + 1,)
    indices: np.ndarray  # int32, histories in time order
    targets: np.ndarray  # int32 (n,)

    def __len__(self) -> int:
        return int(self.targets.size)


def held_sequences(lengths: np.ndarray, n_tokens: int, seed: int, max_held: int = MAX_HELD,
                   max_share: float = MAX_HELD_SHARE, min_length: int = MIN_HELD_LENGTH,
                   min_held: int = MIN_HELD) -> np.ndarray | None:
    """The sorted indices of the sequences :func:`withhold_last` takes a target from (None: too few).

    Depends on the sequence ``lengths`` alone, so a streamed corpus
    (:mod:`item2vec.shards`) draws the same sample as the one in memory.
    """
    eligible = np.flatnonzero(lengths >= min_length)
    n_hold = min(int(max_held), math.ceil(max_share * n_tokens), eligible.size)
    if n_hold < min_held:
        return None
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(eligible, n_hold, replace=False)) if eligible.size > n_hold else eligible


def offsets_without_last(offsets: np.ndarray, picked: np.ndarray) -> np.ndarray:
    """CSR ``offsets`` after removing the last item of the sequences ``picked``."""
    removed = np.zeros(offsets.size - 1, dtype=np.int64)
    removed[picked] = 1
    out = offsets.copy()
    out[1:] -= np.cumsum(removed)
    return out


def withhold_last(seqs: Sequences, seed: int, max_held: int = MAX_HELD, max_share: float = MAX_HELD_SHARE,
                  min_length: int = MIN_HELD_LENGTH, min_held: int = MIN_HELD) -> tuple[Sequences, Holdout | None]:
    """Remove the last item of a seeded sample of sequences; return the rest and the holdout.

    Parameters
    ----------
    seqs : Sequences
        The training corpus.
    seed : int
        Seed of the sample (``fit`` derives it from ``random_state``).
    max_held, max_share : int, float
        At most ``min(max_held, ceil(max_share * n_tokens))`` sequences give a target.
    min_length : int
        Only sequences with at least this many items are sampled.
    min_held : int
        With fewer eligible sequences than this (small data), nothing is withheld
        and the holdout is ``None``.

    Returns
    -------
    train, holdout : Sequences, Holdout or None
        ``train`` shares ``seqs.vocab`` (counts include the withheld items, so the
        noise and subsampling tables are those of the whole data).
    """
    picked = held_sequences(seqs.lengths, seqs.n_tokens, seed, max_held, max_share, min_length, min_held)
    if picked is None:
        return seqs, None
    last = seqs.offsets[picked + 1] - 1
    targets = seqs.items[last].astype(np.int32)
    keep = np.ones(seqs.n_tokens, dtype=bool)
    keep[last] = False
    train = Sequences(seqs.items[keep], offsets_without_last(seqs.offsets, picked), seqs.vocab, seqs.users, None if seqs.weights is None else seqs.weights[keep])
    hist_len = seqs.lengths[picked] - 1
    indptr = np.zeros(picked.size + 1, dtype=np.int64)
    np.cumsum(hist_len, out=indptr[1:])
    starts = seqs.offsets[picked]
    pos = np.arange(indptr[-1]) - np.repeat(indptr[:-1], hist_len) + np.repeat(starts, hist_len)
    return train, Holdout(indptr, seqs.items[pos].astype(np.int32), targets)


def wants_holdout(history_decay: object, window: object, context: str = "window") -> bool:
    """Whether ``fit`` withholds targets: for ``history_decay="auto"``, and for ``window="auto"`` with
    ``context="window"`` (the window is chosen on the holdout at any decay, :mod:`item2vec.widen`)."""
    return history_decay == "auto" or (window == "auto" and context == "window")


def training_split(seqs: Sequences, withhold: bool, seed: int) -> tuple[Sequences, Holdout | None]:
    """What ``fit`` trains on: all of ``seqs``, or with ``withhold`` (:func:`wants_holdout`) the rest after
    :func:`withhold_last`.

    ``seed`` is the fit's resolved seed; the holdout's sample derives from it.
    """
    if not withhold:
        return seqs, None
    return withhold_last(seqs, seed=holdout_seed(seed))


def holdout_seed(seed: int) -> int:
    """The seed of the holdout sample for a fit's resolved ``seed``."""
    return seed % (2**63 - 1) + 1


def _scorer(item_vectors: np.ndarray, context_vectors: np.ndarray, holdout: Holdout, scoring: str,
            history_length: int | None, decay: float | None) -> tuple[int, Callable[[int, int], np.ndarray]]:
    """The number of items and ``block(a, b)``: the holdout rows' scores at ``decay``, their own items ``-inf``.

    Profiles and scores follow :mod:`item2vec.scoring` (``"sgns"``: weighted
    input vectors against context vectors; ``"cosine"``: unit input vectors).
    """
    if scoring == "cosine":
        W = T = normalize_rows(item_vectors)
    else:
        W, T = item_vectors, context_vectors
    P = profiles(W, holdout.indptr, holdout.indices, history_length, decay)
    if scoring == "cosine":
        P = normalize_rows(P)

    def block(a: int, b: int) -> np.ndarray:
        S = P[a:b] @ T.T
        mask_rows(S, holdout.indptr, holdout.indices, a, b)
        return S

    return T.shape[0], block


def choose_decay(item_vectors: np.ndarray, context_vectors: np.ndarray, holdout: Holdout, *,
                 scoring: str = "sgns", history_length: int | None = None, grid: tuple[float, ...] = DECAY_GRID,
                 k: int = 10) -> tuple[float, dict[float, float]]:
    """The decay of ``grid`` with the best recall@``k`` on ``holdout``, and every decay's recall.

    Scores as ``recommend(filter_seen=True)`` gives them (see :func:`_scorer`).
    Exact ties go to the decay nearest :data:`FALLBACK_DECAY`.
    """
    recall: dict[float, float] = {}
    for decay in grid:
        V, block = _scorer(item_vectors, context_vectors, holdout, scoring, history_length, decay)
        top, _ = chunked_topk(len(holdout), V, min(k, V), block)
        recall[float(decay)] = float((top == holdout.targets[:, None]).any(axis=1).mean())
    best = max(recall.values())
    chosen = min((d for d, r in recall.items() if r == best), key=lambda d: abs(d - FALLBACK_DECAY))
    return chosen, recall


def reciprocal_rank(item_vectors: np.ndarray, context_vectors: np.ndarray, holdout: Holdout, decay: float | None, *,
                    scoring: str = "sgns", history_length: int | None = None) -> float:
    """Mean reciprocal rank of the withheld targets at ``decay``, ranked against every item not in the history.

    Unlike recall@10 it counts every target, also those ranked 11th or 200th, so
    it tells two fits apart with far fewer targets (:mod:`item2vec.widen`).
    Items scoring exactly as high as the target rank before it; a target that
    is in its own history (never recommended) counts 0.
    """
    V, block = _scorer(item_vectors, context_vectors, holdout, scoring, history_length, decay)
    n, step = len(holdout), max(1, CHUNK_CELLS // max(V, 1))
    total = 0.0
    for a in range(0, n, step):
        b = min(n, a + step)
        S = block(a, b)
        target = S[np.arange(b - a), holdout.targets[a:b]]
        rank = (S >= target[:, None]).sum(axis=1)  # counts the target itself
        total += float(np.where(np.isfinite(target), 1.0 / rank, 0.0).sum())  # a target in its history: 0
    return total / n if n else 0.0


def fitted_decay(history_decay: object, holdout: Holdout | None, item_vectors: np.ndarray, context_vectors: np.ndarray,
                 *, scoring: str, history_length: int | None) -> tuple[object, dict[float, float]]:
    """What ``fit`` records as ``(history_decay_, decay_scores_)``: the given decay unless it is ``"auto"``;
    for ``"auto"`` the :func:`choose_decay` choice on ``holdout`` (:data:`FALLBACK_DECAY` without one)."""
    if history_decay != "auto":
        return history_decay, {}
    if holdout is None:
        return FALLBACK_DECAY, {}
    return choose_decay(item_vectors, context_vectors, holdout, scoring=scoring, history_length=history_length)

