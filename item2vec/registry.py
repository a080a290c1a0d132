"""The models the tuner and the command line know: their names, search spaces and factory.

:func:`make_model` builds any of :data:`MODEL_NAMES` from a dict of
hyperparameters (with the seed and thread arguments each one names its own
way); :data:`SEARCH_SPACES` holds the grid :func:`item2vec.tuning.tune`
searches by default for each.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from .baselines import ALSRecommender, ItemCosineRecommender, PopularityRecommender
from .metrics import METRICS
from .model import Item2Vec
from .params import validate_params
from .transition import TransitionRecommender

__all__ = ["MODEL_NAMES", "SEARCH_SPACES", "available_space", "settable_params", "make_model",
           "check_model_params", "parse_metric"]

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
        # in order of the weight kept by older items (None: none lost); "auto" (the holdout's choice of
        # 0.3..0.95, 0.7 when in doubt) sits between 0.7 and 0.8, the hill climb's two steps from it
        "history_decay": [0.3, 0.5, 0.7, "auto", 0.8, 0.9, 0.95, None],
        "backward_window": [None, 0, 1, 2, 3, 5, 10],
        "group_sentences": [0, 1],  # only with item_groups in base/fixed (the data's); 2 was no better, 2x slower
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
