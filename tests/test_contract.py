"""The one recommender contract, run over every recommender of the library.

To put a new recommender under the contract, append ``(name, factory)`` to
``RECOMMENDERS``: ``factory()`` returns an unfitted model whose ``fit(df)``
takes a DataFrame with ``user``, ``item`` and ``timestamp`` columns and that
inherits :class:`item2vec.recommender.RecommenderBase` (or behaves like it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from item2vec import Item2Vec, NotFittedError
from item2vec.baselines import ALSRecommender, ItemCosineRecommender, PopularityRecommender
from item2vec.transition import TransitionRecommender

RECOMMENDERS = [
    ("item2vec", lambda: Item2Vec(vector_size=8, epochs=3, sample=0, n_threads=1, random_state=0, verbose=False)),
    ("item2vec_cosine", lambda: Item2Vec(vector_size=8, epochs=3, sample=0, n_threads=1, random_state=0,
                                         verbose=False, scoring="cosine", history_decay=0.5)),
    ("popularity", lambda: PopularityRecommender()),
    ("als", lambda: ALSRecommender(factors=8, iterations=8, random_state=0, num_threads=1)),
    ("cosine", lambda: ItemCosineRecommender()),
    ("cosine_k3", lambda: ItemCosineRecommender(k_neighbors=3)),
    ("transition", lambda: TransitionRecommender()),
    ("item2vec_forward_auto", lambda: Item2Vec(vector_size=8, epochs=3, sample=0, n_threads=1, random_state=0,
                                               verbose=False, backward_window=0, history_decay="auto")),
]


def _blocks(n_users=40, block=8, seed=0, str_ids=False, offset=0):
    """Two disjoint user groups, each interacting only with its own item block."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        items = rng.choice(block, size=int(rng.integers(3, 6)), replace=False) + (u % 2) * block
        rows += [(u, int(i) + offset, t) for t, i in enumerate(items)]
    df = pd.DataFrame(rows, columns=["user", "item", "timestamp"])
    if str_ids:
        df["item"] = "i" + df["item"].astype(str)
        df["user"] = "u" + df["user"].astype(str)
    return df


@pytest.fixture(params=[f for _, f in RECOMMENDERS], ids=[n for n, _ in RECOMMENDERS])
def make(request):
    return request.param


@pytest.fixture(scope="module")
def data():
    return _blocks()


@pytest.fixture
def fitted(make, data):
    return make().fit(data)


N_ITEMS = 16


def test_one_history_is_1d_a_batch_is_2d(fitted):
    ids, scores = fitted.recommend([0, 1], k=4)
    assert ids.shape == (4,) and scores.shape == (4,) and scores.dtype == np.float32
    ids, scores = fitted.recommend([np.array([0, 1]), np.array([9]), [3, 3, 4]], k=4)
    assert ids.shape == (3, 4) and scores.shape == (3, 4) and ids.dtype == np.int64
    assert np.all(np.diff(scores, axis=1) <= 0)
    assert all(len(set(row)) == len(row) for row in ids.tolist())
    assert fitted.recommend(np.array([[0, 1], [2, 3]]), k=2)[0].shape == (2, 2)  # 2-D array: rows


def test_width_is_capped_at_the_catalogue_and_padded(fitted):
    ids, scores = fitted.recommend([np.array([0, 1, 1])], k=N_ITEMS + 3)
    assert ids.shape == (1, N_ITEMS)  # never more columns than items
    n_valid = N_ITEMS - 2
    assert np.all(ids[0, n_valid:] == -1) and np.all(np.isneginf(scores[0, n_valid:]))
    assert set(ids[0, :n_valid]) == set(range(N_ITEMS)) - {0, 1} and np.isfinite(scores[0, :n_valid]).all()
    ids, scores = fitted.recommend([0], k=10**9)  # was a k-column allocation (2.3 GB at k=1e8)
    assert ids.shape == (N_ITEMS,) and ids[-1] == -1


def test_filter_seen_and_exclude(fitted):
    ids, _ = fitted.recommend([0, 2, 5], k=N_ITEMS)
    assert not set(ids.tolist()) & {0, 2, 5}
    ids, scores = fitted.recommend([0, 2, 5], k=N_ITEMS, filter_seen=False)
    assert set(ids.tolist()) == set(range(N_ITEMS)) and np.isfinite(scores).all()
    ids, _ = fitted.recommend([[0, 2], []], k=N_ITEMS, exclude=[3, 4, 999])
    assert not {3, 4} & set(ids.ravel().tolist())  # also in the popularity fallback
    assert 3 not in fitted.recommend([0], k=N_ITEMS, exclude=3)[0]


def test_unknown_ids_raise_or_are_ignored(fitted):
    with pytest.raises(KeyError, match="999"):
        fitted.recommend([[0, 999]], k=3)
    with pytest.raises(KeyError, match="'x'"):
        fitted.recommend([np.array([0]), ["x"]], k=3)
    ref = fitted.recommend([0], k=3)
    for query in ([0, 999], [0, "x"], [0, 2**64], [0, 2.0**70]):
        got = fitted.recommend(query, k=3, on_unknown="ignore")
        np.testing.assert_array_equal(got[0], ref[0])
        np.testing.assert_array_equal(got[1], ref[1])
    # a string history in the batch does not turn the int history into strings
    ids, _ = fitted.recommend([[0], ["x"]], k=3, on_unknown="ignore")
    np.testing.assert_array_equal(ids[0], ref[0])
    with pytest.raises(ValueError, match="on_unknown must be 'raise' or 'ignore', got on_unknown='skip'"):
        fitted.recommend([0], k=3, on_unknown="skip")
    for k in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="k must be a positive integer"):
            fitted.recommend([0], k=k)


