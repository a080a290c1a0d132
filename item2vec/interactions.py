"""Custom interaction logs: ``.csv``, ``.tsv`` or ``.parquet`` files with user, item and time columns."""

from __future__ import annotations

import warnings
from pathlib import Path
import os
from typing import Optional, Union

import numpy as np
import pandas as pd


__all__ = ["load_interactions"]

PathLike = Union[str, "os.PathLike[str]"]


def _parse_dates(col: pd.Series) -> pd.Series:
    """Dates as UTC timestamps: ISO 8601 first (fast, every row), else each row on its own; NaT where unparseable.

    pandas infers one format from the first row, so a log whose rows differ
    (``2020-01-01 10:00`` then ``2020-01-02 11:00:05``) would lose rows, and a
    first row it cannot infer from gives a multi-line ``UserWarning``; neither happens here.
    """
    try:
        return pd.to_datetime(col, utc=True, format="ISO8601")
    except (ValueError, TypeError, OverflowError):
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return pd.to_datetime(col, utc=True, errors="coerce", format="mixed")


def _to_unix_seconds(col: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_numeric_dtype(col):
        if col.isna().any():
            raise ValueError(f"time column {name!r} has {int(col.isna().sum())} missing value(s)")
        return col.astype(np.int64)
    parsed = _parse_dates(col)
    if parsed.isna().any():
        bad = col[parsed.isna()].iloc[0]
        raise ValueError(f"time column {name!r} must hold unix seconds or dates; cannot parse {bad!r}")
    return pd.Series((parsed - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1),
                     index=col.index).astype(np.int64)


def load_interactions(path: PathLike, user_col: str = "user", item_col: str = "item",
                      time_col: Optional[str] = "timestamp", rating_col: Optional[str] = None,
                      sep: Optional[str] = None) -> pd.DataFrame:
    """Read a custom interaction log (``.csv``, ``.tsv``, ``.parquet``; csv/tsv may be compressed).

    Parameters
    ----------
    path : path
        The file; its suffix picks the reader unless ``sep`` is given.
    user_col, item_col : str
        Required columns, renamed to ``user`` and ``item``.
    time_col : str or None
        Column renamed to ``timestamp`` (unix seconds int64; dates are converted).
        The default ``"timestamp"`` is optional; any other name must exist.
    rating_col : str, optional
        Column renamed to ``rating`` (float32); must exist when given.
    sep : str, optional
        Field separator, overriding the suffix (then the file is read as text).

    Returns
    -------
    pandas.DataFrame
        Columns ``user``, ``item`` and, when present, ``timestamp`` and ``rating``, in file order.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"interaction file {path} does not exist")
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".gz", ".bz2", ".xz", ".zip", ".zst"):
        suffixes = suffixes[:-1]
    kind = suffixes[-1] if suffixes else ""
    if sep is None and kind not in (".csv", ".tsv", ".tab", ".txt", ".parquet", ".pq"):
        raise ValueError(f"cannot tell the format of {path.name!r}: use a .csv, .tsv or .parquet file, "
                         f"or pass sep=")
    if sep is None and kind in (".parquet", ".pq"):
        try:
            import pyarrow.parquet as pq
        except ImportError as err:
            raise ImportError(f"reading {path.name} needs pyarrow: pip install pyarrow "
                              f"(or convert the file to .csv)") from err
        columns = list(pq.read_schema(path).names)
    else:
        sep = sep if sep is not None else ("," if kind == ".csv" else "\t")
        columns = list(pd.read_csv(path, sep=sep, nrows=0).columns)
    wanted = {user_col: "user", item_col: "item"}
    if time_col is not None and (time_col in columns or time_col != "timestamp"):
        wanted[time_col] = "timestamp"
    if rating_col is not None:
        wanted[rating_col] = "rating"
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise ValueError(f"{path.name} has no column(s) {', '.join(map(repr, missing))}; "
                         f"its columns are: {', '.join(map(repr, columns))}")
    if sep is None:
        df = pd.read_parquet(path, columns=list(wanted))
    else:
        df = pd.read_csv(path, sep=sep, usecols=list(wanted))
    df = df[list(wanted)].rename(columns=wanted)
    for col in ("user", "item"):
        if pd.api.types.is_integer_dtype(df[col]):
            df[col] = df[col].astype(np.int64)
    if "timestamp" in df:
        df["timestamp"] = _to_unix_seconds(df["timestamp"], time_col or "timestamp")
    if "rating" in df:
        df["rating"] = df["rating"].astype(np.float32)
    return df.reset_index(drop=True)
