"""Share of rarely rated neighbours in ``Item2Vec.similar_items`` for a frequency floor.

Fits Item2Vec with its defaults on MovieLens (1 thread, fixed seed) and, for every
film rated at least ``--query-min`` times, takes its top-10 neighbours with
``similar_items(..., min_count=c)`` for each floor ``c``. Prints per floor: the
share of neighbours with fewer than 5 ratings, their median rating count, the
share sharing a genre with the query (a quality proxy), and Star Wars' top 10.

Example::

    ITEM2VEC_DATA=/path/to/movielens python benchmarks/similar_floor.py --dataset ml-100k
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from item2vec import Item2Vec
from item2vec.datasets import genre_map, load_movielens


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("Example")[0])
    p.add_argument("--dataset", default="ml-100k")
    p.add_argument("--floors", default="1,3,5,10,20")
    p.add_argument("--query-min", type=int, default=20, help="queries: films rated at least this often")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    ml = load_movielens(args.dataset, progress=False)
    t0 = time.perf_counter()
    model = Item2Vec(n_threads=1, random_state=args.seed, verbose=False).fit(ml.interactions)
    print(f"# {args.dataset}: Item2Vec() defaults, seed {args.seed}, fit {time.perf_counter() - t0:.1f} s, "
          f"{len(model.vocab_)} items")
    counts = dict(zip(model.vocab_.ids.tolist(), model.vocab_.counts.tolist()))
    genres = {k: set(v) for k, v in genre_map(ml.items).items()}
    titles = dict(zip(ml.items["item"].tolist(), ml.items["title"].tolist()))
    queries = [i for i, c in counts.items() if c >= args.query_min]
    print(f"# queries: {len(queries)} films with >= {args.query_min} ratings; top-10 neighbours each")
    print("| min_count | share < 5 ratings | median ratings | share same genre | Star Wars (50) top 10 |")
    print("|---:|---:|---:|---:|---|")
    for floor in [int(x) for x in args.floors.split(",")]:
        ids, _ = model.similar_items(queries, k=10, min_count=floor)
        n = np.array([[counts.get(i, 0) for i in row] for row in ids.tolist()])
        same = np.mean([[bool(genres.get(q, set()) & genres.get(i, set())) for i in row]
                        for q, row in zip(queries, ids.tolist())])
        sw, _ = model.similar_items(50, k=10, min_count=floor)
        sw_text = "; ".join(f"{titles.get(i, i)[:22]} ({counts[i]})" for i in sw.tolist()[:10])
        print(f"| {floor} | {np.mean(n < 5):.3f} | {np.median(n):.0f} | {same:.3f} | {sw_text} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
