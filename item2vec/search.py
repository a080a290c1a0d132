"""Search strategies for :func:`item2vec.tuning.tune`, under a trial and/or wall-clock budget.

Every strategy calls an *objective* ``objective(config, resource) -> scores`` (a dict
of validation metrics, e.g. :func:`item2vec.evaluation.evaluate`'s) and returns one
row per finished evaluation, in the order run. ``resource`` is the number of epochs
for the multi-fidelity strategies and ``None`` for random search.

* :func:`random_search` evaluates the given settings one by one until they or the
  budget run out.
* :func:`successive_halving` fits many random settings with few epochs, keeps the
  best ``1/eta`` of them, refits those with ``eta`` times more epochs, and so on up
  to the largest number of epochs (each setting at each rung is a fresh fit, so a
  row's score is exactly that of ``Item2Vec(epochs=resource, **config)``). Under a
  wall-clock budget, each rung gets an equal share of the time left, so the number
  of settings at the first rung adapts to how fast the model fits.
* :func:`optuna_search` is the same schedule with the settings proposed by optuna's
  TPE sampler and stopped by its successive-halving pruner (needs ``optuna``,
  not a dependency of item2vec:
  ``pip install "item2vec[tune]"``).

Measured at equal time against 20 random trials (``benchmarks/tuner.py``, see
benchmarks/README.md): successive halving won on LastFM and Toys and tied on ml-100k
(validation), optuna lost on LastFM, so ``item2vec tune --budget`` uses halving.

A :class:`Budget` carries the deadline; objectives may raise :class:`BudgetExceeded`
to abandon a fit that runs past it (the unfinished evaluation is not recorded).
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping

import numpy as np

from .validation import check_int

__all__ = ["Budget", "BudgetExceeded", "STRATEGIES", "halving_rungs", "random_search",
           "successive_halving", "optuna_search", "optuna_available", "run_start", "sample_configs",
           "neighbours", "hill_climb", "NEIGHBOUR_DIMS", "row_score"]

#: Names accepted by :func:`item2vec.tuning.tune` (``strategy=``).
STRATEGIES = ("random", "halving", "optuna")

Objective = Callable[[dict[str, Any], "int | None"], Mapping[str, float]]
OnRow = Callable[[dict[str, Any]], None]


class BudgetExceeded(Exception):
    """Raised (by an objective) when the wall-clock budget ran out during an evaluation."""


@dataclass
class Budget:
    """A wall-clock deadline (``seconds=None``: no limit) measured by ``clock``.

    ``clock`` is any function returning seconds (default :func:`time.monotonic`);
    tests pass a fake one. The budget starts when the object is created.
    ``reserve``, if given, is asked afresh each time for seconds to keep back from
    the end (see :meth:`keeping`).
    """

    seconds: float | None = None
    clock: Callable[[], float] = time.monotonic
    reserve: Callable[[], float] | None = None
    start: float = field(init=False)

    def __post_init__(self) -> None:
        if self.seconds is not None and (isinstance(self.seconds, bool) or not self.seconds > 0):
            raise ValueError(f"budget must be a positive number of seconds or None, got {self.seconds!r}")
        self.start = self.clock()

    def elapsed(self) -> float:
        return self.clock() - self.start

    def remaining(self) -> float:
        if self.seconds is None:
            return math.inf
        return self.seconds - self.elapsed() - (0.0 if self.reserve is None else float(self.reserve()))

    def expired(self) -> bool:
        return self.remaining() <= 0

    def keeping(self, reserve: Callable[[], float]) -> "Budget":
        """This budget (same start, clock and ``seconds``) with ``reserve()`` seconds kept back from its end.

        The reserve is read each time the time left is asked, so it can grow as
        the work it is kept for grows. Without a limit, this budget itself.
        """
        if self.seconds is None:
            return self
        kept = Budget(self.seconds, self.clock, reserve)
        kept.start = self.start
        return kept


def _space_size(space: Mapping[str, list[Any]]) -> int:
    return math.prod(len(v) for v in space.values())


def sample_configs(space: Mapping[str, Iterable[Any]], n: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """``n`` distinct settings drawn uniformly from the grid ``space``.

    When the grid has at most ``n`` settings, all of them are returned (in random
    order). An empty space gives one empty setting.
    """
    space = {k: list(v) for k, v in space.items()}
    names = list(space)
    size = _space_size(space)
    if size <= n:
        combos = list(itertools.product(*(space[k] for k in names)))
        order = rng.permutation(len(combos))
        return [dict(zip(names, combos[i])) for i in order]
    if size <= 10_000_000:
        flat = rng.choice(size, size=n, replace=False)
    else:  # rejection sampling: collisions are rare in such a large grid
        seen: set[int] = set()
        flat_list: list[int] = []
        while len(flat_list) < n:
            i = int(rng.integers(size))
            if i not in seen:
                seen.add(i)
                flat_list.append(i)
        flat = np.asarray(flat_list)
    configs = []
    for index in flat.tolist():
        cfg = {}
        for k in reversed(names):  # mixed-radix decoding, last dimension fastest
            index, j = divmod(index, len(space[k]))
            cfg[k] = space[k][j]
        configs.append({k: cfg[k] for k in names})
    return configs


def halving_rungs(resources: Iterable[int], eta: int = 3) -> list[int]:
    """Epoch counts of the rungs: ``min, min*eta, min*eta**2, ...`` below ``max``, then ``max``.

    A rung less than 1.5 times below ``max`` is replaced by ``max`` (5..150, eta 3:
    ``[5, 15, 45, 150]``, not ``[5, 15, 45, 135, 150]``).

    ``resources`` are the epoch values of the search space (their min and max are used).
    """
    values = sorted({int(r) for r in resources})
    if not values or values[0] < 1:
        raise ValueError(f"halving needs epoch values >= 1, got {values!r}")
    check_int("eta", eta, 2)
    lo, hi = values[0], values[-1]
    rungs = [lo]
    while rungs[-1] * eta < hi:
        rungs.append(rungs[-1] * eta)
    if rungs[-1] != hi:  # the last rung is max: replace a rung close below it, else add it
        if len(rungs) > 1 and hi < 1.5 * rungs[-1]:
            rungs[-1] = hi
        else:
            rungs.append(hi)
    return rungs


def row_score(row: Mapping[str, Any], metric: str) -> float:
    """``row[metric]`` as a float, or ``-inf`` when it is missing, None or not finite (it never wins)."""
    value = row.get(metric, math.nan)
    return float(value) if value is not None and np.isfinite(value) else -math.inf


def _run(objective: Objective, cfg: dict[str, Any], resource: int | None, budget: Budget,
         row: dict[str, Any], rows: list[dict[str, Any]], on_row: OnRow | None) -> dict[str, Any] | None:
    """One evaluation: the row appended (and reported), or None when the budget ran out during it."""
    t0 = budget.clock()
    try:
        scores = dict(objective(dict(cfg), resource))
    except BudgetExceeded:
        return None
    row = {"trial": len(rows), **row, **cfg, **scores, "seconds": budget.clock() - t0}
    rows.append(row)
    if on_row is not None:
        on_row(row)
    return row


def run_start(objective: Objective, start: dict[str, Any], *, budget: Budget, rows: list[dict[str, Any]],
              on_row: OnRow | None = None, config: int = -1) -> dict[str, Any] | None:
    """Evaluate one starting setting (``start["epochs"]`` as the resource) as row ``rung=-1``, appended to ``rows``."""
    cfg = {k: v for k, v in start.items() if k != "epochs"}
    epochs = start.get("epochs")
    return _run(objective, cfg, epochs, budget, {"config": config, "rung": -1, "epochs": epochs}, rows, on_row)


#: Dimensions whose neighbours of the defaults :func:`neighbours` proposes, in the order tried (data panel;
#: ``group_sentences`` only where the data has item groups). A fixed ``history_decay`` comes first: the
#: decay ``"auto"`` picks per fit is the noisiest part of a validation score (LastFM, 4 seeds: the defaults
#: with ``group_sentences=1`` ranged 0.041-0.059 NDCG@10, with decay 0.8 and window 40 as well 0.054-0.060).
#: With a fixed decay ``window="auto"`` still chooses 20 or 40 (:func:`item2vec.holdout.wants_holdout`), so
#: this first step costs two fits and keeps LastFM's wide window.
NEIGHBOUR_DIMS = ("history_decay", "group_sentences", "window", "ns_exponent", "backward_window", "vector_size",
                  "sample")


def neighbours(start: Mapping[str, Any], space: Mapping[str, list[Any]],
               dims: Iterable[str] = NEIGHBOUR_DIMS) -> list[dict[str, Any]]:
    """Settings one step from ``start`` in one dimension: the next larger, then the next smaller value of ``space``.

    Only dimensions of ``space`` whose values contain ``start``'s value move;
    each neighbour keeps every other value of ``start``.
    """
    out = []
    for k in dims:
        values = list(space.get(k, ()))
        if k not in start or start[k] not in values:
            continue
        i = values.index(start[k])
        for j in (i + 1, i - 1):
            if 0 <= j < len(values):
                out.append({**start, k: values[j]})
    return out


def _key(cfg: Mapping[str, Any]) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in cfg.items()))


def hill_climb(start: Mapping[str, Any], start_score: float, space: Mapping[str, list[Any]],
               run: Callable[[dict[str, Any]], "dict[str, Any] | None"], metric: str,
               dims: Iterable[str] = NEIGHBOUR_DIMS) -> dict[str, Any]:
    """First-improvement coordinate ascent from ``start`` (scored ``start_score``) over :func:`neighbours`.

    The neighbours of the current setting are evaluated in order (``run(cfg)``
    returns the row, or None to stop: budget spent); the first that scores
    higher on ``metric`` becomes the current setting and the climb goes on
    from its neighbours. It ends at a setting none of whose neighbours scores
    higher (each setting is evaluated once), or when ``run`` returns None.
    Returns the last current setting.
    """
    current, score = dict(start), float(start_score)
    tried = {_key(current)}
    while True:
        for cfg in neighbours(current, space, dims):
            if _key(cfg) in tried:
                continue
            tried.add(_key(cfg))
            row = run(cfg)
            if row is None:
                return current
            value = row_score(row, metric)
            if value > score:
                current, score = cfg, value
                break  # climb from the better setting
        else:
            return current  # no neighbour is better: a local optimum


def random_search(configs: Iterable[dict[str, Any]], objective: Objective, *, budget: Budget | None = None,
                  on_row: OnRow | None = None) -> list[dict[str, Any]]:
    """Evaluate ``configs`` in order (``resource=None``) until they or ``budget`` run out.

    The first setting is always evaluated; later ones only while time is left.
    """
    budget = budget or Budget()
    rows: list[dict[str, Any]] = []
    for cfg in configs:
        if (rows and budget.expired()) or _run(objective, cfg, None, budget, {}, rows, on_row) is None:
            break
    return rows


def _predict(row: Mapping[str, Any], resource: int) -> float:
    """Seconds to fit and score ``row``'s setting with ``resource`` epochs, from its last run."""
    total = float(row.get("seconds", 0.0))
    fit = row.get("fit_seconds", math.nan)
    fit = total if fit is None or not np.isfinite(fit) else min(float(fit), total)
    return (total - fit) + fit * resource / max(int(row["epochs"]), 1)


