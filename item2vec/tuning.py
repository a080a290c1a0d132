"""Hyperparameter search on the validation stage of a split.

Every setting is fitted on ``split.train`` and scored on ``split.val`` with
:func:`item2vec.evaluation.evaluate` (stage ``"val"``); the best one is then
refitted on train + val and scored on the test targets with :func:`test_score`.
The test targets are never looked at while searching.

Two budgets, per model: ``trials`` (settings tried) and ``budget`` (wall-clock
seconds for the whole search). The strategies live in :mod:`item2vec.search`:
seeded random search over the grid :data:`SEARCH_SPACES` (the default without a
time budget), successive halving on epochs (the default for item2vec with a time
budget) and optuna's TPE with a pruner (optional extra).

The model factory used by the search (:func:`make_model`) is shared with the
command-line interface.
"""

from __future__ import annotations

import math
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from .baselines import ALSRecommender, ItemCosineRecommender, PopularityRecommender
from .evaluation import evaluate
from .metrics import METRICS, check_ks
from .model import Item2Vec
from .params import validate_params
from .search import STRATEGIES, Budget, BudgetExceeded, halving_rungs, optuna_available, optuna_search
from .search import hill_climb, random_search, run_start, sample_configs, successive_halving
from .selection import beats, val_scores
from .selection import val_subset as _val_subset
from .splits import Split
from .transition import TransitionRecommender
from .validation import is_int

__all__ = [
    "MODEL_NAMES", "SEARCH_SPACES", "TuneResult", "make_model", "check_model_params",
    "settable_params", "parse_metric", "sample_configs", "tune", "test_score", "output_rows",
    "available_space", "STRATEGIES",
]

#: Model names understood by :func:`make_model` (and the CLI's ``--models``).
MODEL_NAMES = ("item2vec", "als", "pop", "cosine", "transition")

_CLASSES = {"item2vec": Item2Vec, "als": ALSRecommender, "pop": PopularityRecommender,
            "cosine": ItemCosineRecommender, "transition": TransitionRecommender}

#: Constructor arguments that make no sense from a command line or a search
#: (objects, or column names: the loaders always produce ``user``/``item``/``timestamp``).
_NOT_SETTABLE = {"item2vec": {"callbacks", "item_groups", "user_col", "item_col", "time_col"}}

#: Values searched for each model (``pop`` has no hyperparameters: one trial).
#: Dimensions naming a parameter the installed model lacks are left out (see
#: :func:`available_space`), so ``history_decay``/``backward_window`` are searched
#: where they exist.
_SPACES: dict[str, dict[str, list[Any]]] = {
    # The published ranges for SGNS recommenders (Caselles-Dupre et al. 2018): ns_exponent
    # -1..1, many epochs, windows up to 20 (40: +11 % on LastFM, -24 % on ml-100k as a default), subsampling.
    # Under successive halving the epochs
    # values give the rungs (min, min*3, ..., max).
    "item2vec": {
        "ns_exponent": [-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 0.75, 1.0],
        "window": [1, 2, 3, 5, 7, 10, 15, 20, "auto", 40],  # "auto": 20 or 40 by the holdout (two fits)
        "sample": [0, 1e-5, 1e-4, 1e-3, 1e-2],
        "epochs": [5, 10, 20, 40, 80, 150],
        "vector_size": [32, 64, 128],
        "alpha": [0.01, 0.025, 0.05, 0.1],
        "negative": [5, 10, 20],
        "history_length": [1, 2, 3, 5, 10, 20, None],
        "history_decay": ["auto", None, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95],
        "backward_window": [None, 0, 1, 2, 3, 5, 10],
        "group_sentences": [0, 1, 2],  # only searched when base/fixed give item_groups (the data's)
    },
    "als": {
        "factors": [16, 32, 64, 128, 256],
        "regularization": [0.001, 0.01, 0.1, 1.0, 10.0],
        "alpha": [0.5, 1, 5, 10, 20, 40],
        "iterations": [10, 15, 30, 50],
    },
    "cosine": {"k_neighbors": [None, 10, 20, 50, 100, 200]},
    "pop": {},
    "transition": {"window": [1, 2, 3, 5], "history_length": [1, 2, 3, 5], "history_decay": [0.3, 0.5, 0.8, 1.0]},
}


def _check_name(name: str) -> str:
    if name not in _CLASSES:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODEL_NAMES)}")
    return name


def _all_params(name: str) -> list[str]:
    return list(_CLASSES[_check_name(name)]().get_params())


