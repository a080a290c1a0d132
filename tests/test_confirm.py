"""Tests for the fresh-seed confirmation of a tuned pick (item2vec.selection.confirm_pick, tune(confirm=True))."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

from item2vec import tuning
from item2vec.search import Budget, BudgetExceeded, neighbours
from item2vec.selection import beats, challengers, confirm_pick, pick_best
from item2vec.splits import leave_last_out
from item2vec.synthetic import make_synthetic


@pytest.fixture(scope="module")
def split():
    return leave_last_out(make_synthetic(n_users=120, n_items=50, n_clusters=5, seed=0).interactions)


ROWS = [{"window": 5, "epochs": 50, "ndcg@10": 0.10, "seconds": 2.0},  # the defaults
        {"window": 40, "epochs": 50, "ndcg@10": 0.13, "seconds": 3.0}]  # the search's pick


def refits(scores):
    """A refit that scores each window as ``scores`` says and records what it was asked."""
    asked = []

    def refit(cfg, seed):
        asked.append((dict(cfg), seed))
        return {"ndcg@10": scores[cfg["window"]]}
    return refit, asked


def test_the_pick_is_kept_only_when_its_refit_beats_the_defaults_refit_again():
    refit, asked = refits({5: 0.10, 40: 0.12})
    best, record = confirm_pick(ROWS, [1], ["window", "epochs"], "ndcg@10", 7, Budget(None), refit)
    assert best == 1 and record["kept"] and record["candidate"] == 0.12 and record["defaults"] == 0.10
    assert asked == [({"window": 5, "epochs": 50}, 7), ({"window": 40, "epochs": 50}, 7)]  # both on the fresh seed
    refit, _ = refits({5: 0.11, 40: 0.105})  # the search's +30 % was luck: the refits reverse it
    best, record = confirm_pick(ROWS, [1], ["window", "epochs"], "ndcg@10", 7, Budget(None), refit)
    assert best == 0 and not record["kept"] and "the defaults are kept" in record["note"]
    refit, _ = refits({5: 0.11, 40: 0.11})  # a tie is no confirmation
    assert confirm_pick(ROWS, [1], ["window", "epochs"], "ndcg@10", 7, Budget(None), refit)[0] == 0
    refit, _ = refits({5: 0.11, 40: math.nan})
    assert confirm_pick(ROWS, [1], ["window", "epochs"], "ndcg@10", 7, Budget(None), refit)[0] == 0


def test_a_pick_whose_refits_do_not_fit_in_the_time_left_gives_way_to_the_next_or_the_defaults():
    now = [0.0]
    budget = Budget(10.0, clock=lambda: now[0])
    now[0] = 5.5  # 4.5 s left: the pick's refits need 2 + 3, the runner-up's 2 + 1
    rows = [*ROWS, {"window": 20, "epochs": 50, "ndcg@10": 0.12, "seconds": 1.0}]
    refit, asked = refits({5: 0.1, 40: 0.2, 20: 0.15})
    best, record = confirm_pick(rows, [1, 2], ["window"], "ndcg@10", 1, budget, refit)
    assert best == 2 and record["trial"] == 2 and [cfg["window"] for cfg, _ in asked] == [5, 20]
    assert "trial(s) 1 ranked higher" in record["note"]
    asked.clear()
    best, record = confirm_pick(rows, [1], ["window"], "ndcg@10", 1, budget, refit)
    assert best == 0 and asked == [] and "no time left (4s)" in record["note"]

    def late(cfg, seed):
        raise BudgetExceeded
    best, record = confirm_pick(ROWS, [1], ["window"], "ndcg@10", 1, Budget(None), late)
    assert best == 0 and "ran out" in record["note"]


def test_challengers_rank_the_rows_above_the_defaults_that_pass_the_guard():
    rng = np.random.default_rng(0)
    ref = (rng.random(1000) < 0.1).astype(float)
    clearly = np.maximum(ref, (rng.random(1000) < 0.1).astype(float))
    barely = ref.copy()
    barely[np.flatnonzero(ref == 0)[:2]] = 1.0  # +2 hits of 1000: above, but not past the guard
    rows = [{"m": ref.mean()}, {"m": barely.mean()}, {"m": clearly.mean()}, {"m": ref.mean() - 0.01}]
    per_user = [ref, barely, clearly, ref]
    assert list(challengers(rows, per_user, "m", 0.05, seed=0)) == [2]
    assert list(challengers(rows, per_user, "m", None, seed=0)) == [2, 1]
    assert list(challengers([rows[0], rows[1]], per_user[:2], "m", 0.05, seed=0)) == []  # the best fails: none
    assert pick_best(rows, per_user, "m", 0.05, seed=0) == 2
    assert pick_best([rows[0], rows[1]], per_user[:2], "m", 0.05, seed=0) == 0
    assert pick_best([rows[0], rows[1]], per_user[:2], "m", 0.05, seed=0, has_defaults=False) == 1
    assert pick_best([{"m": math.nan}], [np.zeros(0)], "m", 0.05, seed=0) == -1


def test_a_budget_keeping_a_reserve_reads_it_afresh():
    now, kept = [100.0], [20.0]
    budget = Budget(60.0, clock=lambda: now[0])
    now[0] = 110.0
    early = budget.keeping(lambda: kept[0])
    assert early.seconds == 60.0 and early.elapsed() == 10.0 and early.remaining() == 30.0
    kept[0] = 55.0
    assert early.expired() and not budget.expired() and Budget(None).keeping(lambda: 5.0).seconds is None


def test_tune_refits_a_pick_with_a_fresh_seed_and_keeps_the_defaults_when_it_does_not_hold(split, monkeypatch):
    users = 400
    base = (np.random.default_rng(0).random(users) < 0.1).astype(float)

    def fake_scores(model, val_split, ks, metric):
        # on the search's seed (0) a window of 40 looks far better than the defaults; on seed 1 (the refits)
        # it is better only when `holds`
        values = base.copy()
        if model.window == 40 and (model.random_state == 0 or holds[0]):
            values[np.flatnonzero(base == 0)[:30]] = 1.0
        seeds.append(model.random_state)
        return {metric: float(values.mean()), "fit_seconds": 0.0}, values

    monkeypatch.setattr(tuning, "val_scores", fake_scores)
    space = tuning.SEARCH_SPACES["item2vec"]
    kw = dict(trials=2, strategy="halving", fixed={"n_threads": 1}, budget=600, local_steps=0.99,
              space=space, seed=0)
    for holds, kept in (([False], False), ([True], True)):
        seeds = []
        res = tuning.tune("item2vec", split, **kw)
        assert seeds[-2:] == [1, 1] and set(seeds[:-2]) == {0}  # two refits on the fresh seed, after the search
        picked = res.confirmation["trial"]
        assert res.confirmation["kept"] is kept and res.trials.iloc[picked]["window"] == 40  # the climb's window step
        assert (res.best_params["window"] == 40) is kept and res.best_trial == (picked if kept else 0)
        assert res.best_score == res.trials[res.metric].iloc[res.best_trial]
    seeds = []
    off = tuning.tune("item2vec", split, **kw, confirm=False)
    assert off.confirmation is None and off.best_params["window"] == 40 and set(seeds) == {0}
    rows = tuning.output_rows(res, {"recall@10": 0.1})
    assert rows[0]["trial"] == res.best_trial > 0 and rows[0]["confirmation"]["kept"] is True


def test_a_budget_too_small_to_search_and_confirm_returns_the_defaults_with_a_warning(split, monkeypatch):
    now = [0.0]

    def slow_scores(model, val_split, ks, metric):  # each fit takes 30 s of a 60 s budget
        now[0] += 30.0
        return {metric: 0.1, "fit_seconds": 30.0}, np.full(50, 0.1)

    monkeypatch.setattr(tuning, "val_scores", slow_scores)
    with pytest.warns(RuntimeWarning, match="leaves no time to search.*confirm=False"):
        res = tuning.tune("item2vec", split, trials=2, strategy="halving", fixed={"n_threads": 1}, budget=60,
                          clock=lambda: now[0])
    assert res.n_trials == 1 and res.best_trial == 0 and res.confirmation is None


def test_the_climb_steps_from_an_automatic_decay_to_its_two_usual_choices():
    space = tuning.SEARCH_SPACES["item2vec"]
    start = {"history_decay": "auto", "window": "auto"}
    steps = [n["history_decay"] for n in neighbours(start, space, dims=("history_decay",))]
    assert steps == [0.8, 0.7]


def test_the_refits_run_to_their_end_once_started(split, monkeypatch):
    now, confirming = [0.0], [False]
    base = (np.random.default_rng(0).random(400) < 0.1).astype(float)

    def fake_scores(model, val_split, ks, metric):  # an "epoch" end: the fit's callbacks, then window 40 wins
        if confirming[0]:
            now[0] += 50.0  # each refit ends past the deadline
        for callback in model.callbacks or ():
            callback(model, 1, 0.0)
        values = base.copy()
        if model.window == 40:
            values[np.flatnonzero(base == 0)[:30]] = 1.0
        return {metric: float(values.mean()), "fit_seconds": 0.0}, values

    real = tuning.confirm_pick

    def late_start(*args, **kw):  # the refits start 1 s before the deadline
        now[0], confirming[0] = 99.0, True
        return real(*args, **kw)

    monkeypatch.setattr(tuning, "val_scores", fake_scores)
    monkeypatch.setattr(tuning, "confirm_pick", late_start)
    res = tuning.tune("item2vec", split, trials=2, strategy="halving", fixed={"n_threads": 1}, budget=100,
                      local_steps=0.99, clock=lambda: now[0])
    assert res.confirmation["kept"] and "ran out" not in res.confirmation["note"] and res.best_params["window"] == 40


def test_the_bootstrap_guard_is_a_coarse_filter_by_default():
    """tune's default significance is 0.2: the fresh-seed refits are the stronger check (README, tuner)."""
    assert inspect.signature(tuning.tune).parameters["significance"].default == 0.2
    ref = np.zeros(1000)
    ref[:80] = 1  # 80 hits of 1,000 users (recall 0.08, LastFM's size)
    cand = ref.copy()
    cand[:30] = 0  # the candidate loses 30 of them and gains 40: 12.5 % more hits, one-sided p about 0.12
    cand[100:140] = 1
    assert beats(cand, ref, 0.2) and not beats(cand, ref, 0.05)
