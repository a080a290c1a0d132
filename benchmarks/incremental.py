"""Incremental training (``Item2Vec.partial_fit``) against a full refit, on time splits.

For each data set the events are cut at the 80 % and 90 % quantiles of time:

* ``refit 90``: ``fit`` on the first 90 % (the reference);
* ``base 80``: ``fit`` on the first 80 % (no update: what the update must beat);
* ``partial``: ``base 80`` + ``partial_fit`` on the 80-90 % slice, for each
  ``--alpha-fractions`` value (the update's learning rate starts at that
  fraction of ``alpha``) and each ``--blends`` value (the consolidation
  exponent, see :mod:`item2vec.incremental`);
* ``daily``: ``base 80`` + 5 successive ``partial_fit`` calls on 5 equal-time
  pieces of the 80-90 % slice, evaluated after each, next to a refit on the
  same data (``--no-daily-refits`` skips those).

All are evaluated on the last 10 % with the library's metrics
(``evaluate(..., fit=False)``, recall@10, seen items filtered) by a next-item
protocol (:func:`next_item_split`): every event after the 90 % cut is a query
whose history is its user's (session's) earlier events, the test period's
included, as a server would know them. (A per-user temporal split leaves only
27 users of ml-latest-small with targets after the 90 % cut: too noisy.) Data sets:

* ``ml-latest-small`` (MovieLens, unix timestamps): 8.5k next-item queries;
* ``diginetica`` (the DIGINETICA session sample: real dates, the only panel
  set with a global time besides MovieLens; the sequence files have positions
  only, which cannot cut all users at one moment). Sessions are cut by their
  start time, so whole sessions arrive in an update as they would day by day.
  It is small (12k views, about 1k queries), so its recalls are noisy.

Wall times are of the ``fit``/``partial_fit`` calls (numba compiled first).
``history_decay="auto"``: after the update, every decay of
``holdout.DECAY_GRID`` is also scored on the test targets (an oracle), to see
whether choosing it again could have helped.

Result (``--threads 1``, seed 0, a machine shared with other jobs, so wall
times are noisy): ml-latest-small partial_fit(alpha=0.5*alpha, blend=0.5)
recall@10 vs a refit: replay="off" 1.025x in 0.07x its time, replay="new" (the
default) 1.03x in 0.07x, replay="all" 0.79x. DIGINETICA (seeds 0/1): "off"
0.27x/0.30x, "new" 0.82x/0.70x, "all" 1.09x/0.97x, daily "all" updates
1.00-1.13x daily refits; ``--cuts 0.7,0.85`` (334 queries): "all" 0.86x.
See the notes of :mod:`item2vec.incremental`.

Example::

    ITEM2VEC_DATA=/work/shared/datasets/movielens python benchmarks/incremental.py --threads 1
    ITEM2VEC_DATA=... python benchmarks/incremental.py --datasets diginetica --replay all --seed 1
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import load_movielens_frame, machine_note, warm_up_item2vec  # noqa: E402

from item2vec import Item2Vec  # noqa: E402
from item2vec.evaluation import evaluate  # noqa: E402
from item2vec.holdout import DECAY_GRID  # noqa: E402
from item2vec.splits import Split  # noqa: E402


def load(name: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Events (user, item, timestamp) and the time each event is cut by."""
    if name == "diginetica":
        from item2vec.seqdata import load_sequence_dataset

        root = Path(os.environ.get("ITEM2VEC_DATA", "/work/shared/datasets/movielens")).parent
        df = load_sequence_dataset("diginetica", data_dir=root, download=False, progress=False).interactions
        return df, df.groupby("user")["timestamp"].transform("min").to_numpy()  # session start
    df = load_movielens_frame(name)
    return df, df["timestamp"].to_numpy()


