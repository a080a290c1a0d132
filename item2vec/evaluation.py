"""Offline evaluation of recommenders on a :class:`~item2vec.splits.Split`.

:func:`evaluate` fits one model on the stage's training data, queries it with each
evaluated user's history and scores the full-catalogue top-k lists with
:func:`~item2vec.metrics.ranking_metrics`. :func:`compare` does this for several
models and :func:`format_table` renders the result for a terminal.

Every model sees exactly the same data: it is fitted on
:meth:`Split.fit_data(stage) <item2vec.splits.Split.fit_data>` and asked for
``recommend(histories, k=max(ks), filter_seen=True, on_unknown="ignore")``.
Because seen items are filtered, a target item that already occurs in the
user's query history (a re-consumption) can never be hit; such targets are kept
and count as misses for every model.
"""

from __future__ import annotations

import math
import time
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from .base import Recommender
from .metrics import METRICS, check_ks, ranking_metrics
from .splits import Split, leave_last_out, temporal_split, user_split
from .validation import is_int

__all__ = [
    "evaluate", "compare", "format_table",
    "Split", "leave_last_out", "temporal_split", "user_split", "ranking_metrics",
]


def evaluate(
    model: Recommender,
    split: Split,
    ks: int | Iterable[int] = (10, 20),
    stage: str = "test",
    batch_size: int = 1024,
    fit: bool = True,
    progress: bool = False,
) -> dict[str, float]:
    """Fit (optionally) and evaluate one model at one stage of a split.

    Parameters
    ----------
    model : Recommender
        Any object with ``fit(df)`` and ``recommend(histories, k, *, filter_seen,
        on_unknown)`` (:class:`item2vec.base.Recommender`).
    split : Split
    ks : int or iterable of int, default (10, 20)
        Cut-offs; the model is asked for ``max(ks)`` items per user.
    stage : {"val", "test"}, default "test"
        ``"val"``: fit on ``split.train``, targets ``split.val``. ``"test"``: fit on
        ``split.train_val()``, targets ``split.test`` (see
        :meth:`Split.queries <item2vec.splits.Split.queries>` for the histories).
    batch_size : int, default 1024
        Users per ``recommend`` call.
    fit : bool, default True
        If False the model is assumed to be fitted already on the right data.
    progress : bool, default False
        Show a tqdm progress bar over the batches.

    Returns
    -------
    dict
        ``"{metric}@{k}"`` for metric in recall, ndcg, hit, mrr, coverage (means
        over the evaluated users; coverage against the distinct items of the fit
        data), ``"n_users"``, ``"n_users_no_targets"``, ``"fit_seconds"`` (NaN when
        ``fit=False``) and ``"predict_seconds"``.
    """
    if not isinstance(model, Recommender):
        raise TypeError(
            f"model must implement fit() and recommend() (item2vec.base.Recommender), got {type(model).__name__}"
        )
    if not isinstance(split, Split):
        raise TypeError(f"split must be an item2vec.splits.Split, got {type(split).__name__}")
    if not is_int(batch_size) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    ks = check_ks(ks, 1 << 62)
    kmax = max(ks)
    train = split.fit_data(stage)
    users, histories, targets = split.queries(stage)

    fit_seconds = float("nan")
    if fit:
        t0 = time.perf_counter()
        model.fit(train)
        fit_seconds = time.perf_counter() - t0

    starts = range(0, len(histories), batch_size)
    if progress:
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc=f"{type(model).__name__} {stage}", unit="batch", disable=None)  # no bar off a terminal
    t0 = time.perf_counter()
    blocks = [_pad_width(_batch_ids(model, histories[s:s + batch_size], kmax), kmax) for s in starts]
    predict_seconds = time.perf_counter() - t0

    catalogue = split.catalogue(stage)
    if blocks:
        recs = np.concatenate(blocks, axis=0)
    else:
        recs = np.empty((0, kmax), dtype=np.int64 if catalogue.dtype.kind in "iu" else object)
    if recs.shape != (len(histories), kmax):
        raise ValueError(
            f"{type(model).__name__}.recommend returned shape {recs.shape}, expected {(len(histories), kmax)}"
        )
    pad = -1 if recs.dtype.kind in "iu" else ""
    result = ranking_metrics(recs, targets, ks, catalogue=catalogue, pad=pad)
    result["fit_seconds"] = fit_seconds
    result["predict_seconds"] = predict_seconds
    return result


