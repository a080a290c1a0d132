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

Under halving, item2vec's search starts from the library defaults, and a trial
replaces them only when it beats them on the validation users and again when both
are refitted with a fresh seed (:mod:`item2vec.selection`).

The model factory used by the search (:func:`make_model`, in
:mod:`item2vec.registry`) is shared with the command-line interface.
"""

from __future__ import annotations

import math
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from .evaluation import evaluate
from .metrics import check_ks
from .model import Item2Vec
from .registry import _SPACES, MODEL_NAMES, SEARCH_SPACES, _check_name, available_space  # noqa: F401 (re-exported)
from .registry import check_model_params, make_model, parse_metric, settable_params
from .search import STRATEGIES, Budget, BudgetExceeded, halving_rungs, optuna_available, optuna_search
from .search import hill_climb, random_search, row_score, run_start, sample_configs, successive_halving
from .selection import beats, challengers, confirm_pick, pick_best, val_scores  # noqa: F401 (beats: re-exported)
from .selection import val_subset as _val_subset
from .splits import Split
from .validation import is_int

__all__ = [
    "MODEL_NAMES", "SEARCH_SPACES", "TuneResult", "make_model", "check_model_params",
    "settable_params", "parse_metric", "sample_configs", "tune", "test_score", "output_rows",
    "available_space", "STRATEGIES",
]

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
    best_trial : int
        Row of ``trials`` that gave ``best_params`` (-1: none finished).
    confirmation : dict or None
        The fresh-seed check of a pick that beat the defaults (``confirm=True``):
        ``trial``, ``seed``, ``defaults`` and ``candidate`` (their refits'
        validation scores), ``kept`` and a one-line ``note``; None when no
        check ran (the defaults won outright, or there was no defaults row).
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
    best_trial: int = -1
    confirmation: dict[str, Any] | None = None

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
         significance: float | None = 0.2, confirm: bool = True) -> TuneResult:
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
        The first evaluation always runs to the end, and so do the refits of
        ``confirm`` (their time is kept for them, so the search may end a little
        past the budget when they run longer than predicted).
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
        The default 0.2 is a coarse filter, since ``confirm`` is the stronger
        check. At 0.05 (the default until 2026-12-02) the guard stopped LastFM
        picks 12-19 % above the defaults on validation, which were 1.03-1.07x the
        tuned ALS on test when let through and confirmed (``benchmarks/tuner.py
        --headline 300 --significance 0.2``).
    confirm : bool
        With that defaults row: a trial that would replace the defaults is
        first refitted with a fresh seed (``seed + 1``), and so are the
        defaults; the trial is kept only if its refit scores higher again
        (:func:`item2vec.selection.confirm_pick`; the record is
        ``TuneResult.confirmation``). Once started, the two refits run to
        their end (they start only when predicted to fit in the time left).
        The search stops early to leave room for them (:data:`CONFIRM_MARGIN`
        times the defaults' evaluation time plus the best trial's so far); a
        budget too small for any search after that returns the defaults, with
        a ``RuntimeWarning``.
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
    active = [clock_budget]  # the budget fits stop at: the search's share, then the whole (confirmation)
    strategy = _pick_strategy(strategy, model_name, space, budget)
    rng = np.random.default_rng(seed)
    on_row = _progress_line(model_name, strategy, metric, clock_budget) if progress else None
    multi = strategy in ("halving", "optuna")
    val_split = _val_subset(split, eval_users, seed) if multi else split
    if significance is not None and not (isinstance(significance, float) and 0 < significance < 1):
        raise ValueError(f"significance must be a float in (0, 1) or None, got significance={significance!r}")
    per_user: list[np.ndarray] = []  # the metric per validation user of each row, in row order

    def fit_and_score(cfg: dict[str, Any], epochs: int | None, fit_seed: int) -> tuple[dict[str, float], np.ndarray]:
        params = {**base, **fixed, **cfg, **({} if epochs is None else {"epochs": epochs})}
        model = make_model(model_name, params, seed=fit_seed, n_threads=n_threads)
        if isinstance(model, Item2Vec) and budget is not None:
            def stop(m: Any, epoch: int, loss: float) -> None:
                if active[0].expired() and n_done[0] > 0:
                    raise BudgetExceeded
            model.callbacks = [*(model.callbacks or ()), stop]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            scores, values = val_scores(model, val_split, ks, metric)
        for w in caught:  # each distinct warning once per search, not once per trial
            seen_warnings.setdefault(str(w.message), w)
        n_done[0] += 1
        return scores, values

    def objective(cfg: dict[str, Any], epochs: int | None) -> dict[str, float]:
        t0 = clock_budget.clock()
        scores, values = fit_and_score(cfg, epochs, seed)
        per_user.append(values)
        value = row_score(scores, metric)
        if value > best_seen[0]:  # the pick a confirmation would refit
            best_seen[:] = [value, clock_budget.clock() - t0]
        return scores

    n_done, seen_warnings, best_seen = [0], {}, [-math.inf, 0.0]  # best_seen: best score so far, its seconds
    start_rows: list[dict[str, Any]] = []
    search_budget = clock_budget
    if multi and start_from_defaults and builtin_space:  # multi-fidelity strategies are item2vec's only
        start = {k: v for k, v in {**Item2Vec().get_params(), **base, **fixed}.items() if k in space}
        first = run_start(objective, start, budget=clock_budget, rows=start_rows, on_row=on_row)
        if first is not None and confirm:  # keep time to refit the defaults and the best so far
            search_budget = clock_budget.keeping(lambda: CONFIRM_MARGIN * (float(first["seconds"]) + best_seen[1]))
            active[0] = search_budget
            _warn_if_no_time(search_budget, first["seconds"])

        def local(cfg: dict[str, Any]) -> dict[str, Any] | None:  # one neighbour, within local_steps of the budget
            if search_budget.seconds is None or search_budget.elapsed() >= local_steps * search_budget.seconds:
                return None
            return run_start(objective, cfg, budget=search_budget, rows=start_rows, on_row=on_row,
                             config=-1 - len(start_rows))

        if first is not None and local_steps and not search_budget.expired():
            hill_climb(start, first.get(metric, math.nan), space, local, metric)
    rows: list[dict[str, Any]] = []
    if on_row is not None and start_rows:  # progress lines number the search's rows as the trials table will
        report, offset = on_row, len(start_rows)
        on_row = lambda r: report({**r, "trial": r["trial"] + offset})  # noqa: E731
    if multi and not (start_rows and search_budget.expired()):  # else no time is left after the defaults
        rungs = halving_rungs(space["epochs"], eta)
        rest = {k: v for k, v in space.items() if k != "epochs"}
        if strategy == "halving":
            configs = sample_configs(rest, trials or 10_000, rng)
            rows = successive_halving(iter(configs), objective, rungs, metric=metric, eta=eta, max_configs=trials,
                                      budget=search_budget, on_row=on_row)
        else:
            rows = optuna_search(rest, objective, rungs, metric=metric, eta=eta, seed=seed, max_configs=trials,
                                 budget=search_budget, on_row=on_row)
    elif not multi:
        configs = sample_configs(space, trials or 10_000, rng)
        rows = random_search(configs, objective, budget=clock_budget, on_row=on_row)
    if start_rows:  # the defaults first, then the search's rows renumbered after them
        rows = start_rows + [{**r, "trial": len(start_rows) + i} for i, r in enumerate(rows)]
    names = list(space)
    best_i = pick_best(rows, per_user, metric, significance, seed, has_defaults=bool(start_rows))
    confirmation = None
    if start_rows and confirm and best_i > 0:
        active[0] = Budget()  # refits that start (predicted to fit in the time kept) run to their end
        best_i, confirmation = confirm_pick(rows, challengers(rows, per_user, metric, significance, seed), names,
                                            metric, seed + 1, clock_budget,
                                            lambda cfg, s: fit_and_score(cfg, None, s)[0])
        if progress:
            print(f"tune {model_name} [{strategy}] confirmation with seed {seed + 1}: {confirmation['note']}",
                  file=sys.stderr, flush=True)
    seconds = clock_budget.elapsed()
    for w in seen_warnings.values():
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    table = pd.DataFrame(rows)
    if table.empty:
        table = pd.DataFrame(columns=["trial", *names, metric])
    for name in names:  # keep 5 as 5 (not 5.0) beside None
        table[name] = pd.Series([r.get(name) for r in rows], dtype=object)
    best_cfg = {k: rows[best_i][k] for k in names} if best_i >= 0 else (
        {k: rows[0][k] for k in names} if rows else {})
    score = rows[best_i].get(metric, math.nan) if best_i >= 0 else math.nan
    return TuneResult(model=model_name, metric=metric, best_params={**base, **fixed, **best_cfg},
                      best_score=float(score), trials=table, space=space, fixed=fixed, strategy=strategy,
                      seconds=seconds, best_trial=best_i, confirmation=confirmation)


#: The time kept for the confirmation's two refits, in multiples of their evaluations' time in the search
#: (fit times vary between runs, and the search's last fit stops at an epoch's end, past its share).
CONFIRM_MARGIN = 1.25


def _warn_if_no_time(search_budget: Budget, defaults_seconds: float) -> None:
    if search_budget.expired():
        warnings.warn(f"a budget of {search_budget.seconds:g}s leaves no time to search: the library defaults "
                      f"took {defaults_seconds:.0f}s to fit and score, and {2 * CONFIRM_MARGIN:g} times that is kept "
                      "to confirm a pick; the defaults are the result (give a larger budget, or confirm=False)",
                      RuntimeWarning, stacklevel=3)


def output_rows(result: TuneResult, test_scores: Mapping[str, float]) -> list[dict[str, Any]]:
    """Rows of ``item2vec tune --output``: one ``"kind": "best"`` row, then one per trial.

    The best row's ``params`` refit the setting with ``Item2Vec(**params)`` (or
    :func:`make_model`); its ``test_*`` fields are ``test_scores``. ``item_groups``
    is data and left out: with ``group_sentences`` > 0, pass it again.
    """
    best = {k: v for k, v in result.best_params.items() if k != "item_groups"}
    rows = [{"model": result.model, "kind": "best", "val_score": result.best_score, "strategy": result.strategy,
             "search_seconds": result.seconds, "trial": result.best_trial, "confirmation": result.confirmation,
             **{f"test_{k}": v for k, v in test_scores.items()}, "params": best}]
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
