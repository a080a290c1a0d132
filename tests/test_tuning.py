"""Tests for the random hyperparameter search (item2vec.tuning)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from item2vec import tuning
from item2vec.baselines import ALSRecommender, PopularityRecommender
from item2vec.model import Item2Vec
from item2vec.splits import leave_last_out, temporal_split
from item2vec.synthetic import make_synthetic


@pytest.fixture(scope="module")
def data():
    return make_synthetic(n_users=120, n_items=50, n_clusters=5, seed=0).interactions


@pytest.fixture(scope="module")
def split(data):
    return leave_last_out(data)


def test_search_spaces():
    i2v, als = tuning.SEARCH_SPACES["item2vec"], tuning.SEARCH_SPACES["als"]
    assert min(i2v["ns_exponent"]) < 0 < max(i2v["ns_exponent"])  # negative exponents are searched
    assert {"window", "sample", "epochs", "vector_size", "alpha", "negative", "history_length"} <= set(i2v)
    assert 3 in i2v["history_length"] and None in i2v["history_length"]
    assert set(als) == {"factors", "regularization", "alpha", "iterations"} and all(len(v) > 1 for v in als.values())
    for name, space in tuning.SEARCH_SPACES.items():
        assert set(space) <= set(tuning.settable_params(name))


def test_sample_configs_distinct_seeded_and_in_space():
    space = tuning.SEARCH_SPACES["item2vec"]
    a = tuning.sample_configs(space, 30, np.random.default_rng(3))
    b = tuning.sample_configs(space, 30, np.random.default_rng(3))
    c = tuning.sample_configs(space, 30, np.random.default_rng(4))
    assert a == b and a != c
    assert len({tuple(sorted(map(repr, cfg.items()))) for cfg in a}) == 30
    for cfg in a:
        assert list(cfg) == list(space)
        assert all(cfg[k] in space[k] for k in space)


def test_sample_configs_small_and_empty_space():
    space = {"x": [1, 2], "y": ["a", "b", "c"]}
    got = tuning.sample_configs(space, 10, np.random.default_rng(0))
    assert sorted((g["x"], g["y"]) for g in got) == sorted(itertools.product([1, 2], ["a", "b", "c"]))
    assert tuning.sample_configs({}, 5, np.random.default_rng(0)) == [{}]


def test_make_model_and_params():
    m = tuning.make_model("item2vec", {"window": 3}, seed=7, n_threads=1)
    assert isinstance(m, Item2Vec) and m.window == 3 and m.random_state == 7 and m.n_threads == 1 and not m.verbose
    a = tuning.make_model("als", {"factors": 8}, seed=1, n_threads=2)
    assert isinstance(a, ALSRecommender) and a.factors == 8 and a.random_state == 1 and a.num_threads == 2
    assert isinstance(tuning.make_model("pop"), PopularityRecommender)
    with pytest.raises(ValueError, match="valid: .*regularization"):
        tuning.make_model("als", {"factor": 8})
    with pytest.raises(ValueError, match="unknown model"):
        tuning.make_model("bpr")
    with pytest.raises(ValueError, match="window"):
        tuning.check_model_params("item2vec", {"window": 0})
    with pytest.raises(ValueError, match="alpha"):
        tuning.check_model_params("als", {"alpha": -1})
    assert "callbacks" not in tuning.settable_params("item2vec")


@pytest.mark.parametrize("text, parsed", [("ndcg@10", ("ndcg", 10)), ("Recall@5", ("recall", 5)),
                                          ("coverage@20", ("coverage", 20))])
def test_parse_metric(text, parsed):
    assert tuning.parse_metric(text) == parsed


@pytest.mark.parametrize("bad", ["ndcg", "ndcg@0", "precision@10", "ndcg@x"])
def test_parse_metric_rejects(bad):
    with pytest.raises(ValueError, match="NAME@K"):
        tuning.parse_metric(bad)


def test_tune_item2vec(split):
    fixed = {"epochs": 1, "n_threads": 1}
    space = {"window": [1, 3], "vector_size": [8, 16], "scoring": ["sgns", "cosine"]}
    res = tuning.tune("item2vec", split, trials=2, seed=0, metric="ndcg@10", ks=(5,), space=space, fixed=fixed)
    assert isinstance(res, tuning.TuneResult) and res.model == "item2vec" and res.metric == "ndcg@10"
    assert res.n_trials == 2 and list(res.trials["trial"]) == [0, 1]
    assert {"window", "vector_size", "scoring", "ndcg@10", "recall@5", "fit_seconds"} <= set(res.trials.columns)
    assert math.isclose(res.best_score, res.trials["ndcg@10"].max())
    best = res.trials.loc[res.trials["ndcg@10"].idxmax()]
    assert res.best_params["window"] == best["window"] and res.best_params["epochs"] == 1
    assert res.top(1)["trial"].iloc[0] == best["trial"]
    again = tuning.tune("item2vec", split, trials=2, seed=0, metric="ndcg@10", ks=(5,), space=space, fixed=fixed)
    assert again.trials[["window", "vector_size", "scoring"]].equals(res.trials[["window", "vector_size", "scoring"]])

    scores = tuning.test_score("item2vec", res.best_params, split, ks=(10,), seed=0)
    assert 0.0 <= scores["ndcg@10"] <= 1.0 and "recall@10" in scores


def test_tune_fixed_removes_dimension_and_base_applies(split):
    res = tuning.tune("als", split, trials=3, seed=1, metric="recall@10", ks=10,
                      space={"factors": [4, 8], "regularization": [0.01, 0.1]},
                      fixed={"factors": 4}, base={"iterations": 2})
    assert "factors" not in res.space and res.n_trials == 2  # only 2 settings left
    assert res.best_params["factors"] == 4 and res.best_params["iterations"] == 2
    assert set(res.trials["regularization"]) == {0.01, 0.1}


def test_tune_pop_is_one_trial(split):
    res = tuning.tune("pop", split, trials=5, metric="hit@10")
    assert res.n_trials == 1 and res.best_params == {} and 0 <= res.best_score <= 1


def test_tune_errors(data, split):
    with pytest.raises(ValueError, match="no validation events"):
        tuning.tune("pop", temporal_split(data), trials=1)
    with pytest.raises(ValueError, match="unknown parameter"):
        tuning.tune("als", split, trials=1, space={"nope": [1]})
    with pytest.raises(ValueError, match="trials"):
        tuning.tune("als", split, trials=0)
    with pytest.raises(ValueError, match="no values"):
        tuning.tune("als", split, trials=1, space={"factors": []})
