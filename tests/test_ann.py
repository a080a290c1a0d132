"""ANN serving: index results equal the exact path's (exhaustive settings), same filtering, persistence, errors."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from item2vec import Item2Vec

faiss = pytest.importorskip("faiss", reason="the ANN tests need the ann extra: pip install 'item2vec[ann]'")


def planted(n: int = 300, dim: int = 16, seed: int = 0, str_ids: bool = False) -> Item2Vec:
    """Items in 10 clusters; context vectors aligned with input vectors, norms by popularity."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((10, dim))
    labels = rng.integers(0, 10, n)
    W = centers[labels] + 0.3 * rng.standard_normal((n, dim))
    counts = rng.integers(1, 100, n)
    C = (W + 0.2 * rng.standard_normal((n, dim))) * (0.5 + np.log1p(counts))[:, None] / 3
    ids = np.array([f"i{j}" for j in range(n)]) if str_ids else np.arange(100, 100 + n)
    return Item2Vec.from_vectors(ids, W, C, counts=counts, scoring="sgns", verbose=False)


def histories(model: Item2Vec, n: int = 40, seed: int = 1) -> list:
    rng = np.random.default_rng(seed)
    ids = model.item_ids_
    return [list(ids[rng.integers(0, ids.size, rng.integers(1, 12))]) for _ in range(n)] + [[]]


def same(a, b, tol: float = 1e-5) -> None:
    """Same ids and scores; ids may differ only inside a near-tie (faiss and BLAS round differently)."""
    np.testing.assert_allclose(a[1], b[1], rtol=tol, atol=tol)
    ids, ref, score = np.atleast_2d(a[0]), np.atleast_2d(b[0]), np.atleast_2d(b[1])
    for r, c in zip(*np.nonzero(ids != ref)):
        near = [score[r, j] for j in (c - 1, c + 1) if 0 <= j < score.shape[1]]
        assert c == score.shape[1] - 1 or any(abs(score[r, c] - v) <= tol * max(1.0, abs(v)) for v in near), (r, c)
        assert ids[r, c] in ref[r] or c == score.shape[1] - 1, (r, c)


@pytest.mark.parametrize("kind, options", [("flat", {}), ("hnsw", {"ef": 400, "M": 16})])
@pytest.mark.parametrize("scoring", ["sgns", "cosine"])
def test_recommend_with_index_equals_exact(kind, options, scoring):
    model = planted()
    hist = histories(model)
    calls = [dict(), dict(filter_seen=False), dict(exclude=list(model.item_ids_[:50])), dict(k=25)]
    exact = [model.recommend(hist, **{"k": 10, **c}, scoring=scoring) for c in calls]
    model.build_index(kind, **options)
    searched = []
    original = model.index_.search
    model.index_.search = lambda space, Q, k: searched.append(space) or original(space, Q, k)
    for c, e in zip(calls, exact):
        same(model.recommend(hist, **{"k": 10, **c}, scoring=scoring), e)
    assert searched and set(searched) == {"cosine" if scoring == "cosine" else "ip"}  # the index served them


def test_similar_items_with_index_equals_exact():
    model = planted(str_ids=True)
    q = list(model.item_ids_[:60])
    exact = [model.similar_items(q, 10), model.similar_items(q, 10, min_count=60),
             model.similar_items(q + ["unknown"], 5, on_unknown="ignore"), model.similar_items(q[0], 7)]
    model.build_index("hnsw", ef=400)
    got = [model.similar_items(q, 10), model.similar_items(q, 10, min_count=60),
           model.similar_items(q + ["unknown"], 5, on_unknown="ignore"), model.similar_items(q[0], 7)]
    for g, e in zip(got, exact):
        same(g, e)
    assert (got[2][0][-1] == "").all() and np.isneginf(got[2][1][-1]).all()  # unknown id: padding


def test_filtering_and_padding_hold_when_candidates_run_out():
    model = planted(n=40)
    hist = [list(model.item_ids_[:20]), list(model.item_ids_[20:25]), []]
    exclude = list(model.item_ids_[25:38])  # 20 seen + 13 excluded of 40: 7 candidates left for history 0
    exact = model.recommend(hist, 10, exclude=exclude)
    model.build_index("hnsw", ef=8, M=4)  # a narrow search: the over-fetch cannot fill row 0
    got = model.recommend(hist, 10, exclude=exclude)
    same((got[0][0::2], got[1][0::2]), (exact[0][0::2], exact[1][0::2]))  # short row (exact fallback), empty row
    assert (got[0][0][7:] == -1).all() and np.isneginf(got[1][0][7:]).all()
    for h, row in zip(hist, got[0]):
        assert not (set(row.tolist()) & (set(h) | set(exclude)))
    assert model.index_.last_fallbacks >= 1


