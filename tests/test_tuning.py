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


# ---------------------------------------------------------------------------- budgets and strategies
from item2vec import search  # noqa: E402


class FakeClock:
    """Seconds that pass only when an objective says so."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def planted(clock, cost_per_epoch=0.0):
    """Objective whose score is known: quality ``q`` times a gain that grows with epochs."""
    calls = []

    def objective(cfg, epochs):
        calls.append((cfg["q"], epochs, clock.now))
        clock.now += cost_per_epoch * (epochs or 1)
        return {"score": cfg["q"] * (1 - 1 / (1 + (epochs or 1))), "fit_seconds": cost_per_epoch * (epochs or 1)}
    return objective, calls


def test_space_has_published_ranges_and_filters_unknown_params():
    i2v = tuning.SEARCH_SPACES["item2vec"]
    assert min(i2v["ns_exponent"]) == -1 and max(i2v["ns_exponent"]) == 1
    ints = [w for w in i2v["window"] if w != "auto"]
    assert max(i2v["epochs"]) == 150 and min(ints) == 1 and {1, 20, "auto", 40} <= set(i2v["window"])  # published 1..20, and 40 (LastFM, benchmarks/README.md)
    assert max(tuning.SEARCH_SPACES["als"]["factors"]) == 256 and max(tuning.SEARCH_SPACES["als"]["alpha"]) == 40
    have = set(Item2Vec().get_params())
    for name in ("history_decay", "backward_window"):  # searched exactly when the model has them
        assert (name in i2v) == (name in have)
    assert tuning.available_space("item2vec", {"window": [1, 2], "no_such_param": [1]}) == {"window": [1, 2]}
    assert set(tuning.available_space("als", tuning._SPACES["als"])) == set(tuning.SEARCH_SPACES["als"])


def test_halving_rungs():
    assert search.halving_rungs([5, 10, 20, 40, 80, 150]) == [5, 15, 45, 150]
    assert search.halving_rungs([1, 9], eta=3) == [1, 3, 9]
    assert search.halving_rungs([2, 20], eta=2) == [2, 4, 8, 20]  # 16 is too close below 20
    assert search.halving_rungs([7]) == [7]
    with pytest.raises(ValueError, match="eta"):
        search.halving_rungs([1, 9], eta=1)


def test_halving_promotes_the_best_settings():
    clock = FakeClock()
    objective, calls = planted(clock)
    configs = iter([{"q": q} for q in np.random.default_rng(0).permutation(27).tolist()])
    rows = search.successive_halving(configs, objective, [1, 3, 9], metric="score", eta=3, max_configs=27,
                                     budget=search.Budget(None, clock))
    by_rung = {k: sorted(r["q"] for r in rows if r["rung"] == k) for k in (0, 1, 2)}
    assert by_rung == {0: list(range(27)), 1: list(range(18, 27)), 2: [24, 25, 26]}
    assert all(r["epochs"] == [1, 3, 9][r["rung"]] for r in rows)
    assert [r["trial"] for r in rows] == list(range(len(rows)))
    # the same setting keeps its config id across rungs
    ids = {(r["q"], r["config"]) for r in rows}
    assert len(ids) == 27


def test_halving_respects_a_wall_clock_budget():
    clock = FakeClock()
    objective, calls = planted(clock, cost_per_epoch=1.0)
    configs = iter([{"q": q} for q in range(1000)])
    budget = search.Budget(60.0, clock)
    rows = search.successive_halving(configs, objective, [1, 3, 9], metric="score", budget=budget)
    assert clock.now - 100.0 <= 60.0 + 1e-9  # predicted costs keep every fit inside the budget
    assert all(start - 100.0 < 60.0 for _, _, start in calls)
    assert {r["rung"] for r in rows} == {0, 1, 2}  # it did continue the best settings
    assert 5 < sum(r["rung"] == 0 for r in rows) < 60


def test_random_search_stops_at_the_budget_and_aborted_fits_are_dropped():
    clock = FakeClock()
    objective, calls = planted(clock, cost_per_epoch=7.0)
    rows = search.random_search([{"q": q} for q in range(100)], objective, budget=search.Budget(20.0, clock))
    assert len(rows) == 3 and len(calls) == 3  # started at 0, 7, 14; not at 21

    def aborting(cfg, epochs):
        if cfg["q"] == 1:
            raise search.BudgetExceeded
        return {"score": 1.0}
    rows = search.random_search([{"q": 0}, {"q": 1}, {"q": 2}], aborting, budget=search.Budget(5.0))
    assert [r["q"] for r in rows] == [0]
    with pytest.raises(ValueError, match="budget"):
        search.Budget(0)


def test_tune_with_tiny_budget_stops_and_reports(split, capsys):
    space = {"window": [1, 2, 3], "vector_size": [8, 16], "epochs": [1, 3]}
    for strategy in ("random", "halving"):
        res = tuning.tune("item2vec", split, trials=None, budget=1e-6, strategy=strategy, space=space,
                          fixed={"n_threads": 1}, progress=True)
        assert res.strategy == strategy and res.n_trials == 1  # the first evaluation always finishes
        assert np.isfinite(res.best_score) and res.seconds > 1e-6
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"tune item2vec [{strategy}] trial 0")


def test_tune_halving_with_fake_clock_and_refit(split):
    clock = FakeClock()

    def ticking():
        clock.now += 0.5  # every look at the clock costs half a second
        return clock.now
    space = {"window": [1, 2, 3], "vector_size": [8, 16], "epochs": [1, 3]}
    res = tuning.tune("item2vec", split, trials=None, budget=30.0, strategy="auto", space=space,
                      fixed={"n_threads": 1}, clock=ticking)
    assert res.strategy == "halving" and 1 <= res.n_trials < 6 * 2
    assert {"config", "rung", "epochs", "seconds"} <= set(res.trials.columns)
    best = res.trials.loc[res.trials["ndcg@10"].astype(float).idxmax()]
    assert res.best_params["epochs"] == best["epochs"] and res.best_params["window"] == best["window"]
    model = Item2Vec(**res.best_params).fit(split.train)
    assert model.epochs == best["epochs"]


def test_strategy_choice_and_optuna_fallback(split, monkeypatch):
    space = {"window": [1, 2], "epochs": [1, 3]}
    # without a time budget, or with epochs fixed, "auto" is today's random search
    assert tuning.tune("item2vec", split, trials=1, space=space, fixed={"n_threads": 1}).strategy == "random"
    res = tuning.tune("item2vec", split, trials=2, space=space, strategy="halving",
                      fixed={"epochs": 1, "n_threads": 1})
    assert res.strategy == "random" and res.n_trials == 2
    assert tuning.tune("als", split, trials=1, budget=60, space={"factors": [4]},
                       fixed={"iterations": 1}).strategy == "random"
    with pytest.raises(ValueError, match="strategy"):
        tuning.tune("item2vec", split, trials=1, strategy="grid")
    with pytest.raises(ValueError, match="trials or a budget"):
        tuning.tune("item2vec", split, trials=None)
    monkeypatch.setattr(tuning, "optuna_available", lambda: False)
    with pytest.warns(RuntimeWarning, match="optuna is not installed"):
        res = tuning.tune("item2vec", split, trials=3, space=space, strategy="optuna", fixed={"n_threads": 1})
    assert res.strategy == "halving"


def test_optuna_strategy_when_installed(split):
    pytest.importorskip("optuna")
    space = {"window": [1, 2, 3], "vector_size": [8, 16], "epochs": [1, 3]}
    res = tuning.tune("item2vec", split, trials=4, space=space, strategy="optuna", fixed={"n_threads": 1})
    assert res.strategy == "optuna" and {"config", "rung"} <= set(res.trials.columns)
    assert 4 <= res.n_trials <= 8 and set(res.trials["config"]) == {0, 1, 2, 3}
    assert res.best_params["epochs"] in (1, 3) and np.isfinite(res.best_score)


def test_cli_tune_budget_json_best_params_refit(tmp_path, capsys, monkeypatch):
    import json

    from item2vec import cli
    from item2vec.synthetic import make_synthetic

    path = tmp_path / "tune.json"
    code = cli.main(["tune", "--dataset", "synthetic", "--synthetic-users", "120", "--synthetic-items", "50",
                     "--models", "item2vec", "--budget", "0.000001", "--strategy", "halving",
                     "--space", "item2vec.epochs=1,3", "--space", "item2vec.vector_size=8,16",
                     "--set", "item2vec.n_threads=1", "--output", str(path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "item2vec halving" in out and "best settings:" in out
    assert err.count("tune item2vec [halving] trial") == 1  # one progress line per evaluation
    doc = json.loads(path.read_text())
    assert doc["config"]["budget"] == 1e-6 and doc["config"]["strategy"] == "halving"
    best = [r for r in doc["results"] if r["kind"] == "best"]
    trials = [r for r in doc["results"] if r["kind"] == "trial"]
    assert len(best) == 1 and len(trials) == 1 and best[0]["strategy"] == "halving"
    assert best[0]["params"]["epochs"] == 1 and trials[0]["val_rung"] == 0  # budget gone after rung 0
    model = Item2Vec(**best[0]["params"]).fit(make_synthetic(n_users=120, n_items=50, seed=0).interactions)
    assert model.epochs == 1 and model.vector_size == best[0]["params"]["vector_size"]


def test_val_subset_keeps_train_and_samples_val_users(split):
    sub = tuning._val_subset(split, 30, seed=0)
    assert sub.val["user"].nunique() == 30 and set(sub.val["user"]) <= set(split.val["user"])
    assert sub.train is split.train and sub.test is split.test
    assert tuning._val_subset(split, 30, seed=0).val.equals(sub.val)
    assert tuning._val_subset(split, None, seed=0) is split


def test_halving_with_the_builtin_space_starts_from_the_library_defaults(split, monkeypatch):
    seen = []
    real = tuning.make_model

    def spy(name, params=None, **kw):
        seen.append(dict(params or {}))
        return real(name, {**(params or {}), "epochs": 1, "vector_size": 8}, **kw)  # cheap fits, same settings

    monkeypatch.setattr(tuning, "make_model", spy)
    res = tuning.tune("item2vec", split, trials=2, strategy="halving", fixed={"n_threads": 1}, budget=60)
    first = res.trials.iloc[0]
    assert first["rung"] == -1 and first["config"] == -1
    defaults = Item2Vec().get_params()
    assert all(seen[0][k] == defaults[k] for k in tuning.SEARCH_SPACES["item2vec"] if k in seen[0])
    assert seen[0]["epochs"] == defaults["epochs"]
    custom = tuning.tune("item2vec", split, trials=2, strategy="halving", fixed={"n_threads": 1}, budget=60,
                         space={"window": [1, 2], "epochs": [1, 3]})
    assert -1 not in set(custom.trials["config"])


def test_beats_is_a_paired_one_sided_bootstrap():
    rng = np.random.default_rng(0)
    ref = (rng.random(1000) < 0.1).astype(float)
    clearly = np.maximum(ref, (rng.random(1000) < 0.1).astype(float))  # about +0.09 on every resample
    noise = ref.copy()
    noise[np.flatnonzero(ref == 0)[:3]] = 1.0  # +3 hits of 1000, -2: a mean gain of 0.001 over 1000 users
    noise[np.flatnonzero(ref == 1)[:2]] = 0.0
    assert tuning.beats(clearly, ref)
    assert not tuning.beats(noise, ref) and not tuning.beats(ref, ref) and not tuning.beats(ref, clearly)
    assert tuning.beats(noise, ref, significance=0.99)  # any positive mean passes a lax enough test


def test_halving_keeps_the_defaults_unless_a_trial_clearly_beats_them(split, monkeypatch):
    base = (np.random.default_rng(0).random(500) < 0.1).astype(float)
    calls = []

    def fake_scores(model, val_split, ks, metric):  # the defaults (first call) score base; fit n gains n hits, loses n-1
        values = base.copy()
        if calls:
            values[np.flatnonzero(base == 0)[: len(calls)]] = 1.0
            values[np.flatnonzero(base == 1)[: len(calls) - 1]] = 0.0
        calls.append(model)
        return {metric: float(values.mean()), "fit_seconds": 0.0}, values

    monkeypatch.setattr(tuning, "val_scores", fake_scores)
    kw = {"trials": 3, "strategy": "halving", "fixed": {"n_threads": 1}, "budget": 60, "local_steps": 0,
          "confirm": False}  # the guard alone (the refits are tested below)
    loose = tuning.tune("item2vec", split, significance=None, **kw)
    strict = tuning.tune("item2vec", split, **kw)
    assert loose.best_score > loose.trials[loose.metric].iloc[0]  # a trial scored above the defaults ...
    assert loose.trials.iloc[0]["config"] == -1 and strict.best_score == strict.trials[strict.metric].iloc[0]
    start = {k: v for k, v in strict.trials.iloc[0].items() if k in strict.space}
    assert {k: strict.best_params[k] for k in start} == start  # ... by one net hit of 500: the defaults are kept
    lax = tuning.tune("item2vec", split, significance=0.99, **kw)
    assert lax.best_score == loose.best_score
    with pytest.raises(ValueError, match="significance"):
        tuning.tune("item2vec", split, significance=1.5, **kw)


def test_neighbours_move_one_dimension_one_step():
    from item2vec.search import neighbours

    space = {"window": [5, 10, 20, 40], "ns_exponent": [0.0, 0.5], "epochs": [5, 50]}
    start = {"window": 20, "ns_exponent": 0.0, "epochs": 50}
    got = neighbours(start, space, dims=("window", "ns_exponent", "epochs_not_listed"))
    assert got == [{**start, "window": 40}, {**start, "window": 10}, {**start, "ns_exponent": 0.5}]
    assert neighbours({"window": 7}, space) == []  # a value outside the space does not move


def flat_scores(model, val_split, ks, metric):  # every setting scores the same: the climb tries each neighbour in turn
    return {metric: 0.1, "fit_seconds": 0.0}, np.full(20, 0.1)


def test_halving_evaluates_the_defaults_neighbours_first(split, monkeypatch):
    monkeypatch.setattr(tuning, "val_scores", flat_scores)
    res = tuning.tune("item2vec", split, trials=2, strategy="halving", fixed={"n_threads": 1}, budget=600,
                      local_steps=0.99)
    local = res.trials[res.trials["rung"] == -1]
    assert list(local["config"])[:5] == [-1, -2, -3, -4, -5]
    assert [local.iloc[i]["history_decay"] for i in (1, 2)] == [0.8, 0.7]  # a fixed decay first, one step up/down
    assert local.iloc[3]["window"] == 40 and local.iloc[4]["window"] == 20  # then the window "auto", up and down
    none = tuning.tune("item2vec", split, trials=2, strategy="halving", fixed={"n_threads": 1}, budget=600, local_steps=0)
    assert list(none.trials[none.trials["rung"] == -1]["config"]) == [-1]


def test_val_scores_match_evaluate_and_give_the_metric_per_user(split):
    from item2vec.evaluation import evaluate
    from item2vec.selection import val_scores

    scores, per_user = val_scores(PopularityRecommender(), split, (10,), "ndcg@10")
    ref = evaluate(PopularityRecommender(), split, ks=(10,), stage="val")
    assert {k: v for k, v in scores.items() if "seconds" not in k} == {k: v for k, v in ref.items() if "seconds" not in k}
    assert per_user.size == ref["n_users"] and math.isclose(per_user.mean(), ref["ndcg@10"])


def test_group_sentences_are_searched_only_with_the_datas_item_groups(split, monkeypatch):
    real = tuning.make_model
    monkeypatch.setattr(tuning, "make_model",
                        lambda name, params=None, **kw: real(name, {**(params or {}), "epochs": 1, "vector_size": 8}, **kw))
    items = sorted(split.train["item"].unique())
    groups = {item: [f"g{i % 4}"] for i, item in enumerate(items)}
    base = {"item_groups": groups, "groups_on_unknown": "ignore"}
    kw = dict(trials=2, strategy="halving", fixed={"n_threads": 1}, budget=600, local_steps=0.99)
    with monkeypatch.context() as flat:
        flat.setattr(tuning, "val_scores", flat_scores)
        res = tuning.tune("item2vec", split, base=base, **kw)
    assert res.space["group_sentences"] == [0, 1]
    local = res.trials[res.trials["rung"] == -1]
    assert local.iloc[0]["group_sentences"] == 0 and list(local["group_sentences"])[1:4] == [0, 0, 1]  # after decay
    rows = tuning.output_rows(res, {"recall@10": 0.1})
    assert "item_groups" not in rows[0]["params"] and "group_sentences" in rows[0]["params"]
    plain = tuning.tune("item2vec", split, **kw)
    assert "group_sentences" not in plain.space and "group_sentences" not in plain.trials
    with pytest.raises(ValueError, match="group_sentences values > 0, which need item groups"):
        tuning.tune("item2vec", split, trials=1, space={"group_sentences": [0, 1]})
    assert "group_sentences" not in tuning.tune("item2vec", split, trials=1, fixed={"n_threads": 1, "epochs": 1},
                                                space={"group_sentences": [0], "window": [2]}).space


def test_cli_tune_gives_the_search_the_datas_genres(tmp_path, monkeypatch):
    from item2vec import workflows

    seen = {}

    def fake_tune(name, split, **kw):
        seen[name] = kw["base"]
        raise SystemExit(0)

    monkeypatch.setattr(tuning, "tune", fake_tune)
    data = workflows.load_data("synthetic", None, synthetic_users=60, synthetic_items=30, progress=False)
    split = workflows.make_split(data.interactions)
    groups = workflows.item_groups(data)
    with pytest.raises(SystemExit):
        workflows.run_tune(split, ["item2vec"], trials=1, groups=groups)
    assert seen["item2vec"]["item_groups"] is groups and seen["item2vec"]["groups_on_unknown"] == "ignore"


def test_item_groups_of_the_data_leave_out_items_without_a_group():
    import pandas as pd

    from item2vec import workflows

    class D:  # what load_data returns, reduced to its items table
        def __init__(self, items):
            self.items = items

    items = pd.DataFrame({"item": [1, 2, 3], "genres": [["a", "b"], [], ["a"]]})
    assert workflows.item_groups(D(items)) == {1: ["a", "b"], 3: ["a"]}
    assert workflows.item_groups(D(items.assign(genres=[[], [], []]))) is None  # diginetica: no attributes
    assert workflows.item_groups(D(None)) is None and workflows.item_groups(None) is None


def test_hill_climb_moves_to_the_first_better_neighbour_until_none_is_better():
    from item2vec.search import hill_climb

    space = {"window": [5, 10, 20, 40], "sample": [0, 1e-3, 1e-2], "epochs": [50]}
    score = {5: 0.0, 10: 1.0, 20: 2.0, 40: 1.5}
    seen = []

    def run(cfg):
        seen.append((cfg["window"], cfg["sample"]))
        return {"ndcg@10": score[cfg["window"]] + (cfg["sample"] == 1e-2)}

    end = hill_climb({"window": 5, "sample": 0, "epochs": 50}, 0.0, space, run, "ndcg@10", dims=("window", "sample"))
    # 5 -> 10 (better) -> 20 (better; 5 already tried) -> 40 worse, 10 tried, sample 1e-3 same -> stop
    assert seen == [(10, 0), (20, 0), (40, 0), (20, 1e-3)]
    assert end == {"window": 20, "sample": 0, "epochs": 50}
    seen.clear()
    space["sample"] = [0, 1e-2]
    end = hill_climb({"window": 5, "sample": 0, "epochs": 50}, 0.0, space, run, "ndcg@10", dims=("window", "sample"))
    assert end == {"window": 20, "sample": 1e-2, "epochs": 50}  # a second dimension after the first
    seen.clear()
    calls = iter([{"ndcg@10": 5.0}, None])
    assert hill_climb({"window": 5, "sample": 0, "epochs": 50}, 0.0, space, lambda cfg: next(calls), "ndcg@10",
                      dims=("window",)) == {"window": 10, "sample": 0, "epochs": 50}  # stopped by the budget


def test_progress_lines_number_the_trials_as_the_table_does(split, monkeypatch, capsys):
    real = tuning.make_model
    monkeypatch.setattr(tuning, "make_model",
                        lambda name, params=None, **kw: real(name, {**(params or {}), "epochs": 1, "vector_size": 8}, **kw))
    res = tuning.tune("item2vec", split, trials=3, strategy="halving", fixed={"n_threads": 1}, budget=600,
                      local_steps=0.99, progress=True)
    printed = [int(line.split(" trial ")[1].split()[0]) for line in capsys.readouterr().err.splitlines()
               if " trial " in line and "rung" in line]
    assert printed == list(res.trials["trial"]) and len(printed) > len(res.trials[res.trials["rung"] == -1])
