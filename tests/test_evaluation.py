"""End-to-end tests of item2vec.evaluation with the popularity baseline."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from item2vec.baselines import ItemCosineRecommender, PopularityRecommender
from item2vec.evaluation import compare, evaluate, format_table
from item2vec.metrics import ranking_metrics
from item2vec.splits import leave_last_out, user_split


@pytest.fixture
def small_log():
    # Fillers have 2 events (< 3): they stay in train and set the popularity p > q > r > s.
    fillers = [("F1", "p"), ("F1", "p"), ("F2", "p"), ("F2", "p"), ("F3", "p"), ("F3", "q"),
               ("F4", "q"), ("F4", "q"), ("F5", "q"), ("F5", "r"), ("F6", "r"), ("F6", "r"),
               ("F7", "s"), ("F7", "s")]
    # Evaluated users: train, val, test in this order.
    users = [("U1", "p"), ("U1", "q"), ("U1", "r"),
             ("U2", "s"), ("U2", "p"), ("U2", "q"),
             ("U3", "q"), ("U3", "r"), ("U3", "s")]
    rows = [(u, i, t) for t, (u, i) in enumerate(fillers + users)]
    return pd.DataFrame(rows, columns=["user", "item", "timestamp"])


def test_popularity_end_to_end_hand_computed(small_log):
    split = leave_last_out(small_log)
    res = evaluate(PopularityRecommender(), split, ks=(1, 2))
    # fit on train+val: p 7, q 6, r 4, s 3. Recommendations with history filtered:
    # U1 (hist p q) -> r s, target r: rank 1;  U2 (hist s p) -> q r, target q: rank 1;
    # U3 (hist q r) -> p s, target s: rank 2.
    expected = {
        "recall@1": 2 / 3, "hit@1": 2 / 3, "ndcg@1": 2 / 3, "mrr@1": 2 / 3, "coverage@1": 3 / 4,
        "recall@2": 1.0, "hit@2": 1.0, "ndcg@2": (2 + 1 / math.log2(3)) / 3, "mrr@2": 2.5 / 3,
        "coverage@2": 1.0, "n_users": 3, "n_users_no_targets": 0,
    }
    for key, value in expected.items():
        assert res[key] == pytest.approx(value), key
    assert res["fit_seconds"] > 0 and res["predict_seconds"] > 0  # both stages were timed


def _synthetic(seed=0, n_users=120, n_items=40, n_events=1500):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "user": rng.integers(0, n_users, n_events),
        "item": (rng.zipf(1.6, n_events) - 1) % n_items,
        "timestamp": rng.integers(0, 10_000, n_events),
    })


@pytest.mark.parametrize("stage", ["val", "test"])
def test_evaluate_matches_manual_pipeline(stage):
    split = leave_last_out(_synthetic())
    res = evaluate(PopularityRecommender(), split, ks=(5, 10), stage=stage, batch_size=7)
    model = PopularityRecommender().fit(split.fit_data(stage))
    _, hist, targ = split.queries(stage)
    recs, _ = model.recommend(hist, k=10, on_unknown="ignore")
    ref = ranking_metrics(recs, targ, ks=(5, 10), catalogue=split.catalogue(stage))
    for key, value in ref.items():
        assert res[key] == pytest.approx(value), key
    assert res["n_users"] == len(hist) > 0


def test_fit_false_uses_given_model_and_progress(small_log):
    split = leave_last_out(small_log)
    model = PopularityRecommender().fit(split.train_val())
    res = evaluate(model, split, ks=2, fit=False, progress=True)
    assert math.isnan(res["fit_seconds"]) and res["hit@2"] == 1.0


def test_user_split_end_to_end():
    split = user_split(_synthetic(1), test_users=0.3, n_holdout=2, seed=0)
    res = evaluate(ItemCosineRecommender(), split, ks=(5,))
    assert 0 < res["n_users"] <= split.params["n_test_users"]
    assert 0.0 <= res["recall@5"] <= res["hit@5"] <= 1.0


def test_compare_and_format_table(small_log):
    split = leave_last_out(small_log)
    table = compare({"pop": PopularityRecommender(), "item-cosine": ItemCosineRecommender()}, split, ks=(1, 2))
    assert list(table.index) == ["pop", "item-cosine"]
    assert table.loc["pop", "recall@2"] == pytest.approx(1.0)
    text = format_table(table)
    lines = text.splitlines()
    assert len(lines) == 4
    header = lines[0].split()
    assert header[:6] == ["model", "recall@1", "ndcg@1", "hit@1", "mrr@1", "coverage@1"]
    assert header[-3:] == ["users", "fit", "s"]
    assert lines[2].startswith("pop ") and lines[3].startswith("item-cosine")
    assert len({len(line) for line in lines}) == 1  # fixed width
    assert "0.6667" in lines[2]


def test_errors(small_log):
    split = leave_last_out(small_log)
    with pytest.raises(TypeError, match="Recommender"):
        evaluate(object(), split)
    with pytest.raises(ValueError, match="stage must be one of"):
        evaluate(PopularityRecommender(), split, stage="train")
    with pytest.raises(ValueError, match="batch_size"):
        evaluate(PopularityRecommender(), split, batch_size=0)
    with pytest.raises(ValueError, match="models is empty"):
        compare({}, split)
    with pytest.raises(TypeError, match="compare"):
        format_table("not a table")


def test_cut_offs_beyond_the_catalogue_are_padded(small_log):
    # recommenders return at most n_items columns; the evaluator pads them to max(ks)
    split = leave_last_out(small_log)
    res = evaluate(PopularityRecommender(), split, ks=(2, 50))
    assert res["recall@50"] == pytest.approx(1.0) and res["hit@2"] == pytest.approx(1.0)
