"""Seeded random hyperparameter search on the validation stage of a split.

Each model gets the same budget of ``trials`` settings, drawn without repetition
from its search space (:data:`SEARCH_SPACES`). Every setting is fitted on
``split.train`` and scored on ``split.val`` with :func:`item2vec.evaluation.evaluate`
(stage ``"val"``); the best one is then refitted on train + val and scored on the
test targets with :func:`test_score`. The test targets are never looked at while
searching.

The model factory used by the search (:func:`make_model`) is shared with the
command-line interface.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from .baselines import ALSRecommender, ItemCosineRecommender, PopularityRecommender
from .evaluation import evaluate
from .metrics import METRICS, _check_ks
from .model import Item2Vec
from .params import validate_params
from .splits import Split
from .transition import TransitionRecommender

__all__ = [
    "MODEL_NAMES", "SEARCH_SPACES", "TuneResult", "make_model", "check_model_params",
    "settable_params", "parse_metric", "sample_configs", "tune", "test_score",
]

#: Model names understood by :func:`make_model` (and the CLI's ``--models``).
MODEL_NAMES = ("item2vec", "als", "pop", "cosine", "transition")

_CLASSES = {"item2vec": Item2Vec, "als": ALSRecommender, "pop": PopularityRecommender,
            "cosine": ItemCosineRecommender, "transition": TransitionRecommender}

#: Constructor arguments that make no sense from a command line or a search
#: (objects, or column names: the loaders always produce ``user``/``item``/``timestamp``).
_NOT_SETTABLE = {"item2vec": {"callbacks", "item_groups", "user_col", "item_col", "time_col"}}

#: Values searched for each model (``pop`` has no hyperparameters: one trial).
SEARCH_SPACES: dict[str, dict[str, list[Any]]] = {
    # Narrowed by a 30+30-trial random search and one-factor sweeps on ml-100k and
    # ml-latest-small (val NDCG@10): context="set", sample=1e-4, scoring="cosine" and
    # long histories lost everywhere, so they are left out (add them back with --space).
    "item2vec": {
        "ns_exponent": [-0.5, 0.0, 0.25, 0.5, 0.75, 1.0],
        "window": [3, 5, 7],
        "sample": [0, 1e-3, 1e-2],
        "epochs": [20, 40],
        "vector_size": [32, 64, 128],
        "alpha": [0.025, 0.05],
        "negative": [5, 10],
        "history_length": [1, 2, 3, 5, 10, None],
    },
    "als": {
        "factors": [32, 64, 128, 256],
        "regularization": [0.001, 0.01, 0.1, 1.0],
        "alpha": [1, 5, 10, 40],
        "iterations": [10, 15, 30],
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
        One row per trial in the order run: ``trial``, one column per searched
        hyperparameter, every validation metric, ``fit_seconds``.
    space : dict
        The search space used (after ``fixed`` removed its dimensions).
    fixed : dict
        Hyperparameters held fixed.
    """

    model: str
    metric: str
    best_params: dict[str, Any]
    best_score: float
    trials: pd.DataFrame
    space: dict[str, list[Any]] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)

    @property
    def n_trials(self) -> int:
        return len(self.trials)

    def top(self, n: int = 5) -> pd.DataFrame:
        """The ``n`` best trials by the metric (ties: earlier trial first)."""
        return self.trials.sort_values([self.metric, "trial"], ascending=[False, True],
                                       na_position="last", kind="stable").head(n)