def available_space(name: str, space: Mapping[str, Iterable[Any]]) -> dict[str, list[Any]]:
    """``space`` without the dimensions that model ``name`` has no parameter for."""
    valid = set(_all_params(name))
    return {k: list(v) for k, v in space.items() if k in valid}


#: The default search space of each model, as available in this installation.
SEARCH_SPACES: dict[str, dict[str, list[Any]]] = {name: available_space(name, sp) for name, sp in _SPACES.items()}


def settable_params(name: str) -> list[str]:
    """Sorted names of the hyperparameters of model ``name`` that can be set or searched."""
    return sorted(set(_all_params(name)) - _NOT_SETTABLE.get(name, set()))


def make_model(name: str, params: Mapping[str, Any] | None = None, *, seed: int | None = 0,
               n_threads: int | None = None, verbose: bool = False) -> Any:
    """A new, unfitted recommender ``name`` with hyperparameters ``params``.

    ``seed`` and ``n_threads`` fill the model's own seed/thread arguments
    (``random_state``/``n_threads`` for item2vec, ``random_state``/``num_threads``
    for ALS) unless ``params`` sets them; ``verbose`` is item2vec's epoch progress bar.
    Unknown parameter names raise ``ValueError`` listing the valid ones.
    """
    cls = _CLASSES[_check_name(name)]
    params = dict(params or {})
    valid = _all_params(name)
    unknown = [p for p in params if p not in valid]
    if unknown:
        raise ValueError(f"unknown parameter(s) {', '.join(map(repr, unknown))} for model {name!r}; "
                         f"valid: {', '.join(settable_params(name)) or '(none)'}")
    if name == "item2vec":
        params = {"random_state": seed, "n_threads": n_threads, "verbose": verbose, **params}
    elif name == "als":
        params = {"random_state": seed, "num_threads": 0 if n_threads is None else int(n_threads), **params}
    return cls(**params)


def check_model_params(name: str, params: Mapping[str, Any] | None = None) -> None:
    """Raise ``ValueError`` for unknown or invalid hyperparameters, without fitting."""
    model = make_model(name, params)
    if isinstance(model, Item2Vec):
        validate_params(model.get_params())
    else:
        model._check_params()


def parse_metric(metric: str) -> tuple[str, int]:
    """``"ndcg@10"`` -> ``("ndcg", 10)``; ``ValueError`` for anything else."""
    names = (*METRICS, "coverage")
    name, sep, k = str(metric).strip().lower().partition("@")
    if not sep or name not in names or not k.isdigit() or int(k) < 1:
        raise ValueError(f"metric must look like NAME@K with NAME one of {', '.join(names)} "
                         f"and K a positive integer (e.g. ndcg@10), got {metric!r}")
    return name, int(k)


@dataclass
class TuneResult:
    """The outcome of :func:`tune` for one model.

    Attributes
    ----------
    model : str
    metric : str
        The validation metric maximised, e.g. ``"ndcg@10"``.
    best_params : dict
        Hyperparameters of the best trial: ``base``, then ``fixed``, then the
        searched values (pass them to :func:`make_model` / :func:`test_score`).
    best_score : float
        Its validation score (NaN if no trial gave a finite score).
    trials : pandas.DataFrame
        One row per finished evaluation in the order run: ``trial``, one column per
        searched hyperparameter, every validation metric, ``fit_seconds``,
        ``seconds``; successive halving and optuna add ``config`` (setting id) and
        ``rung`` (``epochs`` is then the rung's epochs).
    space : dict
        The search space used (after ``fixed`` removed its dimensions).
    fixed : dict
        Hyperparameters held fixed.
    strategy : str
        The search strategy that ran (see :data:`item2vec.search.STRATEGIES`).
    seconds : float
        Wall-clock time of the search.
    """

    model: str
    metric: str
    best_params: dict[str, Any]
    best_score: float
    trials: pd.DataFrame
    space: dict[str, list[Any]] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)
    strategy: str = "random"
    seconds: float = math.nan

    @property
    def n_trials(self) -> int:
        return len(self.trials)

    def top(self, n: int = 5) -> pd.DataFrame:
        """The ``n`` best trials by the metric (ties: earlier trial first)."""
        return self.trials.sort_values([self.metric, "trial"], ascending=[False, True],
                                       na_position="last", kind="stable").head(n)


