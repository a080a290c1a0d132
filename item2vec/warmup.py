"""Compile the numba kernels once, so the first real fit is not charged for it.

numba compiles the training and query kernels on first use and caches the
machine code on disk (``cache=True``): on a fresh install the first fit pays
for compilation (about 13 s on a 2-core machine, more when it is busy), every
later process loads the cached code in about a second. :func:`warm_up` does
that first use on a toy log; ``item2vec warmup`` runs it from the command line
(e.g. right after ``pip install``), and ``item2vec evaluate``/``train`` call it
before their timed fits, so the reported "fit s" is what later runs see.
"""

from __future__ import annotations

import time

__all__ = ["warm_up"]


def warm_up(hard_negatives: bool = False) -> float:
    """Compile (or load from numba's cache) the kernels of ``fit``, ``recommend`` and ``similar_items``.

    Parameters
    ----------
    hard_negatives : bool
        Also the kernels of ``hard_negatives="mined"``.

    Returns
    -------
    float
        Seconds taken: about a second when the cache is warm, much more when
        it was compiled now.
    """
    import pandas as pd

    from .model import Item2Vec

    t0 = time.perf_counter()
    log = pd.DataFrame({"user": [1, 1, 1, 2, 2, 2], "item": [1, 2, 3, 2, 3, 4], "timestamp": [1, 2, 3, 1, 2, 3]})
    options = [{}] + ([{"hard_negatives": "mined", "hard_negative_start": 0, "mine_every": 1}] if hard_negatives else [])
    for extra in options:
        model = Item2Vec(vector_size=4, epochs=1, sample=0, n_threads=1, random_state=0, verbose=False, **extra)
        model.fit(log)
        model.recommend([1, 2], k=2)
        model.similar_items([1], k=2)
    return time.perf_counter() - t0