def test_empty_histories_get_the_popularity_row(fitted, data):
    counts = data["item"].value_counts()
    pop_ids, pop_scores = PopularityRecommender().fit(data).recommend([], k=N_ITEMS)
    assert pop_scores.tolist() == sorted(counts.tolist(), reverse=True)  # the fallback score: event counts
    ids, scores = fitted.recommend([], k=N_ITEMS)
    assert ids.shape == (N_ITEMS,)
    np.testing.assert_array_equal(ids, pop_ids)
    np.testing.assert_array_equal(scores, pop_scores)
    ids, scores = fitted.recommend([[], [12345], np.array([], dtype=np.float64)], k=N_ITEMS, on_unknown="ignore")
    for r in range(3):
        np.testing.assert_array_equal(ids[r], pop_ids)
        np.testing.assert_array_equal(scores[r], pop_scores)
    ids, scores = fitted.recommend(iter([]), k=4)  # an empty iterator is an empty batch
    assert ids.shape == (0, 4) and scores.shape == (0, 4)


def test_generators_and_object_arrays_are_batches(fitted, data):
    hist = [[1], [2], [3]]
    ref = fitted.recommend(hist, k=2)
    for batch in (iter(hist), (h for h in hist), map(list, hist)):
        got = fitted.recommend(batch, k=2)  # the first history used to be consumed by the single/batch check
        assert got[0].shape == (3, 2)
        np.testing.assert_array_equal(got[0], ref[0])
    grouped = data.groupby("user")["item"].apply(list).to_numpy()  # 1-D object array of lists
    ids, _ = fitted.recommend(grouped, k=2)
    assert ids.shape == (len(grouped), 2)
    np.testing.assert_array_equal(ids, fitted.recommend(list(grouped), k=2)[0])
    with pytest.raises(TypeError, match="iterator"):
        fitted.recommend(iter([1, 2]), k=2)
    with pytest.raises(TypeError, match="mixes ids and histories"):
        fitted.recommend([1, [2]], k=2)


def test_dataframe_goes_to_recommend_frame(fitted, data):
    with pytest.raises(TypeError, match="recommend_frame"):
        fitted.recommend(data, k=2)
    out = fitted.recommend_frame(data[data.user < 3], k=4)
    assert list(out.columns) == ["user", "rank", "item", "score"]
    assert set(out.user) == {0, 1, 2} and (out.groupby("user").size() == 4).all()
    hist0 = data[data.user == 0].sort_values("timestamp")["item"].to_numpy()
    np.testing.assert_array_equal(out[out.user == 0]["item"].to_numpy(), fitted.recommend(hist0, k=4)[0])
    bad = data.astype({"user": float})
    bad.loc[bad.index[:2], "user"] = np.nan
    with pytest.raises(ValueError, match="2 row.*missing user"):  # were dropped silently
        fitted.recommend_frame(bad, k=2)


def test_string_ids(make):
    df = _blocks(str_ids=True)
    before = df.copy()
    model = make().fit(df)
    pd.testing.assert_frame_equal(df, before)
    ids, _ = model.recommend([["i0", "i1"], []], k=N_ITEMS + 1)
    assert ids.shape == (2, N_ITEMS) and ids[0, -2:].tolist() == ["", ""]
    assert all(isinstance(x, str) for x in ids.ravel()) and not {"i0", "i1"} & set(ids[0].tolist())
    ids, _ = model.recommend(["i0", 5], k=3, on_unknown="ignore")  # an int in a string model is unknown
    np.testing.assert_array_equal(ids, model.recommend(["i0"], k=3)[0])


def test_large_int_ids_stay_exact(make):
    B = 2**62
    model = make().fit(_blocks(offset=B))
    ids, _ = model.recommend([[B + 1], []], k=2)  # the empty history turned the batch into float64
    assert ids.dtype == np.int64 and B + 1 not in ids[0] and (ids >= B).all()
    with pytest.raises(ValueError, match="2\\*\\*63"):
        make().fit(pd.DataFrame({"user": [0, 0, 1, 1], "item": np.array([2**63, 2**63 + 1, 2**63, 1], dtype=np.uint64)}))
    with pytest.raises(ValueError, match="2\\*\\*53"):
        make().fit(pd.DataFrame({"user": [0, 0, 1, 1], "item": [2.0**63, 2.0**63 + 4096, 1.0, 2.0]}))


def test_not_fitted(make):
    model = make()
    for call in (lambda: model.recommend([0], k=2), lambda: model.recommend_frame(_blocks(), k=2)):
        with pytest.raises(NotFittedError, match="not fitted"):
            call()
    assert issubclass(NotFittedError, RuntimeError)


def test_deterministic(make, data):
    a = make().fit(data).recommend([[0, 1], [9]], k=5)
    b = make().fit(data).recommend([[0, 1], [9]], k=5)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_save_load_when_supported(fitted, tmp_path):
    if not hasattr(type(fitted), "load"):
        pytest.skip(f"{type(fitted).__name__} has no save/load")
    loaded = type(fitted).load(fitted.save(tmp_path / "m"))
    for q in ([0, 1], [[5, 6], [10], []]):
        a, b = fitted.recommend(q, k=7), loaded.recommend(q, k=7)
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


def test_unknown_options_are_named(fitted):
    with pytest.raises(TypeError, match=r"unknown option\(s\) \['scorng'\]"):
        fitted.recommend([0], k=2, scorng="cosine")
