"""Event weights: the kernel's weighted path, build_sequences(weight_col/weights), fit(weights=), validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from item2vec import Item2Vec, Sequences, build_sequences
from item2vec._kernels import Corpus, Tables, make_schedule, make_settings, no_hard_negatives, sgns_epoch, sigmoid_tables
from item2vec.hard_negatives import GroupNegatives
from item2vec.holdout import training_split, withhold_last
from item2vec.sampling import alias_table, keep_probabilities, noise_distribution, pack_alias

V, D = 12, 8


def vectors(seed=0, scale=0.3):
    rng = np.random.default_rng(seed)
    return ((rng.standard_normal((V, D)) * scale).astype(np.float32),
            (rng.standard_normal((V, D)) * scale).astype(np.float32))


def epoch(seqs, weights, W, C, *, noise=None, keep=None, lr=0.05, seed=3, window=2, backward=None, shrink=True,
          set_mode=False, max_ctx=20, negative=3, shared=False, hard=None, blocks=None):
    """One kernel epoch on copies of ``W``, ``C``; ``weights``: per-sequence lists or None. Returns (W, C, loss, pairs, weight)."""
    items = np.concatenate([np.asarray(s, dtype=np.int32) for s in seqs])
    offsets = np.r_[0, np.cumsum([len(s) for s in seqs])].astype(np.int64)
    w = np.zeros(0, np.float32) if weights is None else np.concatenate([np.asarray(x, np.float32) for x in weights])
    blocks = np.array([0, len(seqs)], np.int64) if blocks is None else np.asarray(blocks, np.int64)
    noise = pack_alias(*alias_table(np.ones(V) / V)) if noise is None else noise
    keep = np.ones(V, np.float32) if keep is None else keep
    loss, pairs = np.zeros(blocks.size - 1), np.zeros(blocks.size - 1, np.int64)
    W, C = W.copy(), C.copy()
    weight = sgns_epoch(Corpus(items, offsets, blocks, w), W, C, Tables(keep, noise, *sigmoid_tables()),
                        no_hard_negatives() if hard is None else hard,
                        make_settings(window, backward, shrink, set_mode, max_ctx, negative, shared),
                        make_schedule(lr, lr, 0, 1, seed), loss, pairs, 1)
    return W, C, float(loss.sum()), int(pairs.sum()), float(weight.sum())


def random_corpus(seed=1, n=40):
    rng = np.random.default_rng(seed)
    return [list(rng.integers(0, V, rng.integers(2, 9))) for _ in range(n)]


CONFIGS = {
    "window": {},
    "forward-only": {"backward": 0},
    "asymmetric": {"window": 3, "backward": 1},
    "set": {"set_mode": True, "max_ctx": 3},
    "shared": {"shared": True},
    "shared-forward-only": {"shared": True, "backward": 0},
    "no-shrink": {"shrink": False},
}


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_all_ones_weights_train_bit_identical_vectors(config):
    seqs = random_corpus()
    W, C = vectors()
    counts = np.bincount(np.concatenate(seqs), minlength=V)
    keep = keep_probabilities(counts, 0.005)  # subsampling on: both paths must keep the same events
    assert (keep < 1).any()
    kw = dict(CONFIGS[config], keep=keep, blocks=[0, 15, 40])
    a = epoch(seqs, None, W, C, **kw)
    b = epoch(seqs, [np.ones(len(s)) for s in seqs], W, C, **kw)
    assert a[3] > 0 and not np.array_equal(a[0], W)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert a[2] == b[2] and a[3] == b[3] and a[4] == b[4] == a[3]  # loss, pairs; the weight of a pair is 1


def test_all_ones_weights_with_hard_negatives_are_bit_identical():
    seqs = random_corpus()
    groups = {i: [i % 3] for i in range(V)}
    model = Item2Vec(vector_size=D, epochs=2, n_threads=1, random_state=5, verbose=False, sample=0,
                     hard_negatives=GroupNegatives(groups, ratio=0.5, start=0), history_decay=None)
    a = model.fit(seqs).item_vectors_.copy()
    b = model.fit(seqs, weights=[[1.0] * len(s) for s in seqs]).item_vectors_
    assert np.array_equal(a, b)


def test_fit_with_ones_equals_fit_without_weights_on_the_default_configuration():
    """Defaults include history_decay="auto", whose holdout must carry the weights along."""
    rng = np.random.default_rng(0)
    seqs = [list(rng.integers(0, 60, rng.integers(3, 12))) for _ in range(400)]
    kw = dict(vector_size=16, epochs=2, n_threads=1, random_state=7, verbose=False)
    a = Item2Vec(**kw).fit(seqs)
    b = Item2Vec(**kw).fit(seqs, weights=[np.ones(len(s)) for s in seqs])
    assert a.decay_scores_  # the holdout was used
    assert np.array_equal(a.item_vectors_, b.item_vectors_) and np.array_equal(a.context_vectors_, b.context_vectors_)
    assert a.loss_history_ == b.loss_history_ and a.n_pairs_ == b.n_pairs_


@pytest.mark.parametrize("config", ["window", "shared", "forward-only", "shared-forward-only"])
def test_weight_zero_event_trains_nothing_but_keeps_its_place(config):
    W, C = vectors()
    # window 1 without shrinking: the only neighbours of 1 and 2 are the zero-weight 0 between them
    kw = dict(CONFIGS[config], window=1, shrink=False, negative=2)
    Wz, Cz, loss, pairs, weight = epoch([[1, 0, 2]], [[1.0, 0.0, 3.0]], W, C, **kw)
    assert pairs == 0 and weight == 0 and loss == 0
    assert np.array_equal(Wz, W) and np.array_equal(Cz, C)  # nothing at all was updated
    # the same sequence without the zero weight trains (and dropping the event instead would pair 1 with 2)
    assert not np.array_equal(epoch([[1, 0, 2]], [[1.0, 1.0, 3.0]], W, C, **kw)[0], W)
    assert not np.array_equal(epoch([[1, 2]], [[1.0, 3.0]], W, C, **kw)[0], W)


def test_weight_zero_item_input_vector_is_never_updated_with_negatives():
    """Item 0 occurs only with weight 0: its input vector stays exact (its context vector may be a negative's)."""
    seqs = random_corpus()
    seqs = [[x for x in s if x != 0] + [0] for s in seqs]
    weights = [[1.0] * (len(s) - 1) + [0.0] for s in seqs]
    W, C = vectors()
    for config in ("window", "shared", "set"):
        Wt, Ct, *_ = epoch(seqs, weights, W, C, **CONFIGS[config])
        assert np.array_equal(Wt[0], W[0]), config
        assert not np.array_equal(Wt[1:], W[1:])
        Wn, Cn, *_ = epoch(seqs, weights, W, C, **dict(CONFIGS[config], negative=0))
        assert np.array_equal(Cn[0], C[0]) and np.array_equal(Wn[0], W[0]), config


def test_a_pair_step_scales_with_the_product_of_the_weights():
    """From C = 0 one pair's first step is linear in its learning rate: weights (2, 3) give 6x the steps of (1, 1)."""
    W, _ = vectors()
    C = np.zeros_like(W)
    kw = dict(window=1, shrink=False, negative=0, lr=0.01)
    W1, C1, *_ = epoch([[4, 7]], [[1.0, 1.0]], W, C, **kw)
    W6, C6, _, pairs, weight = epoch([[4, 7]], [[2.0, 3.0]], W, C, **kw)
    assert pairs == 2 and weight == 12.0
    np.testing.assert_allclose(C6[7] - C[7], 6 * (C1[7] - C[7]), rtol=1e-5)  # the first pair: W[4] -> C[7]
    np.testing.assert_allclose(C6[4] - C[4], 6 * (C1[4] - C[4]), rtol=1e-5)
    assert np.array_equal(C6[[0, 1, 2, 3, 5, 6, 8]], C[[0, 1, 2, 3, 5, 6, 8]])


def _expected_gap(config, expand):
    """Relative distance between the weighted update and the update of a corpus expanded by ``expand(wa, wb)`` copies.

    2-item sequences with weights in 1..3 against every sequence repeated
    ``expand`` times, unweighted; one deterministic negative (all noise on
    item 11, so the comparison is of expectations) and a small learning rate
    (so steps add up linearly).
    """
    rng = np.random.default_rng(4)
    seqs = [list(rng.choice(11, 2, replace=False)) for _ in range(60)]
    weights = [list(rng.integers(1, 4, 2).astype(float)) for _ in seqs]
    noise = np.zeros(V)
    noise[11] = 1.0
    kw = dict(CONFIGS[config], noise=pack_alias(*alias_table(noise)), negative=1, lr=2e-3, shrink=False)
    W, C = vectors(seed=2)
    Ww, Cw, *_ = epoch(seqs, weights, W, C, **kw)
    reps = [int(expand(a, b)) for a, b in weights]
    Wx, Cx, *_ = epoch([s for s, r in zip(seqs, reps) for _ in range(r)], None, W, C, **kw)
    dw = np.concatenate([(Ww - W).ravel(), (Cw - C).ravel()])
    dx = np.concatenate([(Wx - W).ravel(), (Cx - C).ravel()])
    return float(np.linalg.norm(dw - dx) / np.linalg.norm(dx))


@pytest.mark.parametrize("config", ["window", "forward-only", "set", "shared"])
def test_integer_weights_act_like_repeated_events_in_expectation(config):
    good = _expected_gap(config, lambda a, b: a * b)
    assert good < 0.02
    # the wirings this rules out: only one event's weight, or the sum of both
    for wrong in (lambda a, b: a, lambda a, b: b, lambda a, b: a + b):
        assert _expected_gap(config, wrong) > 10 * good


def test_loss_is_the_mean_per_unit_of_weight():
    seqs = random_corpus()
    W, C = vectors()
    a = epoch(seqs, None, W, C, lr=1e-9)  # (almost) no learning: the loss is that of the initial vectors
    b = epoch(seqs, [np.full(len(s), 2.0) for s in seqs], W, C, lr=1e-9)
    assert a[3] == b[3] and b[4] == 4 * a[3]
    assert b[2] / b[4] == pytest.approx(a[2] / a[3], rel=1e-6)


# ---------------------------------------------------------------- build_sequences, holdout, fit
def frame():
    return pd.DataFrame({"user": [1, 1, 1, 2, 2, 2, 3, 3], "item": ["a", "b", "c", "a", "b", "z", "c", "a"],
                         "timestamp": [3, 1, 2, 5, 4, 6, 1, 2], "rating": [5, 1, 0, 2.5, 4, 3, 1, 2]})


def test_build_sequences_orders_and_filters_the_weights_with_the_items():
    seqs = build_sequences(frame(), time_col="timestamp", weight_col="rating", min_item_count=2)
    got = [list(zip(seqs.raw(s), seqs.weights[seqs.offsets[s]:seqs.offsets[s + 1]])) for s in range(len(seqs))]
    # user 1 by time: b(1) c(0) a(5); user 2: b(4) a(2.5) [z dropped: rare]; user 3: c(1) a(2)
    assert got == [[("b", 1.0), ("c", 0.0), ("a", 5.0)], [("b", 4.0), ("a", 2.5)], [("c", 1.0), ("a", 2.0)]]
    assert seqs.weights.dtype == np.float32
    assert list(seqs.vocab.counts) == [3, 2, 2]  # counts count events, zero weights included
    assert build_sequences(frame()).weights is None


def test_build_sequences_with_sequence_weights_drops_short_sequences_with_their_weights():
    seqs = build_sequences([[1, 2, 3], [4], [5, 1]], weights=[[0.5, 1, 2], [9], (3, 0)])
    assert seqs.weights.tolist() == [0.5, 1, 2, 3, 0]
    assert [list(seqs.raw(s)) for s in range(len(seqs))] == [[1, 2, 3], [5, 1]]


def test_holdout_carries_the_weights_of_the_kept_events():
    rng = np.random.default_rng(0)
    raw = [list(rng.integers(0, 30, 6)) for _ in range(600)]
    ws = [list(np.arange(6) + 10.0 * s) for s in range(600)]  # weight = 10 * sequence + position: traceable
    seqs = build_sequences(raw, weights=ws)
    train, held = withhold_last(seqs, seed=1)
    assert held is not None and train.n_tokens == seqs.n_tokens - len(held)
    for s in range(len(train)):
        n = train.lengths[s]
        assert train.weights[train.offsets[s]:train.offsets[s] + n].tolist() == [10.0 * s + j for j in range(n)]
    assert training_split(seqs, False, 0)[0] is seqs


def test_fit_dataframe_weight_col_equals_sequences_with_weights():
    df = frame()
    kw = dict(vector_size=8, epochs=3, n_threads=1, random_state=1, verbose=False, sample=0, history_decay=None)
    a = Item2Vec(weight_col="rating", **kw).fit(df)
    seqs = build_sequences(df, time_col="timestamp", weight_col="rating")
    b = Item2Vec(**kw).fit(seqs)
    raw = [list(seqs.raw(s)) for s in range(len(seqs))]
    c = Item2Vec(**kw).fit(raw, weights=[seqs.weights[seqs.offsets[s]:seqs.offsets[s + 1]] for s in range(len(seqs))])
    u = Item2Vec(**kw).fit(df)
    assert np.array_equal(a.item_vectors_, b.item_vectors_) and np.array_equal(a.item_vectors_, c.item_vectors_)
    assert not np.array_equal(a.item_vectors_, u.item_vectors_)


def test_weight_col_is_a_saved_parameter(tmp_path):
    m = Item2Vec(vector_size=8, epochs=1, n_threads=1, random_state=1, verbose=False, sample=0, history_decay=None,
                 weight_col="rating").fit(frame())
    assert Item2Vec.load(m.save(tmp_path / "m")).weight_col == "rating"


@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf, 1e39])
def test_bad_weights_are_refused_naming_the_value(bad):
    df = frame()
    df.loc[4, "rating"] = bad
    with pytest.raises(ValueError, match=r"weight column 'rating' must be finite numbers >= 0.*position 4"):
        build_sequences(df, weight_col="rating")
    with pytest.raises(ValueError, match=r"weights\[1\] must be finite numbers >= 0, got (-1.0|nan|inf|1e\+39) at position 0"):
        Item2Vec().fit([[1, 2], [3, 4]], weights=[[1, 1], [bad, 1]])


