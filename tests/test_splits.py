"""Tests of item2vec.splits on small hand-made interaction logs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from item2vec.splits import Split, leave_last_out, temporal_split, user_split


def _df(rows):
    return pd.DataFrame(rows, columns=["user", "item", "timestamp"])


@pytest.fixture
def log():
    # user 1: a(1) b(2) c(3) d(4)  -> train a b, val c, test d
    # user 2: rows given out of time order: e(30) a(10) b(20) -> train a, val b, test e
    # user 3: only two events -> stays in train entirely (needs 3)
    return _df([
        (1, "a", 1), (2, "e", 30), (1, "b", 2), (3, "a", 5), (1, "c", 3),
        (2, "a", 10), (1, "d", 4), (3, "b", 6), (2, "b", 20), (4, "c", 1), (4, "d", 2), (4, "a", 3),
    ])


def test_leave_last_out_picks_last_events(log):
    s = leave_last_out(log, drop_cold_targets=False)
    assert isinstance(s, Split) and s.kind == "leave_last_out"
    assert dict(zip(s.test["user"], s.test["item"])) == {1: "d", 2: "e", 4: "a"}
    assert dict(zip(s.val["user"], s.val["item"])) == {1: "c", 2: "b", 4: "d"}
    assert sorted(s.train.loc[s.train.user == 1, "item"]) == ["a", "b"]
    # user 3 is too short (2 < 1 + 1 + 1): everything stays in train
    assert sorted(s.train.loc[s.train.user == 3, "item"]) == ["a", "b"]
    assert 3 not in set(s.val.user) | set(s.test.user)
    assert len(s.train) + len(s.val) + len(s.test) == len(log)


def test_leave_last_out_cold_targets_dropped_and_counted(log):
    s = leave_last_out(log)
    # train items: a, b (user1), a (user2), a, b (user3), c (user4) -> {a, b, c}
    # val: c (u1), b (u2), d (u4) -> d cold; test: d (u1), e (u2), a (u4) -> d, e cold
    assert s.n_dropped == {"val_cold_items": 1, "test_cold_items": 2}
    assert list(s.test["item"]) == ["a"] and sorted(s.val["item"]) == ["b", "c"]
    kept = leave_last_out(log, drop_cold_targets=False)
    assert kept.n_dropped == {} and len(kept.test) == 3 and len(kept.val) == 3


def test_leave_last_out_stable_ties_keep_input_order():
    df = _df([(1, "x", 5), (1, "y", 5), (1, "z", 5), (1, "w", 1)])
    s = leave_last_out(df, drop_cold_targets=False)
    # time order: w(1), then x, y, z (equal timestamps keep input order)
    assert list(s.train["item"]) == ["w", "x"]
    assert list(s.val["item"]) == ["y"] and list(s.test["item"]) == ["z"]
    users, hist, targ = s.queries("test")
    assert list(hist[0]) == ["w", "x", "y"] and list(targ[0]) == ["z"]


def test_leave_last_out_without_timestamp_uses_row_order():
    df = pd.DataFrame({"user": [1, 1, 1, 1], "item": [10, 11, 12, 10]})
    s = leave_last_out(df, drop_cold_targets=False)
    assert list(s.train["item"]) == [10, 11]
    assert list(s.test["item"]) == [10] and list(s.val["item"]) == [12]
    # 12 never occurs in train: dropped when drop_cold_targets=True (10 is kept)
    s = leave_last_out(df)
    assert len(s.val) == 0 and list(s.test["item"]) == [10]
    assert s.n_dropped == {"val_cold_items": 1, "test_cold_items": 0}


def test_leave_last_out_min_train_and_counts(log):
    s = leave_last_out(log, min_train=2, drop_cold_targets=False)
    # only user 1 has >= 2 + 1 + 1 = 4 events
    assert set(s.test.user) == {1} and set(s.val.user) == {1}
    s0 = leave_last_out(log, n_val=0, drop_cold_targets=False)
    assert len(s0.val) == 0 and len(s0.test) == 4  # every user has >= 2 events
    with pytest.raises(ValueError, match="no validation events"):
        s0.queries("val")


def test_queries_histories_and_targets(log):
    s = leave_last_out(log)
    users, hist, targ = s.queries("val")
    got = {u: (list(h), list(t)) for u, h, t in zip(users, hist, targ)}
    assert got == {1: (["a", "b"], ["c"]), 2: (["a"], ["b"])}
    users, hist, targ = s.queries("test")
    got = {u: (list(h), list(t)) for u, h, t in zip(users, hist, targ)}
    # user 4: history = train (c) + val -- its val "d" was cold and dropped
    assert got == {4: (["c"], ["a"])}
    assert len(s.fit_data("val")) == len(s.train)
    assert len(s.fit_data("test")) == len(s.train) + len(s.val)
    assert set(s.catalogue("val")) == {"a", "b", "c"}
    with pytest.raises(ValueError, match="stage must be one of"):
        s.queries("train")


def test_input_not_mutated(log):
    before = log.copy()
    leave_last_out(log)
    temporal_split(log, 0.5)
    user_split(log, test_users=1, n_holdout=1)
    pd.testing.assert_frame_equal(log, before)


def test_bad_arguments(log):
    with pytest.raises(ValueError, match="n_test must be an integer >= 1"):
        leave_last_out(log, n_test=0)
    with pytest.raises(ValueError, match="lack column"):
        leave_last_out(log.drop(columns="item"))
    with pytest.raises(ValueError, match="timestamp"):
        temporal_split(log.drop(columns="timestamp"))
    with pytest.raises(ValueError, match="quantile must be a float strictly between 0 and 1, got quantile=1.5"):
        temporal_split(log, 1.5)
    with pytest.raises(TypeError, match="DataFrame"):
        leave_last_out(log.to_numpy())
    with pytest.raises(ValueError, match="missing"):
        leave_last_out(log.assign(user=[None] + list(log.user[1:])))


def test_temporal_split_cut():
    df = _df([
        (1, "a", 1), (1, "b", 2), (2, "a", 3), (2, "c", 4), (1, "c", 5),
        (3, "a", 6), (1, "d", 7), (2, "b", 8), (4, "a", 9), (2, "a", 10),
    ])
    s = temporal_split(df, quantile=0.5)
    # timestamps 1..10, lower 0.5-quantile = 5 -> train ts <= 5
    assert s.params["cut_timestamp"] == 5
    assert sorted(s.train["timestamp"]) == [1, 2, 3, 4, 5]
    # after the cut: (3,a,6) new user, (1,d,7) new item, (2,b,8) ok, (4,a,9) new user, (2,a,10) ok
    assert list(zip(s.test["user"], s.test["item"])) == [(2, "b"), (2, "a")]
    assert s.n_dropped == {"test_cold_users": 2, "test_cold_items": 1}
    users, hist, targ = s.queries("test")
    assert list(users) == [2] and list(hist[0]) == ["a", "c"] and list(targ[0]) == ["b", "a"]
    with pytest.raises(ValueError, match="no validation events"):
        s.queries("val")


def test_temporal_split_empty_test_raises():
    df = _df([(1, "a", 1), (1, "b", 9), (2, "a", 9), (2, "b", 9)])
    with pytest.raises(ValueError, match="no event is later than the cut"):
        temporal_split(df, 0.6)


def _big_log(n_users=40, seed=1):
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        n = int(rng.integers(1, 12))
        for t in range(n):
            rows.append((u, int(rng.integers(0, 15)), t * 10 + u))
    return _df(rows)


def test_user_split_disjoint_and_seeded():
    df = _big_log()
    s = user_split(df, test_users=0.25, holdout=0.3, seed=3)
    train_users = set(s.train.user)
    held = set(s.test_history.user) | set(s.test.user)
    assert train_users.isdisjoint(held)
    assert len(s.val) == 0
    assert len(s.train) + len(s.test_history) + len(s.test) + s.n_dropped["test_cold_items"] == len(df)
    n_eligible = int((df.groupby("user").size() >= 2).sum())
    assert s.params["n_test_users"] == round(0.25 * n_eligible)
    again = user_split(df, test_users=0.25, holdout=0.3, seed=3)
    pd.testing.assert_frame_equal(s.test, again.test)
    other = user_split(df, test_users=0.25, holdout=0.3, seed=4)
    assert set(other.test_history.user) != set(s.test_history.user)


def test_user_split_history_before_targets():
    df = _big_log()
    s = user_split(df, test_users=5, n_holdout=2, seed=0, drop_cold_targets=False)
    assert s.n_dropped == {}
    users, hist, targ = s.queries("test")
    assert len(users) == 5
    for u, h, t in zip(users, hist, targ):
        events = df[df.user == u].sort_values("timestamp", kind="stable")
        assert list(h) == list(events.item.iloc[:-2])
        assert list(t) == list(pd.unique(events.item.iloc[-2:]))
        assert len(h) >= 1


def test_user_split_holdout_share():
    df = _df([(1, i, i) for i in range(10)] + [(2, i, i) for i in range(3)] + [(3, 0, 0), (3, 1, 1)])
    s = user_split(df, test_users=1, holdout=0.3, seed=0, drop_cold_targets=False)
    held = s.test.user.iloc[0]
    n = int((df.user == held).sum())
    assert len(s.test) == min(max(1, int(np.floor(0.3 * n + 1e-9))), n - 1)


def test_user_split_bad_arguments():
    df = _big_log()
    with pytest.raises(ValueError, match="not both"):
        user_split(df, holdout=0.2, n_holdout=1)
    with pytest.raises(ValueError, match="only"):
        user_split(df, test_users=10_000)
    with pytest.raises(ValueError, match="holdout must be a float"):
        user_split(df, holdout=2.0)


def test_temporal_split_accepts_datetimes():
    df = _df([(1, "a", 1), (1, "b", 2), (2, "a", 3), (2, "b", 4), (1, "a", 5)])
    df["timestamp"] = pd.to_datetime(df["timestamp"], unit="D")
    s = temporal_split(df, quantile=0.6)
    assert s.params["cut_timestamp"] == pd.Timestamp("1970-01-04")
    # cut at day 3 -> train days 1..3; test grouped by user (1 first): (1, a) day 5, (2, b) day 4
    assert list(zip(s.test["user"], s.test["item"])) == [(1, "a"), (2, "b")]
    with pytest.raises(TypeError, match="timestamp must be numeric"):
        temporal_split(df.assign(timestamp=df["timestamp"].astype(str)))
