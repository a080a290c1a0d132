"""Hard negatives: candidates that look like the positive item but are not positives.

Two strategies, passed to :class:`item2vec.Item2Vec` as ``hard_negatives=``,
each turning the fitted state into the numba kernel's CSR layout
(:class:`item2vec._draws.HardNegatives`): item -> groups -> weighted members.
A share ``ratio`` of the negative draws for a positive context item ``o`` is
taken from a random group of ``o``; the rest stay popularity^α noise. A hard
draw equal to the center or to ``o`` is skipped. Both begin at epoch ``start``.

:class:`GroupNegatives`
    The caller supplies item -> group(s) (genre, category, market, brand).
    Members of a group are drawn ∝ ``count ** ns_exponent`` (popularity^α
    within the group), as in market-aware negatives for listing embeddings.
:class:`MinedNegatives`
    Every ``every`` epochs the ``k`` nearest neighbours of each item under
    the current input vectors are found exactly among the ``pool`` most
    frequent items (blocked matrix products, O(V·k) memory; the pool keeps a
    round cheap on large catalogues, ``pool=None`` searches them all).
    Neighbours that co-occur with the item in more than
    ``cooccurrence_threshold`` training sequences are removed (the
    false-negative guard: they are probably true positives); the rest are drawn
    uniformly. The guard is applied relative to the positive item ``o``, which
    the center co-occurs with by construction.

Dependencies run one way: the model imports this module, which imports the
kernel's layout; nothing here knows the model. The string shortcuts
``"mined"`` / ``"group"`` and the deprecated ``Item2Vec`` parameters that
configured them map to the objects in :func:`as_strategy`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Callable, Union

import numpy as np
import pandas as pd

from ._draws import HardNegatives
from .mining import cooccurrence_counts, item_sequence_index, mine_neighbors, mined_candidates, mining_pool
from .params import is_default
from .sequences import Sequences, stable_group_order
from .validation import int_rule, is_real, optional_rule
from .vocab import Vocabulary

__all__ = ["GroupNegatives", "MinedNegatives", "as_strategy", "strategy_to_json", "strategy_from_json",
           "group_candidates", "mining_pool", "mine_neighbors", "cooccurrence_counts", "mined_candidates",
           "groups_to_frame", "encode_groups", "csr_by_key", "LEGACY_PARAMS"]

#: ``provider(epoch, item_vectors)``: this epoch's candidates, or None for plain negatives.
Provider = Callable[[int, np.ndarray], Union[HardNegatives, None]]


def groups_to_frame(item_groups: Any) -> pd.DataFrame:
    """Normalise an item -> group(s) mapping to a long ``(item, group)`` DataFrame.

    Accepts a dict or Series mapping item -> label or list of labels, or a
    DataFrame with columns ``item`` and ``group`` (one row per membership).
    Missing or empty-string labels are an error (an item with no group should
    simply be left out, or given an empty list).
    """
    if isinstance(item_groups, pd.DataFrame):
        if not {"item", "group"} <= set(item_groups.columns):
            raise KeyError(f"item_groups DataFrame needs columns 'item' and 'group', has {list(item_groups.columns)}")
        long = item_groups[["item", "group"]].reset_index(drop=True)
    else:
        if isinstance(item_groups, Mapping):
            s = pd.Series(list(item_groups.values()), index=list(item_groups.keys()), dtype=object)
        elif isinstance(item_groups, pd.Series):
            s = item_groups.astype(object)
        else:
            raise TypeError(f"item_groups must be a dict, Series or DataFrame(item, group), got {type(item_groups).__name__}")
        s = s.map(lambda g: list(g) if isinstance(g, (list, tuple, set, frozenset, np.ndarray)) else [g])
        long = s.explode().rename("group").rename_axis("item").reset_index()
        long = long[s.loc[long["item"]].map(len).to_numpy() > 0]  # empty lists: no group
    bad = long["group"].isna() | (long["group"].astype(str) == "")
    if bad.any():
        items = long.loc[bad, "item"].tolist()[:10]
        raise ValueError(f"item_groups has empty or missing group labels for items {items}")
    if long.empty:
        raise ValueError("item_groups is empty: no item belongs to any group")
    return long.drop_duplicates()


def csr_by_key(keys: np.ndarray, values: np.ndarray, n_keys: int) -> tuple[np.ndarray, np.ndarray]:
    """``(ptr, values sorted by key, then value)``: key ``k`` owns ``values[ptr[k]:ptr[k + 1]]`` (``keys`` int64 in ``[0, n_keys)``)."""
    order, ptr = stable_group_order(keys, n_keys, values, True)
    return ptr, values[order]


def encode_groups(vocab: Vocabulary, item_groups: Any, on_unknown: str = "raise") -> tuple[np.ndarray, np.ndarray, int]:
    """Memberships of ``item_groups`` as codes: ``(item index, group code, n_groups)``, one pair per membership.

    Item indices are ``vocab``'s (int64), group codes 0..n_groups-1 in first-seen
    order of the labels (int32). Items of the mapping that are not in the training
    vocabulary raise a ``KeyError`` naming them (``on_unknown="raise"``) or are
    dropped (``"ignore"``, for a mapping that covers a whole catalogue).
    """
    long = groups_to_frame(item_groups)
    idx = vocab.lookup(long["item"].to_numpy())
    if on_unknown == "ignore" and (idx < 0).any():
        if (idx < 0).all():
            raise ValueError(f"none of the {long['item'].nunique()} item(s) of item_groups is in the training vocabulary")
        long, idx = long[idx >= 0], idx[idx >= 0]
    if (idx < 0).any():
        unknown = long.loc[idx < 0, "item"].drop_duplicates().tolist()
        shown = ", ".join(repr(x) for x in unknown[:10])
        raise KeyError(
            f"item_groups has {len(unknown)} item(s) not in the training vocabulary: {shown}"
            f"{' ...' if len(unknown) > 10 else ''}; keep only items present in the training data "
            f"(or drop them: groups_on_unknown='ignore', GroupNegatives(on_unknown='ignore'))"
        )
    gcodes, _ = pd.factorize(long["group"].astype(str))
    return idx.astype(np.int64), gcodes.astype(np.int32), int(gcodes.max()) + 1


def group_candidates(vocab: Vocabulary, item_groups: Any, ns_exponent: float, ratio: float,
                     on_unknown: str = "raise") -> HardNegatives:
    """Kernel layout for the ``"group"`` strategy.

    Unknown items: as :func:`encode_groups` (``on_unknown``).
    """
    idx, gcodes, n_groups = encode_groups(vocab, item_groups, on_unknown)
    item_ptr, item_groups_arr = csr_by_key(idx, gcodes, len(vocab))  # encode_groups: int64 items, int32 groups
    group_ptr, members = csr_by_key(gcodes.astype(np.int64), idx.astype(np.int32), n_groups)
    weights = np.exp(ns_exponent * np.log(vocab.counts[members].astype(np.float64)))
    return HardNegatives(item_ptr, item_groups_arr, group_ptr, members, np.cumsum(weights), float(ratio))


# ---------------------------------------------------------------------- strategies
def _check(owner: str, name: str, value: Any, rule: str, ok: bool) -> None:
    if not ok:
        raise ValueError(f"{owner} {name} must be {rule}, got {name}={value!r}")


def _check_int(owner: str, name: str, value: Any, lo: int, optional: bool = False) -> None:
    rule = optional_rule(int_rule(lo)) if optional else int_rule(lo)
    text = rule(value)  # None when allowed, else "an integer >= lo" (item2vec.validation)
    if text is not None:
        _check(owner, name, value, text, False)


def _check_ratio_start(owner: str, ratio: Any, start: Any) -> None:
    _check(owner, "ratio", ratio, "a real number in [0, 1]",
           is_real(ratio) and 0.0 <= ratio <= 1.0)
    _check_int(owner, "start", start, 0)


@dataclass(frozen=True, eq=False, repr=False)
class GroupNegatives:
    """Hard negatives from caller-given groups (``hard_negatives=GroupNegatives(groups)``).

    Parameters
    ----------
    groups : mapping, Series or DataFrame
        Item -> group, or item -> list of groups, or a DataFrame with columns
        ``item`` and ``group`` (see :func:`groups_to_frame`). Not stored in
        saved models: a loaded model holds ``groups=None`` and needs them
        again to be refitted.
    ratio : float in [0, 1], default 0.1
        Share of negative draws taken from a group of the positive item.
    start : int, default 1
        Epochs of plain training before hard negatives begin.
    on_unknown : {"raise", "ignore"}, default "raise"
        Items of ``groups`` missing from the training data raise a
        ``KeyError`` naming them, or are dropped (``"ignore"``: a mapping for
        a whole catalogue, fitted on part of it).
    """

    groups: Any
    ratio: float = 0.1
    start: int = 1
    on_unknown: str = "raise"

    def __post_init__(self) -> None:
        _check_ratio_start("GroupNegatives", self.ratio, self.start)
        _check("GroupNegatives", "on_unknown", self.on_unknown, "one of 'raise', 'ignore'",
               self.on_unknown in ("raise", "ignore"))

    def __repr__(self) -> str:
        g = self.groups
        shown = "None" if g is None else f"<{len(g)} {'rows' if isinstance(g, pd.DataFrame) else 'items'}>"
        return f"GroupNegatives({shown}, ratio={self.ratio!r}, start={self.start!r}, on_unknown={self.on_unknown!r})"

    def sampler(self, seqs: Sequences, ns_exponent: float) -> Provider | None:
        """The per-epoch provider for these training sequences (None when ``ratio == 0``)."""
        if self.ratio == 0:
            return None
        if self.groups is None:
            raise ValueError("GroupNegatives has no groups (saved models do not store them): "
                             "pass hard_negatives=GroupNegatives(groups, ...) to fit again")
        fixed = group_candidates(seqs.vocab, self.groups, ns_exponent, float(self.ratio), self.on_unknown)
        start = int(self.start)
        return lambda epoch, vectors: fixed if epoch >= start else None


@dataclass(frozen=True)
class MinedNegatives:
    """Hard negatives mined from the model's own neighbours (``hard_negatives=MinedNegatives()``).

    Parameters
    ----------
    k : int, default 20
        Neighbours mined per item.
    every : int, default 5
        Epochs between mining rounds (the first round is at ``start``).
    pool : int or None, default 1024
        Neighbours are searched among this many most frequent items
        (``None``: the whole catalogue); a round costs ``V × pool`` scores.
    cooccurrence_threshold : int, default 0
        Neighbours sharing more than this many training sequences with the
        item are not used (they are probably positives).
    ratio : float in [0, 1], default 0.2
        Share of negative draws taken from the positive item's neighbours.
    start : int, default 1
        Epochs of plain training before hard negatives begin.
    """

    k: int = 20
    every: int = 5
    pool: int | None = 1024
    cooccurrence_threshold: int = 0
    ratio: float = 0.2
    start: int = 1

    def __post_init__(self) -> None:
        _check_int("MinedNegatives", "k", self.k, 1)
        _check_int("MinedNegatives", "every", self.every, 1)
        _check_int("MinedNegatives", "pool", self.pool, 1, optional=True)
        _check_int("MinedNegatives", "cooccurrence_threshold", self.cooccurrence_threshold, 0)
        _check_ratio_start("MinedNegatives", self.ratio, self.start)

    def sampler(self, seqs: Sequences, ns_exponent: float) -> Provider | None:
        """The per-epoch provider for these training sequences (None when ``ratio == 0``)."""
        if self.ratio == 0:
            return None
        index = item_sequence_index(seqs)
        pool = mining_pool(seqs.vocab.counts, self.pool)
        start, every, k, threshold, ratio = (int(self.start), int(self.every), int(self.k),
                                             int(self.cooccurrence_threshold), float(self.ratio))
        last: list[HardNegatives] = []

        def mined(epoch: int, vectors: np.ndarray) -> HardNegatives | None:
            if epoch < start:
                return None
            if not last or (epoch - start) % every == 0:
                last[:] = [mined_candidates(vectors, index, k, threshold, ratio, pool)]
            return last[0]

        return mined


Strategy = Union[GroupNegatives, MinedNegatives]

#: Deprecated ``Item2Vec`` parameters of the string forms, with their defaults and the field they set.
LEGACY_PARAMS: dict[str, tuple[Any, str]] = {
    "hard_negative_ratio": (0.2, "ratio"), "hard_negative_start": (1, "start"), "item_groups": (None, "groups"),
    "groups_on_unknown": ("raise", "on_unknown"), "mine_every": (5, "every"), "mine_k": (20, "k"),
    "cooccurrence_threshold": (0, "cooccurrence_threshold"), "mine_pool": (1024, "pool"),
}
#: Not deprecated: the items' data, which ``Item2Vec(group_sentences=...)`` uses too
#: (:mod:`item2vec.group_sentences`); they still configure ``"group"``.
_GROUP_ONLY = {"item_groups", "groups_on_unknown"}
_MINED_ONLY = {"mine_every", "mine_k", "cooccurrence_threshold", "mine_pool"}


def as_strategy(hard_negatives: Any, legacy: Mapping[str, Any] | None = None) -> Strategy | None:
    """The strategy object for an ``Item2Vec(hard_negatives=...)`` value.

    ``"mined"`` is ``MinedNegatives()`` and ``"group"`` is
    ``GroupNegatives(item_groups, ratio=0.2)``, both configured by the
    parameters in ``legacy`` (names of :data:`LEGACY_PARAMS`). Those other than
    ``item_groups`` and ``groups_on_unknown`` are deprecated (a
    ``DeprecationWarning`` when one differs from its default) and must keep
    their defaults with a strategy object (``ValueError``); the two are the
    items' data, which ``group_sentences`` uses too.
    """
    legacy = dict(legacy or {})
    changed = sorted(k for k, v in legacy.items()
                     if k in LEGACY_PARAMS and k not in _GROUP_ONLY and not is_default(v, LEGACY_PARAMS[k][0]))
    if hard_negatives is None:
        return None
    if isinstance(hard_negatives, (GroupNegatives, MinedNegatives)):
        if changed:
            name = type(hard_negatives).__name__
            raise ValueError(f"{changed[0]}={legacy[changed[0]]!r} configures the string form of hard_negatives; with "
                             f"hard_negatives={name}(...) set {name}({LEGACY_PARAMS[changed[0]][1]}=...) instead")
        return hard_negatives
    if hard_negatives not in ("group", "mined"):
        raise ValueError(f"hard_negatives must be None, 'group', 'mined', a GroupNegatives or a MinedNegatives, "
                         f"got hard_negatives={hard_negatives!r}")
    owned = _GROUP_ONLY if hard_negatives == "group" else _MINED_ONLY
    used = [k for k in changed if k in owned or k in ("hard_negative_ratio", "hard_negative_start")]
    if used:
        cls = "GroupNegatives(groups, ...)" if hard_negatives == "group" else "MinedNegatives(...)"
        warnings.warn(f"Item2Vec parameter(s) {', '.join(used)} are deprecated; use hard_negatives={cls} with "
                      f"{', '.join(f'{LEGACY_PARAMS[k][1]}=' for k in used)}", DeprecationWarning, stacklevel=4)
    value = {k: legacy.get(k, LEGACY_PARAMS[k][0]) for k in LEGACY_PARAMS}
    common = dict(ratio=value["hard_negative_ratio"], start=value["hard_negative_start"])
    if hard_negatives == "group":
        if value["item_groups"] is None:
            raise ValueError("hard_negatives='group' needs item_groups (a mapping item -> group or list of groups); "
                             "or pass hard_negatives=GroupNegatives(groups)")
        return GroupNegatives(value["item_groups"], on_unknown=value["groups_on_unknown"], **common)
    return MinedNegatives(k=value["mine_k"], every=value["mine_every"], pool=value["mine_pool"],
                          cooccurrence_threshold=value["cooccurrence_threshold"], **common)


def strategy_to_json(hard_negatives: Any) -> Any:
    """A JSON value for ``hard_negatives`` in a saved model: None or a string as is; a strategy as a dict with ``kind``.

    ``GroupNegatives.groups`` is data, not a setting, and is left out (as
    ``item_groups`` always was).
    """
    if isinstance(hard_negatives, MinedNegatives):
        return {"kind": "mined", **asdict(hard_negatives)}
    if isinstance(hard_negatives, GroupNegatives):
        return {"kind": "group", **{f.name: getattr(hard_negatives, f.name) for f in fields(hard_negatives)
                                    if f.name != "groups"}}
    return hard_negatives


def strategy_from_json(value: Any) -> Any:
    """Inverse of :func:`strategy_to_json` (``ValueError`` for an unknown kind or field)."""
    if not isinstance(value, dict):
        return value
    spec = dict(value)
    kind = spec.pop("kind", None)
    if kind == "mined":
        return MinedNegatives(**spec)
    if kind == "group":
        return GroupNegatives(None, **spec)
    raise ValueError(f"hard_negatives has unknown kind {kind!r} (expected 'group' or 'mined')")
