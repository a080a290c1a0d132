"""Choosing the training window on the holdout (item2vec.widen, ``Item2Vec(window="auto")``)."""

from __future__ import annotations

import numpy as np
import pytest

from item2vec import Item2Vec
from item2vec import holdout
from item2vec.widen import Candidate, best_candidate

KW = dict(epochs=4, vector_size=16, n_threads=1, verbose=False, random_state=0)


def walks(seed: int = 0) -> list[list[int]]:
    """Sequences of 45 items made of short walks i, i+1, ... over 300 items."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(300):
        seq: list[int] = []
        while len(seq) < 45:
            s = int(rng.integers(0, 300))
            seq += [(s + t) % 300 for t in range(9)]
        out.append(seq)
    return out


def favour(monkeypatch, winner: int) -> None:
    """Make the holdout prefer the ``winner``-th candidate fit (0: window 20, 1: window 40)."""
    real, calls = holdout.reciprocal_rank, []

    def rank(*args, **kwargs):
        bonus = 1.0 if len(calls) == winner else 0.0
        calls.append(1)
        return real(*args, **kwargs) + bonus

    monkeypatch.setattr(holdout, "reciprocal_rank", rank)


@pytest.fixture(scope="module")
def alone():
    """Single fits with each window (an integer window: one fit)."""
    return {w: Item2Vec(window=w, **KW).fit(walks()) for w in (20, 40)}


@pytest.mark.parametrize("winner,window", [(0, 20), (1, 40)])
def test_the_model_is_the_winning_candidate_fit(monkeypatch, alone, winner, window):
    favour(monkeypatch, winner)
    m = Item2Vec(**KW).fit(walks())
    assert m.window_ == window and sorted(m.window_scores_) == [20, 40]
    assert m.window_scores_[window] > m.window_scores_[60 - window]
    ref = alone[window]
    np.testing.assert_array_equal(m.item_vectors_, ref.item_vectors_)  # bit-identical to that window's own fit
    np.testing.assert_array_equal(m.context_vectors_, ref.context_vectors_)
    assert m.loss_history_ == ref.loss_history_ and m.history_decay_ == ref.history_decay_
    assert m.n_pairs_ == alone[20].n_pairs_ + alone[40].n_pairs_  # both fits are counted, as their seconds


def test_ties_keep_the_narrow_window():
    cands = [Candidate(None, None, 0.7, {0.7: 0.3}, 0.2), Candidate(None, None, 0.7, {0.7: 0.1}, 0.2)]
    assert best_candidate(cands) == 0
    assert best_candidate([cands[0], cands[1]._replace(mrr=0.21)]) == 1  # the reciprocal rank decides, not the recall


def test_reciprocal_rank_counts_every_rank_and_excludes_the_history():
    W = np.eye(4, dtype=np.float32)
    C = np.array([[0, 0, 0, 0], [3, 0, 0, 0], [2, 0, 0, 0], [1, 0, 0, 0]], dtype=np.float32)  # item 0's profile: 1 > 2 > 3
    held = holdout.Holdout(np.array([0, 1, 2, 3]), np.zeros(3, dtype=np.int32), np.array([1, 2, 3], dtype=np.int32))
    assert np.isclose(holdout.reciprocal_rank(W, C, held, 0.7), (1 + 1 / 2 + 1 / 3) / 3)  # ranks 1, 2, 3
    seen = holdout.Holdout(np.array([0, 2, 4, 6]), np.array([0, 1] * 3, dtype=np.int32), np.array([2, 3, 1], dtype=np.int32))
    assert np.isclose(holdout.reciprocal_rank(W, C, seen, 0.7), (1 + 1 / 2 + 0) / 3)  # item 1 is in the history


def test_one_fit_when_no_choice_is_possible(alone):
    assert alone[20].window_ == 20 and alone[20].window_scores_ == {}
    for params in ({"context": "set"}, {"window": 5}, {"window": 50}, {"history_decay": 0.7, "window": 20}):
        m = Item2Vec(**{**KW, **params}).fit(walks())
        assert m.window_scores_ == {} and m.window_ == (20 if m.window == "auto" else m.window)


@pytest.mark.parametrize("winner,window", [(0, 20), (1, 40)])
def test_a_fixed_decay_still_chooses_the_window(monkeypatch, alone, winner, window):
    """window="auto" withholds the holdout at a fixed decay too: the same candidate fits as with "auto" decay."""
    favour(monkeypatch, winner)
    m = Item2Vec(history_decay=0.7, **KW).fit(walks())
    assert m.window_ == window and sorted(m.window_scores_) == [20, 40]
    assert m.history_decay_ == 0.7 and m.decay_scores_ == {}  # the decay is not chosen
    np.testing.assert_array_equal(m.item_vectors_, alone[window].item_vectors_)  # trained without the withheld items
    full = Item2Vec(history_decay=0.7, window=window, **KW).fit(walks())  # no choice: no holdout, all the events
    assert full.n_pairs_ > alone[window].n_pairs_


def test_symmetric_windows_widen_on_both_sides(monkeypatch):
    favour(monkeypatch, 1)
    m = Item2Vec(backward_window=None, **KW).fit(walks())
    assert m.window_ == 40 and m._fitted_settings().window == 40 and m._fitted_settings().backward == 40
    favour(monkeypatch, 1)
    asym = Item2Vec(**KW).fit(walks())
    assert asym._fitted_settings().backward == 5


def test_chosen_window_is_saved_and_used_by_partial_fit(monkeypatch, tmp_path):
    from item2vec import incremental

    favour(monkeypatch, 1)
    m = Item2Vec(**KW).fit(walks())
    back = Item2Vec.load(m.save(tmp_path / "m.npz"))
    assert back.window_ == 40 and back._fitted_settings() == m._fitted_settings()
    seen = []
    train = incremental.train

    def spy(seqs, settings, **kwargs):
        seen.append(settings)
        return train(seqs, settings, **kwargs)

    monkeypatch.setattr(incremental, "train", spy)
    back.partial_fit(walks(1)[:40], epochs=1)
    assert [s.window for s in seen] == [40] and back.window_ == 40


@pytest.mark.parametrize("bad", [0, -1, 1.5, "40", "Auto", True])
def test_window_is_validated(bad):
    with pytest.raises(ValueError, match="window must be 'auto' or an integer >= 1"):
        Item2Vec(**{**KW, "window": bad}).fit(walks()[:20])


def test_cost_estimate_counts_the_second_fit():
    from item2vec.cost import estimate

    both = estimate(walks(), calibration_seconds=0, **KW)
    one = estimate(walks(), calibration_seconds=0, **{**KW, "window": 20})
    assert one.wide_pairs_per_epoch == 0 and both.wide_pairs_per_epoch > both.pairs_per_epoch == one.pairs_per_epoch
    assert both.total_pairs == pytest.approx((both.pairs_per_epoch + both.wide_pairs_per_epoch) * KW["epochs"])
    assert "window choice" in both.summary() and "window choice" not in one.summary()
