"""Argument values of the command line: ``--set``/``--space`` settings and the option types.

Each parser turns a bad value into an error that names it and what is allowed
(:class:`~item2vec.workflows.CLIError` for settings, ``argparse.ArgumentTypeError``
for option types, which argparse reports as a usage error).
"""

from __future__ import annotations

import argparse
import ast
import math
from typing import Any, Sequence

from .datasets import DATASET_NAMES
from .registry import MODEL_NAMES, settable_params
from .workflows import CLIError

__all__ = ["parse_value", "parse_settings", "parse_space"]


def parse_value(text: str) -> Any:
    """A ``--set`` value: a Python literal (``None``, ``3``, ``-0.5``, ``'a'``), else the string."""
    s = text.strip()
    lowered = {"none": None, "null": None, "true": True, "false": False}
    if s.lower() in lowered:
        return lowered[s.lower()]
    try:
        return ast.literal_eval(s)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return s


def _split_key(item: str, option: str, default_model: str | None) -> tuple[str, str, str]:
    key, sep, value = item.partition("=")
    key = key.strip()
    form = "PARAM=VALUE or MODEL.PARAM=VALUE" if default_model else "MODEL.PARAM=VALUE"
    if not sep or not key:
        raise CLIError(f"{option} expects {form}, got {item!r}")
    model, dot, param = key.rpartition(".")
    if not dot:
        if default_model is None:
            raise CLIError(f"{option} expects {form} (e.g. item2vec.window=3), got {item!r}")
        model = default_model
    if model not in MODEL_NAMES:
        raise CLIError(f"{option} {item!r}: unknown model {model!r}; models: {', '.join(MODEL_NAMES)}")
    valid = settable_params(model)
    if param not in valid:
        raise CLIError(f"{option} {item!r}: unknown parameter {param!r} for {model}; "
                       f"valid parameters: {', '.join(valid) or '(none)'}")
    return model, param, value


def parse_settings(items: Sequence[str] | None, models: Sequence[str], option: str = "--set",
                   default_model: str | None = None) -> dict[str, dict[str, Any]]:
    """``["item2vec.window=3", ...]`` -> ``{"item2vec": {"window": 3}}`` (validated names)."""
    out: dict[str, dict[str, Any]] = {}
    for item in items or ():
        model, param, value = _split_key(item, option, default_model)
        if model in models:  # settings of known but unselected models are ignored
            out.setdefault(model, {})[param] = parse_value(value)
    return out


def parse_space(items: Sequence[str] | None, models: Sequence[str]) -> dict[str, dict[str, list[Any]]]:
    """``["item2vec.window=1,2,3"]`` -> ``{"item2vec": {"window": [1, 2, 3]}}``."""
    out: dict[str, dict[str, list[Any]]] = {}
    for item in items or ():
        model, param, value = _split_key(item, "--space", None)
        values = [parse_value(v) for v in value.split(",") if v.strip()]
        if not values:
            raise CLIError(f"--space {item!r} gives no values; use MODEL.PARAM=V1,V2,...")
        if model in models:  # dimensions of known but unselected models are ignored
            out.setdefault(model, {})[param] = values
    return out


def ks_type(text: str) -> tuple[int, ...]:
    try:
        ks = sorted({int(t) for t in text.split(",") if t.strip()})
    except ValueError:
        ks = []
    if not ks or ks[0] < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers separated by commas (e.g. 10,20), got {text!r}")
    return tuple(ks)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def models_type(text: str) -> list[str]:
    names = [t.strip().lower() for t in text.split(",") if t.strip()]
    bad = [n for n in names if n not in MODEL_NAMES]
    if not names or bad:
        raise argparse.ArgumentTypeError(
            f"unknown model(s) {', '.join(map(repr, bad)) or repr(text)}; choose from {', '.join(MODEL_NAMES)}")
    return list(dict.fromkeys(names))


def dataset_type(text: str) -> str:
    key = text.strip()
    for name in DATASET_NAMES:
        if key.lower() == name:
            return name
    if key in ("ml-10M100K",):
        return "ml-10m"
    raise argparse.ArgumentTypeError(f"unknown data set {text!r}; choose from {', '.join(DATASET_NAMES)}")
