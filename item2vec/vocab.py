"""Vocabulary: raw item ids <-> contiguous ``int32`` indices, with counts.

Raw ids may be integers or strings, never a mix of the two (and never NaN/None):
mixing ``1`` and ``"1"`` is almost always an upstream bug, so it is an error.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numba import njit

__all__ = ["Vocabulary", "PAD_INT", "PAD_STR"]

#: Sentinel id used to pad result rows for integer vocabularies.
PAD_INT = -1
#: Sentinel id used to pad result rows for string vocabularies.
PAD_STR = ""


def _id_kind(values: np.ndarray, what: str) -> str:
    """Return ``"int"`` or ``"str"`` for an array of raw ids, or raise a clear error."""
    if values.dtype.kind in "iu":
        return "int"
    if values.dtype.kind == "b":
        raise TypeError(f"{what} must be integers or strings, got booleans")
    if values.dtype.kind == "f":
        if np.isnan(values).any():
            n = int(np.isnan(values).sum())
            raise ValueError(f"{what} contains {n} NaN value(s); drop or fill them first")
        if np.all(values == np.floor(values)):
            return "int"
        raise TypeError(f"{what} must be integers or strings, got non-integral floats such as {values[values != np.floor(values)][0]!r}")
    if values.dtype.kind in "UST":
        return "str"
    # object / pandas extension arrays: inspect elements
    s = pd.Series(values, copy=False)
    missing = s.isna()
    if missing.any():
        raise ValueError(f"{what} contains {int(missing.sum())} missing value(s) (NaN/None); drop or fill them first")
    kinds = set()
    for v in s.map(type).unique():
        if issubclass(v, (bool, np.bool_)):
            raise TypeError(f"{what} must be integers or strings, got booleans")
        if issubclass(v, (int, np.integer)):
            kinds.add("int")
        elif issubclass(v, str):
            kinds.add("str")
        else:
            raise TypeError(f"{what} must be integers or strings, got values of type {v.__name__}")
    if len(kinds) > 1:
        raise TypeError(f"{what} mixes integer and string ids; convert them to one type first (e.g. .astype(str))")
    return kinds.pop() if kinds else "int"


@njit(cache=True)
def count_codes(codes, n):
    """``np.bincount(codes, minlength=n)`` for codes in ``[-1, n)`` (-1 ignored), without an int64 copy of ``codes``."""
    out = np.zeros(n, dtype=np.int64)
    for i in range(codes.size):
        c = codes[i]
        if c >= 0:
            out[c] += 1
    return out


@njit(cache=True)
def _apply_table(table, values, out):
    """``out[i] = table[values[i]]``; a negative value (a dropped code) stays -1."""
    for i in range(values.size):
        v = values[i]
        out[i] = table[v] if v >= 0 else -1
    return out


def _factorize(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``int32`` codes and unique values of a 1-D id array.

    Dense non-negative integer ids (the common case: ids that are already
    indices) go through a lookup table with two numba loops, which need no
    hash table and no ``int64`` temporaries; anything else through
    :func:`pandas.factorize`.
    """
    if arr.dtype.kind in "iu" and arr.size and arr.min() >= 0 and arr.max() < max(4 * arr.size, 1 << 20):
        present = count_codes(arr, int(arr.max()) + 1) > 0
        uniques = np.flatnonzero(present)
        table = np.full(present.size, -1, dtype=np.int32)
        table[uniques] = np.arange(uniques.size, dtype=np.int32)
        return _apply_table(table, arr, np.empty(arr.size, dtype=np.int32)), uniques.astype(np.int64)
    codes, uniques = pd.factorize(arr, sort=False)
    return codes.astype(np.int32), np.asarray(uniques)


