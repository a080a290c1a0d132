"""Export to Parquet and to gensim KeyedVectors."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from item2vec import Item2Vec


def model(str_ids: bool = False) -> Item2Vec:
    rng = np.random.default_rng(0)
    ids = np.array([f"item-{j}" for j in range(30)]) if str_ids else np.arange(1000, 1030)
    return Item2Vec.from_vectors(ids, rng.standard_normal((30, 6)), rng.standard_normal((30, 6)),
                                 counts=rng.integers(1, 9, 30), verbose=False)


@pytest.mark.parametrize("str_ids", [False, True])
def test_parquet_round_trip(tmp_path, str_ids):
    pq = pytest.importorskip("pyarrow.parquet")
    m = model(str_ids)
    path = m.export_parquet(tmp_path / "sub" / "vectors.parquet")
    table = pq.read_table(path)
    assert table.column_names == ["item", "count", "vector", "context_vector"]
    assert table["item"].to_pylist() == m.item_ids_.tolist()
    np.testing.assert_array_equal(table["count"].to_numpy(), m.vocab_.counts)
    W = np.stack(table["vector"].to_numpy(zero_copy_only=False))
    C = np.stack(table["context_vector"].to_numpy(zero_copy_only=False))
    np.testing.assert_array_equal(W, m.item_vectors_)
    np.testing.assert_array_equal(C, m.context_vectors_)
    assert table.schema.metadata[b"item2vec.vector_size"] == b"6"
    assert pq.read_table(m.export_parquet(tmp_path / "w.parquet", context=False)).column_names == ["item", "count", "vector"]
    assert not list(tmp_path.glob("**/*.tmp"))


def test_parquet_without_pyarrow_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(ImportError, match="pip install pyarrow"):
        model().export_parquet(tmp_path / "x.parquet")


def test_parquet_bad_row_group_size(tmp_path):
    pytest.importorskip("pyarrow")
    with pytest.raises(ValueError, match="row_group_size=0"):
        model().export_parquet(tmp_path / "x.parquet", row_group_size=0)


@pytest.mark.parametrize("str_ids", [False, True])
def test_keyed_vectors_match_similar_items(str_ids):
    pytest.importorskip("gensim")
    m = model(str_ids)
    kv = m.to_keyed_vectors()
    key = m.item_ids_.tolist()[3]
    assert kv.index_to_key == m.item_ids_.tolist()
    np.testing.assert_array_equal(kv[key], m.get_vector(key))
    assert kv.get_vecattr(key, "count") == m.vocab_.counts[3]
    ids, scores = m.similar_items(key, 5)
    got = kv.most_similar(key, topn=5)
    assert [g[0] for g in got] == ids.tolist()
    np.testing.assert_allclose([g[1] for g in got], scores, rtol=1e-5)
    np.testing.assert_array_equal(m.to_keyed_vectors("context")[key], m.context_vectors_[3])
    with pytest.raises(ValueError, match="vectors='input'"):
        m.to_keyed_vectors("input")


def test_keyed_vectors_without_gensim(monkeypatch):
    monkeypatch.setitem(sys.modules, "gensim", None)
    monkeypatch.setitem(sys.modules, "gensim.models", None)
    with pytest.raises(ImportError, match="pip install gensim"):
        model().to_keyed_vectors()