def successive_halving(configs: Iterator[dict[str, Any]], objective: Objective, rungs: list[int], *,
                       metric: str, eta: int = 3, max_configs: int | None = None,
                       budget: Budget | None = None, on_row: OnRow | None = None) -> list[dict[str, Any]]:
    """Successive halving on epochs: rows carry ``config`` (setting id), ``rung`` and ``epochs``.

    Parameters
    ----------
    configs : iterator of dict
        Distinct settings (without ``epochs``), drawn lazily as the first rung needs them.
    objective : callable
        ``objective(config, epochs) -> scores``.
    rungs : list of int
        Epochs of each rung, increasing (see :func:`halving_rungs`).
    metric : str
        Key of the scores to maximise.
    eta : int
        Keep the best ``ceil(n / eta)`` settings of a rung for the next one.
    max_configs : int, optional
        At most this many settings at the first rung of a bracket (default: as
        many as the budget allows; without a budget, required).
    budget : Budget, optional
        Each rung gets ``remaining / rungs_left`` seconds; a setting is not started
        when its predicted time (from its previous rung) exceeds the time left.
        When a bracket ends with time left, a new bracket starts on fresh settings
        (without a budget, one bracket runs).
    """
    budget = budget or Budget()
    if max_configs is None and budget.seconds is None:
        raise ValueError("successive halving needs max_configs or a wall-clock budget")
    rows: list[dict[str, Any]] = []
    while True:  # brackets, each on fresh settings, until the settings or the time run out
        n_before = len(rows)
        done = _bracket(configs, objective, rungs, metric, eta, max_configs, budget, rows, on_row)
        if done or budget.seconds is None or budget.expired() or len(rows) == n_before:
            return rows