def _pick_strategy(strategy: str, model_name: str, space: Mapping[str, list[Any]], budget: float | None) -> str:
    if strategy not in ("auto", *STRATEGIES):
        raise ValueError(f"strategy must be one of auto, {', '.join(STRATEGIES)}, got {strategy!r}")
    multi_fidelity = model_name == "item2vec" and len(space.get("epochs", ())) > 1
    if strategy == "auto":
        return "halving" if budget is not None and multi_fidelity else "random"
    if strategy != "random" and not multi_fidelity:
        return "random"  # nothing to halve on (epochs fixed, or a model without epochs)
    if strategy == "optuna" and not optuna_available():
        warnings.warn("optuna is not installed (pip install optuna): strategy='optuna' falls back "
                      "to 'halving'", RuntimeWarning, stacklevel=3)
        return "halving"
    return strategy


def _progress_line(model_name: str, strategy: str, metric: str, budget: Budget) -> Callable[[dict], None]:
    best = [-math.inf]

    def report(row: dict[str, Any]) -> None:
        value = row.get(metric, math.nan)
        if value is not None and np.isfinite(value):
            best[0] = max(best[0], float(value))
        where = f" rung {row['rung']} epochs={row['epochs']}" if "rung" in row else ""
        left = "" if budget.seconds is None else f", {max(budget.remaining(), 0):.0f}s left"
        print(f"tune {model_name} [{strategy}] trial {row['trial']}{where}: {metric}={value:.4f} "
              f"(best {best[0]:.4f}) in {row['seconds']:.1f}s{left}", file=sys.stderr, flush=True)
    return report


