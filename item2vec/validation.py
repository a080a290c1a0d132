"""Shared argument checks: one place for "an integer >= 1", "a finite real in [lo, hi]", ...

Two layers:

* *rules* (:func:`int_rule`, :func:`real_rule`, :func:`choice_rule`,
  :func:`optional_rule`) map a value to ``None`` when it is allowed, else to
  the text of the rule (``"an integer >= 1"``); :mod:`item2vec.params` builds
  its hyperparameter table from them;
* *checks* (:func:`check_int`, :func:`check_real`, :func:`check_choice`,
  :func:`check_fraction`) apply a rule to one named argument and raise
  ``ValueError(f"{name} must be {rule}, got {name}={value!r}")``, returning the
  value as a plain Python ``int``/``float``.

``bool`` is never accepted as a number (``True`` is not a window size), numpy
integer and floating scalars are.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any, Callable

import numpy as np

__all__ = [
    "Rule", "is_int", "is_real", "int_rule", "real_rule", "choice_rule", "optional_rule",
    "check", "check_int", "check_real", "check_choice", "check_fraction",
]

#: A rule: ``None`` when the value is allowed, else the text "must be ..." continues with.
Rule = Callable[[Any], "str | None"]


def is_int(value: Any) -> bool:
    """True for Python/numpy integers, False for ``bool`` and everything else."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def is_real(value: Any) -> bool:
    """True for finite Python/numpy reals (integers included), False for ``bool``, NaN and inf."""
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


def int_rule(lo: int | None = None, hi: int | None = None) -> Rule:
    """An integer, optionally ``>= lo`` and ``<= hi``."""
    text = "an integer" + ("" if lo is None else f" >= {lo}") + ("" if hi is None else f" and <= {hi}")

    def rule(v: Any) -> str | None:
        ok = is_int(v) and (lo is None or v >= lo) and (hi is None or v <= hi)
        return None if ok else text

    return rule


def real_rule(lo: float | None = None, hi: float | None = None, lo_open: bool = False,
              hi_open: bool = False) -> Rule:
    """A finite real, optionally bounded (closed bounds unless ``lo_open``/``hi_open``)."""
    text = "a finite real number"
    if lo is not None:
        text += f" {'>' if lo_open else '>='} {lo}"
    if hi is not None:
        text += f" and {'<' if hi_open else '<='} {hi}"

    def rule(v: Any) -> str | None:
        if not is_real(v):
            return text
        if lo is not None and (v <= lo if lo_open else v < lo):
            return text
        if hi is not None and (v >= hi if hi_open else v > hi):
            return text
        return None

    return rule


def choice_rule(*allowed: Any) -> Rule:
    """One of ``allowed``: ``None``, bools (``True`` matches ``True``/``np.True_``, not ``1``) or strings."""
    text = "one of " + ", ".join(repr(a) for a in allowed)

    def rule(v: Any) -> str | None:
        for a in allowed:
            if a is None or isinstance(a, bool):
                same = v is a or (isinstance(a, bool) and isinstance(v, np.bool_) and bool(v) is a)
            elif isinstance(a, str):
                same = isinstance(v, str) and v == a
            else:
                same = type(v) is type(a) and bool(v == a)
            if same:
                return None
        return text

    return rule


def optional_rule(inner: Rule) -> Rule:
    """``None`` or what ``inner`` allows."""
    def rule(v: Any) -> str | None:
        if v is None:
            return None
        r = inner(v)
        return None if r is None else f"None or {r}"

    return rule


def check(name: str, value: Any, rule: Rule) -> Any:
    """Return ``value`` if ``rule`` allows it, else raise ``ValueError`` naming ``name`` and the rule."""
    r = rule(value)
    if r is not None:
        raise ValueError(f"{name} must be {r}, got {name}={value!r}")
    return value


def check_int(name: str, value: Any, lo: int | None = None, hi: int | None = None, *,
              optional: bool = False) -> int | None:
    """An integer argument (``None`` too when ``optional``), as a Python ``int``."""
    rule = int_rule(lo, hi)
    check(name, value, optional_rule(rule) if optional else rule)
    return None if value is None else int(value)


def check_real(name: str, value: Any, lo: float | None = None, hi: float | None = None, *,
               lo_open: bool = False, hi_open: bool = False, optional: bool = False) -> float | None:
    """A finite real argument (``None`` too when ``optional``), as a Python ``float``."""
    rule = real_rule(lo, hi, lo_open, hi_open)
    check(name, value, optional_rule(rule) if optional else rule)
    return None if value is None else float(value)


def check_fraction(name: str, value: Any) -> float:
    """A real strictly between 0 and 1, as a Python ``float``."""
    inner = real_rule(0.0, 1.0, lo_open=True, hi_open=True)
    check(name, value, lambda v: None if inner(v) is None else "a float strictly between 0 and 1")
    return float(value)


def check_choice(name: str, value: Any, allowed: tuple[Any, ...]) -> Any:
    """One of ``allowed``."""
    return check(name, value, choice_rule(*allowed))
