"""Choosing the training window on the holdout: ``Item2Vec(wide_window=40)`` (the default).

The default ``window=20`` suits data whose next item follows from the last few
(MovieLens, Amazon, sessions); on long-range taste data (LastFM listening
histories) a window of 40 is the one setting that reached a tuned ALS, while it
costs MovieLens 9-15 % (README, "What decided the defaults"). No cheap statistic
of the data told the two kinds apart (the holdout's preferred decay does not:
LastFM prefers 0.3-0.8 like MovieLens; a co-occurrence proxy moved by 1-3 hits),
so ``fit`` asks the model itself: with ``history_decay="auto"`` it trains one
model with ``window`` and one with ``wide_window`` on the same training
sequences and seed, and keeps the one whose best decay ranks the withheld items
of :mod:`item2vec.holdout` higher (recall@10; ties keep ``window``).

Cost: the wide fit has about 1.7x the pairs of the narrow one, so a default fit
takes about 2.7x the time of one fit at ``window=20``, and the first candidate's
vectors stay in memory while the second trains (twice the vector tables at peak).
``wide_window=None`` (or ``history_decay`` not ``"auto"``, or ``context="set"``)
trains once.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .training import Trained

__all__ = ["Candidate", "candidate_settings", "best_candidate", "widened"]


class Candidate(NamedTuple):
    """One candidate fit: its kernel settings, what it learned, its decay and the holdout recall of each decay."""

    settings: Any
    trained: Trained
    decay: float | None
    scores: dict[float, float]


def candidate_settings(settings: Any, wide_window: int | None, context: str, has_holdout: bool) -> list[Any]:
    """The kernel settings to train: ``[settings]``, plus the wide window when a choice is possible.

    The wide candidate keeps the backward window (a symmetric window widens on both sides).
    """
    if wide_window is None or not has_holdout or context != "window" or wide_window <= settings.window:
        return [settings]
    return [settings, widened(settings, wide_window)]


def widened(settings: Any, window: int) -> Any:
    """``settings`` with forward window ``window`` (a symmetric window widens on both sides)."""
    backward = window if settings.backward == settings.window else settings.backward
    return settings._replace(window=int(window), backward=backward)


def best_candidate(candidates: list[Candidate]) -> int:
    """Index of the candidate with the best holdout recall at its own decay (the first on ties)."""
    best = max(range(len(candidates)), key=lambda i: (max(candidates[i].scores.values(), default=0.0), -i))
    return int(best)