def tune(model_name: str, split: Split, trials: int | None = 20, seed: int = 0, metric: str = "ndcg@10",
         ks: int | Iterable[int] = (10,), progress: bool = False, *,
         space: Mapping[str, Iterable[Any]] | None = None, fixed: Mapping[str, Any] | None = None,
         base: Mapping[str, Any] | None = None, n_threads: int | None = None,
         budget: float | None = None, strategy: str = "auto", eta: int = 3,
         eval_users: int | None = 5000, clock: Callable[[], float] | None = None,
         start_from_defaults: bool = True, local_steps: float = 0.5,
         significance: float | None = 0.05) -> TuneResult:
    """Hyperparameter search for ``model_name`` on the validation stage of ``split``.

    Parameters
    ----------
    model_name : str
        One of :data:`MODEL_NAMES`.
    split : Split
        Must have validation events (e.g. :func:`~item2vec.splits.leave_last_out`).
    trials : int or None
        Settings tried (random search), or settings at the first rung (halving,
        optuna); fewer if the space is smaller. ``None``: as many as ``budget`` allows.
    seed : int
        Seeds the draw of settings and every model's ``random_state``.
    metric : str
        Validation metric to maximise, ``NAME@K`` (``ndcg``, ``recall``, ``hit``,
        ``mrr``, ``coverage``); ``K`` is added to ``ks`` if missing.
    ks : int or iterable of int
        Cut-offs reported for every trial.
    progress : bool
        One line on stderr per finished evaluation (trial or rung).
    space : mapping, optional
        Search space; default :data:`SEARCH_SPACES[model_name]`.
    fixed : mapping, optional
        Hyperparameters held at a value (their dimensions are removed from the space).
    base : mapping, optional
        Values for hyperparameters outside the space (e.g. the CLI defaults).
    n_threads : int, optional
        Threads per fit.
    budget : float, optional
        Wall-clock seconds for the whole search: no evaluation starts after it (nor,
        under halving/optuna, when it is predicted to end after it), and an item2vec
        fit still running at the deadline is abandoned (its row is not recorded).
        The first evaluation always runs to the end.
    strategy : {"auto", "random", "halving", "optuna"}
        ``"auto"``: successive halving on epochs for item2vec when ``budget`` is set
        and ``epochs`` is searched, else random search. ``"optuna"`` falls back to
        ``"halving"`` (with a warning) when optuna is not installed.
    eta : int
        Halving rate: each rung keeps the best ``1/eta`` and multiplies epochs by ``eta``.
    eval_users : int or None
        Halving and optuna score on at most this many random validation users (the
        same users for every evaluation); ``None``: all. Random search uses all.
    clock : callable, optional
        Seconds source for ``budget`` (default :func:`time.monotonic`).
    start_from_defaults : bool
        Under halving/optuna for item2vec with the built-in space, first
        evaluate the library defaults (with ``base`` and ``fixed``) at their own
        epochs (a row with ``rung`` -1), so the search never returns a setting
        that scored below them on validation. Not with a custom space (its
        bounds rule) nor under random search (its trials are the budget).
    local_steps : float
        After the defaults row, while less than this share of ``budget`` is
        spent, a hill climb from them (:func:`item2vec.search.hill_climb`):
        one-step neighbours (:func:`item2vec.search.neighbours`, e.g. the next
        larger and smaller ``window``) evaluated at the defaults' epochs (rows
        with ``rung`` -1 and ``config`` -2, -3, ...), moving on from the first
        that scores higher than the setting it came from (so two changes, such
        as ``group_sentences=1`` and then ``window=40``, can be reached);
        halving gets the rest. 0: none.
    significance : float or None
        With that defaults row: the best trial replaces the defaults only when a
        paired bootstrap over the validation users (:func:`item2vec.selection.beats`) finds its
        mean ``metric`` higher with one-sided p below ``significance``; else
        the defaults are the result. Validation sets of a few thousand users
        are noisy, and the best of hundreds of evaluations wins partly by luck
        (LastFM, 1,090 users: a trial 17 % above the defaults on validation
        was no better on test). ``None``: the best trial, whatever its margin.
    """
    _check_name(model_name)
    if trials is not None and (not is_int(trials) or trials < 1):
        raise ValueError(f"trials must be a positive integer or None, got {trials!r}")
    if trials is None and budget is None:
        raise ValueError("tune needs trials or a budget (or both); got trials=None and budget=None")
    mname, mk = parse_metric(metric)
    metric = f"{mname}@{mk}"
    ks = tuple(sorted(set(check_ks(ks, 1 << 62)) | {mk}))
    fixed = dict(fixed or {})
    base = dict(base or {})
    builtin_space = space is None or {k: list(v) for k, v in space.items()} == SEARCH_SPACES.get(model_name)
    space = {k: list(v) for k, v in (SEARCH_SPACES[model_name] if space is None else space).items() if k not in fixed}
    if model_name == "item2vec" and {**base, **fixed}.get("item_groups") is None and "group_sentences" in space:
        if not builtin_space and any(space["group_sentences"]):
            raise ValueError("the search space has group_sentences values > 0, which need item groups: give "
                             "item_groups in base or fixed (the CLI does for data with genres or attributes)")
        del space["group_sentences"]  # nothing to search without the data's item groups
    valid = settable_params(model_name)
    bad = [k for k in (*space, *fixed) if k not in valid]
    if bad:
        raise ValueError(f"unknown parameter(s) {', '.join(map(repr, bad))} for model {model_name!r}; "
                         f"valid: {', '.join(valid) or '(none)'}")
    empty = [k for k, v in space.items() if not v]
    if empty:
        raise ValueError(f"search dimension(s) {', '.join(empty)} of {model_name!r} have no values")
    split._check_stage("val")
    clock_budget = Budget(budget, **({} if clock is None else {"clock": clock}))
    strategy = _pick_strategy(strategy, model_name, space, budget)
    rng = np.random.default_rng(seed)
    on_row = _progress_line(model_name, strategy, metric, clock_budget) if progress else None
    multi = strategy in ("halving", "optuna")
    val_split = _val_subset(split, eval_users, seed) if multi else split
    if significance is not None and not (isinstance(significance, float) and 0 < significance < 1):
        raise ValueError(f"significance must be a float in (0, 1) or None, got significance={significance!r}")
    per_user: list[np.ndarray] = []  # the metric per validation user of each row, in row order

    def objective(cfg: dict[str, Any], epochs: int | None) -> dict[str, float]:
        params = {**base, **fixed, **cfg, **({} if epochs is None else {"epochs": epochs})}
        model = make_model(model_name, params, seed=seed, n_threads=n_threads)
        if isinstance(model, Item2Vec) and budget is not None:
            def stop(m: Any, epoch: int, loss: float) -> None:
                if clock_budget.expired() and n_done[0] > 0:
                    raise BudgetExceeded
            model.callbacks = [*(model.callbacks or ()), stop]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            scores, values = val_scores(model, val_split, ks, metric)
        per_user.append(values)
        for w in caught:  # each distinct warning once per search, not once per trial
            seen_warnings.setdefault(str(w.message), w)
        n_done[0] += 1
        return scores

    n_done, seen_warnings = [0], {}
    start_rows: list[dict[str, Any]] = []
    if multi and start_from_defaults and builtin_space:  # multi-fidelity strategies are item2vec's only
        start = {k: v for k, v in {**Item2Vec().get_params(), **base, **fixed}.items() if k in space}
        first = run_start(objective, start, budget=clock_budget, rows=start_rows, on_row=on_row)

        def local(cfg: dict[str, Any]) -> dict[str, Any] | None:  # one neighbour, within local_steps of the budget
            if clock_budget.seconds is None or clock_budget.elapsed() >= local_steps * clock_budget.seconds:
                return None
            return run_start(objective, cfg, budget=clock_budget, rows=start_rows, on_row=on_row,
                             config=-1 - len(start_rows))

        if first is not None and local_steps:
            hill_climb(start, first.get(metric, math.nan), space, local, metric)
    if multi:
        rungs = halving_rungs(space["epochs"], eta)
        rest = {k: v for k, v in space.items() if k != "epochs"}
        if strategy == "halving":
            configs = sample_configs(rest, trials or 10_000, rng)
            rows = successive_halving(iter(configs), objective, rungs, metric=metric, eta=eta, max_configs=trials,
                                      budget=clock_budget, on_row=on_row)
        else:
            rows = optuna_search(rest, objective, rungs, metric=metric, eta=eta, seed=seed, max_configs=trials,
                                 budget=clock_budget, on_row=on_row)
    else:
        configs = sample_configs(space, trials or 10_000, rng)
        rows = random_search(configs, objective, budget=clock_budget, on_row=on_row)
    if start_rows:  # the defaults first, then the search's rows renumbered after them
        rows = start_rows + [{**r, "trial": len(start_rows) + i} for i, r in enumerate(rows)]
    seconds = clock_budget.elapsed()
    for w in seen_warnings.values():
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    names = list(space)
    table = pd.DataFrame(rows)
    if table.empty:
        table = pd.DataFrame(columns=["trial", *names, metric])
    for name in names:  # keep 5 as 5 (not 5.0) beside None
        table[name] = pd.Series([r.get(name) for r in rows], dtype=object)
    scores = [r.get(metric, math.nan) for r in rows]
    finite = [i for i, v in enumerate(scores) if v is not None and np.isfinite(v)]
    best_i = max(finite, key=lambda i: (scores[i], -i)) if finite else -1
    if start_rows and significance is not None and best_i > 0 and 0 in finite and per_user[0].size \
            and not beats(per_user[best_i], per_user[0], significance, seed=seed):  # (coverage: no per-user values)
        best_i = 0  # not clearly better than the defaults: keep them
    best_cfg = {k: rows[best_i][k] for k in names} if best_i >= 0 else (
        {k: rows[0][k] for k in names} if rows else {})
    return TuneResult(model=model_name, metric=metric, best_params={**base, **fixed, **best_cfg},
                      best_score=float(scores[best_i]) if best_i >= 0 else math.nan, trials=table, space=space,
                      fixed=fixed, strategy=strategy, seconds=seconds)


