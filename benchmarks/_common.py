"""Helpers shared by the benchmark scripts (not part of the item2vec package).

* memory: peak / current RSS of the running process from ``/proc/self/status``
  and a reset of the peak counter (``/proc/self/clear_refs``), so a worker
  subprocess can report the peak of one stage only;
* workers: run ``python <script> --worker --job JSON`` in a fresh process and read
  the JSON result it prints (:func:`add_worker_options` and :func:`serve_worker` are
  the script's side);
* corpora: a seeded, vectorised Zipf corpus and MovieLens user sequences;
* gensim: a lazy import with a clear message, and :class:`GensimSGNS`, a
  recommender that trains gensim ``Word2Vec(sg=1, hs=0)`` on exactly the
  sequences item2vec would build and scores with item2vec's scoring code;
* formatting: medians, mean ± std and markdown tables.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Any, Callable, Iterable, Sequence

import numpy as np

RESULT_TAG = "BENCH_RESULT "

#: Items per Zipf corpus sequence are capped below gensim's MAX_SENTENCE_LEN
#: (10,000): gensim silently truncates longer sentences, item2vec never does,
#: so a longer sequence would make the two train on different corpora.
MAX_SEQ_LEN = 9_999
#: The two SGNS settings item2vec and gensim are compared at (throughput.py, kernel_ab.py).
SGNS_SETTINGS = {
    "A": dict(vector_size=64, window=5, negative=5, sample=1e-3),
    "B": dict(vector_size=128, window=3, negative=10, sample=1e-3),
}


# ---------------------------------------------------------------------------- memory
def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def rss_mib() -> float:
    """Current resident set size of this process (MiB)."""
    kib = _status_kib("VmRSS")
    if kib is None:  # no /proc: fall back to the peak, the best we have
        return peak_rss_mib()
    return kib / 1024.0


def peak_rss_mib() -> float:
    """Peak resident set size since start or since the last :func:`reset_peak_rss` (MiB)."""
    kib = _status_kib("VmHWM")
    if kib is None:
        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kib / 1024.0


def reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS counter of this process (Linux >= 4.0).

    Returns False when that is not possible; the peak then also covers what
    happened before the call.
    """
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def mem_available_mib() -> float | None:
    """``MemAvailable`` of the machine (MiB), None if unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


# ---------------------------------------------------------------------------- workers
def emit_result(result: dict[str, Any]) -> None:
    """Print a worker's result as one tagged JSON line (read by :func:`run_worker`)."""
    sys.stdout.write(RESULT_TAG + json.dumps(result) + "\n")
    sys.stdout.flush()


def add_worker_options(parser: argparse.ArgumentParser) -> None:
    """The hidden ``--worker --job JSON`` options that :func:`run_worker` starts a script with."""
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--job", help=argparse.SUPPRESS)


def serve_worker(args: argparse.Namespace, worker: Callable[[dict[str, Any]], dict[str, Any]]) -> bool:
    """In a process started by :func:`run_worker`: run ``worker(job)``, print its result, return True."""
    if not args.worker:
        return False
    emit_result(worker(json.loads(args.job)))
    return True


def run_worker(script: str, job: dict[str, Any], env: dict[str, str] | None = None,
               timeout: float | None = None) -> dict[str, Any]:
    """Run ``python script --worker --job JSON`` in a fresh process; return its JSON result.

    The child's stderr is passed through on failure so the error is visible.
    """
    cmd = [sys.executable, script, "--worker", "--job", json.dumps(job)]
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=timeout)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-8000:])
        raise RuntimeError(f"worker failed with exit code {proc.returncode}: {' '.join(cmd)}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_TAG)]
    if not lines:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-8000:])
        raise RuntimeError(f"worker printed no result: {' '.join(cmd)}")
    result = json.loads(lines[-1][len(RESULT_TAG):])
    result["process_seconds"] = wall
    return result


# ---------------------------------------------------------------------------- gensim
def require_gensim():
    """Import gensim lazily, with an actionable message when it is missing."""
    try:
        from gensim.models import Word2Vec
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise SystemExit(
            f"gensim is needed for this benchmark but could not be imported ({e}).\n"
            "Install the benchmark extras:  pip install item2vec[bench]   (or: pip install gensim)"
        ) from e
    return Word2Vec


def gensim_version() -> str:
    import gensim

    return gensim.__version__


