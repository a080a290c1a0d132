"""Interaction logs -> "sentences" of item indices, stored CSR style.

A :class:`Sequences` holds every sequence back to back in one flat ``int32``
array (``items``) with ``int64`` boundaries (``offsets``, length ``n + 1``), so
sequence ``s`` is ``items[offsets[s]:offsets[s + 1]]``. Nothing on the training
path is a Python list of lists, and no sequence is ever truncated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import pandas as pd
from numba import njit

from .params import session_gap_seconds
from .validation import check_int
from .vocab import Vocabulary, as_id_array, count_codes

__all__ = ["Sequences", "build_sequences", "as_sequences", "check_weights", "stable_group_order"]


@dataclass(frozen=True)
class Sequences:
    """Item sequences in CSR layout.

    Attributes
    ----------
    items : ndarray of int32, shape (n_tokens,)
        Vocabulary indices of all sequences, concatenated.
    offsets : ndarray of int64, shape (n_sequences + 1,)
        ``items[offsets[s]:offsets[s + 1]]`` is sequence ``s``.
    vocab : Vocabulary
        Maps indices back to raw item ids; ``vocab.counts`` are the counts of
        each item in ``items``.
    users : ndarray or None
        Raw user (or session owner) id of each sequence, when built from a
        DataFrame.
    weights : ndarray of float32 or None, shape (n_tokens,)
        The weight of every event, aligned with ``items`` (finite, >= 0; see
        :func:`build_sequences`); ``None``: unweighted. Code that drops or
        reorders tokens must carry it along.
    """

    items: np.ndarray
    offsets: np.ndarray
    vocab: Vocabulary
    users: np.ndarray | None = None
    weights: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.items.dtype != np.int32 or self.offsets.dtype != np.int64:
            raise TypeError(f"Sequences needs int32 items and int64 offsets, got {self.items.dtype} and {self.offsets.dtype}")
        if self.offsets.ndim != 1 or self.offsets.size < 1 or self.offsets[0] != 0 or self.offsets[-1] != self.items.size:
            raise ValueError("offsets must start at 0 and end at len(items)")
        w = self.weights
        if w is not None and (not isinstance(w, np.ndarray) or w.dtype != np.float32 or w.shape != self.items.shape):
            raise TypeError(f"Sequences weights must be None or a float32 array shaped like items {self.items.shape}, "
                            f"got {getattr(w, 'dtype', type(w).__name__)} {getattr(w, 'shape', '')}")

    def __len__(self) -> int:
        return int(self.offsets.size - 1)

    @property
    def n_tokens(self) -> int:
        """Total number of item occurrences."""
        return int(self.items.size)

    @property
    def lengths(self) -> np.ndarray:
        """Length of every sequence (int64)."""
        return np.diff(self.offsets)

    def __getitem__(self, s: int) -> np.ndarray:
        """Indices of sequence ``s`` (a view)."""
        if not -len(self) <= s < len(self):
            raise IndexError(f"sequence index {s} out of range for {len(self)} sequences")
        s %= len(self)
        return self.items[self.offsets[s] : self.offsets[s + 1]]

    def raw(self, s: int) -> np.ndarray:
        """Raw item ids of sequence ``s``."""
        return self.vocab.decode(self[s])

    def __repr__(self) -> str:
        return f"Sequences(n_sequences={len(self)}, n_tokens={self.n_tokens}, n_items={len(self.vocab)})"


def _check_columns(df: pd.DataFrame, cols: dict[str, str | None]) -> None:
    missing = {role: c for role, c in cols.items() if c is not None and c not in df.columns}
    if missing:
        wanted = ", ".join(f"{role}_col={c!r}" for role, c in missing.items())
        raise KeyError(f"column(s) not found: {wanted}; the DataFrame has columns {list(df.columns)}")


def _gap_seconds(session_gap: Any, time: pd.Series) -> float | None:
    """Normalise ``session_gap`` to seconds (numbers, Timedeltas and strings like ``"30min"``)."""
    return session_gap_seconds(session_gap)


def _time_as_seconds(time: pd.Series, time_col: str) -> np.ndarray:
    if time.isna().any():
        raise ValueError(f"time column {time_col!r} has {int(time.isna().sum())} missing value(s)")
    if pd.api.types.is_datetime64_any_dtype(time):
        return (time.to_numpy().astype("datetime64[ns]").astype(np.int64) / 1e9).astype(np.float64)
    if pd.api.types.is_numeric_dtype(time) and not pd.api.types.is_bool_dtype(time):
        return time.to_numpy(dtype=np.float64)
    raise TypeError(f"time column {time_col!r} must be numeric (seconds) or datetime, got dtype {time.dtype}")


WEIGHT_RULE = "finite numbers >= 0"


def check_weights(values: Any, what: str = "weights") -> np.ndarray:
    """``values`` as float32 event weights; ``ValueError`` naming the first one that is not finite and >= 0.

    ``what`` names the values in the message (e.g. ``"weight column 'rating'"``).
    """
    try:
        if isinstance(values, pd.Series):
            a = values.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            a = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be {WEIGHT_RULE}, got values of dtype "
                         f"{getattr(values, 'dtype', type(values).__name__)}") from None
    a = a.reshape(-1)
    with np.errstate(over="ignore"):
        w = a.astype(np.float32)
    bad = ~np.isfinite(w) | (a < 0)  # also catches values beyond float32's range
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{what} must be {WEIGHT_RULE}, got {float(a[i])!r} at position {i}"
                         + (" (beyond float32's range)" if np.isfinite(a[i]) and a[i] >= 0 else ""))
    return w


def build_sequences(
    interactions: pd.DataFrame | Iterable[Iterable[Any]],
    user_col: str = "user",
    item_col: str = "item",
    time_col: str | None = None,
    session_gap: float | pd.Timedelta | None = None,
    min_item_count: int = 1,
    min_length: int = 2,
    weight_col: str | None = None,
    weights: Iterable[Iterable[float]] | None = None,
) -> Sequences:
    """Turn an interaction log into item sequences.

    Parameters
    ----------
    interactions : DataFrame or iterable of iterables
        A log with one row per (user, item[, time]) event, or ready-made
        sequences of raw item ids (e.g. a list of lists).
    user_col, item_col : str
        Column names of the user (or session) id and the item id.
    time_col : str or None
        Column to order events within a user by (numeric seconds or datetime).
        The sort is stable: events with equal times keep their input order.
        ``None`` keeps the input order.
    session_gap : float, Timedelta, str or None
        Split a user's history into sessions wherever two consecutive events
        are more than this many seconds apart (a Timedelta, or a pandas
        Timedelta string such as ``"30min"``). Requires ``time_col``.
    min_item_count : int
        Items occurring fewer times than this (over the whole log) are removed
        from the sequences before short sequences are dropped.
    min_length : int
        Sequences shorter than this (after removing rare items) are dropped.
    weight_col : str or None
        DataFrame input: the column of event weights (ratings, dwell time,
        purchase vs view, ...).
    weights : iterable of iterables of numbers, optional
        Sequence input: the weight of every event, parallel to
        ``interactions`` (``weights[s][j]`` weighs ``interactions[s][j]``).

    Weights must be finite and >= 0. Training scales the step of every pair
    of events by the product of their weights, so an integer weight ``w``
    acts, in expectation, like the event repeated ``w`` times; weight 0: the
    event trains nothing, but it keeps its place in the sequence (see
    :mod:`item2vec._kernels`, "Event weights"). ``min_item_count``,
    ``min_length`` and the vocabulary counts (which also build the noise and
    subsampling tables) count events, whatever their weights.

    Returns
    -------
    Sequences
        Items ordered by decreasing frequency get the lowest indices; the
        vocabulary holds only items that occur in the returned sequences, with
        their counts there. ``weights`` is set when ``weight_col`` or
        ``weights`` was given (else ``None``).

    Raises
    ------
    KeyError
        A named column is missing (the message lists the existing ones).
    ValueError
        Empty input, NaN ids, nothing left after filtering, bad parameters,
        weights that are not finite numbers >= 0 or do not match the sequences.
    TypeError
        Mixed integer and string ids, or an unsupported time dtype.
    """
    check_int("min_item_count", min_item_count, 1)
    check_int("min_length", min_length, 1)

    if isinstance(interactions, pd.DataFrame):
        if weights is not None:
            raise ValueError("weights are for sequence input; with a DataFrame name the column: weight_col=...")
        items_raw, seq_starts, users, w = _from_frame(interactions, user_col, item_col, time_col, session_gap, weight_col)
    elif isinstance(interactions, (str, bytes)) or not isinstance(interactions, Iterable):
        raise TypeError(f"interactions must be a DataFrame or an iterable of item-id sequences, got {type(interactions).__name__}")
    else:
        if session_gap is not None:
            raise ValueError("session_gap needs a DataFrame with a time column, not ready-made sequences")
        if weight_col is not None:
            raise ValueError(f"weight_col={weight_col!r} needs a DataFrame; for sequences pass weights= (one list of "
                             f"numbers per sequence)")
        items_raw, seq_starts, users = _from_iterable(interactions)
        w = None if weights is None else _weights_of(weights, seq_starts)

    vocab0, codes = Vocabulary.from_ids(items_raw, min_count=min_item_count)
    if len(vocab0) == 0:
        raise ValueError(
            f"no item occurs at least min_item_count={min_item_count} times "
            f"(the most frequent occurs {int(np.bincount(pd.factorize(items_raw)[0]).max())} times)"
        )
    del items_raw  # from here on the int32 codes are the only per-token array
    # drop rare tokens, then short sequences (no per-token int64 temporaries)
    keep = codes >= 0
    if keep.all():
        lengths = np.diff(seq_starts)
    else:
        kept = np.zeros(codes.size + 1, dtype=np.int64 if codes.size >= 2**31 else np.int32)
        np.cumsum(keep, out=kept[1:])
        lengths = (kept[seq_starts[1:]] - kept[seq_starts[:-1]]).astype(np.int64)
        del kept
    long_enough = lengths >= min_length
    if not long_enough.all():
        keep &= np.repeat(long_enough, np.diff(seq_starts))
    if not keep.all():
        codes = codes[keep]
        w = None if w is None else w[keep]
    del keep
    if codes.size == 0:
        raise ValueError(
            f"no sequence has at least min_length={min_length} items after dropping items seen fewer than "
            f"min_item_count={min_item_count} times (longest had {int(lengths.max(initial=0))})"
        )
    offsets = np.zeros(int(long_enough.sum()) + 1, dtype=np.int64)
    np.cumsum(lengths[long_enough], out=offsets[1:])
    # re-index the vocabulary to items present in the final corpus, by final count
    vocab, codes = Vocabulary.from_codes(vocab0.ids, codes)
    seq_users = users[long_enough] if users is not None else None
    return Sequences(items=codes, offsets=offsets, vocab=vocab, users=seq_users, weights=w)


def as_sequences(data: Any, weights: Iterable[Iterable[float]] | None = None, *, user_col: str = "user",
                 item_col: str = "item", time_col: str | None = "auto", session_gap: Any = None, min_count: int = 1,
                 min_length: int = 2, weight_col: str | None = None) -> Sequences:
    """What ``Item2Vec.fit(data, weights)`` trains on (the keywords are the model's parameters of those names).

    A :class:`Sequences` is used as it is; a DataFrame goes through
    :func:`build_sequences` with the columns (``time_col="auto"``:
    ``"timestamp"`` when present, else input order) and ``weight_col``;
    sequences with ``weights``.
    """
    if isinstance(data, Sequences):
        if weights is not None:
            raise ValueError("a Sequences carries its own weights (build_sequences(..., weights=...)); got weights= too")
        return data
    if isinstance(data, pd.DataFrame):
        if time_col == "auto":
            time_col = "timestamp" if "timestamp" in data.columns else None
        return build_sequences(data, user_col=user_col, item_col=item_col, time_col=time_col, session_gap=session_gap,
                               min_item_count=min_count, min_length=min_length, weight_col=weight_col, weights=weights)
    return build_sequences(data, min_item_count=min_count, min_length=min_length, weights=weights)


def _weights_of(weights: Iterable[Iterable[float]], seq_starts: np.ndarray) -> np.ndarray:
    """Per-sequence weights (parallel to the sequences starting at ``seq_starts``) as one float32 array."""
    if isinstance(weights, (str, bytes)) or not isinstance(weights, Iterable):
        raise ValueError(f"weights must be an iterable of number sequences, one per sequence, got {type(weights).__name__}")
    lengths = np.diff(seq_starts)
    out = np.empty(int(seq_starts[-1]), dtype=np.float32)
    n = 0
    for s, ws in enumerate(weights):
        if s >= lengths.size:
            raise ValueError(f"weights has more entries than the {lengths.size} sequences")
        if isinstance(ws, (str, bytes)) or not isinstance(ws, Iterable):
            raise ValueError(f"weights[{s}] must be a sequence of numbers, got {type(ws).__name__}")
        a = np.asarray(ws if isinstance(ws, np.ndarray) else list(ws))
        if a.size != lengths[s]:
            raise ValueError(f"weights[{s}] has {a.size} values but sequence {s} has {lengths[s]} items")
        out[seq_starts[s]:seq_starts[s + 1]] = check_weights(a, f"weights[{s}]")
        n += 1
    if n != lengths.size:
        raise ValueError(f"weights has {n} entries but there are {lengths.size} sequences")
    return out


def _from_frame(
    df: pd.DataFrame, user_col: str, item_col: str, time_col: str | None, session_gap: Any, weight_col: str | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Sorted raw items, sequence start offsets, the user of each sequence and the items' weights (or None)."""
    _check_columns(df, {"user": user_col, "item": item_col, "time": time_col, "weight": weight_col})
    if len(df) == 0:
        raise ValueError("interactions DataFrame is empty")
    if session_gap is not None and time_col is None:
        raise ValueError("session_gap needs time_col (the column to measure gaps on)")
    items = as_id_array(df[item_col], f"item column {item_col!r}")
    users_raw = df[user_col]
    if users_raw.isna().any():
        raise ValueError(f"user column {user_col!r} contains {int(users_raw.isna().sum())} missing value(s)")
    ucodes, uniques = pd.factorize(users_raw, sort=False)
    t = _time_as_seconds(df[time_col], time_col) if time_col is not None else np.zeros(0)
    order, user_starts = stable_group_order(ucodes, len(uniques), t, time_col is not None)
    del ucodes
    items = items[order]
    w = None if weight_col is None else check_weights(df[weight_col], f"weight column {weight_col!r}")[order]
    new_seq = np.zeros(items.size, dtype=bool)
    new_seq[user_starts[:-1]] = True
    gap = _gap_seconds(session_gap, df[time_col]) if time_col is not None else None
    if gap is not None:
        new_seq[1:] |= np.diff(t[order]) > gap
    del order
    starts = np.flatnonzero(new_seq)
    seq_starts = np.append(starts, items.size).astype(np.int64)
    seq_users = np.asarray(uniques)[np.searchsorted(user_starts, starts, side="right") - 1]
    return items, seq_starts, seq_users, w


@njit(cache=True)
def stable_group_order(keys, n_keys, values, by_value):
    """Stable order by ``keys``, then (if ``by_value``) by ``values``; and each key's first position.

    Returns ``(order, starts)``: ``order`` equals ``np.lexsort((values, keys))``
    (ties keep input order; ``np.argsort(keys, kind="stable")`` without
    ``by_value``) and key ``k`` owns ``order[starts[k]:starts[k + 1]]``. Runs in
    linear time: a counting sort by key, then a merge sort of each key's
    entries by value, skipped where they are already in order. ``keys`` are
    in ``[0, n_keys)``.
    """
    n = keys.shape[0]
    starts = np.zeros(n_keys + 1, dtype=np.int64)
    starts[1:] = np.cumsum(count_codes(keys, n_keys))
    order = np.empty(n, dtype=np.int64)
    fill = starts[:-1].copy()
    for i in range(n):
        k = keys[i]
        order[fill[k]] = i
        fill[k] += 1
    if by_value:
        for k in range(n_keys):
            a, b = starts[k], starts[k + 1]
            for j in range(a + 1, b):
                if values[order[j]] < values[order[j - 1]]:
                    seg = order[a:b].copy()
                    idx = np.argsort(values[seg], kind="mergesort")
                    for m in range(b - a):
                        order[a + m] = seg[idx[m]]
                    break
    return order, starts


def _from_iterable(seqs: Iterable[Iterable[Any]]) -> tuple[np.ndarray, np.ndarray, None]:
    arrays = []
    for i, s in enumerate(seqs):
        if isinstance(s, (str, bytes)) or not isinstance(s, Iterable):
            raise TypeError(f"sequence {i} must be an iterable of item ids, got {type(s).__name__}")
        if isinstance(s, np.ndarray):
            arrays.append(s if s.ndim == 1 else s.reshape(-1))  # no new view object per sequence
            continue
        values = list(s)
        a = np.asarray(values)
        if a.dtype.kind not in "iu" and not (a.dtype.kind in "US" and all(isinstance(x, str) for x in values)):
            a = np.asarray(values, dtype=object)  # keeps 1 and "1" apart, None visible
        arrays.append(a)
    if not arrays:
        raise ValueError("no sequences given (the iterable is empty)")
    lengths = np.fromiter((a.size for a in arrays), dtype=np.int64, count=len(arrays))
    if lengths.sum() == 0:
        raise ValueError("all sequences are empty")
    if all(a.dtype.kind in "iu" for a in arrays):
        nonempty = [a for a in arrays if a.size]
        lo, hi = min(int(a.min()) for a in nonempty), max(int(a.max()) for a in nonempty)
        small = -(2**31) <= lo and hi < 2**31
        flat = np.concatenate(arrays, dtype=np.int32 if small else np.int64, casting="unsafe")
    else:
        flat = np.concatenate([a.reshape(-1).astype(object) for a in arrays])
    starts = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=starts[1:])
    return as_id_array(flat, "item ids", keep_int_width=True), starts, None