def output_rows(result: TuneResult, test_scores: Mapping[str, float]) -> list[dict[str, Any]]:
    """Rows of ``item2vec tune --output``: one ``"kind": "best"`` row, then one per trial.

    The best row's ``params`` refit the setting with ``Item2Vec(**params)`` (or
    :func:`make_model`); its ``test_*`` fields are ``test_scores``. ``item_groups``
    is data and left out: with ``group_sentences`` > 0, pass it again.
    """
    best = {k: v for k, v in result.best_params.items() if k != "item_groups"}
    rows = [{"model": result.model, "kind": "best", "val_score": result.best_score, "strategy": result.strategy,
             "search_seconds": result.seconds, **{f"test_{k}": v for k, v in test_scores.items()},
             "params": best}]
    for row in result.trials.to_dict("records"):
        rows.append({"model": result.model, "kind": "trial", "trial": row["trial"], "val_score": row.get(result.metric),
                     **{f"val_{k}": v for k, v in row.items() if k not in result.space and k != "trial"},
                     "params": {k: row[k] for k in result.space}})
    return rows


def test_score(model_name: str, params: Mapping[str, Any], split: Split, ks: int | Iterable[int] = (10,),
               seed: int = 0, *, n_threads: int | None = None, progress: bool = False) -> dict[str, float]:
    """Fit ``model_name`` with ``params`` on train + val and score it on the test targets.

    Returns :func:`~item2vec.evaluation.evaluate`'s dict (stage ``"test"``).
    """
    model = make_model(model_name, params, seed=seed, n_threads=n_threads, verbose=progress)
    return evaluate(model, split, ks=ks, stage="test", progress=progress)


test_score.__test__ = False  # not a pytest test when imported into a test module
