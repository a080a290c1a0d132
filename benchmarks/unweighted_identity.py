#!/usr/bin/env python
"""Unweighted fits of this tree against a git revision, bit for bit (the event-weights change must not move them).

The revision's package is exported with ``git archive`` into a temporary
folder; each side fits ``Item2Vec`` on MovieLens in its own process (that
tree first on ``PYTHONPATH``) for several configurations (the defaults, and
one setting changed each: symmetric and forward-only windows, set context,
shared negatives, mined hard negatives), ``n_threads=1``, a fixed seed.
It prints, per configuration, whether the input vectors, context vectors and
loss history are identical (SHA-256 of their bytes).

Example::

    ITEM2VEC_DATA=/work/shared/datasets/movielens python benchmarks/unweighted_identity.py --against 7605399
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = {"defaults": {}, "symmetric": {"backward_window": None}, "forward-only": {"backward_window": 0},
           "set": {"context": "set"}, "shared": {"shared_negatives": True}, "mined": {"hard_negatives": "mined"}}


def worker(job: dict) -> dict:
    import item2vec
    from item2vec import Item2Vec
    from item2vec.datasets import load_movielens

    df = load_movielens(job["dataset"], progress=False).interactions
    out = {"package": item2vec.__file__}
    for name, kw in CONFIGS.items():
        m = Item2Vec(n_threads=1, random_state=job["seed"], verbose=False, epochs=job["epochs"], **kw).fit(df)
        h = hashlib.sha256()
        for a in (m.item_vectors_, m.context_vectors_, np.asarray(m.loss_history_)):
            h.update(np.ascontiguousarray(a).tobytes())
        out[name] = h.hexdigest()
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--against", default="HEAD")
    p.add_argument("--dataset", default="ml-100k")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    C.add_worker_options(p)
    args = p.parse_args(argv)
    if C.serve_worker(args, worker):
        return 0
    job = {"dataset": args.dataset, "epochs": args.epochs, "seed": args.seed}
    with tempfile.TemporaryDirectory() as old_tree:
        archive = subprocess.run(["git", "-C", REPO, "archive", args.against, "item2vec"], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", old_tree], input=archive, check=True)
        old = C.run_worker(__file__, job, env={"PYTHONPATH": old_tree})
    new = C.run_worker(__file__, job, env={"PYTHONPATH": REPO})
    print(f"# {args.dataset}, Item2Vec defaults but epochs={args.epochs}, n_threads=1, random_state={args.seed}")
    print(f"# old: {args.against} ({old['package']}); new: {new['package']}")
    for name in CONFIGS:
        print(f"{name:>13}: {'identical' if old[name] == new[name] else 'DIFFERENT'} ({CONFIGS[name] or 'defaults'})")
    return 0 if all(old[n] == new[n] for n in CONFIGS) else 1


if __name__ == "__main__":
    raise SystemExit(main())
