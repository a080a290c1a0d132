"""Tests of item2vec.metrics: hand-computed values and a per-user reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from item2vec.metrics import coverage, encode_ids, hit_matrix, per_user_metrics, ranking_metrics

L2, L3, L5 = 1.0, 1 / math.log2(3), 1 / math.log2(5)  # discounts of ranks 1, 2, 4

# A: hits at ranks 2 and 4 of two targets; B: padded row, hit at rank 1;
# C: no hit (3 targets); D: no targets -> excluded from the means.
RECS = np.array([[5, 3, 8, 1], [7, -1, -1, -1], [2, 4, 6, 9], [1, 2, 3, 4]])
TARGETS = [np.array([3, 1]), np.array([7]), np.array([10, 11, 12]), np.array([], dtype=np.int64)]
EXPECTED = {
    # k = 2
    "recall@2": (1 / 2 + 1 + 0) / 3,
    "hit@2": (1 + 1 + 0) / 3,
    "ndcg@2": (L3 / (L2 + L3) + 1 + 0) / 3,
    "mrr@2": (1 / 2 + 1 + 0) / 3,
    "coverage@2": 5 / 12,  # {5, 3, 7, 2, 4} (user D excluded) over items 1..12
    # k = 4
    "recall@4": (2 / 2 + 1 + 0) / 3,
    "hit@4": (1 + 1 + 0) / 3,
    "ndcg@4": ((L3 + L5) / (L2 + L3) + 1 + 0) / 3,
    "mrr@4": (1 / 2 + 1 + 0) / 3,
    "coverage@4": 9 / 12,  # {5, 3, 8, 1, 7, 2, 4, 6, 9}
    "n_users": 3,
    "n_users_no_targets": 1,
}


def test_hand_computed_example():
    got = ranking_metrics(RECS, TARGETS, ks=(2, 4), catalogue=np.arange(1, 13))
    assert set(got) == set(EXPECTED)
    for key, value in EXPECTED.items():
        assert got[key] == pytest.approx(value, abs=1e-12), key


def test_hand_computed_example_with_string_ids():
    recs = np.where(RECS < 0, "", RECS.astype(str)).astype(object)
    targets = [t.astype(str) for t in TARGETS]
    got = ranking_metrics(recs, targets, ks=(2, 4), catalogue=[str(i) for i in range(1, 13)])
    for key, value in EXPECTED.items():
        assert got[key] == pytest.approx(value, abs=1e-12), key


def test_sparse_targets_match_list_targets():
    rows = np.repeat(np.arange(4), [len(t) for t in TARGETS])
    mat = sp.csr_matrix((np.ones(rows.size), (rows, np.concatenate(TARGETS))), shape=(4, 13))
    got = ranking_metrics(RECS, mat, ks=(2, 4), catalogue=12)
    for key, value in EXPECTED.items():
        assert got[key] == pytest.approx(value, abs=1e-12), key


def test_recall_denominator_is_number_of_targets():
    # 3 targets, both top-2 items are hits: recall@2 = 2/3 (not 2/min(2, 3) = 1),
    # while NDCG's ideal DCG uses min(k, |T|) = 2 positions -> ndcg@2 = 1.
    got = ranking_metrics(np.array([[1, 2]]), [np.array([1, 2, 3])], ks=2)
    assert got["recall@2"] == pytest.approx(2 / 3)
    assert got["ndcg@2"] == pytest.approx(1.0)
    assert got["hit@2"] == 1.0 and got["mrr@2"] == 1.0
    assert "coverage@2" not in got


def test_per_user_values_and_padding():
    pu = per_user_metrics(RECS, TARGETS, ks=4)
    np.testing.assert_array_equal(pu["n_targets"], [2, 1, 3, 0])
    np.testing.assert_allclose(pu["recall@4"][:3], [1.0, 1.0, 0.0])
    np.testing.assert_allclose(pu["mrr@4"][:3], [0.5, 1.0, 0.0])
    assert np.isnan(pu["recall@4"][3])
    hits, _ = hit_matrix(RECS, TARGETS)
    assert not hits[1, 1:].any()  # padding is never a hit
    # a padding id that is also a target must not count
    hits, _ = hit_matrix(np.array([[-1, -1]]), [np.array([-1])])
    assert not hits.any()


def test_array_targets():
    obj = np.empty(len(TARGETS), dtype=object)
    obj[:] = TARGETS
    assert ranking_metrics(RECS, obj, ks=2) == ranking_metrics(RECS, TARGETS, ks=2)
    two_d = ranking_metrics(np.array([[1, 2], [3, 4]]), np.array([[2], [9]]), ks=2)
    assert two_d["hit@2"] == 0.5 and two_d["mrr@2"] == 0.25


def test_duplicate_targets_count_once():
    got = ranking_metrics(np.array([[1, 2]]), [np.array([1, 1, 5])], ks=2)
    assert got["recall@2"] == pytest.approx(1 / 2)


def test_errors():
    with pytest.raises(ValueError, match="repeats an item"):
        ranking_metrics(np.array([[1, 2, 1]]), [np.array([1])], ks=2)
    with pytest.raises(ValueError, match="k=5 exceeds the 4 recommendations"):
        ranking_metrics(RECS, TARGETS, ks=(2, 5))
    with pytest.raises(ValueError, match="positive integer, got 0"):
        ranking_metrics(RECS, TARGETS, ks=(0,))
    with pytest.raises(ValueError, match="targets has 3 entries but recs has 4"):
        ranking_metrics(RECS, TARGETS[:3], ks=2)
    with pytest.raises(ValueError, match="2-D"):
        ranking_metrics(np.array([1, 2]), [np.array([1])], ks=1)


def test_no_users_with_targets_gives_nan():
    got = ranking_metrics(np.array([[1, 2]]), [np.array([], dtype=np.int64)], ks=1)
    assert math.isnan(got["recall@1"]) and got["n_users"] == 0 and got["n_users_no_targets"] == 1


def test_encode_ids_and_coverage_outside_catalogue():
    cat = np.array(["a", "b", "c"], dtype=object)
    np.testing.assert_array_equal(encode_ids(np.array([["c", "x", ""]]), cat), [[2, -1, -1]])
    np.testing.assert_array_equal(encode_ids(np.array([3, -1, 7]), np.array([7, 3])), [1, -1, 0])
    # "x" is not in the catalogue and does not count
    assert coverage(np.array([["a", "x"], ["a", ""]], dtype=object), cat, ks=2) == {"coverage@2": 1 / 3}


def _reference(recs, targets, k):
    """Plain per-user Python implementation of the four metrics."""
    out = {"recall": [], "ndcg": [], "hit": [], "mrr": []}
    for row, t in zip(recs, targets):
        t = set(t.tolist())
        if not t:
            continue
        top = [x for x in row[:k].tolist()]
        ranks = [i + 1 for i, x in enumerate(top) if x != -1 and x in t]
        out["recall"].append(len(ranks) / len(t))
        out["hit"].append(float(bool(ranks)))
        dcg = sum(1 / math.log2(r + 1) for r in ranks)
        idcg = sum(1 / math.log2(i + 1) for i in range(1, min(k, len(t)) + 1))
        out["ndcg"].append(dcg / idcg)
        out["mrr"].append(1 / ranks[0] if ranks else 0.0)
    return {name: float(np.mean(v)) for name, v in out.items()}


def _random_case(rng, n_users, width, n_items):
    recs = np.full((n_users, width), -1, dtype=np.int64)
    targets = []
    for u in range(n_users):
        length = int(rng.integers(0, width + 1))
        recs[u, :length] = rng.choice(n_items, size=length, replace=False)
        targets.append(rng.choice(n_items, size=int(rng.integers(0, 6)), replace=True))
    targets[0] = np.array([recs[0, 0] if recs[0, 0] >= 0 else 0])  # at least one user with targets
    return recs, targets


def test_vectorised_equals_reference_on_random_data():
    rng = np.random.default_rng(0)
    recs, targets = _random_case(rng, n_users=300, width=20, n_items=40)
    got = ranking_metrics(recs, targets, ks=(1, 5, 20))
    for k in (1, 5, 20):
        ref = _reference(recs, targets, k)
        for name, value in ref.items():
            assert got[f"{name}@{k}"] == pytest.approx(value, abs=1e-12), (name, k)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_users=st.integers(1, 12), width=st.integers(1, 8), n_items=st.integers(8, 30))
def test_vectorised_equals_reference_hypothesis(seed, n_users, width, n_items):
    recs, targets = _random_case(np.random.default_rng(seed), n_users, width, n_items)
    k = max(1, width // 2)
    got = ranking_metrics(recs, targets, ks=(k, width))
    for kk in (k, width):
        for name, value in _reference(recs, targets, kk).items():
            assert got[f"{name}@{kk}"] == pytest.approx(value, abs=1e-12)
