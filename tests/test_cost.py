"""item2vec.cost.estimate and `item2vec train --dry-run`: pairs against real fits, memory, time within a factor."""

from __future__ import annotations

import numpy as np
import pytest

from item2vec import Item2Vec
from item2vec.cli import main
from item2vec.cost import estimate, expected_pairs


def corpus(n: int = 1500, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    return [list(rng.zipf(1.4, rng.integers(2, 40)) % 800) for _ in range(n)]


def long_sequences() -> list:
    """200 sequences of 30 items: long enough that window 40 trains more pairs than 20."""
    return [list(range(s % 50, s % 50 + 30)) for s in range(200)]


def test_expected_pairs_small_cases():
    # L=5, w=2: the centers have 2, 3, 4, 3, 2 contexts
    assert expected_pairs([5], window=2, shrink_windows=False, context="window", max_set_contexts=20) == 14
    # shrinking: mean over w=1 (8 pairs) and w=2 (14)
    assert expected_pairs([5], window=2, shrink_windows=True, context="window", max_set_contexts=20) == 11
    assert expected_pairs([5, 1, 0], window=9, shrink_windows=False, context="window", max_set_contexts=20) == 20
    assert expected_pairs([30], window=5, shrink_windows=False, context="set", max_set_contexts=20) == 30 * 20


def test_pairs_equal_a_deterministic_fit_exactly():
    data = corpus()
    params = dict(sample=0, shrink_windows=False, window=3, epochs=2, n_threads=1, random_state=0, verbose=False)
    est = estimate(data, calibration_seconds=0, **params)
    model = Item2Vec(**params).fit(data)
    assert est.total_pairs == model.n_pairs_
    assert est.updates_per_epoch == est.pairs_per_epoch * 6
    assert est.n_items == len(model.vocab_) and est.n_tokens == model.n_tokens_
    assert est.vector_bytes == model.item_vectors_.nbytes + model.context_vectors_.nbytes


@pytest.mark.parametrize("decay", ["auto", 0.7])
def test_pairs_count_both_auto_windows_at_any_decay(decay):
    """window="auto" trains 20 and 40 on the holdout's rest, with a fixed decay too: the estimate counts both."""
    data = long_sequences()
    params = dict(sample=0, shrink_windows=False, epochs=1, n_threads=1, random_state=0, verbose=False,
                  history_decay=decay)
    est = estimate(data, calibration_seconds=0, **params)
    model = Item2Vec(**params).fit(data)
    assert sorted(model.window_scores_) == [20, 40] and est.wide_pairs_per_epoch > 0
    assert est.total_pairs == model.n_pairs_


def test_a_prepared_folder_is_estimated_as_its_fit_trains(tmp_path):
    """A streamed prepared folder: the holdout is withheld from it as fit withholds it, both windows are
    counted, the speed is calibrated on its first part; what needs memory is refused by name."""
    from item2vec.sequences import build_sequences
    from item2vec.shards import write_prepared

    data = long_sequences()
    folder = write_prepared(build_sequences(data), tmp_path / "prep", shard_tokens=1500)
    assert len(folder.shards) > 1
    params = dict(sample=0, shrink_windows=False, epochs=1, n_threads=1, random_state=0, verbose=False)
    est = estimate(folder.path, calibration_seconds=0.2, **params)
    model = Item2Vec(**params).fit(folder.path)
    assert sorted(model.window_scores_) == [20, 40]
    assert est.total_pairs == model.n_pairs_ == estimate(data, calibration_seconds=0, **params).total_pairs
    assert est.pairs_per_second > 0 and est.n_tokens == 200 * 30
    with pytest.raises(ValueError, match="group_sentences needs the corpus in memory"):
        estimate(folder.path, calibration_seconds=0, group_sentences=1, item_groups={0: "a"}, **params)


def test_pairs_count_the_group_sentences_a_fit_adds():
    data = corpus()
    groups = {item: [f"g{item % 7}"] for seq in data for item in seq}
    params = dict(sample=0, shrink_windows=False, window=3, epochs=2, n_threads=1, random_state=0, verbose=False,
                  item_groups=groups)
    plain = estimate(data, calibration_seconds=0, **params)
    est = estimate(data, calibration_seconds=0, group_sentences=1, **params)
    model = Item2Vec(group_sentences=1, **params).fit(data)
    assert est.total_pairs == model.n_pairs_ > plain.total_pairs
    assert est.n_tokens == plain.n_tokens == model.n_tokens_  # the users' events, as n_tokens_ counts them


@pytest.mark.parametrize("params", [dict(), dict(context="set", max_set_contexts=5), dict(sample=1e-2, window=8)])
def test_pairs_match_a_real_fit_in_expectation(params):
    data = corpus()
    params = dict(epochs=3, n_threads=1, random_state=0, verbose=False, **params)
    est = estimate(data, calibration_seconds=0, **params)
    model = Item2Vec(**params).fit(data)
    assert est.total_pairs == pytest.approx(model.n_pairs_, rel=0.03)
    assert np.isnan(est.estimated_seconds)


def test_time_estimate_is_the_pairs_at_the_calibrated_speed():
    # (no comparison with a timed fit here: on a loaded machine any factor flakes; the accuracy of the
    # estimate is a benchmark's claim)
    data = corpus(3000)
    params = dict(epochs=5, n_threads=1, random_state=0, verbose=False)
    est = estimate(data, calibration_seconds=1.0, **params)
    training = est.estimated_seconds - est.preparation_seconds
    assert est.pairs_per_second > 0 and est.calibration_pairs > 0 and est.preparation_seconds >= 0
    assert training == pytest.approx(est.total_pairs / est.pairs_per_second)


def test_errors_name_the_value():
    with pytest.raises(ValueError, match="calibration_seconds=-1"):
        estimate(corpus(10), calibration_seconds=-1)
    with pytest.raises(ValueError, match="window"):
        estimate(corpus(10), window=0)


def test_cli_dry_run_prints_the_estimate_and_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc = main(["train", "--dataset", "synthetic", "--synthetic-users", "200", "--synthetic-items", "100",
               "--dry-run", "--threads", "1", "--quiet", "--set", "epochs=3"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "pairs per epoch" in out and "3 epochs" in out and "estimated wall time" in out
    assert not list(tmp_path.iterdir())
    assert main(["train", "--dataset", "synthetic", "--synthetic-users", "50", "--quiet"]) != 0
    assert "--output" in capsys.readouterr().err


def test_cli_dry_run_on_a_prepared_folder(tmp_path, capsys):
    """``train --sequences DIR --dry-run`` estimates the streamed fit (it was refused before) and writes nothing."""
    from item2vec.sequences import build_sequences
    from item2vec.shards import write_prepared

    folder = write_prepared(build_sequences(long_sequences()), tmp_path / "prep", shard_tokens=1500)
    before = sorted(p.name for p in tmp_path.iterdir())
    rc = main(["train", "--sequences", folder.path, "--dry-run", "--threads", "1", "--quiet",
               "--set", "epochs=3", "--set", "sample=0", "--set", "shrink_windows=False"])
    out = capsys.readouterr().out
    assert rc == 0, out
    expected = estimate(long_sequences(), calibration_seconds=0, epochs=3, sample=0, shrink_windows=False,
                        random_state=0)
    assert f"3 epochs: {expected.total_pairs:,.0f} pairs" in out and "window choice" in out, out
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert main(["train", "--sequences", folder.path, "--quiet"]) != 0
    assert "--output" in capsys.readouterr().err
