"""Shared pytest fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


# --- datasets fixtures ---
@pytest.fixture(scope="session")
def movielens_root() -> Path:
    """The MovieLens data root: ``$ITEM2VEC_DATA``, else ``<clone>/../shared/datasets/movielens``.

    Skips the test (with the reason) when neither exists. Session-scoped, so it is
    resolved before any function-scoped fixture that edits the environment.
    """
    env = os.environ.get("ITEM2VEC_DATA")
    if env:
        if Path(env).is_dir():
            return Path(env)
        pytest.skip(f"ITEM2VEC_DATA={env} is not a directory")
    shared = Path(__file__).resolve().parents[2] / "shared/datasets/movielens"
    if shared.is_dir():
        return shared
    pytest.skip(f"MovieLens data not available: set ITEM2VEC_DATA or provide {shared}")
# --- end datasets fixtures ---
