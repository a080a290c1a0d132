"""The Item2Vec estimator: quality on planted structure, API contract, errors, persistence."""

from __future__ import annotations

import json
import zipfile

import numba
import numpy as np
import pandas as pd
import pytest

from item2vec import Item2Vec, ModelFileError, NotFittedError, build_sequences
from item2vec.model_io import FORMAT_VERSION

FAST = dict(vector_size=16, epochs=3, n_threads=1, random_state=0, verbose=False)


def cluster_sequences(n_clusters=10, per=20, n_seq=1500, length=12, seed=0):
    """Sequences drawn inside one of K disjoint item clusters (item // per = cluster)."""
    rng = np.random.default_rng(seed)
    c = rng.integers(n_clusters, size=n_seq)
    return [list(ci * per + rng.integers(per, size=length)) for ci in c]


@pytest.fixture(scope="module")
def clusters_model():
    return Item2Vec(vector_size=32, window=5, epochs=10, sample=0, n_threads=1, random_state=0, verbose=False).fit(cluster_sequences())


def test_planted_clusters_are_recovered(clusters_model):
    per = 20
    ids, _ = clusters_model.similar_items(list(range(200)), k=10)
    same = (ids // per) == (np.arange(200)[:, None] // per)
    assert same.mean() >= 0.95, same.mean()
    assert not (ids == np.arange(200)[:, None]).any()  # never its own neighbour


def test_next_item_recall_far_above_popularity():
    # item i is followed by successor(i) within its cluster with prob 0.9
    rng = np.random.default_rng(1)
    n_items, per = 200, 20
    succ = (np.arange(n_items) // per) * per + (np.arange(n_items) % per + 1) % per
    seqs = []
    for _ in range(3000):
        x = rng.integers(n_items)
        s = [x]
        for _ in range(15):
            x = succ[x] if rng.random() < 0.9 else (x // per) * per + rng.integers(per)
            s.append(x)
        seqs.append(s)
    train, test = [s[:-1] for s in seqs[:2500]], seqs[2500:]
    model = Item2Vec(vector_size=32, window=2, epochs=10, sample=0, history_length=1, n_threads=1, random_state=0, verbose=False).fit(train)
    ids, _ = model.recommend([s[:-1] for s in test], k=10, filter_seen=False)
    recall = np.mean([s[-1] in row for s, row in zip(test, ids)])
    pop_top = pd.Series(np.concatenate(train)).value_counts().index[:10]
    pop_recall = np.mean([s[-1] in set(pop_top) for s in test])
    assert recall >= 0.8 and recall > 5 * pop_recall, (recall, pop_recall)


def test_deterministic_with_seed_and_one_thread():
    seqs = cluster_sequences(n_seq=300)
    a = Item2Vec(**FAST).fit(seqs)
    b = Item2Vec(**FAST).fit(seqs)
    c = Item2Vec(**{**FAST, "random_state": 1}).fit(seqs)
    assert np.array_equal(a.item_vectors_, b.item_vectors_)
    assert np.array_equal(a.context_vectors_, b.context_vectors_)
    assert not np.array_equal(a.item_vectors_, c.item_vectors_)


def test_two_threads_train_and_loss_decreases():
    seen = []
    m = Item2Vec(**{**FAST, "n_threads": 2, "epochs": 4}, callbacks=[lambda model, e, loss: seen.append((e, loss))]).fit(cluster_sequences(n_seq=600))
    assert m.window_scores_  # the window choice ran: callbacks see both candidate fits, narrow first (item2vec.widen)
    assert [e for e, _ in seen] == [0, 1, 2, 3] * 2
    assert m.loss_history_[-1] < m.loss_history_[0]
    assert np.isfinite(m.item_vectors_).all()



@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two numba threads")
def test_two_threads_train_every_block_once_in_corpus_order():
    # Blocks are claimed in corpus order, so the learning rate decays with the
    # global progress: the first-epoch loss matches one thread's. (prange's
    # static halves started the second thread mid-schedule: +0.04 here.)
    seqs = cluster_sequences(n_seq=8000, seed=4)
    one = Item2Vec(**{**FAST, "epochs": 1, "window": 20}).fit(seqs)  # one fit each: the kernel's schedule
    two = Item2Vec(**{**FAST, "epochs": 1, "n_threads": 2, "window": 20}).fit(seqs)
    assert two.n_pairs_ == one.n_pairs_  # subsampling/windows are per block: every block ran exactly once
    assert abs(two.loss_history_[0] - one.loss_history_[0]) < 0.01, (one.loss_history_, two.loss_history_)

@pytest.mark.parametrize("alpha", [-1.0, 0.0, 1.0])
def test_any_real_ns_exponent_trains(alpha):
    m = Item2Vec(**FAST, ns_exponent=alpha).fit(cluster_sequences(n_seq=200))
    assert np.isfinite(m.item_vectors_).all()


def test_set_context_mode_learns_clusters():
    m = Item2Vec(**{**FAST, "epochs": 8}, context="set", sample=0).fit(cluster_sequences(n_seq=800))
    ids, _ = m.similar_items(list(range(0, 200, 7)), k=5)
    assert ((ids // 20) == (np.arange(0, 200, 7)[:, None] // 20)).mean() > 0.9


def test_similar_items_shapes_and_padding(clusters_model):
    ids, scores = clusters_model.similar_items(3, k=5)
    assert ids.shape == (5,) and scores.dtype == np.float32 and (np.diff(scores) <= 0).all()
    ids2, _ = clusters_model.similar_items([3, 4], k=5)
    assert ids2.shape == (2, 5)
    big, big_scores = clusters_model.similar_items(3, k=250)
    assert (big[199:] == -1).all() and np.isneginf(big_scores[199:]).all() and (big[:199] >= 0).all()


def test_recommend_filters_seen_and_excludes(clusters_model):
    hist = [0, 1, 2]
    ids, scores = clusters_model.recommend(hist, k=10)
    assert ids.shape == (10,) and not set(hist) & set(ids.tolist())
    assert (ids // 20 == 0).mean() >= 0.9
    ids_ex, _ = clusters_model.recommend(hist, k=10, exclude=[ids[0]])
    assert ids[0] not in ids_ex
    ids_all, _ = clusters_model.recommend(hist, k=10, filter_seen=False)
    assert set(hist) & set(ids_all.tolist())
    cos, _ = clusters_model.recommend([hist, [40, 41]], k=5, scoring="cosine")
    assert cos.shape == (2, 5) and (cos[1] // 20 == 2).all()


def test_recommend_unknown_items_and_empty_history(clusters_model):
    with pytest.raises(KeyError, match="9999"):
        clusters_model.recommend([1, 9999])
    ids, _ = clusters_model.recommend([[1, 9999], [9999]], k=3, on_unknown="ignore")
    popular = clusters_model.vocab_.ids[:3]
    assert ids[1].tolist() == popular.tolist()  # empty after dropping -> popularity fallback
    empty_ids, _ = clusters_model.recommend([], k=3)
    assert empty_ids.tolist() == popular.tolist()
    with pytest.raises(KeyError, match="9999"):
        clusters_model.similar_items([9999])
    for k in (0, -1, 2.5):
        with pytest.raises(ValueError, match="k must be a positive integer"):
            clusters_model.recommend([1], k=k)


def test_dataframe_in_and_out_string_ids():
    rows = [(u, f"item{(u % 3) * 10 + j}", t) for u in range(60) for t, j in enumerate(range(6))]
    df = pd.DataFrame(rows, columns=["user", "item", "timestamp"]).sample(frac=1.0, random_state=0)
    before = df.copy()
    m = Item2Vec(**FAST).fit(df)
    pd.testing.assert_frame_equal(df, before)  # never mutated
    assert m.vocab_.kind == "str"
    with pytest.raises(TypeError, match="recommend_frame"):
        m.recommend(df, k=4)
    out = m.recommend_frame(df[df.user < 3], k=4)
    assert list(out.columns) == ["user", "rank", "item", "score"]
    assert set(out.user) == {0, 1, 2} and (out.groupby("user").size() == 4).all()
    ids, _ = m.similar_items("item0", k=300)
    assert ids[-1] == ""  # padding sentinel for string ids


@pytest.mark.parametrize(
    "param, value",
    [("negative", -1), ("window", 0), ("vector_size", 0), ("alpha", 0.0), ("ns_exponent", float("nan")),
     ("epochs", 0), ("context", "bag"), ("sample", -0.1), ("hard_negative_ratio", 1.5), ("n_threads", 0),
     ("scoring", "dot"), ("window", 2.5)],
)  # fmt: skip
def test_invalid_hyperparameters_name_the_value(param, value):
    with pytest.raises(ValueError, match=rf"{param} must be .*got {param}="):
        Item2Vec(**{**FAST, param: value}).fit([[1, 2, 3]])


def test_bad_training_data():
    with pytest.raises(ValueError, match="min_length"):
        Item2Vec(**FAST).fit([[1], [2]])
    with pytest.raises(ValueError, match="min_item_count=5"):
        Item2Vec(**FAST, min_count=5).fit([[1, 2], [3, 4]])
    with pytest.raises(KeyError, match="item_col"):
        Item2Vec(**FAST).fit(pd.DataFrame({"user": [1, 1], "movie": [1, 2]}))


def test_query_before_fit():
    m = Item2Vec()
    with pytest.raises(NotFittedError, match="fit"):
        m.similar_items(1)
    with pytest.raises(NotFittedError):
        m.recommend([1])
    with pytest.raises(NotFittedError):
        m.save("x.npz")


def test_sklearn_conventions():
    m = Item2Vec(window=3)
    assert m.get_params()["window"] == 3 and m.set_params(window=4) is m and m.window == 4
    with pytest.raises(ValueError, match="unknown parameter"):
        m.set_params(windw=1)
    assert "window=4" in repr(m)
    with pytest.raises(TypeError):
        Item2Vec(3)  # keyword-only


def test_save_load_roundtrip(tmp_path, clusters_model):
    path = clusters_model.save(tmp_path / "model")
    assert path.endswith(".npz")
    loaded = Item2Vec.load(path)
    assert np.array_equal(loaded.item_vectors_, clusters_model.item_vectors_)
    for q in ([0, 1], [[5, 6], [100]]):
        a, sa = clusters_model.recommend(q, k=7)
        b, sb = loaded.recommend(q, k=7)
        assert np.array_equal(a, b) and np.array_equal(sa, sb)
    assert loaded.get_params()["window"] == clusters_model.window
    assert not list(tmp_path.glob("*.tmp"))  # atomic write leaves no temp file


def test_corrupt_and_foreign_files(tmp_path, clusters_model):
    path = clusters_model.save(tmp_path / "m.npz")
    data = open(path, "rb").read()
    (tmp_path / "trunc.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="truncated or corrupt"):
        Item2Vec.load(tmp_path / "trunc.npz")
    np.savez(tmp_path / "other.npz", x=np.arange(3))
    with pytest.raises(ModelFileError, match="not an item2vec model"):
        Item2Vec.load(tmp_path / "other.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ModelFileError):
        Item2Vec.load(tmp_path / "text.npz")
    with pytest.raises(ModelFileError, match="not found"):
        Item2Vec.load(tmp_path / "missing.npz")
    # tamper with the vectors but keep a valid zip: checksum catches it
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["item_vectors"] = arrays["item_vectors"] + 1
    np.savez(tmp_path / "tampered.npz", **arrays)
    with pytest.raises(ModelFileError, match="checksum"):
        Item2Vec.load(tmp_path / "tampered.npz")
    # a newer format version is refused with a clear message
    meta = json.loads(str(arrays["__meta__"]))
    meta["format_version"] = FORMAT_VERSION + 1
    arrays["item_vectors"] = arrays["item_vectors"] - 1
    arrays["__meta__"] = np.array(json.dumps(meta))
    np.savez(tmp_path / "newer.npz", **arrays)
    with pytest.raises(ModelFileError, match="newer than this library"):
        Item2Vec.load(tmp_path / "newer.npz")
    assert zipfile.is_zipfile(path)


def test_sequences_object_can_be_passed_directly():
    seqs = build_sequences(cluster_sequences(n_seq=100))
    m = Item2Vec(**FAST).fit(seqs)
    assert len(m.vocab_) == len(seqs.vocab) and m.n_tokens_ == seqs.n_tokens


def test_from_vectors_builds_a_queryable_model():
    W = np.eye(4, dtype=np.float32)[[0, 0, 1, 2]] + 0.01 * np.arange(4)[:, None]
    m = Item2Vec.from_vectors(["a", "b", "c", "d"], W, W, counts=[4, 3, 2, 1])
    ids, _ = m.similar_items("a", k=1)
    assert ids.tolist() == ["b"]
    assert Item2Vec.from_vectors([1, 2], np.ones((2, 3))).scoring == "cosine"
    with pytest.raises(ValueError, match="differs"):
        Item2Vec.from_vectors([1, 2], np.ones((2, 3)), np.ones((2, 4)))


def test_warns_when_subsampling_leaves_nothing_to_train():
    with pytest.warns(RuntimeWarning, match="sample=0"):
        Item2Vec(vector_size=4, epochs=1, sample=1e-4, random_state=0, verbose=False).fit([[1, 1, 1], [1, 1]])


def test_load_rejects_mismatched_vector_shapes(tmp_path, clusters_model):
    from item2vec.model_io import read_model, write_model

    arrays, meta = read_model(clusters_model.save(tmp_path / "m.npz"))
    arrays["context_vectors"] = arrays["context_vectors"][:5]
    meta = {k: v for k, v in meta.items() if k not in ("format", "format_version", "checksums")}
    bad = write_model(tmp_path / "bad.npz", arrays, meta)  # valid checksums, inconsistent shapes
    with pytest.raises(ModelFileError, match="differs from item_vectors shape"):
        Item2Vec.load(bad)
