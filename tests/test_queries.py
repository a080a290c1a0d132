"""Item2Vec-specific query behaviour: history_decay, the similar_items floor, exact ids."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from item2vec import Item2Vec
from item2vec.scoring import profiles
from item2vec.workflows import run_recommend

FAST = dict(vector_size=16, epochs=3, sample=0, n_threads=1, random_state=0, verbose=False)


def _seqs(n_seq=600, n_clusters=6, per=10, length=8, seed=0):
    """Sequences inside one of ``n_clusters`` disjoint item clusters (item // per = cluster)."""
    rng = np.random.default_rng(seed)
    return [list(int(c) * per + rng.integers(per, size=length)) for c in rng.integers(n_clusters, size=n_seq)]


@pytest.fixture(scope="module")
def model():
    return Item2Vec(**FAST, history_length=None).fit(_seqs())


HIST = [[3, 7, 11, 19, 23], [5, 2, 33], [40], [1, 2, 3, 4, 5, 36, 47, 58]]  # mixes of clusters


@pytest.mark.parametrize("rule", ["sgns", "cosine"])
def test_history_decay_is_wired(model, rule):
    model.set_params(history_decay=None, history_length=3)
    plain = model.recommend(HIST, k=8, scoring=rule)
    one = model.set_params(history_decay=1.0).recommend(HIST, k=8, scoring=rule)
    np.testing.assert_array_equal(one[0], plain[0])  # decay 1 is the plain mean
    np.testing.assert_allclose(one[1], plain[1], rtol=1e-5)
    last = model.set_params(history_decay=None, history_length=1).recommend(HIST, k=8, scoring=rule, filter_seen=False)
    tiny = model.set_params(history_decay=1e-9, history_length=None).recommend(HIST, k=8, scoring=rule, filter_seen=False)
    np.testing.assert_array_equal(tiny[0], last[0])  # a tiny decay leaves only the newest item
    half = model.set_params(history_decay=0.5).recommend(HIST, k=8, scoring=rule)
    model.set_params(history_decay=None)
    assert not np.array_equal(half[0], plain[0])


def test_history_decay_weights_and_cutoff():
    V = np.eye(3, dtype=np.float32)
    indptr, idx = np.array([0, 3]), np.array([0, 1, 2], dtype=np.int32)
    got = profiles(V, indptr, idx, None, 0.5)  # ages 2, 1, 0 -> weights 1/4, 1/2, 1
    np.testing.assert_allclose(got[0], np.array([0.25, 0.5, 1.0]) / 1.75, rtol=1e-6)
    got = profiles(V, indptr, idx, 2, 0.5)  # the cut-off first, then ages 1, 0
    np.testing.assert_allclose(got[0], np.array([0.0, 0.5, 1.0]) / 1.5, rtol=1e-6)


@pytest.mark.parametrize("bad", [0.0, -0.5, 1.5, float("nan"), "0.5", True])
def test_history_decay_validated_and_stored_unchanged(bad):
    m = Item2Vec(**FAST, history_decay=bad)
    assert m.get_params()["history_decay"] is bad
    with pytest.raises(ValueError, match="history_decay must be 'auto', None or a finite real number > 0.0 and <= 1.0"):
        m.fit(_seqs(n_seq=20))


def test_history_decay_survives_save_load(tmp_path):
    m = Item2Vec(**FAST, history_decay=0.7).fit(_seqs(n_seq=100))
    loaded = Item2Vec.load(m.save(tmp_path / "m"))
    assert loaded.history_decay == 0.7
    np.testing.assert_array_equal(loaded.recommend(HIST, k=5)[0], m.recommend(HIST, k=5)[0])


def test_similar_items_frequency_floor():
    rng = np.random.default_rng(1)
    seqs = _seqs(n_seq=300) + [[100 + int(i), int(rng.integers(60))] for i in range(5)]  # items 100..104: once each
    m = Item2Vec(**FAST).fit(seqs)
    counts = dict(zip(m.vocab_.ids.tolist(), m.vocab_.counts.tolist()))
    ids, scores = m.similar_items(list(range(10)) + [100], k=len(m.vocab_), min_count=2)
    valid = ids[scores > -np.inf]
    assert valid.size and min(counts[i] for i in valid.tolist()) >= 2  # rare items are never candidates
    assert (ids[-1] != 100).all() and np.isfinite(scores[-1][:10]).all()  # ...but may be queries
    everything, _ = m.similar_items(0, k=len(m.vocab_))
    assert {100, 101} <= set(everything.tolist())  # default: no floor
    with pytest.raises(ValueError, match="min_count must be an integer >= 1, got min_count=0"):
        m.similar_items(0, min_count=0)


def test_ids_beyond_int64_never_match_wrapped_ids():
    lo = -(2**63)
    m = Item2Vec(**FAST).fit([[lo, lo + 1, 5], [lo + 1, 5, lo]] * 10)
    for query in (np.array([2**63], dtype=np.uint64), np.array([2**63 + 1], dtype=np.uint64), [2.0**63], [2**64]):
        with pytest.raises(KeyError):  # uint64 2**63 used to wrap onto lo, the float onto lo, the int overflowed
            m.recommend(query, k=2)
    assert set(m.recommend([lo], k=2)[0].tolist()) == {lo + 1, 5}


def test_huge_k_is_cheap_in_the_workflow(model):
    table = run_recommend(model, [1, 2], k=10**9)
    assert len(table) == len(model.vocab_) - 2


def test_recommend_frame_uses_the_model_columns(model):
    df = pd.DataFrame({"u": [1, 1, 2], "i": [3, 4, 5]})
    m = Item2Vec(**FAST, user_col="u", item_col="i").fit(_seqs(n_seq=100))
    out = m.recommend_frame(df, k=3)
    assert set(out.user) == {1, 2} and len(out) == 6


def test_missing_ids_in_histories_are_refused_alike(model):
    for query in ([1, float("nan")], np.array([1.0, np.nan]), [1, None], [[1], [None]]):
        with pytest.raises(ValueError, match="missing item ids"):
            model.recommend(query, k=2, on_unknown="ignore")
