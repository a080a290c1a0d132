"""The first-order transition baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from item2vec.base import Recommender
from item2vec.transition import TransitionRecommender
from item2vec.tuning import MODEL_NAMES, make_model


def _chains(n_users: int = 40, n_items: int = 20, length: int = 6, seed: int = 0) -> pd.DataFrame:
    """Every user walks i, i+1, i+2, ... (mod n_items) from a random start; rows shuffled."""
    rng = np.random.default_rng(seed)
    rows = [(u, (s + t) % n_items, t) for u, s in enumerate(rng.integers(0, n_items, n_users))
            for t in range(length)]
    df = pd.DataFrame(rows, columns=["user", "item", "timestamp"])
    return df.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # the timestamp gives the order


def test_planted_successor_is_recommended():
    model = TransitionRecommender(history_length=1).fit(_chains())
    ids, scores = model.recommend([[i] for i in range(20)], k=1)
    assert ids[:, 0].tolist() == [(i + 1) % 20 for i in range(20)]
    assert np.all(scores[:, 0] > 0.5)
    assert isinstance(model, Recommender)


def test_order_of_the_history_matters():
    model = TransitionRecommender(history_length=2, history_decay=0.5).fit(_chains())
    a, _ = model.recommend([[3, 9]], k=1)
    b, _ = model.recommend([[9, 3]], k=1)
    assert a[0, 0] == 10 and b[0, 0] == 4  # the newest item decides


def test_counts_window_and_distance_weights():
    df = pd.DataFrame({"user": [1, 1, 1, 2, 2], "item": [10, 20, 30, 10, 30], "timestamp": [0, 1, 2, 0, 1]})
    m = TransitionRecommender(window=2).fit(df)
    code = {int(v): i for i, v in enumerate(m.vocab_.ids)}
    t = m.transitions_.toarray()
    # from 10: 20 (d=1, weight 1), 30 (d=2 in user 1: 1/2; d=1 in user 2: 1) -> 1 : 1.5
    assert t[code[10], code[20]] == pytest.approx(1 / 2.5)
    assert t[code[10], code[30]] == pytest.approx(1.5 / 2.5)
    assert t[code[30]].sum() == 0  # nothing follows 30
    flat = TransitionRecommender(window=2, distance_weighting=False).fit(df).transitions_.toarray()
    assert flat[code[10], code[30]] == pytest.approx(2 / 3)
    one = TransitionRecommender(window=1).fit(df).transitions_.toarray()
    assert one[code[10], code[30]] == pytest.approx(0.5)  # the d=2 pair is outside the window


def test_time_order_not_row_order():
    df = pd.DataFrame({"user": [1, 1, 1], "item": [3, 1, 2], "timestamp": [2, 0, 1]})  # 1 -> 2 -> 3
    m = TransitionRecommender(history_length=1).fit(df)
    assert m.recommend([[1]], k=1, filter_seen=False)[0][0, 0] == 2
    no_time = df.drop(columns="timestamp")  # row order 3 -> 1 -> 2
    m2 = TransitionRecommender(history_length=1).fit(no_time)
    assert m2.recommend([[3]], k=1)[0][0, 0] == 1


def test_popularity_fallback_fills_and_orders():
    df = pd.DataFrame({"user": [1, 1, 2, 3, 3, 4], "item": [1, 2, 5, 5, 6, 5], "timestamp": [0, 1, 0, 0, 1, 0]})
    m = TransitionRecommender(history_length=1).fit(df)
    ids, scores = m.recommend([[1], [], [99]], k=4, on_unknown="ignore")
    assert ids[0].tolist() == [2, 5, 6, -1]  # the transition first, then by popularity; 1 is seen
    assert ids[1].tolist()[:2] == [5, 1] and ids[2].tolist() == ids[1].tolist()  # empty/unknown: popularity
    assert scores[0, 0] > scores[0, 1] > scores[0, 2] and np.isneginf(scores[0, 3])
    with pytest.raises(KeyError, match="99"):
        m.recommend([[99]])


def test_filter_seen_covers_the_whole_history():
    m = TransitionRecommender(history_length=1).fit(_chains())
    ids, _ = m.recommend([[4, 5, 1, 2]], k=5)  # 2 -> 3, and 4, 5 are seen although not scored
    assert ids[0, 0] == 3 and not {4, 5, 1, 2} & set(ids[0].tolist())


@pytest.mark.parametrize("params, match", [
    ({"window": 0}, "window must be an integer >= 1"),
    ({"history_length": 1.5}, "history_length must be an integer >= 1"),
    ({"history_decay": 0.0}, r"history_decay must be a finite real number > 0.0 and <= 1.0, got history_decay=0.0"),
    ({"history_decay": 1.5}, r"history_decay must be .* <= 1.0, got history_decay=1.5"),
    ({"distance_weighting": "yes"}, "distance_weighting must be True or False"),
])
def test_invalid_params_rejected_in_fit(params, match):
    model = TransitionRecommender(**params)  # stored unchanged
    with pytest.raises(ValueError, match=match):
        model.fit(_chains())


def test_registered_for_the_cli_and_tuning():
    assert "transition" in MODEL_NAMES
    model = make_model("transition", {"window": 3})
    assert isinstance(model, TransitionRecommender) and model.get_params()["window"] == 3
    with pytest.raises(RuntimeError, match="not fitted"):
        model.recommend([[1]])
    with pytest.raises(TypeError):
        TransitionRecommender(3)  # keyword-only
