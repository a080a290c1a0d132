"""Hyperparameter validation for :class:`item2vec.Item2Vec` (one rule table).

The rules come from :mod:`item2vec.validation`; :func:`validate_params` is
used by ``fit`` and, on the stored parameters, by ``Item2Vec.load``.
"""

from __future__ import annotations

import math
from typing import Any

from .validation import Rule, check, choice_rule, int_rule, optional_rule, real_rule

__all__ = ["RULES", "HyperParameters", "validate_params", "session_gap_seconds", "is_default"]


def session_gap_seconds(value: Any) -> float | None:
    """``session_gap`` in seconds: a positive number, a Timedelta or a pandas Timedelta string ("30min").

    ``None`` stays ``None``; anything else raises ``ValueError`` naming ``session_gap``.
    """
    if value is None:
        return None
    import numpy as np
    import pandas as pd

    rule = ("session_gap must be None, a positive number of seconds, a Timedelta or a Timedelta "
            f"string such as '30min', got session_gap={value!r}")
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(rule)
    try:
        if isinstance(value, str):
            gap = pd.Timedelta(value.strip()).total_seconds()
        elif isinstance(value, (pd.Timedelta, np.timedelta64)) or hasattr(value, "total_seconds"):
            gap = pd.Timedelta(value).total_seconds()
        else:
            gap = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(rule) from None
    if not math.isfinite(gap) or gap <= 0:
        raise ValueError(rule)
    return gap


def _session_gap(v: Any) -> str | None:
    try:
        session_gap_seconds(v)
    except ValueError:
        return "None, a positive number of seconds, a Timedelta or a Timedelta string such as '30min'"
    return None


def _column(v: Any) -> str | None:
    try:
        hash(v)
    except TypeError:
        return "a column name"
    return None if v is not None and not isinstance(v, bool) else "a column name"


RULES: dict[str, Rule] = {
    "vector_size": int_rule(1),
    "window": lambda v: None if v == "auto" or int_rule(1)(v) is None else "'auto' or an integer >= 1",
    "backward_window": optional_rule(int_rule(0)),
    "context": choice_rule("window", "set"),
    "max_set_contexts": int_rule(1),
    "shrink_windows": choice_rule(True, False),
    "negative": int_rule(0),
    "shared_negatives": choice_rule(True, False),
    "ns_exponent": real_rule(),
    "sample": real_rule(0.0),
    "min_count": int_rule(1),
    "min_length": int_rule(1),
    "epochs": int_rule(1),
    "alpha": real_rule(0.0, lo_open=True),
    "min_alpha": real_rule(0.0),
    "n_threads": optional_rule(int_rule(1)),
    "scoring": choice_rule("sgns", "cosine"),
    "history_length": optional_rule(int_rule(1)),
    "history_decay": lambda v: None if v == "auto" or optional_rule(real_rule(0.0, 1.0, lo_open=True))(v) is None
    else "'auto', None or a finite real number > 0.0 and <= 1.0",
    "user_col": _column,
    "item_col": _column,
    "time_col": lambda v: None if v is None or _column(v) is None else "None, 'auto' or a column name",
    "session_gap": _session_gap,
    "weight_col": lambda v: None if v is None or _column(v) is None else "None or a column name",
    # None, a string shortcut, or a strategy object of item2vec.hard_negatives (it validates its own fields)
    "hard_negatives": lambda v: None if v is None or (isinstance(v, str) and v in ("group", "mined")) or hasattr(v, "sampler")
    else "None, 'group', 'mined', a GroupNegatives or a MinedNegatives",
    "hard_negative_ratio": real_rule(0.0, 1.0),
    "hard_negative_start": int_rule(0),
    "groups_on_unknown": choice_rule("raise", "ignore"),
    "group_sentences": int_rule(0),
    "mine_every": int_rule(1),
    "mine_k": int_rule(1),
    "cooccurrence_threshold": int_rule(0),
    "mine_pool": optional_rule(int_rule(1)),
}


def validate_params(params: dict[str, Any]) -> None:
    """Raise ``ValueError`` naming the first invalid hyperparameter, its value and the rule.

    Only the parameter rules: what needs the data's side inputs (``hard_negatives="group"``
    needs ``item_groups``) is checked by ``fit``, when it builds the strategy
    (:func:`item2vec.hard_negatives.as_strategy`).
    """
    for name, rule in RULES.items():
        if name in params:
            check(name, params[name], rule)
    if params.get("min_alpha", 0) > params.get("alpha", math.inf):
        raise ValueError(f"min_alpha must be <= alpha, got min_alpha={params['min_alpha']!r} > alpha={params['alpha']!r}")


def is_default(value: Any, default: Any) -> bool:
    """True when ``value`` is the default: the same object, or equal and of the same type.

    ``1`` is not the default ``True`` nor ``1.0`` the default ``1`` (a changed type is a change).
    """
    return value is default or (type(value) is type(default) and bool(value == default))


class HyperParameters:
    """scikit-learn style ``get_params`` / ``set_params`` over the keyword arguments of ``__init__``.

    Shared by :class:`~item2vec.Item2Vec` and the baselines; ``__init__`` stores
    every argument unchanged under its own name.
    """

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Hyperparameters as a dict (scikit-learn convention)."""
        import inspect

        return {p: getattr(self, p) for p in inspect.signature(type(self).__init__).parameters if p != "self"}

    def set_params(self, **params: Any) -> Any:
        """Set hyperparameters by name (returns ``self``); unknown names raise ``ValueError``."""
        valid = self.get_params()
        for k, v in params.items():
            if k not in valid:
                raise ValueError(f"unknown parameter {k!r}; valid parameters: {sorted(valid)}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        """The class with the parameters that differ from their defaults."""
        defaults = type(self)().get_params()
        changed = {k: v for k, v in self.get_params().items() if not is_default(v, defaults[k])}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in changed.items())})"