def _bracket(configs: Iterator[dict[str, Any]], objective: Objective, rungs: list[int], metric: str, eta: int,
             max_configs: int | None, budget: Budget, rows: list[dict[str, Any]], on_row: OnRow | None) -> bool:
    """One successive-halving bracket appended to ``rows``; True when no further bracket can run."""
    n_rungs = len(rungs)
    # rung 0: as many settings as fit in its share of the time (and max_configs)
    share_end = budget.elapsed() + budget.remaining() / n_rungs
    current: list[tuple[int, dict[str, Any], dict[str, Any]]] = []  # (config id, setting, last row)
    first = not rows
    while max_configs is None or len(current) < max_configs:
        if (current or not first) and (budget.expired() or budget.elapsed() >= share_end):
            break
        if current and budget.seconds is not None and _predict(current[-1][2], rungs[0]) > budget.remaining():
            break
        cfg = next(configs, None)
        if cfg is None:
            if not current:
                return True
            break
        cid = 1 + max((r["config"] for r in rows), default=-1)
        row = _run(objective, cfg, rungs[0], budget, {"config": cid, "rung": 0, "epochs": rungs[0]}, rows, on_row)
        if row is None:
            return True
        current.append((cid, cfg, row))
    for k in range(1, n_rungs):
        if len(current) <= 1 or budget.expired():
            break
        keep = math.ceil(len(current) / eta)
        current = sorted(current, key=lambda c: (-row_score(c[2], metric), c[0]))[:keep]
        share = budget.remaining() / (n_rungs - k)
        planned, cost = [], 0.0
        for cand in current:  # best first: the plan keeps the best settings that fit in the share
            need = _predict(cand[2], rungs[k])
            if (planned and cost + need > share) or need > budget.remaining():
                break
            planned.append(cand)
            cost += need
        nxt = []
        for cid, cfg, last in planned:
            if budget.expired() or _predict(last, rungs[k]) > budget.remaining():
                break
            row = _run(objective, cfg, rungs[k], budget, {"config": cid, "rung": k, "epochs": rungs[k]}, rows, on_row)
            if row is None:
                return True
            nxt.append((cid, cfg, row))
        if not nxt:
            break
        current = nxt
    return False