def tune(model_name: str, split: Split, trials: int = 20, seed: int = 0, metric: str = "ndcg@10",
         ks: int | Iterable[int] = (10,), progress: bool = False, *,
         space: Mapping[str, Iterable[Any]] | None = None, fixed: Mapping[str, Any] | None = None,
         base: Mapping[str, Any] | None = None, n_threads: int | None = None) -> TuneResult:
    """Seeded random search for ``model_name`` on the validation stage of ``split``.

    Parameters
    ----------
    model_name : str
        One of :data:`MODEL_NAMES`.
    split : Split
        Must have validation events (e.g. :func:`~item2vec.splits.leave_last_out`).
    trials : int
        Budget: number of distinct settings tried (fewer if the space is smaller).
    seed : int
        Seeds the draw of settings and every model's ``random_state``.
    metric : str
        Validation metric to maximise, ``NAME@K`` (``ndcg``, ``recall``, ``hit``,
        ``mrr``, ``coverage``); ``K`` is added to ``ks`` if missing.
    ks : int or iterable of int
        Cut-offs reported for every trial.
    progress : bool
        A progress bar over the trials.
    space : mapping, optional
        Search space; default :data:`SEARCH_SPACES[model_name]`.
    fixed : mapping, optional
        Hyperparameters held at a value (their dimensions are removed from the space).
    base : mapping, optional
        Values for hyperparameters outside the space (e.g. the CLI defaults).
    n_threads : int, optional
        Threads per fit.
    """
    _check_name(model_name)
    if isinstance(trials, bool) or not isinstance(trials, (int, np.integer)) or trials < 1:
        raise ValueError(f"trials must be a positive integer, got {trials!r}")
    mname, mk = parse_metric(metric)
    metric = f"{mname}@{mk}"
    ks = tuple(sorted(set(_check_ks(ks, 1 << 62)) | {mk}))
    fixed = dict(fixed or {})
    base = dict(base or {})
    space = {k: list(v) for k, v in (SEARCH_SPACES[model_name] if space is None else space).items() if k not in fixed}
    valid = settable_params(model_name)
    bad = [k for k in (*space, *fixed) if k not in valid]
    if bad:
        raise ValueError(f"unknown parameter(s) {', '.join(map(repr, bad))} for model {model_name!r}; "
                         f"valid: {', '.join(valid) or '(none)'}")
    empty = [k for k, v in space.items() if not v]
    if empty:
        raise ValueError(f"search dimension(s) {', '.join(empty)} of {model_name!r} have no values")
    split._check_stage("val")
    configs = sample_configs(space, int(trials), np.random.default_rng(seed))
    rows: list[dict[str, Any]] = []
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(configs), desc=f"tune {model_name}", unit="trial")
    best_i, best = -1, -math.inf
    try:
        for i, cfg in enumerate(configs):
            model = make_model(model_name, {**base, **fixed, **cfg}, seed=seed, n_threads=n_threads)
            scores = evaluate(model, split, ks=ks, stage="val")
            rows.append({"trial": i, **cfg, **scores})
            value = scores.get(metric, math.nan)
            if np.isfinite(value) and value > best:
                best_i, best = i, float(value)
            if bar is not None:
                bar.update(1)
                bar.set_postfix({f"best {metric}": f"{best:.4f}"})
    finally:
        if bar is not None:
            bar.close()
    table = pd.DataFrame(rows)
    for name in {k for cfg in configs for k in cfg}:  # keep 5 as 5 (not 5.0) beside None
        table[name] = pd.Series([r.get(name) for r in rows], dtype=object)
    best_cfg = configs[best_i] if best_i >= 0 else configs[0]
    return TuneResult(model=model_name, metric=metric, best_params={**base, **fixed, **best_cfg},
                      best_score=best if best_i >= 0 else math.nan, trials=table, space=space, fixed=fixed)


def test_score(model_name: str, params: Mapping[str, Any], split: Split, ks: int | Iterable[int] = (10,),
               seed: int = 0, *, n_threads: int | None = None, progress: bool = False) -> dict[str, float]:
    """Fit ``model_name`` with ``params`` on train + val and score it on the test targets.

    Returns :func:`~item2vec.evaluation.evaluate`'s dict (stage ``"test"``).
    """
    model = make_model(model_name, params, seed=seed, n_threads=n_threads, verbose=progress)
    return evaluate(model, split, ks=ks, stage="test", progress=progress)


test_score.__test__ = False  # not a pytest test when imported into a test module