def test_save_load_restores_the_index(tmp_path):
    model = planted()
    model.build_index("hnsw", M=8, ef=300)
    hist = histories(model)
    before = model.recommend(hist, 10)
    loaded = Item2Vec.load(model.save(tmp_path / "m.npz"))
    assert loaded.index_ is not None and loaded.index_.kind == "hnsw" and loaded.index_.options["ef"] == 300
    assert set(loaded.index_.spaces) == {"ip", "cosine"}
    same(loaded.recommend(hist, 10), before)
    loaded.drop_index()
    again = Item2Vec.load(loaded.save(tmp_path / "plain.npz"))
    assert again.index_ is None


def test_load_without_faiss_warns_and_loads_exact(tmp_path, monkeypatch):
    model = planted()
    expected = model.recommend(histories(model), 10)
    model.build_index("flat")
    path = model.save(tmp_path / "m.npz")
    monkeypatch.setitem(sys.modules, "faiss", None)
    with pytest.warns(RuntimeWarning, match="ANN index but it was not loaded"):
        loaded = Item2Vec.load(path)
    assert loaded.index_ is None
    same(loaded.recommend(histories(model), 10), expected)


def test_build_index_without_faiss_names_the_extra(monkeypatch):
    model = planted()
    monkeypatch.setitem(sys.modules, "faiss", None)
    with pytest.raises(ImportError, match=r"item2vec\[ann\]"):
        model.build_index()


def test_stale_index_is_dropped_with_a_warning():
    model = planted()
    model.build_index("flat")
    other = planted(seed=5)
    model._set_fitted(other.vocab_, other.item_vectors_, other.context_vectors_)
    with pytest.warns(RuntimeWarning, match="build_index"):
        got = model.recommend(histories(other), 10)
    assert model.index_ is None
    same(got, other.recommend(histories(other), 10))


def test_save_keeps_an_index_of_either_space_and_drops_a_stale_one_once(tmp_path, recwarn):
    model = planted()
    model.build_index("flat", spaces="ip")
    loaded = Item2Vec.load(model.save(tmp_path / "ip.npz"))
    assert loaded.index_.spaces == ("ip",) and loaded.index_._source[0]() is loaded.item_vectors_
    other = planted(seed=5)
    loaded._set_fitted(other.vocab_, other.item_vectors_, other.context_vectors_)
    again = Item2Vec.load(loaded.save(tmp_path / "stale.npz"))  # neither the arrays nor the metadata of the index
    assert again.index_ is None and loaded.index_ is None
    assert [str(w.message) for w in recwarn if issubclass(w.category, RuntimeWarning)] == [
        "the ANN index was built from vectors this model no longer has (fit or load replaced them); "
        "it was dropped and queries are exact: call build_index() again"]


def test_cosine_only_index_for_vectors_without_context():
    rng = np.random.default_rng(0)
    model = Item2Vec.from_vectors(np.arange(50), rng.standard_normal((50, 8)), verbose=False)
    exact = model.recommend([[1, 2], [3]], 5)
    assert model.build_index("flat").spaces == ("cosine",)
    same(model.recommend([[1, 2], [3]], 5), exact)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(kind="annoy"), ValueError, "kind must be one of"),
    (dict(kind="hnsw", nprobe=3), TypeError, r"unknown option\(s\) \['nprobe'\]"),
    (dict(kind="hnsw", M=1), ValueError, "M must be an integer >= 2, got M=1"),
    (dict(spaces=["l2"]), ValueError, "spaces must be a non-empty subset"),
    (dict(kind="ivf", nlist=10_000), ValueError, "nlist must be <= the number of items"),
])
def test_build_index_errors_name_the_value(kwargs, error, match):
    with pytest.raises(error, match=match):
        planted().build_index(**kwargs)


def test_ivf_index_with_all_lists_probed_is_exact():
    model = planted()
    hist = histories(model)
    exact = model.recommend(hist, 10)
    model.build_index("ivf", nlist=8, nprobe=8, train_size=30)
    same(model.recommend(hist, 10), exact)


def test_damaged_index_bytes_raise_model_file_error(tmp_path):
    from item2vec.model_io import ModelFileError, read_model, write_model

    model = planted()
    model.build_index("flat", spaces="cosine")
    arrays, meta = read_model(model.save(tmp_path / "m.npz"))
    arrays["ann_index_cosine"] = arrays["ann_index_cosine"][:40]
    meta = {k: v for k, v in meta.items() if k not in ("checksums", "format", "format_version")}
    path = write_model(tmp_path / "bad.npz", arrays, meta)
    with pytest.raises(ModelFileError, match="cosine"):
        Item2Vec.load(path)