def next_item_split(df: pd.DataFrame, t: np.ndarray, cut: float, max_history: int) -> Split:
    """Every event after ``cut`` as a next-item query: the user's (session's) earlier events are the history.

    One query per target event (pseudo-user ``q<row>``), history = the last
    ``max_history`` earlier events of its user (test-period events included: a
    server knows them even when the model has not trained on them). Kept when
    the history is not empty, the target is in the catalogue of the events up
    to ``cut`` and not in its history (``recommend`` filters seen items).
    """
    order = np.lexsort((np.arange(len(df)), df["timestamp"].to_numpy(), pd.factorize(df["user"])[0]))
    s = df.iloc[order].reset_index(drop=True)
    ts = t[order]
    users, items = pd.factorize(s["user"])[0], s["item"].to_numpy()
    start = np.r_[0, np.flatnonzero(users[1:] != users[:-1]) + 1]
    pos = np.arange(len(s)) - np.repeat(start, np.diff(np.r_[start, len(s)]))
    known = np.isin(items, pd.unique(items[ts <= cut]))
    queries, hist_rows, hist_query = [], [], []
    for j in np.flatnonzero((ts > cut) & (pos >= 1) & known):
        h = np.arange(max(j - pos[j], j - max_history), j)
        if items[j] in items[h]:
            continue
        queries.append(j)
        hist_rows.append(h)
        hist_query.append(np.full(h.size, j))
    q = np.asarray(queries)
    rows, owner = np.concatenate(hist_rows), np.concatenate(hist_query)
    test = pd.DataFrame({"user": [f"q{j}" for j in q], "item": items[q], "timestamp": np.zeros(q.size, np.int64)})
    history = pd.DataFrame({"user": [f"q{j}" for j in owner], "item": items[rows], "timestamp": rows})
    return Split(train=df.loc[t <= cut], val=df.iloc[:0], test=test, kind="user", test_history=history)


def at(split: Split, train: pd.DataFrame) -> Split:
    """``split`` with the catalogue of ``train`` (the data the model at this step has seen)."""
    return Split(train=train, val=train.iloc[:0], test=split.test, kind=split.kind, test_history=split.test_history)


def recall(model: Item2Vec, split: Split) -> float:
    return float(evaluate(model, split, ks=(10,), fit=False)["recall@10"])


