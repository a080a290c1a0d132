"""Vocabulary and sequence building."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from item2vec import Vocabulary, build_sequences


def frame(rows):
    return pd.DataFrame(rows, columns=["user", "item", "timestamp"])


def as_lists(seqs):
    return [list(seqs.raw(s)) for s in range(len(seqs))]


def test_sort_by_time_is_stable_and_split_per_user():
    df = frame([(1, "a", 5), (2, "x", 1), (1, "b", 1), (1, "c", 5), (2, "y", 2), (1, "d", 3)])
    seqs = build_sequences(df, time_col="timestamp")
    # user 1 sorted by time; "a" and "c" tie at t=5 and keep input order
    assert as_lists(seqs) == [["b", "d", "a", "c"], ["x", "y"]]
    assert list(seqs.users) == [1, 2]
    assert seqs.items.dtype == np.int32 and seqs.offsets.dtype == np.int64


def test_session_gap_splits_and_accepts_timedelta():
    df = frame([(1, 1, 0), (1, 2, 10), (1, 3, 1000), (1, 4, 1005), (1, 5, 5000)])
    by_seconds = build_sequences(df, time_col="timestamp", session_gap=100, min_length=1)
    assert as_lists(by_seconds) == [[1, 2], [3, 4], [5]]
    df2 = df.assign(timestamp=pd.to_datetime(df["timestamp"], unit="s"))
    by_td = build_sequences(df2, time_col="timestamp", session_gap=pd.Timedelta(minutes=1, seconds=40), min_length=2)
    assert as_lists(by_td) == [[1, 2], [3, 4]]


@pytest.mark.parametrize("gap", ["100s", "1min 40s", "0 days 00:01:40", " 100s "])
def test_session_gap_accepts_timedelta_strings(gap):
    df = frame([(1, 1, 0), (1, 2, 10), (1, 3, 1000), (1, 4, 1005), (1, 5, 5000)])
    assert as_lists(build_sequences(df, time_col="timestamp", session_gap=gap, min_length=1)) == [[1, 2], [3, 4], [5]]


@pytest.mark.parametrize("gap", ["soon", "-5min", 0, -1.0, float("nan"), True, [30]])
def test_bad_session_gap_names_the_parameter(gap):
    df = frame([(1, 1, 0), (1, 2, 10)])
    with pytest.raises(ValueError, match=r"session_gap must be .*'30min', got session_gap="):
        build_sequences(df, time_col="timestamp", session_gap=gap, min_length=1)


def test_min_item_count_then_min_length():
    seqs = build_sequences([[1, 2, 3], [1, 2], [3, 9], [1, 7]], min_item_count=2, min_length=2)
    # 9 and 7 are rare -> [3] and [1] become too short and are dropped
    assert as_lists(seqs) == [[1, 2, 3], [1, 2]]
    # vocabulary only holds items present, counted in the final corpus, most frequent first
    assert dict(zip(seqs.vocab.ids.tolist(), seqs.vocab.counts.tolist())) == {1: 2, 2: 2, 3: 1}
    assert seqs.vocab.counts[0] >= seqs.vocab.counts[-1]


def test_long_sequences_are_not_truncated():
    long = list(range(25_000))
    seqs = build_sequences([long, [1, 2]])
    assert seqs.lengths.tolist() == [25_000, 2]


def test_input_frame_not_mutated():
    df = frame([(2, 5, 3), (1, 6, 2), (1, 5, 1)])
    before = df.copy()
    build_sequences(df, time_col="timestamp")
    pd.testing.assert_frame_equal(df, before)


@pytest.mark.parametrize(
    "df, kwargs, err, match",
    [
        (pd.DataFrame(columns=["user", "item"]), {}, ValueError, "empty"),
        (pd.DataFrame({"user": [1], "itm": [2]}), {}, KeyError, "item_col='item'.*itm"),
        (pd.DataFrame({"user": [1, 1], "item": [2, None]}), {}, ValueError, "missing|NaN"),
        (pd.DataFrame({"user": [1, 1], "item": [2.0, np.nan]}), {}, ValueError, "NaN"),
        (pd.DataFrame({"user": [1, 1], "item": pd.Series([2, "b"], dtype=object)}), {}, TypeError, "mixes integer and string"),
        (pd.DataFrame({"user": [1, 2], "item": [1, 2]}), {}, ValueError, "min_length=2"),
        (pd.DataFrame({"user": [1, 1], "item": [1, 2]}), {"min_item_count": 5}, ValueError, "min_item_count=5"),
        (pd.DataFrame({"user": [1, 1], "item": [1, 2]}), {"session_gap": 10}, ValueError, "time_col"),
        (pd.DataFrame({"user": [1, 1], "item": [1, 2], "t": ["a", "b"]}), {"time_col": "t"}, TypeError, "numeric"),
        (pd.DataFrame({"user": [1, 1], "item": [1, 2]}), {"min_length": 0}, ValueError, "min_length"),
    ],
)
def test_bad_input_errors(df, kwargs, err, match):
    with pytest.raises(err, match=match):
        build_sequences(df, **kwargs)


def test_iterable_input_and_string_ids():
    seqs = build_sequences([["a", "b"], ("b", "c", "a")])
    assert seqs.vocab.kind == "str"
    assert as_lists(seqs) == [["a", "b"], ["b", "c", "a"]]
    with pytest.raises(ValueError, match="empty"):
        build_sequences([])
    with pytest.raises(TypeError, match="DataFrame or an iterable"):
        build_sequences(42)


def test_vocabulary_roundtrip_and_unknowns():
    vocab = Vocabulary(np.array([10, 20, 30]), np.array([3, 2, 1]))
    assert vocab.encode([30, 10]).tolist() == [2, 0]
    assert vocab.lookup([99, "10", 10.0, True]).tolist() == [-1, -1, 0, -1]
    assert vocab.decode([1, -1]).tolist() == [20, -1]
    with pytest.raises(KeyError, match="99"):
        vocab.encode([10, 99])
    svocab = Vocabulary(np.array(["a", "b"], dtype=object), np.array([1, 1]))
    assert svocab.lookup(["b", 1]).tolist() == [1, -1]
    assert svocab.decode([-1]).tolist() == [""]
    with pytest.raises(ValueError, match="unique"):
        Vocabulary(np.array([1, 1]), np.array([1, 1]))


def test_ten_million_rows_vectorised():
    rng = np.random.default_rng(0)
    n = 2_000_000  # representative size; the 10M-row timing is in benchmarks/scale.py
    df = pd.DataFrame({"user": rng.integers(0, 50_000, n), "item": rng.integers(0, 100_000, n), "timestamp": rng.integers(0, 10**9, n)})
    seqs = build_sequences(df, time_col="timestamp")
    assert seqs.n_tokens == n and len(seqs) == df["user"].nunique()
    first = seqs[0]
    assert first.dtype == np.int32


@pytest.mark.parametrize("presorted", [False, True])
def test_order_equals_lexsort_with_ties_and_sessions(presorted):
    # build_sequences sorts with a counting sort by user + per-user merge sort;
    # it must give exactly np.lexsort's stable (user, time) order.
    rng = np.random.default_rng(7)
    n = 5000
    df = pd.DataFrame({"user": rng.choice(np.array(["u%d" % i for i in range(97)]), n),
                       "item": rng.integers(0, 300, n), "timestamp": rng.integers(0, 40, n).astype(float)})
    if presorted:
        df = df.sort_values(["user", "timestamp"], kind="stable").reset_index(drop=True)
    seqs = build_sequences(df, time_col="timestamp", session_gap=3, min_length=1)
    ucodes, uniques = pd.factorize(df["user"], sort=False)
    t = df["timestamp"].to_numpy()
    order = np.lexsort((t, ucodes))
    u, ts, it = ucodes[order], t[order], df["item"].to_numpy()[order]
    cut = np.flatnonzero(np.r_[True, (u[1:] != u[:-1]) | (np.diff(ts) > 3)])
    expected = [list(x) for x in np.split(it, cut[1:])]
    assert as_lists(seqs) == expected
    assert list(seqs.users) == list(uniques[u[cut]])
