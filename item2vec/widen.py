"""Choosing the training window on the holdout: ``Item2Vec(window="auto")`` (the default).

The default ``window=20`` suits data whose next item follows from the last few
(MovieLens, Amazon, sessions); on long-range taste data (LastFM listening
histories) a window of 40 is the one setting that reached a tuned ALS, while it
costs MovieLens 9-15 % (README, "What decided the defaults"). No cheap statistic
of the data told the two kinds apart (the holdout's preferred decay does not:
LastFM prefers 0.3-0.8 like MovieLens; a co-occurrence proxy moved by 1-3 hits),
so ``fit`` asks the model itself: it trains one
model with each window of :data:`AUTO_WINDOWS` on the same training sequences
and seed, and keeps the one that ranks the withheld items of
:mod:`item2vec.holdout` higher at its own decay (or at a fixed ``history_decay``): the higher mean
reciprocal rank (ties keep the narrower window). An integer ``window`` is used
as given (one fit).

The holdout exists for ``window="auto"`` whatever ``history_decay`` is
(:func:`item2vec.holdout.wants_holdout`). Until 2026-12-02 it existed only
for ``history_decay="auto"``, so a fixed decay silently turned ``"auto"`` into
20. On LastFM that cost 7 % on validation: ``history_decay=0.8`` with
``group_sentences=1`` fitted window 20 and scored val NDCG@10 0.0517 (mean of
seeds 1-6), against 0.0557 with window 40 (higher on 5 of the 6 seeds). And
``item2vec tune``'s climb, which fixes the decay in its first step, lost the
wide window with it.

Why the reciprocal rank and not the recall@10 that picks the decay: the two
windows often differ by a few per cent, and with about 1,000 withheld targets
(LastFM) recall@10 moves by a few hits; it kept 20 on a LastFM seed where 40
is 13 % better on test. The reciprocal rank uses every target's rank. On the
five panel sets × 3 seeds it picked the window that is better on test 13
times out of 15 (recall@10: 11); its misses are Yelp by 0.5 % and
ml-latest-small by 2.7 %. It also missed one of three seeds of the tiny
DIGINETICA sample (about 250 withheld targets), where recall@10 did not
(README, "What decided the defaults").

Cost: the wide fit has about 1.7x the pairs of the narrow one, so a default fit
takes about 2.7x the time of one fit at ``window=20``, and the first candidate's
vectors stay in memory while the second trains (twice the vector tables at peak).
An integer ``window`` (or ``context="set"``, or data too small for a holdout;
then ``"auto"`` is 20) trains once.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from . import holdout
from .training import Trained

__all__ = ["AUTO_WINDOWS", "Candidate", "evaluated", "base_window", "candidate_settings", "best_candidate", "widened"]

#: The windows ``window="auto"`` chooses from, narrow first (the fallback).
AUTO_WINDOWS = (20, 40)


def base_window(window: int | str) -> int:
    """The window of the first (or only) fit: ``window``, or the narrowest of :data:`AUTO_WINDOWS` for ``"auto"``."""
    return AUTO_WINDOWS[0] if window == "auto" else int(window)


class Candidate(NamedTuple):
    """One candidate fit: its kernel settings, what it learned, its decay, the holdout recall of each decay,
    and the holdout's mean reciprocal rank at its decay (what the choice compares; 0 when there is no choice)."""

    settings: Any
    trained: Trained
    decay: float | None
    scores: dict[float, float]
    mrr: float = 0.0


def evaluated(settings: Any, trained: Trained, held: holdout.Holdout | None, history_decay: object, *, scoring: str,
              history_length: int | None, compare: bool) -> Candidate:
    """The :class:`Candidate` of one fit: its decay (:func:`item2vec.holdout.fitted_decay`) and, when
    ``compare`` (more than one candidate), its :func:`item2vec.holdout.reciprocal_rank` at that decay."""
    W, C = trained.item_vectors, trained.context_vectors
    decay, scores = holdout.fitted_decay(history_decay, held, W, C, scoring=scoring, history_length=history_length)
    mrr = holdout.reciprocal_rank(W, C, held, decay, scoring=scoring, history_length=history_length) \
        if compare and held is not None else 0.0
    return Candidate(settings, trained, decay, scores, mrr)


def candidate_settings(settings: Any, window: int | str, context: str, has_holdout: bool) -> list[Any]:
    """The kernel settings to train: ``[settings]`` (built with :func:`base_window`), plus the wider
    windows of :data:`AUTO_WINDOWS` when ``window="auto"`` and a choice is possible.

    A wider candidate keeps the backward window (a symmetric window widens on both sides).
    """
    if window != "auto" or not has_holdout or context != "window":
        return [settings]
    return [settings] + [widened(settings, w) for w in AUTO_WINDOWS[1:]]


def widened(settings: Any, window: int) -> Any:
    """``settings`` with forward window ``window`` (a symmetric window widens on both sides)."""
    backward = window if settings.backward == settings.window else settings.backward
    return settings._replace(window=int(window), backward=backward)


def best_candidate(candidates: list[Candidate]) -> int:
    """Index of the candidate with the best holdout mean reciprocal rank at its own decay (the first on ties)."""
    best = max(range(len(candidates)), key=lambda i: (candidates[i].mrr, -i))
    return int(best)