# ---------------------------------------------------------------------------- corpora
def zipf_corpus(n_tokens: int, n_items: int, zipf_a: float = 1.0, median_length: float = 30.0,
                sigma: float = 1.2, max_length: int = MAX_SEQ_LEN, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A seeded synthetic corpus with Zipf item popularity and lognormal sequence lengths.

    Item of popularity rank ``r`` (1-based) is drawn with probability
    ``∝ r ** -zipf_a``; ranks are mapped to raw ids by a random permutation
    (offset by 1,000,000 so raw ids never equal vocabulary indices). Sequence
    lengths are lognormal with the given median and ``sigma``, clipped to
    ``[2, max_length]``; the last sequence is shortened so the corpus has
    exactly ``n_tokens`` tokens (it keeps at least 2).

    Returns
    -------
    raw, offsets : int64 arrays
        All sequences concatenated and the CSR boundaries (``len = n_seq + 1``).
    """
    if n_tokens < 2 or n_items < 1:
        raise ValueError("need n_tokens >= 2 and n_items >= 1")
    rng = np.random.default_rng(seed)
    mean_len = median_length * math.exp(sigma**2 / 2)
    n_guess = int(n_tokens / mean_len * 1.2) + 16
    lengths = np.empty(0, dtype=np.int64)
    while lengths.sum() < n_tokens:
        more = np.rint(rng.lognormal(math.log(median_length), sigma, size=n_guess)).astype(np.int64)
        lengths = np.concatenate([lengths, np.clip(more, 2, max_length)])
    cum = np.cumsum(lengths)
    n_seq = int(np.searchsorted(cum, n_tokens, side="right"))  # whole sequences that fit
    lengths = lengths[:n_seq]
    rest = n_tokens - int(cum[n_seq - 1]) if n_seq else n_tokens
    if rest >= 2:  # rest < the next drawn length <= max_length
        lengths = np.append(lengths, rest)
    elif rest == 1:  # one token left: lengthen the first sequence that has room
        lengths[int(np.argmax(lengths < max_length))] += 1
    offsets = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    assert offsets[-1] == n_tokens and lengths.min() >= 2 and lengths.max() <= max_length
    cdf = np.cumsum(np.arange(1, n_items + 1, dtype=np.float64) ** -zipf_a)
    cdf /= cdf[-1]
    rank = np.searchsorted(cdf, rng.random(n_tokens), side="right")
    np.minimum(rank, n_items - 1, out=rank)
    ids = rng.permutation(n_items).astype(np.int64) + 1_000_000
    return ids[rank], offsets


def load_movielens_frame(name: str):
    """``load_movielens(name).interactions`` without downloading; a clear exit if absent."""
    from item2vec.datasets import DatasetNotFoundError, load_movielens

    try:
        return load_movielens(name, download=False, progress=False).interactions
    except DatasetNotFoundError as e:
        raise SystemExit(f"{e}\n(For the benchmarks: export ITEM2VEC_DATA=/work/shared/datasets/movielens "
                         "or another folder holding ml-100k/ and ml-latest-small/.)") from e


def movielens_corpus(name: str, target_tokens: int) -> tuple[np.ndarray, np.ndarray, int]:
    """MovieLens user histories (sorted by timestamp, stable) repeated to ~``target_tokens``.

    Returns ``raw, offsets, repeats``; every copy of a user's history is a
    separate sequence, so the corpus has ``repeats * n_ratings`` tokens.
    """
    df = load_movielens_frame(name)
    codes = df["user"].to_numpy()
    order = np.lexsort((np.arange(len(df)), df["timestamp"].to_numpy(), codes))
    items = df["item"].to_numpy(np.int64)[order]
    users = codes[order]
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    lengths = np.diff(np.r_[starts, users.size])
    if lengths.max() > MAX_SEQ_LEN:
        raise ValueError(f"{name}: a user has {lengths.max()} events, more than gensim's sentence limit")
    repeats = max(1, int(round(target_tokens / items.size)))
    raw = np.tile(items, repeats)
    lengths = np.tile(lengths, repeats)
    offsets = np.zeros(lengths.size + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return raw, offsets, repeats


def save_corpus(path: str, raw: np.ndarray, offsets: np.ndarray) -> None:
    np.savez(path, raw=raw, offsets=offsets)


def load_corpus(path: str) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path) as z:
        return z["raw"], z["offsets"]


def as_int_arrays(raw: np.ndarray, offsets: np.ndarray) -> list[np.ndarray]:
    """Sequences as a list of int64 arrays (views into ``raw``): item2vec's usual input."""
    return np.split(raw, offsets[1:-1])


def as_token_lists(raw: np.ndarray, offsets: np.ndarray, kind: str = "str") -> list[list[Any]]:
    """Sequences as Python lists of tokens: gensim's usual in-memory input.

    ``kind="str"``: ``str(item_id)`` tokens, one shared string object per
    distinct item (as ``[str_of[i] for i in seq]`` with a lookup table would
    give); ``kind="int"``: Python ``int`` tokens.
    """
    bounds = offsets.tolist()
    if kind == "int":
        return [raw[a:b].tolist() for a, b in zip(bounds[:-1], bounds[1:])]
    if kind != "str":
        raise ValueError(f"kind must be 'str' or 'int', got {kind!r}")
    uniq, inv = np.unique(raw, return_inverse=True)
    table = np.array([str(u) for u in uniq.tolist()], dtype=object)
    tokens = table[inv]
    return [tokens[a:b].tolist() for a, b in zip(bounds[:-1], bounds[1:])]


def warm_up_item2vec(n_threads: int = 1) -> None:
    """One tiny fit so numba loads (or compiles) the kernel before anything is timed."""
    from item2vec import Item2Vec

    rng = np.random.default_rng(0)
    tiny = [rng.integers(0, 50, size=20) for _ in range(50)]
    Item2Vec(vector_size=8, epochs=1, n_threads=n_threads, random_state=0, verbose=False).fit(tiny)


# ---------------------------------------------------------------------------- gensim recommender
class GensimSGNS:
    """gensim ``Word2Vec(sg=1, hs=0)`` behind item2vec's ``fit``/``recommend`` contract.

    ``fit(df)`` builds the sequences exactly as ``Item2Vec.fit(df)`` does
    (:func:`item2vec.build_sequences` with the ``timestamp`` order, the same
    ``min_count`` and ``min_length``), trains gensim on them as lists of string
    tokens, then copies gensim's input vectors (``wv.vectors``) and output
    vectors (``syn1neg``) into an :class:`item2vec.Item2Vec` shell in
    item2vec's vocabulary order. ``recommend`` is that shell's ``recommend``,
    so both libraries are scored by the same code with the same rules
    (``scoring="sgns"``: mean history input vector · candidate output vector;
    ``"cosine"``: cosine between input vectors).
    """

    def __init__(self, *, vector_size: int = 64, window: int = 5, negative: int = 5, ns_exponent: float = 0.75,
                 sample: float = 1e-3, min_count: int = 1, min_length: int = 2, epochs: int = 5,
                 alpha: float = 0.025, min_alpha: float = 1e-4, workers: int = 1, seed: int = 0,
                 scoring: str = "sgns", history_length: int | None = None) -> None:
        self.history_length = history_length
        self.vector_size, self.window, self.negative = vector_size, window, negative
        self.ns_exponent, self.sample, self.min_count, self.min_length = ns_exponent, sample, min_count, min_length
        self.epochs, self.alpha, self.min_alpha = epochs, alpha, min_alpha
        self.workers, self.seed, self.scoring = workers, seed, scoring

    def fit(self, interactions):
        from item2vec import Item2Vec, build_sequences

        Word2Vec = require_gensim()
        time_col = "timestamp" if "timestamp" in interactions.columns else None
        seqs = build_sequences(interactions, time_col=time_col, min_item_count=self.min_count,
                               min_length=self.min_length)
        V = len(seqs.vocab)
        # token = str(vocabulary index): maps back to item2vec's order without a dict of raw ids
        table = np.array([str(i) for i in range(V)], dtype=object)
        tokens = table[seqs.items]
        bounds = seqs.offsets.tolist()
        sentences = [tokens[a:b].tolist() for a, b in zip(bounds[:-1], bounds[1:])]
        t0 = time.perf_counter()
        model = Word2Vec(vector_size=self.vector_size, window=self.window, negative=self.negative,
                         ns_exponent=self.ns_exponent, sample=self.sample, min_count=1, max_final_vocab=None,
                         sg=1, hs=0, epochs=self.epochs, alpha=self.alpha, min_alpha=self.min_alpha,
                         workers=self.workers, seed=self.seed)
        model.build_vocab(sentences)
        self.train_result_ = model.train(sentences, total_examples=model.corpus_count, epochs=model.epochs)
        self.training_seconds_ = time.perf_counter() - t0
        order = np.array([model.wv.key_to_index[t] for t in table.tolist()], dtype=np.int64)
        shell = Item2Vec.from_vectors(seqs.vocab.ids, model.wv.vectors[order], model.syn1neg[order],
                                      counts=seqs.vocab.counts, scoring=self.scoring,
                                      history_length=self.history_length, history_decay=None, verbose=False)
        self.model_ = model
        self.shell_ = shell
        self.vocab_ = seqs.vocab
        return self

    def recommend(self, histories, k: int = 10, *, filter_seen: bool = True, on_unknown: str = "raise"):
        return self.shell_.recommend(histories, k, filter_seen=filter_seen, on_unknown=on_unknown,
                                     scoring=self.scoring)


# ---------------------------------------------------------------------------- formatting
def median(values: Iterable[float]) -> float:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(vals) if vals else float("nan")


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    vals = list(values)
    if not vals:
        return float("nan"), float("nan")
    return statistics.fmean(vals), (statistics.stdev(vals) if len(vals) > 1 else 0.0)


def human(n: float) -> str:
    """1234567 -> '1.23M'."""
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= div:
            return f"{n / div:.3g}{unit}"
    return f"{n:.3g}"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    line = lambda items: "| " + " | ".join(s.ljust(w) for s, w in zip(items, widths)) + " |"  # noqa: E731
    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in cells]
    return "\n".join(out)


def machine_note() -> str:
    import platform

    try:
        load = os.getloadavg()
        load_s = f", load avg {load[0]:.2f}"
    except OSError:
        load_s = ""
    return f"{platform.machine()}, {os.cpu_count()} CPUs visible{load_s}, Python {platform.python_version()}"
