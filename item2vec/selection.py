"""Validation scores per user, and the tests that a tuned setting beats the defaults.

:func:`item2vec.tuning.tune` scores every evaluation with :func:`val_scores`
(the dict of :func:`item2vec.evaluation.evaluate` plus the search metric per
validation user) and keeps the library defaults unless the best trial
:func:`beats` them (a paired bootstrap over the validation users:
:func:`pick_best`, :func:`challengers`) and then wins again when both are
refitted with a fresh seed (:func:`confirm_pick`).

Why: with one validation event per user, a data set of a thousand users
(LastFM: 1,090) gives a recall@10 near 0.08 a standard error of about 10 %,
and the best of a hundred evaluations wins partly by luck. Measured with
``benchmarks/tuner.py --headline 300``: the halving search picked a LastFM
setting 17 % above the defaults on validation that was no better on test.
The bootstrap does not see the training seed's noise: on LastFM the climb's
``group_sentences=1`` + window 40 scored 0.0617 against the defaults' 0.0525
(past the guard), and 0.0437 against 0.0509 when both were refitted with
another seed.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd

from .evaluation import _batch_ids, _pad_width
from .metrics import per_user_metrics, ranking_metrics
from .search import Budget, BudgetExceeded, row_score
from .splits import Split

__all__ = ["val_scores", "val_subset", "beats", "challengers", "pick_best", "confirm_pick"]


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


def challengers(rows: Sequence[Mapping[str, Any]], per_user: Sequence[np.ndarray], metric: str,
                significance: float | None, seed: int) -> Iterator[int]:
    """Rows that may replace the library defaults (row 0), best first; none when the best row may not.

    A row may when it scores higher than the defaults on ``metric`` and, with
    ``significance``, :func:`beats` them over the validation users
    (``per_user[i]`` holds row ``i``'s values; a metric without per-user
    values, such as coverage, is not tested). Ties rank the earlier row first.
    """
    if not rows or row_score(rows[0], metric) == -math.inf:
        return
    ranked = sorted((i for i in range(1, len(rows)) if row_score(rows[i], metric) > row_score(rows[0], metric)),
                    key=lambda i: (-row_score(rows[i], metric), i))
    for n, i in enumerate(ranked):
        passes = significance is None or not per_user[0].size or beats(per_user[i], per_user[0], significance,
                                                                       seed=seed)
        if not passes and n == 0:
            return  # the best is not clearly better than the defaults: keep them
        if passes:
            yield i


def pick_best(rows: Sequence[Mapping[str, Any]], per_user: Sequence[np.ndarray], metric: str,
              significance: float | None, seed: int, has_defaults: bool = True) -> int:
    """Index of the row to return: the best by ``metric`` (ties: the earlier row; -1: none scored).

    With ``has_defaults``, row 0 is the library defaults and the best row
    replaces them only as the first of :func:`challengers`.
    """
    finite = [i for i, r in enumerate(rows) if row_score(r, metric) > -math.inf]
    if not finite:
        return -1
    best = min(finite, key=lambda i: (-row_score(rows[i], metric), i))
    if not has_defaults or best == 0 or 0 not in finite:
        return best
    return next(challengers(rows, per_user, metric, significance, seed), 0)


def confirm_pick(rows: Sequence[Mapping[str, Any]], candidates: Iterable[int], names: Sequence[str], metric: str,
                 seed: int, budget: Budget, refit: Callable[[dict[str, Any], int], Mapping[str, float]]
                 ) -> tuple[int, dict[str, Any]]:
    """Refit the defaults (row 0) and a pick with a fresh ``seed``; keep the pick only if it wins again.

    The search's own scores favour its pick twice over: it is the best of many
    noisy evaluations, and the bootstrap of :func:`beats` sees only the noise of
    the validation users, not that of the training seed. Both refits are new,
    unselected draws. The pick is the first of ``candidates`` (row indices,
    best first: :func:`challengers`) whose two refits fit in ``budget``,
    predicted from the rows' ``seconds``. ``refit(setting, seed)`` fits and
    scores one setting (the values of ``names`` in its row).

    Returns ``(row index, record)``: the pick when its refit scores higher on
    ``metric`` than the defaults' refit, else 0 (also when no candidate's refits
    fit in the time left, or the budget runs out during them). The record has
    ``trial``, ``seed``, ``defaults`` and ``candidate`` (the refits' scores),
    ``kept`` and a one-line ``note``.
    """
    skipped = []
    for best in candidates:
        need = sum(float(rows[i].get("seconds", 0.0)) for i in (0, best))
        if need <= budget.remaining():
            break
        skipped.append(best)
    else:
        left = max(budget.remaining(), 0)
        return 0, {"trial": skipped[0] if skipped else -1, "seed": seed, "defaults": math.nan,
                   "candidate": math.nan, "kept": False,
                   "note": f"no time left ({left:.0f}s) to refit a pick and the defaults: the defaults are kept"}
    record = {"trial": best, "seed": seed, "defaults": math.nan, "candidate": math.nan, "kept": False}
    after = f" (trial(s) {', '.join(map(str, skipped))} ranked higher but would not fit in the time left)" \
        if skipped else ""
    try:
        defaults = float(refit({k: rows[0][k] for k in names}, seed).get(metric, math.nan))
        candidate = float(refit({k: rows[best][k] for k in names}, seed).get(metric, math.nan))
    except BudgetExceeded:
        return 0, {**record, "note": f"the budget ran out while refitting trial {best}: the defaults are kept"}
    kept = bool(np.isfinite(candidate) and np.isfinite(defaults) and candidate > defaults)
    note = (f"trial {best} {metric}={candidate:.4f} vs the defaults {defaults:.4f}: "
            + ("the trial is kept" if kept else "the defaults are kept") + after)
    return (best if kept else 0), {**record, "defaults": defaults, "candidate": candidate, "kept": kept, "note": note}
