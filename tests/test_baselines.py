"""Tests of item2vec.baselines: model-specific behaviour (popularity order, ALS planted
structure, cosine values). The shared recommend contract is in tests/test_contract.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from item2vec.base import Recommender
from item2vec.baselines import ALSRecommender, ItemCosineRecommender, PopularityRecommender


def _blocks(n_users=40, block=8, seed=0, str_ids=False):
    """Two disjoint user groups, each interacting only with its own item block."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        group = u % 2
        items = rng.choice(block, size=int(rng.integers(3, 6)), replace=False) + group * block
        for t, i in enumerate(items):
            rows.append((u, int(i), t))
    df = pd.DataFrame(rows, columns=["user", "item", "timestamp"])
    if str_ids:
        df["item"] = "i" + df["item"].astype(str)
        df["user"] = "u" + df["user"].astype(str)
    return df


FACTORIES = {
    "popularity": lambda: PopularityRecommender(),
    "als": lambda: ALSRecommender(factors=8, iterations=8, random_state=0),
    "cosine": lambda: ItemCosineRecommender(),
    "cosine_k3": lambda: ItemCosineRecommender(k_neighbors=3),
}


@pytest.fixture(params=list(FACTORIES), ids=list(FACTORIES))
def make_model(request):
    return FACTORIES[request.param]


@pytest.fixture(scope="module")
def data():
    return _blocks()


def test_protocol_and_params(make_model, data):
    model = make_model()
    assert isinstance(model, Recommender)
    params = model.get_params()
    assert repr(model).startswith(type(model).__name__ + "(")
    assert model.fit(data) is model
    assert model.get_params() == params  # fit does not touch hyperparameters


def test_bad_fit_input(make_model, data):
    model = make_model()
    with pytest.raises(ValueError, match="lack column"):
        model.fit(data.drop(columns="item"))
    with pytest.raises(TypeError, match="DataFrame"):
        model.fit(data.to_numpy())


def test_popularity_order_and_scores():
    df = pd.DataFrame({"user": [1, 1, 2, 3, 1, 2, 3, 4, 4], "item": ["y", "x", "x", "x", "x", "y", "z", "y", "x"]})
    model = PopularityRecommender().fit(df)
    ids, scores = model.recommend([[], ["x"]], k=3)
    # counts: x 5 (user 1's repeat counts twice), y 3, z 1
    assert ids[0].tolist() == ["x", "y", "z"] and scores[0].tolist() == [5.0, 3.0, 1.0]
    assert ids[1].tolist() == ["y", "z", ""] and scores[1].tolist() == [3.0, 1.0, -np.inf]


def test_als_planted_blocks():
    df = _blocks(n_users=60, block=10, seed=1)
    model = ALSRecommender(factors=8, iterations=15, regularization=0.1, random_state=0).fit(df)
    for block in (0, 1):
        items = np.arange(10) + 10 * block
        hists = [items[[0, 3, 5]], items[[1, 2]], items[[7]]]
        ids, _ = model.recommend(hists, k=5)
        in_block = (ids >= 10 * block) & (ids < 10 * (block + 1))
        assert in_block[:, :3].all() and in_block.mean() >= 0.9, ids  # the top is in the user's block


def test_als_fold_in_matches_closed_form():
    df = _blocks(n_users=30, block=6, seed=2)
    model = ALSRecommender(factors=4, iterations=5, alpha=3.0, regularization=0.5).fit(df)
    hist = np.array([0, 1, 4])
    ids, scores = model.recommend([hist], k=5, filter_seen=False)
    y = model.item_factors_.astype(np.float64)
    codes = model.vocab_.encode(hist)
    p = np.zeros(len(model.vocab_))
    p[codes] = 1.0
    c = 1.0 + (3.0 - 1.0) * p  # confidence alpha on observed items, 1 elsewhere
    a = y.T @ (c[:, None] * y) + 0.5 * np.eye(4)
    x = np.linalg.solve(a, y.T @ (c * p))
    expected = y @ x
    np.testing.assert_allclose(scores[0], expected[model.vocab_.encode(ids[0])], rtol=1e-3, atol=1e-4)


def test_als_batch_of_1000_users():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"user": rng.integers(0, 500, 20_000), "item": rng.integers(0, 800, 20_000)})
    model = ALSRecommender(factors=32, iterations=2).fit(df)
    hists = [rng.integers(0, 800, size=int(rng.integers(1, 30))) for _ in range(1000)]
    ids, _ = model.recommend(hists, k=20, on_unknown="ignore")
    assert ids.shape == (1000, 20)
    assert not any(set(h.tolist()) & set(row.tolist()) for h, row in zip(hists, ids))  # seen items filtered


def test_als_bad_params(data):
    with pytest.raises(ValueError, match="factors must be an integer >= 1, got 0"):
        ALSRecommender(factors=0).fit(data)
    with pytest.raises(ValueError, match="alpha must be a finite number > 0"):
        ALSRecommender(alpha=-1.0).fit(data)
    with pytest.raises(ValueError, match="k_neighbors must be None or an integer >= 1"):
        ItemCosineRecommender(k_neighbors=0).fit(data)


def test_cosine_values_and_pruning():
    # users: 1 {a, b}, 2 {a, b, c}, 3 {c} -> sim(a,b) = 2/sqrt(2*2) = 1, sim(a,c) = sim(b,c) = 1/2
    df = pd.DataFrame({"user": [1, 1, 2, 2, 2, 3], "item": ["a", "b", "a", "b", "c", "c"]})
    model = ItemCosineRecommender().fit(df)
    ids, scores = model.recommend([["a"], ["a", "b"]], k=2)
    assert ids[0].tolist() == ["b", "c"] and scores[0].tolist() == pytest.approx([1.0, 0.5])
    assert ids[1].tolist() == ["c", ""] and scores[1][0] == pytest.approx(1.0)
    pruned = ItemCosineRecommender(k_neighbors=1).fit(df)
    ids, scores = pruned.recommend([["a"]], k=2)
    assert ids[0].tolist() == ["b", "c"] and scores[0].tolist() == pytest.approx([1.0, 0.0])