def remap_inplace(table: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``codes[:] = table[codes]`` in place, -1 kept (no second full-size array, no ``int64`` index copy)."""
    return _apply_table(table, codes, codes)


def as_id_array(values: Any, what: str = "item ids", keep_int_width: bool = False) -> np.ndarray:
    """Convert raw ids to a plain numpy array of ``int64`` or ``str`` (object) dtype.

    ``keep_int_width=True`` leaves integer arrays in their own integer dtype
    (no copy), for callers that only compare or count them.
    """
    arr = values.to_numpy() if isinstance(values, (pd.Series, pd.Index)) else np.asarray(values)
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    if arr.size == 0:
        return arr.astype(np.int64) if arr.dtype.kind in "iuf" else arr.astype(object)
    kind = _id_kind(arr, what)
    if kind == "int":
        _check_int64_range(arr, what)
        return arr if keep_int_width and arr.dtype.kind in "iu" else arr.astype(np.int64, copy=False)
    return arr.astype(str).astype(object)


#: Integer ids are stored as int64; floats are exact integers only up to 2**53.
_INT64_MAX = np.iinfo(np.int64).max
_FLOAT_EXACT = 2.0**53


def _check_int64_range(arr: np.ndarray, what: str) -> None:
    """Refuse integer ids that int64 cannot hold exactly (no silent wrap-around or merging)."""
    if arr.dtype.kind == "u" and arr.dtype.itemsize == 8 and int(arr.max()) > _INT64_MAX:
        raise ValueError(f"{what} include {int(arr.max())}, above the largest supported id 2**63 - 1; "
                         "map the ids to smaller integers or to strings first")
    if arr.dtype.kind == "f" and float(np.abs(arr).max()) >= _FLOAT_EXACT:
        raise ValueError(f"{what} are floats as large as {float(np.abs(arr).max())!r}; floats are exact integers only "
                         "below 2**53, so such ids may have merged: pass them as int64 (or strings)")
    if arr.dtype == object:
        big = [x for x in arr if isinstance(x, (int, np.integer)) and not -_INT64_MAX - 1 <= x <= _INT64_MAX]
        if big:
            raise ValueError(f"{what} include {big[0]!r}, outside the int64 range of supported ids; "
                             "map the ids to smaller integers or to strings first")


def _is_integral(x: Any) -> bool:
    """An int64-representable integral id (a bool, NaN or an int beyond int64 never is)."""
    if isinstance(x, (bool, np.bool_)):
        return False
    if isinstance(x, (int, np.integer)):
        return -_INT64_MAX - 1 <= x <= _INT64_MAX
    return isinstance(x, (float, np.floating)) and bool(np.isfinite(x)) and float(x).is_integer() and abs(x) < 2.0**63


class Vocabulary:
    """Mapping between raw item ids and contiguous indices ``0..n-1``.

    Parameters
    ----------
    ids : array-like
        Distinct raw ids, in index order (``ids[i]`` has index ``i``).
    counts : array-like of int
        Number of occurrences of each id in the training data.

    Notes
    -----
    Lookups are vectorised through :class:`pandas.Index`; no Python dict is used.
    """

    def __init__(self, ids: Any, counts: Any) -> None:
        ids = as_id_array(ids, "vocabulary ids")
        counts = np.asarray(counts, dtype=np.int64)
        if ids.shape != counts.shape:
            raise ValueError(f"ids and counts differ in length: {ids.shape[0]} vs {counts.shape[0]}")
        self._index = pd.Index(ids)
        if not self._index.is_unique:
            dup = self._index[self._index.duplicated()][:5].tolist()
            raise ValueError(f"vocabulary ids must be unique, duplicated: {dup}")
        self.ids: np.ndarray = ids
        self.counts: np.ndarray = counts
        self.kind: str = "str" if ids.dtype == object else "int"

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_ids(cls, raw: Any, min_count: int = 1) -> tuple["Vocabulary", np.ndarray]:
        """Build a vocabulary from a stream of raw ids.

        Returns the vocabulary (ids ordered by decreasing count; ties in a
        deterministic order: by id for non-negative integers, else by first
        appearance) and the ``int32`` code of every input element, ``-1`` for
        elements whose id occurs fewer than ``min_count`` times.
        """
        arr = as_id_array(raw, keep_int_width=True)
        codes, uniques = _factorize(arr)
        del arr  # the caller may drop its reference too: peak memory is then one int32 code array
        return cls.from_codes(np.asarray(uniques), codes, min_count)

    @classmethod
    def from_codes(cls, ids: np.ndarray, codes: np.ndarray, min_count: int = 1) -> tuple["Vocabulary", np.ndarray]:
        """Rank ``ids`` by their counts in ``codes`` (indices into ``ids``; -1 is ignored).

        Returns the vocabulary of the ids seen at least ``min_count`` times,
        by decreasing count (ties keep the order of ``ids``), and ``codes``
        re-indexed to it **in place** (``-1`` for dropped ids and for -1).
        """
        counts = count_codes(codes, len(ids))
        order = np.argsort(-counts, kind="stable")
        order = order[counts[order] >= min_count]
        remap = np.full(len(ids), -1, dtype=np.int32)
        remap[order] = np.arange(order.size, dtype=np.int32)
        return cls(ids[order], counts[order]), remap_inplace(remap, codes)

    # ------------------------------------------------------------------ queries
    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def __contains__(self, item: Any) -> bool:
        try:
            return item in self._index
        except TypeError:
            return False

    @property
    def pad(self) -> Any:
        """Sentinel id used to pad result rows: ``-1`` (int ids) or ``""`` (str ids)."""
        return PAD_STR if self.kind == "str" else PAD_INT

    def lookup(self, raw: Any) -> np.ndarray:
        """Indices of raw ids, ``-1`` for ids not in the vocabulary (no error).

        Ids of the wrong kind (a string against integer ids, a bool, NaN) are
        simply not found; they never match by accident.
        """
        arr = np.asarray(raw)
        if arr.dtype.kind in "US" and not isinstance(raw, np.ndarray):
            arr = np.asarray(raw, dtype=object)  # a mixed list must not turn 99 into "99"
        arr = arr.reshape(1) if arr.ndim == 0 else arr.reshape(-1)
        out = np.full(arr.size, -1, dtype=np.int32)
        if arr.size == 0:
            return out
        if self.kind == "int":
            if arr.dtype.kind == "i" or (arr.dtype.kind == "u" and arr.dtype.itemsize < 8):
                return self._index.get_indexer(arr.astype(np.int64)).astype(np.int32)
            if arr.dtype.kind == "u":  # uint64: ids above 2**63 - 1 are never in the vocabulary (no wrap-around)
                ok = arr <= np.uint64(_INT64_MAX)
            elif arr.dtype.kind == "f":
                ok = np.isfinite(arr) & (arr == np.floor(arr)) & (np.abs(arr) < 2.0**63)
            elif arr.dtype == object:
                ok = np.fromiter((_is_integral(x) for x in arr), bool, arr.size)
            else:
                return out
            if ok.any():
                out[ok] = self._index.get_indexer(arr[ok].astype(np.int64))
            return out
        if arr.dtype.kind in "US":
            return self._index.get_indexer(arr.astype(object)).astype(np.int32)
        if arr.dtype == object:
            ok = np.fromiter((isinstance(x, str) for x in arr), bool, arr.size)
            if ok.any():
                out[ok] = self._index.get_indexer(arr[ok])
        return out

    def encode(self, raw: Any, what: str = "item ids") -> np.ndarray:
        """Indices of raw ids; raises ``KeyError`` naming the ids that are unknown."""
        idx = self.lookup(raw)
        if (idx < 0).any():
            arr = np.asarray(raw, dtype=object).reshape(-1)
            unknown = arr[idx < 0]
            shown = ", ".join(repr(x) for x in unknown[:10])
            more = f" (and {unknown.size - 10} more)" if unknown.size > 10 else ""
            raise KeyError(f"unknown {what} not in the vocabulary of {len(self)} items: {shown}{more}")
        return idx

    def decode(self, idx: Any) -> np.ndarray:
        """Raw ids of indices; negative indices decode to :attr:`pad`."""
        idx = np.asarray(idx)
        out = np.empty(idx.shape, dtype=self.ids.dtype)
        valid = idx >= 0
        out[valid] = self.ids[idx[valid]]
        out[~valid] = self.pad
        return out

    def __repr__(self) -> str:
        return f"Vocabulary(n_items={len(self)}, kind={self.kind!r})"

    # ------------------------------------------------------------------ (de)serialisation
    def to_arrays(self) -> dict[str, np.ndarray]:
        """Arrays for ``np.savez`` (strings stored as fixed-width unicode, no pickle)."""
        ids = self.ids.astype(str) if self.kind == "str" else self.ids
        return {"vocab_ids": ids, "vocab_counts": self.counts}

    @classmethod
    def from_arrays(cls, ids: np.ndarray, counts: np.ndarray, kind: str) -> "Vocabulary":
        if kind == "str":
            ids = ids.astype(str).astype(object)
        elif kind == "int":
            ids = ids.astype(np.int64)
        else:
            raise ValueError(f"unknown vocabulary kind {kind!r}, expected 'int' or 'str'")
        return cls(ids, counts)

