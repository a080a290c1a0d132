"""Hyperparameter validation for :class:`item2vec.Item2Vec` (one rule table)."""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any, Callable

__all__ = ["validate_params"]


def _int(lo: int | None = None) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        if isinstance(v, bool) or not isinstance(v, Integral):
            return f"an integer{'' if lo is None else f' >= {lo}'}"
        if lo is not None and v < lo:
            return f"an integer >= {lo}"
        return None

    return check


def _real(lo: float | None = None, hi: float | None = None, lo_open: bool = False) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        rule = "a finite real number"
        if lo is not None:
            rule += f" {'>' if lo_open else '>='} {lo}"
        if hi is not None:
            rule += f" and <= {hi}"
        if isinstance(v, bool) or not isinstance(v, Real) or not math.isfinite(v):
            return rule
        if lo is not None and (v <= lo if lo_open else v < lo):
            return rule
        if hi is not None and v > hi:
            return rule
        return None

    return check


def _choice(*allowed: Any) -> Callable[[Any], str | None]:
    return lambda v: None if v in allowed else "one of " + ", ".join(repr(a) for a in allowed)


def _optional(check: Callable[[Any], str | None]) -> Callable[[Any], str | None]:
    return lambda v: None if v is None else (lambda r: None if r is None else f"None or {r}")(check(v))


RULES: dict[str, Callable[[Any], str | None]] = {
    "vector_size": _int(1),
    "window": _int(1),
    "backward_window": _optional(_int(0)),
    "context": _choice("window", "set"),
    "max_set_contexts": _int(1),
    "shrink_windows": _choice(True, False),
    "negative": _int(0),
    "shared_negatives": _choice(True, False),
    "ns_exponent": _real(),
    "sample": _real(0.0),
    "min_count": _int(1),
    "min_length": _int(1),
    "epochs": _int(1),
    "alpha": _real(0.0, lo_open=True),
    "min_alpha": _real(0.0),
    "n_threads": _optional(_int(1)),
    "scoring": _choice("sgns", "cosine"),
    "history_length": _optional(_int(1)),
    # None, a string shortcut, or a strategy object of item2vec.hard_negatives (it validates its own fields)
    "hard_negatives": lambda v: None if v is None or (isinstance(v, str) and v in ("group", "mined")) or hasattr(v, "sampler")
    else "None, 'group', 'mined', a GroupNegatives or a MinedNegatives",
    "hard_negative_ratio": _real(0.0, 1.0),
    "hard_negative_start": _int(0),
    "groups_on_unknown": _choice("raise", "ignore"),
    "mine_every": _int(1),
    "mine_k": _int(1),
    "cooccurrence_threshold": _int(0),
    "mine_pool": _optional(_int(1)),
}


def validate_params(params: dict[str, Any]) -> None:
    """Raise ``ValueError`` naming the first invalid hyperparameter, its value and the rule."""
    for name, check in RULES.items():
        if name in params:
            rule = check(params[name])
            if rule is not None:
                raise ValueError(f"{name} must be {rule}, got {name}={params[name]!r}")
    if params.get("min_alpha", 0) > params.get("alpha", math.inf):
        raise ValueError(f"min_alpha must be <= alpha, got min_alpha={params['min_alpha']!r} > alpha={params['alpha']!r}")
    if params.get("backward_window") is not None and params.get("context") == "set":
        raise ValueError(f"backward_window applies to context='window' only (context='set' uses every other item of a "
                         f"sequence, unordered); got backward_window={params['backward_window']!r} with context='set'")
    if params.get("hard_negatives") == "group" and params.get("item_groups") is None:
        raise ValueError("hard_negatives='group' needs item_groups (a mapping item -> group or list of groups)")