def timed(fn) -> tuple[object, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def run(name: str, args: argparse.Namespace) -> None:
    df, t = load(name)
    t80, t90 = (float(np.quantile(t, q, method="lower")) for q in args.cuts)
    split = next_item_split(df, t, t90, args.max_history)
    params = dict(n_threads=args.threads, random_state=args.seed, verbose=False)
    if args.epochs is not None:
        params["epochs"] = args.epochs
    first80, slice_, first90 = df.loc[t <= t80], df.loc[(t > t80) & (t <= t90)], df.loc[t <= t90]
    print(f"\n## {name}: {len(first80):,} events to 80 % | {len(slice_):,} in 80-90 % | "
          f"{len(split.test):,} next-item test queries | params {params}")
    refit, refit_s = timed(lambda: Item2Vec(**params).fit(first90))
    base, base_s = timed(lambda: Item2Vec(**params).fit(first80))
    r_refit = recall(refit, split)
    rows = [("refit 90 %", r_refit, refit_s, "", refit.history_decay_),
            ("base 80 % (no update)", recall(base, at(split, first80)), base_s, "", base.history_decay_)]
    best = None
    configs = ([(f, args.blend, args.replay) for f in args.alpha_fractions]
               + [(args.daily_fraction, b, args.replay) for b in args.blends]
               + [(args.daily_fraction, args.blend, rp) for rp in args.replays])
    for f, b, rp in configs:
        m, s = timed(lambda: copy.deepcopy(base).partial_fit(slice_, alpha=f * base.alpha, blend=b, replay=rp))
        r = recall(m, split)
        recs, _ = m.recommend(split.test_history.groupby("user")["item"].apply(list).tolist()[:500], k=10,
                              on_unknown="ignore")
        flood = float(np.isin(recs, m.vocab_.ids[len(base.vocab_):]).mean())
        rows.append((f"base + partial_fit(alpha={f:g}*alpha, blend={b:g}, replay={rp})", r, s,
                     f"{flood:.0%} of top-10 new; "
                     f"{len(m.vocab_) - len(base.vocab_)} new items", m.history_decay_))
        if best is None or r > best[1]:
            best = (f, r, m, b, rp)
    print("| model | recall@10 | vs refit | wall s | vs refit time | note | history_decay_ |")
    print("|---|---:|---:|---:|---:|---|---:|")
    for label, r, s, note, d in rows:
        print(f"| {label} | {r:.4f} | {r / r_refit:.3f} | {s:.2f} | {s / refit_s:.3f} | {note} | {d} |")
    f, _, m, b, rp = best
    oracle = {d: recall(copy.copy(m).set_params(history_decay=d), split) for d in DECAY_GRID}
    print(f"history_decay oracle on the test targets after partial_fit(alpha={f:g}*alpha, blend={b:g}, replay={rp}): "
          + ", ".join(f"{d}: {r:.4f}" for d, r in oracle.items()) + f" (kept: {m.history_decay_})")

    edges = np.quantile(t[(t > t80) & (t <= t90)], np.linspace(0, 1, 6)[1:-1], method="lower")
    bounds = [t80, *map(float, edges), t90]
    fraction = args.daily_fraction
    print(f"\ndaily updates: 5 pieces of the 80-90 % slice, partial_fit(alpha={fraction:g}*alpha, "
          f"blend={args.blend:g}, replay={args.replay}) each")
    print("| step | events so far | partial recall@10 | refit recall@10 | ratio | partial s | refit s |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    model = copy.deepcopy(base)
    for k in range(1, 6):
        piece = df.loc[(t > bounds[k - 1]) & (t <= bounds[k])]
        seen = df.loc[t <= bounds[k]]
        _, ps = timed(lambda: model.partial_fit(piece, alpha=fraction * base.alpha, blend=args.blend,
                                                     replay=args.replay))
        rp = recall(model, at(split, seen))
        if args.daily_refits:
            ref, rs = timed(lambda: Item2Vec(**params).fit(seen))
            rr = recall(ref, at(split, seen))
            print(f"| {k} | {len(seen):,} | {rp:.4f} | {rr:.4f} | {rp / rr:.3f} | {ps:.2f} | {rs:.2f} |")
        else:
            print(f"| {k} | {len(seen):,} | {rp:.4f} | - | - | {ps:.2f} | - |")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("Example")[0])
    p.add_argument("--datasets", default="ml-latest-small,diginetica")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--epochs", type=int, default=None, help="epochs of every fit and update (default: the library's)")
    p.add_argument("--alpha-fractions", type=lambda s: [float(x) for x in s.split(",")], default=[1.0, 0.5, 0.25])
    p.add_argument("--max-history", type=int, default=50, help="most recent events per query history")
    p.add_argument("--daily-fraction", type=float, default=0.5, help="alpha fraction of the daily and blend rows")
    p.add_argument("--blend", type=float, default=0.5, help="partial_fit's blend of the alpha and daily rows")
    p.add_argument("--blends", type=lambda s: [float(x) for x in s.split(",")], default=[0.0, 1.0],
                   help="other blends tried at --daily-fraction")
    p.add_argument("--replay", default="new", help="partial_fit's replay of the alpha, blend and daily rows")
    p.add_argument("--replays", type=lambda s: [x for x in s.split(",") if x], default=["off", "all"],
                   help="other replays tried at --daily-fraction and --blend")
    p.add_argument("--cuts", type=lambda s: tuple(float(x) for x in s.split(",")), default=(0.8, 0.9),
                   help="the time quantiles of the base fit's end and the update's end (test: after the second)")
    p.add_argument("--no-daily-refits", dest="daily_refits", action="store_false")
    p.add_argument("--quick", action="store_true", help="a smoke run: diginetica, 3 epochs, one partial row")
    args = p.parse_args(argv)
    if args.quick:
        args.datasets, args.epochs, args.alpha_fractions, args.blends, args.replays = "diginetica", 3, [0.5], [], ["off"]
    warm_up_item2vec(args.threads)
    Item2Vec(epochs=1, sample=0, n_threads=args.threads, random_state=0).fit([[1, 2, 3]]).partial_fit([[1, 4, 5]])
    print(f"# partial_fit vs refit; {machine_note()}")
    for name in args.datasets.split(","):
        run(name.strip(), args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
