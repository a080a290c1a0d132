"""Train / validation / test splits of interaction logs for offline evaluation.

Three protocols are provided, each returning a :class:`Split`:

* :func:`leave_last_out` -- per user, the last event is the test target, the one
  before it the validation target, the rest is training data (the usual protocol of
  sequential recommendation).
* :func:`temporal_split` -- one global time cut; what happens after the cut is the
  test data.
* :func:`user_split` -- "strong generalisation": a share of the users is kept out
  of training entirely; for each of them the earlier part of the history is the
  query and the later part the targets.

Interactions are a :class:`pandas.DataFrame` with columns ``user``, ``item`` and
(required by :func:`temporal_split`, optional otherwise) ``timestamp``; any other
column (e.g. ``rating``) is carried along untouched. The caller's DataFrame is
never modified: every frame in a :class:`Split` is a new object that keeps the
original index labels.

Time order
----------
Within a user, events are ordered by ``timestamp`` with a *stable* sort: two
events with the same timestamp keep their order in the input DataFrame (the one
on the earlier row is considered earlier). Without a ``timestamp`` column the
input row order is the time order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .validation import check_fraction, check_int
from .vocab import as_id_array

__all__ = ["Split", "leave_last_out", "temporal_split", "user_split"]

_STAGES = ("val", "test")


# ---------------------------------------------------------------------------- helpers
def _check_interactions(df: Any, *, need_timestamp: bool) -> None:
    """Raise a clear error if ``df`` is not a usable interactions DataFrame."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"interactions must be a pandas DataFrame, got {type(df).__name__}")
    required = ["user", "item"] + (["timestamp"] if need_timestamp else [])
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(f"interactions lack column(s) {missing}; found columns {list(df.columns)}")
    if len(df) == 0:
        raise ValueError("interactions DataFrame is empty")
    for col in ["user", "item"] + (["timestamp"] if "timestamp" in df.columns else []):
        n_missing = int(df[col].isna().sum())
        if n_missing:
            raise ValueError(f"column {col!r} contains {n_missing} missing value(s); drop or fill them first")


def _time_order(df: pd.DataFrame, user_codes: np.ndarray) -> np.ndarray:
    """Row positions sorted by (user code, timestamp, input position).

    The input position is the last key, so equal timestamps keep the input order
    (a stable sort on the timestamp within each user).
    """
    pos = np.arange(len(df))
    if "timestamp" in df.columns:
        ts = df["timestamp"].to_numpy()
        return np.lexsort((pos, ts, user_codes))
    return np.lexsort((pos, user_codes))


