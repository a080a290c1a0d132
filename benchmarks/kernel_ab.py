#!/usr/bin/env python
"""Kernel A/B: the installed item2vec training kernel against the kernel of a git revision, in one process.

Kernel changes that gain or lose 5-15 % are invisible to separate runs on a
shared machine, whose speed drifts by +-30 % within minutes. This script
times both kernels in the same process on the same inputs, alternating
``new old old new new old ...``, so every ratio comes from two adjacent runs:

* the revision's ``item2vec/_kernels.py`` is read with ``git show`` and loaded
  as a module of its own (its relative imports point at the installed
  package; modules renamed since are mapped to their new names);
* one seeded Zipf corpus (the generator of ``throughput.py``) is built once;
  its vocabulary comes from ``--vocab-tokens`` tokens, so the vector tables
  have the size of the full corpus, and each run trains one epoch on the
  first ``--tokens`` tokens;
* both kernels get identical vocabulary, noise and subsampling tables, initial
  vectors, blocks (cut by the installed package's rule) and seed, with the
  call adapted to each kernel's signature.

It prints seconds per run, the new/old time ratio of every adjacent pair and
their median (below 1 = the installed kernel is faster), and whether the two
kernels trained identical vectors (expected for a change that only reorders
memory traffic; not for one that changes the arithmetic).

Examples
--------
    python benchmarks/kernel_ab.py --quick
    python benchmarks/kernel_ab.py --against 7f1035e --setting B --threads 1 --reps 8
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C

SETTINGS = C.SGNS_SETTINGS
RENAMED = {"_atomics": "_intrinsics"}  # modules of item2vec renamed since older revisions
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_revision_kernel(rev: str, workdir: str):
    """Import ``item2vec/_kernels.py`` as it was at git revision ``rev``."""
    try:
        sha = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", rev], check=True, capture_output=True,
                             text=True).stdout.strip()
        src = subprocess.run(["git", "-C", REPO, "show", f"{sha}:item2vec/_kernels.py"], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        detail = getattr(e, "stderr", "") or str(e)
        raise SystemExit(f"kernel_ab: cannot read item2vec/_kernels.py at revision {rev!r} in {REPO}: {detail.strip()}")

    def absolute(m: re.Match) -> str:
        return f"from item2vec.{RENAMED.get(m.group(1), m.group(1))} import"

    src = re.sub(r"from \.(\w+) import", absolute, src)
    name = f"kernels_{sha}"
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, name + ".py")
    if not os.path.exists(path) or open(path).read() != src:  # keep numba's cache next to an unchanged file
        with open(path, "w") as f:
            f.write(src)
    sys.path.insert(0, workdir)
    return sha, importlib.import_module(name)


class Inputs:
    """Everything one epoch needs, shared by both kernels."""

    def __init__(self, args):
        from item2vec import build_sequences
        from item2vec.sampling import alias_table, keep_probabilities, noise_distribution, pack_alias

        raw, offsets = C.zipf_corpus(args.vocab_tokens, args.items, seed=args.seed)
        seqs = build_sequences(C.as_int_arrays(raw, offsets))
        k = max(1, int(np.searchsorted(seqs.offsets, args.tokens)))
        self.items = np.ascontiguousarray(seqs.items[: seqs.offsets[k]])
        self.offsets = np.ascontiguousarray(seqs.offsets[: k + 1])
        self.n_items = len(seqs.vocab)
        self.prob, self.alias = alias_table(noise_distribution(seqs.vocab.counts, 0.75))
        self.noise = pack_alias(self.prob, self.alias)
        self.keep = keep_probabilities(seqs.vocab.counts, args.sample)
        self.dim = SETTINGS[args.setting]["vector_size"]
        rng = np.random.default_rng(args.seed)
        self.W0 = ((rng.random((self.n_items, self.dim), dtype=np.float32) - np.float32(0.5)) / np.float32(self.dim))
        # --weights: every token weighs U(0.5, 1.5) (no zeros, so no pair is skipped); kernels without weights ignore them
        self.weights = (rng.uniform(0.5, 1.5, self.items.size).astype(np.float32) if args.weights
                        else np.zeros(0, np.float32))


def kernel_arguments(kernels, values: dict) -> list:
    """The positional arguments of ``kernels.sgns_epoch`` built from named ``values``.

    Two signatures exist: revisions up to b26f86e take every value as its own
    positional argument (``items, offsets, blocks, W, ...``); later ones take
    a few named bundles (``corpus: Corpus``, ``tables: Tables``, ...), each a
    NamedTuple of the module whose fields are names of ``values``. A
    parameter named like a NamedTuple class of the module (``corpus`` ->
    ``Corpus``) is built from its fields (those with a default may be absent); any other is taken from ``values``.
    """
    params = inspect.signature(kernels.sgns_epoch.py_func).parameters
    call, unknown = [], []
    for p in params:
        bundle = getattr(kernels, p.capitalize(), None)
        if p not in values and isinstance(bundle, type) and hasattr(bundle, "_fields"):
            missing = [f for f in bundle._fields if f not in values and f not in bundle._field_defaults]
            unknown += [f"{p}.{f}" for f in missing]
            call.append(None if missing else bundle(**{f: values[f] for f in bundle._fields if f in values}))
        elif p in values:
            call.append(values[p])
        else:
            unknown.append(p)
    if unknown:
        raise SystemExit(f"kernel_ab: {kernels.__name__}.sgns_epoch has parameters this script does not know: {unknown}")
    return call


def run_epoch(kernels, inp: Inputs, args, n_seqs: int | None = None) -> tuple[float, np.ndarray, float]:
    """One epoch with module ``kernels`` (on the first ``n_seqs`` sequences if given); returns (seconds, W, loss per pair)."""
    from item2vec._kernels import corpus_blocks

    hp = SETTINGS[args.setting]
    n_seqs = inp.offsets.size - 1 if n_seqs is None else min(n_seqs, inp.offsets.size - 1)
    offsets = inp.offsets[: n_seqs + 1]
    items = inp.items[: offsets[-1]]
    W = inp.W0.copy()
    Cm = np.zeros_like(W)
    blocks = corpus_blocks(offsets)
    loss = np.zeros(blocks.size - 1)
    pairs = np.zeros(blocks.size - 1, np.int64)
    sig, logsig = kernels.sigmoid_tables()
    values = dict(
        items=items, offsets=offsets, blocks=blocks, weights=inp.weights[: items.size], W=W, C=Cm, keep_prob=inp.keep,
        alias_prob=inp.prob, alias_idx=inp.alias, noise=inp.noise, hard=kernels.no_hard_negatives(),
        window=hp["window"], backward=hp["window"] if args.backward_window is None else args.backward_window,
        shrink=True, set_mode=False, max_contexts=0, negative=hp["negative"], shared=args.shared,
        lr_start=0.025, lr_end=1e-4, epoch=0, epochs=1, seed=np.uint64(args.seed + 1), sig=sig, logsig=logsig,
        block_loss=loss, block_pairs=pairs, n_workers=args.threads,
    )  # fmt: skip
    call = kernel_arguments(kernels, values)
    t0 = time.perf_counter()
    kernels.sgns_epoch(*call)
    return time.perf_counter() - t0, W, float(loss.sum() / max(int(pairs.sum()), 1))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--against", default="HEAD", help="git revision whose kernel is the baseline (default HEAD)")
    p.add_argument("--setting", choices=sorted(SETTINGS), default="B", help="A: 64 dims, window 5, 5 negatives; "
                   "B: 128 dims, window 3, 10 negatives (default B)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--tokens", type=float, default=1e6, help="tokens trained per run (default 1e6)")
    p.add_argument("--vocab-tokens", type=float, default=1e7, help="tokens of the corpus the vocabulary comes from")
    p.add_argument("--items", type=int, default=200_000, help="Zipf catalogue size (default 200,000)")
    p.add_argument("--sample", type=float, default=None, help="subsampling threshold (default: the setting's, 1e-3)")
    p.add_argument("--reps", type=int, default=6, help="adjacent pairs of runs (default 6)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--shared", action="store_true", help="shared negatives (default: exact per-pair sampling)")
    p.add_argument("--backward-window", type=int, default=None,
                   help="backward window of kernels that have one (default: symmetric, same as the window)")
    p.add_argument("--weights", action="store_true", help="random event weights U(0.5, 1.5) for kernels that read "
                   "them (the weighted path's cost: run against a revision without weights)")
    p.add_argument("--quick", action="store_true", help="a CI-sized run: 100k tokens, 20k items, 2 pairs")
    args = p.parse_args(argv)
    if args.quick:
        args.tokens, args.vocab_tokens, args.items, args.reps = 1e5, 1e6, 20_000, 2
    args.tokens, args.vocab_tokens = int(args.tokens), int(args.vocab_tokens)
    if args.sample is None:
        args.sample = SETTINGS[args.setting]["sample"]
    if args.threads < 1 or args.reps < 1 or not 2 <= args.tokens <= args.vocab_tokens:
        p.error("need --threads >= 1, --reps >= 1 and 2 <= --tokens <= --vocab-tokens")

    import numba

    from item2vec import _kernels as new

    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    workdir = os.path.join(tempfile.gettempdir(), "item2vec-kernel-ab")  # compiled kernels are cached there
    sha, old = load_revision_kernel(args.against, workdir)
    inp = Inputs(args)
    print(f"# kernel A/B: installed item2vec kernel (new) vs {args.against} = {sha} (old); setting {args.setting} "
          f"{ {**SETTINGS[args.setting], 'sample': args.sample} }, {args.threads} thread(s)"
          + (", random event weights U(0.5, 1.5)" if args.weights else ""))
    print(f"# corpus: {int(inp.offsets[-1]):,} tokens trained per run, {inp.offsets.size - 1:,} sequences, "
          f"{inp.n_items:,} items in the tables (Zipf, vocabulary from {args.vocab_tokens:,} tokens)")
    kernels = {"new": new, "old": old}
    t0 = time.perf_counter()
    for name in kernels:  # compile or load from cache outside the timing
        run_epoch(kernels[name], inp, args, n_seqs=20)
    print(f"# warm-up (compilation / cache load) {time.perf_counter() - t0:.1f} s")
    times: dict[str, list[float]] = {"new": [], "old": []}
    trained: dict[str, tuple[np.ndarray, float]] = {}
    print(f"{'pair':>4}  {'new s':>7}  {'old s':>7}  {'new/old':>7}")
    for r in range(args.reps):
        for name in (("new", "old") if r % 2 == 0 else ("old", "new")):
            seconds, W, loss = run_epoch(kernels[name], inp, args)
            times[name].append(seconds)
            trained[name] = (W, loss)
        print(f"{r:>4}  {times['new'][-1]:7.2f}  {times['old'][-1]:7.2f}  {times['new'][-1] / times['old'][-1]:7.3f}")
    ratios = np.array(times["new"]) / np.array(times["old"])
    identical = np.array_equal(trained["new"][0], trained["old"][0])
    print(f"median ratio new/old: {np.median(ratios):.3f} (pairs {ratios.min():.3f}-{ratios.max():.3f}); "
          f"tokens/s new {inp.offsets[-1] / np.median(times['new']):,.0f}, old {inp.offsets[-1] / np.median(times['old']):,.0f}")
    print(f"identical vectors: {'yes' if identical else 'no'} (loss per pair new {trained['new'][1]:.6f}, "
          f"old {trained['old'][1]:.6f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
