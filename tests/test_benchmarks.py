"""Keep the benchmark scripts working: each runs its --quick mode and prints its table."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "script, needs_gensim, needs_movielens, expect",
    [
        ("throughput.py", True, False, "median ratio"),
        ("quality.py", True, True, "recall@10"),
        ("scale.py", False, False, "fit tokens/s"),
        ("hard_negatives.py", False, False, "| synthetic | mined |"),
        ("kernel_ab.py", False, False, "median ratio new/old"),
        ("panel.py", False, False, "| transition "),
        ("weights.py", False, True, "| rating>2 |"),
        ("incremental.py", False, True, "| base + partial_fit("),
        ("seed_noise.py", False, False, "| group_sentences=1, window 40, decay 0.8 |"),
    ],
)
def test_benchmark_quick_mode(script, needs_gensim, needs_movielens, expect, request):
    if needs_gensim:
        pytest.importorskip("gensim", reason="benchmarks need the bench extra: pip install -e '.[bench]'")
    env = dict(os.environ)
    if needs_movielens:
        env["ITEM2VEC_DATA"] = str(request.getfixturevalue("movielens_root"))
    extra = ["--corpora", "zipf"] if script == "throughput.py" else []
    proc = subprocess.run([sys.executable, str(BENCH / script), "--quick", *extra], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert expect in proc.stdout, proc.stdout[-2000:]


def test_seed_noise_scores_test_refits_against_als():
    """``seed_noise.py --stage test``: refits on train+val, recall@10 on test, and the ratio to a given ALS."""
    proc = subprocess.run([sys.executable, str(BENCH / "seed_noise.py"), "--quick", "--stage", "test", "--als", "0.1"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "test recall@10 per seed" in proc.stdout and "/ ALS: mean (range)" in proc.stdout, proc.stdout[-2000:]
    row = next(line for line in proc.stdout.splitlines() if line.startswith("| defaults "))
    assert row.rstrip(" |").endswith("x)"), row  # the defaults' row ends with its ratio


def test_seed_noise_refits_als_with_model_als():
    """``seed_noise.py --model als``: the denominator's own seed noise (ALS refits, not item2vec's settings)."""
    proc = subprocess.run([sys.executable, str(BENCH / "seed_noise.py"), "--quick", "--stage", "test", "--model", "als"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    assert [r.split("|")[1].strip() for r in rows[1:]] == ["defaults"], proc.stdout[-2000:]
    assert "group_sentences" not in proc.stdout, proc.stdout[-2000:]