def optuna_available() -> bool:
    """Whether the optional ``optuna`` package can be imported."""
    try:
        import optuna  # noqa: F401
    except ImportError:
        return False
    return True


def optuna_search(space: Mapping[str, list[Any]], objective: Objective, rungs: list[int], *, metric: str,
                  eta: int = 3, seed: int = 0, max_configs: int | None = None, budget: Budget | None = None,
                  on_row: OnRow | None = None) -> list[dict[str, Any]]:
    """TPE-proposed settings, each fitted at the rungs' epochs until optuna's pruner stops it.

    ``space`` excludes ``epochs`` (the rungs are the resource). Rows as in
    :func:`successive_halving`. Raises ``ImportError`` naming the extra when optuna
    is not installed.
    """
    try:
        import optuna
    except ImportError:
        raise ImportError("strategy='optuna' needs the optuna package: pip install optuna "
                          "(or use strategy='halving', which needs nothing extra)") from None
    budget = budget or Budget()
    if max_configs is None and budget.seconds is None:
        raise ValueError("optuna search needs max_configs or a wall-clock budget")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max_configs or 10))
    pruner = optuna.pruners.SuccessiveHalvingPruner(min_resource=rungs[0], reduction_factor=eta)
    study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
    rows: list[dict[str, Any]] = []
    names = list(space)
    stop = {"budget": False}

    def trial_fn(trial: Any) -> float:
        cfg = {k: space[k][trial.suggest_categorical(k, list(range(len(space[k]))))] for k in names}
        best, last = -math.inf, None
        for k, epochs in enumerate(rungs):
            if last is not None and _predict(last, epochs) > budget.remaining():
                break
            row = _run(objective, cfg, epochs, budget, {"config": trial.number, "rung": k, "epochs": epochs},
                       rows, on_row)
            if row is None:
                stop["budget"] = True
                break
            last, value = row, row_score(row, metric)
            best = max(best, value)
            trial.report(value if np.isfinite(value) else -1.0, epochs)
            if trial.should_prune():
                raise optuna.TrialPruned()
        if best == -math.inf:
            raise optuna.TrialPruned()
        return best

    def callback(study: Any, trial: Any) -> None:
        if stop["budget"] or budget.expired():
            study.stop()

    timeout = None if budget.seconds is None else max(budget.remaining(), 0.0)
    study.optimize(trial_fn, n_trials=max_configs, timeout=timeout, callbacks=[callback],
                   catch=(), gc_after_trial=False)
    return rows
