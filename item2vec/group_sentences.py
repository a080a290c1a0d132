"""Item groups as extra training sentences: ``Item2Vec(item_groups=..., group_sentences=n)``.

Side information (categories, brands, tags) enters training as text would in
word2vec: every group of ``item_groups`` becomes ``n`` sentences per fit, its
members in a seeded random order, cut into pieces of at most
:data:`SENTENCE_LENGTH` items. They are appended to the users' sequences and
trained with the same window, negatives and learning rate, so items that share
a group are pulled towards each other's contexts even when no user has them
together (most useful for items with few events).

What stays the users' alone: the item counts (noise distribution, subsampling,
``vocab_.counts``), the holdout of ``window="auto"`` / ``history_decay="auto"``
(its targets and histories come from user sequences only), the corpus that
hard negatives are built from, and ``n_tokens_``. Groups with one known member
add nothing. ``partial_fit`` trains on its new data only (no group sentences).

It is a per-data-set choice, not a default: fine-grained groups help a little
(LastFM tags: +7 % recall@10 at window 40; Amazon categories and brand: none),
coarse ones hurt or do nothing (Yelp categories and city −6 %, MovieLens genres −3 % to ±0);
measured with ``benchmarks/panel.py --configs`` (README, Results). ``item2vec tune``
searches it when the data has item groups.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .hard_negatives import csr_by_key, encode_groups
from .sequences import Sequences
from .shards import needs_memory

__all__ = ["SENTENCE_LENGTH", "group_corpus", "with_group_sentences"]

#: Longest group sentence: larger groups are cut into pieces of this many items.
SENTENCE_LENGTH = 40

_STREAM = 0x6701  # seeds the shuffles apart from the fit's other random streams


def group_corpus(seqs: Sequences, item_groups: Any, copies: int, seed: int,
                 on_unknown: str = "raise") -> tuple[np.ndarray, np.ndarray]:
    """The group sentences as CSR arrays ``(items int32, offsets int64)`` over ``seqs.vocab``.

    Each group's distinct known members, shuffled ``copies`` times (one
    permutation per copy), each permutation cut into pieces of at most
    :data:`SENTENCE_LENGTH`; pieces of one item are dropped. Unknown items:
    see :func:`item2vec.hard_negatives.encode_groups` (``on_unknown``).
    """
    idx, gcodes, n_groups = encode_groups(seqs.vocab, item_groups, on_unknown)
    ptr, members = csr_by_key(gcodes.astype(np.int64), idx.astype(np.int32), n_groups)
    rng = np.random.default_rng([_STREAM, int(seed)])
    pieces: list[np.ndarray] = []
    for _ in range(int(copies)):
        for g in range(n_groups):
            group = members[ptr[g]:ptr[g + 1]]
            if group.size < 2:
                continue
            group = rng.permutation(group)
            n = -(-group.size // SENTENCE_LENGTH)  # pieces of (nearly) equal length, none of one item
            pieces += [p for p in np.array_split(group, n) if p.size > 1]
    if not pieces:
        return np.zeros(0, np.int32), np.zeros(1, np.int64)
    offsets = np.zeros(len(pieces) + 1, dtype=np.int64)
    np.cumsum([p.size for p in pieces], out=offsets[1:])
    return np.concatenate(pieces).astype(np.int32), offsets


def with_group_sentences(seqs: Sequences, item_groups: Any, copies: int, seed: int,
                         on_unknown: str = "raise") -> Sequences:
    """``seqs`` with :func:`group_corpus`'s sentences appended (same vocabulary; ``seqs`` if ``copies`` is 0).

    The group sentences' events weigh 1 when ``seqs`` is weighted; their owner
    (``users``) is ``None``. ``ValueError`` when ``copies`` > 0 and there are no
    ``item_groups``, or ``seqs`` is a streamed prepared folder.
    """
    if not copies:
        return seqs
    if item_groups is None:
        raise ValueError(f"group_sentences={copies!r} needs item_groups (a mapping item -> group or list of "
                         f"groups); set item_groups=... or group_sentences=0")
    if not isinstance(seqs, Sequences):
        raise needs_memory("group_sentences", "group_sentences=0")
    items, offsets = group_corpus(seqs, item_groups, copies, seed, on_unknown)
    users = None if seqs.users is None else np.concatenate(
        [np.asarray(seqs.users, dtype=object), np.full(offsets.size - 1, None, dtype=object)])
    weights = None if seqs.weights is None else np.concatenate([seqs.weights, np.ones(items.size, np.float32)])
    return Sequences(np.concatenate([seqs.items, items]), np.concatenate([seqs.offsets, offsets[1:] + seqs.n_tokens]),
                     seqs.vocab, users, weights)