def _batch_ids(model: Recommender, histories: list[Any], k: int) -> np.ndarray:
    """The ``(n, width)`` ids of a batch (a 1-D result would be one history's: refused)."""
    ids = np.asarray(model.recommend(histories, k=k, filter_seen=True, on_unknown="ignore")[0])
    if ids.ndim != 2:
        raise ValueError(f"{type(model).__name__}.recommend returned shape {ids.shape} for a batch of "
                         f"{len(histories)} histories; expected a 2-D array")
    return ids


def _pad_width(ids: np.ndarray, k: int) -> np.ndarray:
    """Pad ``ids`` to ``k`` columns (recommenders return at most ``n_items`` columns)."""
    if ids.shape[1] >= k:
        return ids
    pad = np.full((ids.shape[0], k - ids.shape[1]), -1 if ids.dtype.kind in "iu" else "", dtype=ids.dtype)
    return np.concatenate([ids, pad], axis=1)


def compare(
    models: Mapping[str, Recommender],
    split: Split,
    ks: int | Iterable[int] = (10, 20),
    stage: str = "test",
    **kwargs: Any,
) -> pd.DataFrame:
    """Evaluate several models on the same split.

    Parameters
    ----------
    models : mapping of str to Recommender
        Display name -> model (each is fitted by :func:`evaluate`).
    split, ks, stage
        As in :func:`evaluate`.
    **kwargs
        Passed to :func:`evaluate` (``batch_size``, ``fit``, ``progress``).

    Returns
    -------
    pandas.DataFrame
        One row per model (index named ``"model"``, in the given order), one column
        per key of :func:`evaluate`'s result.
    """
    if not models:
        raise ValueError("models is empty; give at least one {name: model}")
    ks = check_ks(ks, 1 << 62)
    rows = {name: evaluate(model, split, ks=ks, stage=stage, **kwargs) for name, model in models.items()}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    return table


def _fmt(value: Any, decimals: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return f"{float(value):.{decimals}f}"


def format_table(df: pd.DataFrame, decimals: int = 4) -> str:
    """Fixed-width text table of a :func:`compare` result.

    Columns: model, then ``recall@k``, ``ndcg@k``, ``hit@k``, ``mrr@k``,
    ``coverage@k`` for every ``k`` present (in increasing ``k``), then ``users`` and
    ``fit s`` when available. Numbers are right-aligned with ``decimals`` digits
    (seconds with 2); missing values print as ``-``.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"format_table expects the DataFrame returned by compare(), got {type(df).__name__}")
    ks = sorted({int(c.split("@", 1)[1]) for c in df.columns if "@" in c and c.split("@", 1)[1].isdigit()})
    columns: list[tuple[str, str, int]] = []  # (header, source column, decimals)
    for k in ks:
        for name in (*METRICS, "coverage"):
            if f"{name}@{k}" in df.columns:
                columns.append((f"{name}@{k}", f"{name}@{k}", decimals))
    if "n_users" in df.columns:
        columns.append(("users", "n_users", 0))
    if "fit_seconds" in df.columns:
        columns.append(("fit s", "fit_seconds", 2))
    names = [str(i) for i in df.index]
    cells = [[_fmt(df[src].iloc[r], d) for _, src, d in columns] for r in range(len(df))]
    width0 = max([len("model")] + [len(n) for n in names])
    widths = [max([len(h)] + [len(row[j]) for row in cells]) for j, (h, _, _) in enumerate(columns)]
    header = "  ".join(["model".ljust(width0)] + [h.rjust(w) for (h, _, _), w in zip(columns, widths)])
    lines = [header, "-" * len(header)]
    for name, row in zip(names, cells):
        lines.append("  ".join([name.ljust(width0)] + [c.rjust(w) for c, w in zip(row, widths)]))
    return "\n".join(lines)