def test_weights_that_do_not_fit_the_data_are_refused():
    with pytest.raises(ValueError, match=r"weights\[1\] has 1 values but sequence 1 has 2 items"):
        build_sequences([[1, 2], [3, 4]], weights=[[1, 1], [1]])
    with pytest.raises(ValueError, match="weights has 1 entries but there are 2 sequences"):
        build_sequences([[1, 2], [3, 4]], weights=[[1, 1]])
    with pytest.raises(ValueError, match="more entries"):
        build_sequences([[1, 2]], weights=[[1, 1], [1, 1]])
    with pytest.raises(ValueError, match="must be finite numbers >= 0, got values of dtype"):
        build_sequences([[1, 2]], weights=[["x", "y"]])
    with pytest.raises(ValueError, match="with a DataFrame name the column: weight_col"):
        Item2Vec().fit(frame(), weights=[[1.0] * 8])
    with pytest.raises(ValueError, match="weight_col='rating' needs a DataFrame"):
        build_sequences([[1, 2]], weight_col="rating")
    with pytest.raises(KeyError, match="weight_col='stars'"):
        Item2Vec(weight_col="stars").fit(frame())
    with pytest.raises(ValueError, match="weight_col must be None or a column name"):
        Item2Vec(weight_col=["rating"]).fit(frame())
    seqs = build_sequences([[1, 2]])
    with pytest.raises(ValueError, match="carries its own weights"):
        Item2Vec().fit(seqs, weights=[[1, 1]])
    with pytest.raises(TypeError, match="float32 array shaped like items"):
        Sequences(seqs.items, seqs.offsets, seqs.vocab, weights=np.ones(2))


def test_all_zero_weights_warn_that_nothing_was_trained():
    with pytest.warns(RuntimeWarning, match="every pair has weight 0"):
        Item2Vec(vector_size=4, epochs=1, n_threads=1, random_state=0, verbose=False, sample=0,
                 history_decay=None).fit([[1, 2, 3]] * 5, weights=[[0, 0, 0]] * 5)
