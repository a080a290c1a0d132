"""The shared argument checks (item2vec.validation) and the hyperparameter table built on them."""

from __future__ import annotations

import math

import numpy as np
import pytest

from item2vec.params import RULES, validate_params
from item2vec.validation import (
    check_choice, check_fraction, check_int, check_real, choice_rule, int_rule, is_int, is_real, optional_rule, real_rule,
)


def test_numbers_never_include_bool_and_include_numpy_scalars():
    assert is_int(3) and is_int(np.int64(3)) and is_int(np.uint8(3))
    assert not is_int(True) and not is_int(np.bool_(True)) and not is_int(3.0) and not is_int("3")
    assert is_real(2.5) and is_real(np.float32(2.5)) and is_real(7)
    assert not is_real(False) and not is_real(math.nan) and not is_real(math.inf) and not is_real("1")


def test_checks_name_the_argument_the_rule_and_the_value():
    assert check_int("window", np.int32(3), 1) == 3 and type(check_int("window", np.int32(3), 1)) is int
    with pytest.raises(ValueError, match=r"^window must be an integer >= 1, got window=0$"):
        check_int("window", 0, 1)
    with pytest.raises(ValueError, match=r"^n must be an integer >= 0 and <= 5, got n=True$"):
        check_int("n", True, 0, 5)
    assert check_int("mine_pool", None, 1, optional=True) is None
    with pytest.raises(ValueError, match=r"mine_pool must be None or an integer >= 1, got mine_pool=0"):
        check_int("mine_pool", 0, 1, optional=True)
    assert check_real("p", 1, 0.0, 1.0) == 1.0
    with pytest.raises(ValueError, match=r"alpha must be a finite real number > 0.0, got alpha=0"):
        check_real("alpha", 0, 0.0, lo_open=True)
    with pytest.raises(ValueError, match=r"q must be a float strictly between 0 and 1, got q=1.0"):
        check_fraction("q", 1.0)
    assert check_fraction("q", np.float64(0.25)) == 0.25


def test_choices_match_by_type():
    assert check_choice("context", np.str_("set"), ("window", "set")) == "set"
    rule = choice_rule(True, False)
    assert rule(True) is None and rule(np.bool_(False)) is None
    assert rule(1) == "one of True, False" and rule(0) is not None and rule("True") is not None
    assert choice_rule(None, "group")(None) is None and choice_rule(None, "group")(0) is not None
    with pytest.raises(ValueError, match="context must be one of 'window', 'set', got context=array"):
        check_choice("context", np.array(["window"]), ("window", "set"))


def test_rule_combinators():
    assert optional_rule(int_rule(1))(None) is None
    assert real_rule(0.0, 1.0, hi_open=True)(1.0) == "a finite real number >= 0.0 and < 1.0"
    assert int_rule()(5) is None and int_rule()(5.0) == "an integer"


@pytest.mark.parametrize("name, value", [
    ("shrink_windows", 1), ("window", True), ("epochs", np.float64(3)), ("session_gap", "later"),
    ("session_gap", -5), ("user_col", None), ("user_col", ["a"]), ("time_col", True),
])
def test_parameter_table_refuses(name, value):
    assert name in RULES
    with pytest.raises(ValueError, match=rf"^{name} must be .*, got {name}="):
        validate_params({name: value})


def test_parameter_table_accepts():
    validate_params({"window": np.int64(2), "shrink_windows": np.bool_(True), "session_gap": "30min",
                     "user_col": 0, "time_col": None, "context": np.str_("set"), "alpha": np.float32(0.1)})


def test_no_hand_written_bool_then_type_checks_outside_the_validation_module():
    """``isinstance(v, bool) or not isinstance(v, ...)`` belongs in item2vec.validation only."""
    import pathlib
    import re

    import item2vec

    package = pathlib.Path(item2vec.__file__).parent
    pattern = re.compile(r"isinstance\(\s*[\w.\[\]]+\s*,\s*bool\s*\)\s*(?:\\\s*)?or\s+not\s+isinstance\(")
    offenders = [
        f"{path.name}:{text[:m.start()].count(chr(10)) + 1}"
        for path in sorted(package.glob("*.py")) if path.name != "validation.py"
        for text in [path.read_text(encoding="utf-8")]
        for m in pattern.finditer(text)
    ]
    assert len(list(package.glob("*.py"))) > 10  # walked the real package
    assert offenders == [], f"use item2vec.validation (is_int / is_real / check_int ...) instead: {offenders}"


def test_validate_params_is_the_parameter_rules_only():
    validate_params({"hard_negatives": "group"})  # item_groups is fit's data check (test_model_io, test_hard_negatives)
    with pytest.raises(ValueError, match="hard_negatives must be None, 'group', 'mined'"):
        validate_params({"hard_negatives": "grouped"})