def _rank_from_end(sorted_codes: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """For rows sorted by user, 0 for each user's last row, 1 for the one before, ..."""
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    within = np.arange(sorted_codes.size) - starts[sorted_codes]
    return counts[sorted_codes] - 1 - within


def _group_items(
    df: pd.DataFrame, users: pd.Index, *, unique: bool = False
) -> list[np.ndarray]:
    """Items of each user of ``users`` in time order (empty array if none).

    Rows of ``df`` whose user is not in ``users`` are ignored. With ``unique=True``
    only the first occurrence of a repeated item is kept.
    """
    items_all = as_id_array(df["item"], "item ids")
    codes = users.get_indexer(df["user"])
    keep = codes >= 0
    sub = df.loc[keep] if not keep.all() else df
    codes = codes[keep]
    items = items_all[keep]
    order = _time_order(sub, codes)
    codes, items = codes[order], items[order]
    if unique and items.size:
        dup = pd.DataFrame({"u": codes, "i": items}).duplicated().to_numpy()
        codes, items = codes[~dup], items[~dup]
    counts = np.bincount(codes, minlength=len(users))
    return np.split(items, np.cumsum(counts)[:-1])


# ---------------------------------------------------------------------------- Split
@dataclass(frozen=True, eq=False)
class Split:
    """The result of a split: training data, evaluation targets and query histories.

    Attributes
    ----------
    train : pandas.DataFrame
        Training events.
    val : pandas.DataFrame
        Validation target events (empty when the protocol has no validation part).
    test : pandas.DataFrame
        Test target events.
    kind : str
        ``"leave_last_out"``, ``"temporal"`` or ``"user"``.
    test_history : pandas.DataFrame or None
        Only for :func:`user_split`: the earlier events of the held-out users, used
        as their query histories at the test stage (never used for fitting).
    n_dropped : dict of str to int
        How many target events were removed and why, e.g. ``{"val_cold_items": 3,
        "test_cold_items": 5}``. Removed events belong to no frame of the split.
    params : dict
        The arguments of the split function (and derived values such as the
        temporal cut), for reporting.
    """

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame
    kind: str
    test_history: pd.DataFrame | None = None
    n_dropped: dict[str, int] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    def train_val(self) -> pd.DataFrame:
        """Training and validation events concatenated (train rows first)."""
        return pd.concat([self.train, self.val])

    def _check_stage(self, stage: str) -> None:
        if stage not in _STAGES:
            raise ValueError(f"stage must be one of {_STAGES}, got {stage!r}")
        if stage == "val" and len(self.val) == 0:
            raise ValueError(
                f"this {self.kind!r} split has no validation events; use stage='test' "
                "(or leave_last_out with n_val >= 1)"
            )

    def fit_data(self, stage: str = "test") -> pd.DataFrame:
        """The events a model is fitted on before being evaluated at ``stage``.

        ``"val"``: :attr:`train`; ``"test"``: :meth:`train_val` (equal to
        :attr:`train` for splits without validation events).
        """
        self._check_stage(stage)
        return self.train if stage == "val" else self.train_val()

    def catalogue(self, stage: str = "test") -> np.ndarray:
        """Distinct items of :meth:`fit_data` (the items a model can recommend)."""
        return pd.unique(as_id_array(self.fit_data(stage)["item"]))

    def queries(self, stage: str = "test") -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
        """Query histories and target items of every user evaluated at ``stage``.

        Parameters
        ----------
        stage : {"val", "test"}

        Returns
        -------
        users : numpy.ndarray
            Raw ids of the users that have at least one target, in order of first
            appearance in the target frame.
        histories : list of numpy.ndarray
            ``histories[j]`` are the raw item ids of ``users[j]``'s query history in
            time order (repeats kept):

            * leave-last-out, ``"val"``: the user's :attr:`train` events;
            * leave-last-out, ``"test"``: :attr:`train` + :attr:`val` events (the
              model fitted on train+val is queried with the history that includes
              the validation event);
            * temporal: the user's :attr:`train` events;
            * user split: the user's :attr:`test_history` events.
        targets : list of numpy.ndarray
            ``targets[j]`` are the distinct target items of ``users[j]`` (the
            :attr:`val` or :attr:`test` events; a repeated item is kept once, at its
            first occurrence).
        """
        self._check_stage(stage)
        target_df = self.val if stage == "val" else self.test
        if stage == "val":
            history_df = self.train
        elif self.test_history is not None:
            history_df = self.test_history
        else:
            history_df = self.train_val()
        users = pd.Index(pd.unique(target_df["user"].to_numpy()))
        targets = _group_items(target_df, users, unique=True)
        histories = _group_items(history_df, users)
        return users.to_numpy(), histories, targets

    def __repr__(self) -> str:
        th = "" if self.test_history is None else f", test_history={len(self.test_history)}"
        return (
            f"Split(kind={self.kind!r}, train={len(self.train)}, val={len(self.val)}, "
            f"test={len(self.test)}{th}, n_dropped={self.n_dropped})"
        )


# ---------------------------------------------------------------------------- protocols
def leave_last_out(
    df: pd.DataFrame,
    n_val: int = 1,
    n_test: int = 1,
    min_train: int = 1,
    *,
    drop_cold_targets: bool = True,
) -> Split:
    """Per-user leave-last-out split.

    Each user's events are put in time order (stable sort on ``timestamp``: events
    with equal timestamps keep their input order; without a ``timestamp`` column
    the input order is used). The last ``n_test`` events are test targets, the
    ``n_val`` events before them validation targets, the rest training data.

    Parameters
    ----------
    df : pandas.DataFrame
        Interactions with columns ``user``, ``item`` and optionally ``timestamp``.
    n_val : int, default 1
        Validation events per user (``0`` for no validation part).
    n_test : int, default 1
        Test events per user.
    min_train : int, default 1
        Users with fewer than ``min_train + n_val + n_test`` events are not split:
        all their events stay in training and they are not evaluated.
    drop_cold_targets : bool, default True
        Remove validation and test events whose item never occurs in
        :attr:`Split.train`. No model fitted on the training data can recommend
        such an item, so keeping them only lowers every model's scores by the same
        unreachable amount. Removed events are dropped from the split altogether
        (they are not part of :meth:`Split.train_val` either) and counted in
        ``n_dropped["val_cold_items"]`` / ``n_dropped["test_cold_items"]``. Since
        every kept validation item is a training item, the test check against
        train equals a check against train + val (the test-stage fitting data).

    Returns
    -------
    Split
        Frames hold the original rows (all columns, original index labels),
        grouped by user in order of first appearance and in time order within a
        user.
    """
    _check_interactions(df, need_timestamp=False)
    n_val = check_int("n_val", n_val, 0)
    n_test = check_int("n_test", n_test, 1)
    min_train = check_int("min_train", min_train, 0)

    codes, _ = pd.factorize(df["user"])
    order = _time_order(df, codes)
    sorted_codes = codes[order]
    counts = np.bincount(codes)
    from_end = _rank_from_end(sorted_codes, counts)
    eligible = counts[sorted_codes] >= min_train + n_val + n_test
    is_test = eligible & (from_end < n_test)
    is_val = eligible & (from_end >= n_test) & (from_end < n_test + n_val)

    sdf = df.iloc[order]
    train = sdf.loc[~(is_test | is_val)].copy()
    val = sdf.loc[is_val].copy()
    test = sdf.loc[is_test].copy()
    n_dropped: dict[str, int] = {}
    if drop_cold_targets:
        known = pd.Index(pd.unique(as_id_array(train["item"])))
        cold_val = ~val["item"].isin(known)
        cold_test = ~test["item"].isin(known)
        n_dropped = {"val_cold_items": int(cold_val.sum()), "test_cold_items": int(cold_test.sum())}
        val, test = val.loc[~cold_val], test.loc[~cold_test]
    params = {"n_val": n_val, "n_test": n_test, "min_train": min_train, "drop_cold_targets": drop_cold_targets}
    return Split(train=train, val=val, test=test, kind="leave_last_out", n_dropped=n_dropped, params=params)


def temporal_split(df: pd.DataFrame, quantile: float = 0.8) -> Split:
    """Global temporal split at a quantile of the timestamps.

    The cut is ``t_cut = numpy.quantile(timestamp, quantile, method="lower")`` (an
    actual timestamp of the data). Training data are the events with
    ``timestamp <= t_cut``; test targets are the events with ``timestamp > t_cut``
    whose user *and* item occur in the training data. Later events of new users
    (no history to query with) and of new items (not recommendable) are dropped
    and counted in ``n_dropped["test_cold_users"]`` and
    ``n_dropped["test_cold_items"]`` (an event of a new user with a new item counts
    as a cold user). There is no validation part.

    Parameters
    ----------
    df : pandas.DataFrame
        Interactions with columns ``user``, ``item`` and ``timestamp`` (numeric,
        e.g. int64 unix seconds, or datetime64).
    quantile : float, default 0.8
        In ``(0, 1)``; roughly the share of events used for training.

    Returns
    -------
    Split
        ``params["cut_timestamp"]`` holds ``t_cut``.

    Raises
    ------
    ValueError
        If no event is later than the cut (e.g. many events share the last
        timestamps), so the test part would be empty.
    """
    _check_interactions(df, need_timestamp=True)
    quantile = check_fraction("quantile", quantile)
    ts = df["timestamp"]
    if pd.api.types.is_datetime64_any_dtype(ts):
        ts_num = ts.astype("int64").to_numpy()
    elif pd.api.types.is_numeric_dtype(ts) and not pd.api.types.is_bool_dtype(ts):
        ts_num = ts.to_numpy()
    else:
        raise TypeError(f"timestamp must be numeric (e.g. int64 unix seconds) or datetime64, got dtype {ts.dtype}")
    cut_num = np.quantile(ts_num, quantile, method="lower")
    cut = ts.iloc[int(np.flatnonzero(ts_num == cut_num)[0])]
    codes, _ = pd.factorize(df["user"])
    order = _time_order(df, codes)
    sdf = df.iloc[order]
    after = ts_num[order] > cut_num
    train = sdf.loc[~after].copy()
    later = sdf.loc[after]
    if len(later) == 0:
        raise ValueError(
            f"no event is later than the cut timestamp {cut!r} (quantile={quantile}); use a lower quantile"
        )
    known_user = later["user"].isin(pd.unique(train["user"].to_numpy())).to_numpy()
    known_item = later["item"].isin(pd.unique(as_id_array(train["item"]))).to_numpy()
    test = later.loc[known_user & known_item].copy()
    n_dropped = {
        "test_cold_users": int((~known_user).sum()),
        "test_cold_items": int((known_user & ~known_item).sum()),
    }
    params = {"quantile": quantile, "cut_timestamp": cut.item() if isinstance(cut, np.generic) else cut}
    return Split(train=train, val=sdf.iloc[:0].copy(), test=test, kind="temporal", n_dropped=n_dropped, params=params)


def user_split(
    df: pd.DataFrame,
    test_users: float | int = 0.2,
    holdout: float | None = None,
    n_holdout: int | None = None,
    seed: int = 0,
    *,
    min_history: int = 1,
    drop_cold_targets: bool = True,
) -> Split:
    """Held-out users split ("strong generalisation").

    Users with at least ``min_history + h`` events are eligible, where ``h`` is
    ``n_holdout`` (or 1 when ``holdout`` is used). A random subset of the eligible
    users (``numpy.random.default_rng(seed)``, drawn from the users in order of
    first appearance, so the result is reproducible for the same seed and input)
    is removed from training. For each such user with ``n`` events in time order,
    the last ``n_t`` events are test targets and the ``n - n_t`` earlier ones the
    query history (:attr:`Split.test_history`), where

    * ``n_t = n_holdout`` if given, else
    * ``n_t = min(max(1, floor(holdout * n)), n - min_history)``.

    Parameters
    ----------
    df : pandas.DataFrame
        Interactions with ``user``, ``item`` and optionally ``timestamp``.
    test_users : float or int, default 0.2
        Float in ``(0, 1)``: share of the *eligible* users held out
        (``round(test_users * n_eligible)``, at least 1). Int: exact number.
    holdout : float, optional
        Share of each held-out user's events used as targets; defaults to ``0.2``
        when ``n_holdout`` is not given either. Give at most one of the two.
    n_holdout : int, optional
        Fixed number of target events per held-out user.
    seed : int, default 0
        Seed of the user draw.
    min_history : int, default 1
        Minimum length of a held-out user's query history.
    drop_cold_targets : bool, default True
        Remove target events whose item does not occur in :attr:`Split.train`
        (counted in ``n_dropped["test_cold_items"]``). Query-history items missing
        from training are kept; models drop them with ``on_unknown="ignore"``.

    Returns
    -------
    Split
        ``train`` holds the other users' events, ``test_history`` and ``test`` the
        held-out users' events, ``val`` is empty.
    """
    _check_interactions(df, need_timestamp=False)
    if holdout is not None and n_holdout is not None:
        raise ValueError(f"give holdout or n_holdout, not both (got holdout={holdout!r}, n_holdout={n_holdout!r})")
    if n_holdout is not None:
        n_holdout = check_int("n_holdout", n_holdout, 1)
    else:
        holdout = check_fraction("holdout", 0.2 if holdout is None else holdout)
    min_history = check_int("min_history", min_history, 1)

    codes, uniques = pd.factorize(df["user"])
    counts = np.bincount(codes)
    eligible = np.flatnonzero(counts >= min_history + (n_holdout or 1))
    if isinstance(test_users, (float, np.floating)):
        share = check_fraction("test_users", test_users)
        n_sel = max(1, int(round(share * eligible.size)))
    else:
        n_sel = check_int("test_users", test_users, 1)
    if n_sel > eligible.size:
        raise ValueError(
            f"test_users={test_users!r} asks for {n_sel} held-out users but only {eligible.size} users "
            f"have at least {min_history + (n_holdout or 1)} events"
        )
    if n_sel >= len(uniques):
        raise ValueError(f"test_users={test_users!r} would hold out all {len(uniques)} users; none left to train on")
    rng = np.random.default_rng(seed)
    chosen = np.zeros(len(uniques), dtype=bool)
    chosen[rng.choice(eligible, size=n_sel, replace=False)] = True

    order = _time_order(df, codes)
    sorted_codes = codes[order]
    from_end = _rank_from_end(sorted_codes, counts)
    n = counts[sorted_codes]
    if n_holdout is not None:
        n_t = np.full(n.shape, n_holdout)
    else:
        n_t = np.minimum(np.maximum(1, np.floor(holdout * n + 1e-9).astype(np.int64)), n - min_history)
    held = chosen[sorted_codes]
    sdf = df.iloc[order]
    train = sdf.loc[~held].copy()
    test_history = sdf.loc[held & (from_end >= n_t)].copy()
    test = sdf.loc[held & (from_end < n_t)].copy()
    n_dropped: dict[str, int] = {}
    if drop_cold_targets:
        cold = ~test["item"].isin(pd.unique(as_id_array(train["item"])))
        n_dropped["test_cold_items"] = int(cold.sum())
        test = test.loc[~cold]
    params = {
        "test_users": test_users, "holdout": holdout, "n_holdout": n_holdout, "seed": seed,
        "min_history": min_history, "drop_cold_targets": drop_cold_targets, "n_test_users": n_sel,
    }
    return Split(
        train=train, val=sdf.iloc[:0].copy(), test=test, kind="user",
        test_history=test_history, n_dropped=n_dropped, params=params,
    )
