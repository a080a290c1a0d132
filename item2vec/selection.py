"""Validation scores per user, and the test that a tuned setting beats the defaults.

:func:`item2vec.tuning.tune` scores every evaluation with :func:`val_scores`
(the dict of :func:`item2vec.evaluation.evaluate` plus the search metric per
validation user) and keeps the library defaults unless the best trial
:func:`beats` them: a paired bootstrap over the validation users.

Why: with one validation event per user, a data set of a thousand users
(LastFM: 1,090) gives a recall@10 near 0.08 a standard error of about 10 %,
and the best of a hundred evaluations wins partly by luck. Measured with
``benchmarks/tuner.py --headline 300``: the halving search picked a LastFM
setting 17 % above the defaults on validation that was no better on test.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from .evaluation import _batch_ids, _pad_width
from .metrics import per_user_metrics, ranking_metrics
from .splits import Split

__all__ = ["val_scores", "val_subset", "beats"]


def val_scores(model: Any, split: Split, ks: tuple[int, ...], metric: str) -> tuple[dict[str, float], np.ndarray]:
    """Fit on ``split.train``, score the validation targets: ``evaluate``'s dict and ``metric`` per user."""
    _, histories, targets = split.queries("val")
    t0 = time.perf_counter()
    model.fit(split.fit_data("val"))
    fit_seconds = time.perf_counter() - t0
    kmax = max(ks)
    t0 = time.perf_counter()
    blocks = [_pad_width(_batch_ids(model, histories[s:s + 1024], kmax), kmax) for s in range(0, len(histories), 1024)]
    recs = np.concatenate(blocks, axis=0) if blocks else np.full((0, kmax), -1)
    predict_seconds = time.perf_counter() - t0
    pad = -1 if recs.dtype.kind in "iu" else ""
    scores = ranking_metrics(recs, targets, ks, catalogue=split.catalogue("val"), pad=pad)
    scores.update(fit_seconds=fit_seconds, predict_seconds=predict_seconds)
    values = per_user_metrics(recs, targets, ks, pad=pad).get(metric) if not metric.startswith("coverage") else None
    return scores, (np.zeros(0) if values is None else values[~np.isnan(values)])


def beats(candidate: np.ndarray, reference: np.ndarray, significance: float = 0.05, *, n_boot: int = 2000,
          seed: int = 0) -> bool:
    """Whether ``candidate``'s mean is higher than ``reference``'s: paired bootstrap, one-sided.

    Both are per-user values over the same users in the same order. True when
    the mean difference is positive and the share of ``n_boot`` resampled mean
    differences that are ``<= 0`` is below ``significance``. Arrays of
    different sizes compare by their means alone; an empty one never wins.
    """
    candidate, reference = np.asarray(candidate, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    if candidate.shape != reference.shape or candidate.size == 0:
        return bool(candidate.mean() > reference.mean()) if candidate.size and reference.size else False
    diff = candidate - reference
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    for a in range(0, n_boot, 200):  # bounded memory: 200 resamples of n users at a time
        b = min(n_boot, a + 200)
        means[a:b] = diff[rng.integers(0, diff.size, size=(b - a, diff.size))].mean(axis=1)
    return bool(diff.mean() > 0 and (means <= 0).mean() < significance)


def val_subset(split: Split, max_users: int | None, seed: int) -> Split:
    """``split`` with its validation targets restricted to at most ``max_users`` random users."""
    users = pd.unique(split.val["user"])
    if max_users is None or len(users) <= max_users:
        return split
    keep = np.random.default_rng(seed).choice(len(users), size=int(max_users), replace=False)
    return replace(split, val=split.val[split.val["user"].isin(users[np.sort(keep)])])
