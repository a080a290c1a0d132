#!/usr/bin/env python
"""Scaling of item2vec with the size of the interaction log, and implicit ALS for reference.

For every size N (events) a fresh subprocess

1. generates a synthetic log with ``item2vec.datasets.make_synthetic``
   (``--items`` items in ``--clusters`` clusters, lognormal history lengths with
   mean ``--events-per-user``; the number of users is chosen so the log has at
   least N events, then it is cut to exactly N rows);
2. times ``build_sequences(df, time_col="timestamp")``;
3. times one epoch of ``Item2Vec(vector_size=64, window=5, negative=5,
   sample=1e-3, epochs=1, n_threads=2).fit(seqs)`` (whole fit and the kernel
   alone), repeated until the fits have run ``--min-fit-seconds`` (at most 10
   fits; the median is reported);
4. for N <= ``--als-max``: builds the binary user x item CSR matrix and fits
   ``implicit.als.AlternatingLeastSquares(factors=64, iterations=15,
   regularization=0.01, random_state=0, num_threads=2)`` with BLAS limited to
   one thread (threadpoolctl), as implicit recommends.

With ``--rounds R`` every size is run R times, in ascending order in even
rounds and descending order in odd ones, each time in a fresh process; the
tables report the median over all fits of a size and the range of the
per-round medians, so one slow spell of a shared machine cannot make one size
look slow.

Memory is read from /proc/self/status: "data" is the RSS once the log is in
memory; the peak counter is reset before each stage, so each stage's peak is
its own; "peak" is the process's overall peak (including generation).

Examples
--------
    python benchmarks/scale.py --quick
    python benchmarks/scale.py --sizes 1e6,1e7,3e7,1e8 --rounds 3
"""

from __future__ import annotations

import argparse
import datetime as _dt
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C


def _stage_peak(state: dict) -> float:
    """Peak RSS since the last reset (MiB); resets again and tracks the overall peak."""
    peak = C.peak_rss_mib()
    state["overall"] = max(state["overall"], peak)
    C.reset_peak_rss()
    return peak


def _worker(job: dict) -> dict:
    import numpy as np
    import pandas as pd

    from item2vec import Item2Vec, build_sequences
    from item2vec.datasets import make_synthetic

    n, threads = int(job["size"]), int(job["threads"])
    C.warm_up_item2vec(threads)
    mem = {"overall": 0.0}
    out: dict = {"size": n}

    t0 = time.perf_counter()
    n_users = int(math.ceil(n / job["events_per_user"] * 1.05)) + 10
    data = make_synthetic(n_users=n_users, n_items=job["items"], n_clusters=job["clusters"],
                          events_per_user=job["events_per_user"], seed=job["seed"])
    df = data.interactions
    del data
    if len(df) < n:
        raise RuntimeError(f"make_synthetic gave {len(df)} events, fewer than {n}")
    df = df.iloc[:n]
    out["gen_seconds"] = time.perf_counter() - t0
    out["n_users"] = int(df["user"].iloc[-1]) + 1
    out["gen_peak_mib"] = _stage_peak(mem)
    out["data_rss_mib"] = C.rss_mib()

    t0 = time.perf_counter()
    seqs = build_sequences(df, time_col="timestamp")
    out["build_seconds"] = time.perf_counter() - t0
    out["build_peak_mib"] = _stage_peak(mem)
    out["n_tokens"] = seqs.n_tokens
    out["n_sequences"] = len(seqs)
    out["n_items"] = len(seqs.vocab)

    def fit_repeatedly(sequences, min_seconds: float) -> list[tuple[float, float, float, int]]:
        """(wall, CPU, kernel seconds, pairs) of fits, repeated until they ran ``min_seconds`` (at most 10)."""
        fits: list[tuple[float, float, float, int]] = []
        while not fits or (sum(f[0] for f in fits) < min_seconds and len(fits) < 10):
            model = Item2Vec(vector_size=64, window=5, negative=5, ns_exponent=0.75, sample=1e-3, min_count=1,
                             epochs=1, n_threads=threads, random_state=0, verbose=False,
                             backward_window=None, history_decay=None)
            t0, c0 = time.perf_counter(), time.process_time()
            model.fit(sequences)
            fits.append((time.perf_counter() - t0, time.process_time() - c0, float(model.training_seconds_),
                         int(model.n_pairs_)))
        return fits

    # The same process's own first --prefix-check events, fitted before and after
    # the full fits: a size effect shows in this ratio, the machine's drift between
    # processes does not.
    prefix = int(job.get("prefix_check", 0))
    prefix_seqs = build_sequences(df.iloc[:prefix], time_col="timestamp") if 0 < prefix < n else None

    def prefix_seconds_per_token() -> list[float]:
        if prefix_seqs is None:
            return []
        return [f[0] / prefix_seqs.n_tokens for f in fit_repeatedly(prefix_seqs, 5.0)]

    before = prefix_seconds_per_token()
    # Small sizes fit in a second or two, where the machine's noise is largest:
    # repeat the fit until it has run for --min-fit-seconds (at most 10 fits).
    fits = fit_repeatedly(seqs, job["min_fit_seconds"])
    prefix_fits = before + prefix_seconds_per_token()
    prefix_seqs = None  # free the prefix before the next stage
    out["pairs"] = fits[-1][3]
    out["fit_runs"] = [f[0] for f in fits]
    out["fit_seconds"] = float(np.median([f[0] for f in fits]))
    if prefix_fits:
        out["vs_prefix"] = out["fit_seconds"] / seqs.n_tokens / float(np.median(prefix_fits))
    out["fit_cpu_seconds"] = float(np.median([f[1] for f in fits]))
    out["kernel_seconds"] = float(np.median([f[2] for f in fits]))
    out["fit_peak_mib"] = _stage_peak(mem)
    del seqs

    if n <= job["als_max"]:
        import implicit
        import scipy.sparse as sp
        from threadpoolctl import threadpool_limits

        C.reset_peak_rss()
        t0 = time.perf_counter()
        u, users = pd.factorize(df["user"])
        i, items = pd.factorize(df["item"])
        mat = sp.csr_matrix((np.ones(u.size, dtype=np.float32), (u, i)), shape=(len(users), len(items)))
        mat.sum_duplicates()  # repeated (user, item) events collapse to one binary entry
        mat.data[:] = 1.0
        del u, i
        out["als_matrix_seconds"] = time.perf_counter() - t0
        out["als_nnz"] = int(mat.nnz)
        with threadpool_limits(1, "blas"):
            als = implicit.als.AlternatingLeastSquares(factors=64, iterations=15, regularization=0.01,
                                                       random_state=0, num_threads=threads,
                                                       calculate_training_loss=False)
            t0, c0 = time.perf_counter(), time.process_time()
            als.fit(mat, show_progress=False)
            out["als_fit_seconds"] = time.perf_counter() - t0
            out["als_fit_cpu_seconds"] = time.process_time() - c0
        out["als_peak_mib"] = _stage_peak(mem)
    out["peak_mib"] = max(mem["overall"], C.peak_rss_mib())
    return out


def _aggregate(runs: list[dict]) -> dict:
    """One size's visits (rounds) in one record: medians of the timings, maxima of the memory peaks."""
    import numpy as np

    out = dict(runs[0])
    every_fit = [t for r in runs for t in r["fit_runs"]]
    out["n_fits"] = len(every_fit)
    out["fit_seconds"] = float(np.median(every_fit))
    out["round_fit_seconds"] = [r["fit_seconds"] for r in runs]
    for key in ("build_seconds", "fit_cpu_seconds", "kernel_seconds", "data_rss_mib", "vs_prefix",
                "als_matrix_seconds", "als_fit_seconds", "als_fit_cpu_seconds"):
        if key in out:
            out[key] = float(np.median([r[key] for r in runs]))
    for key in ("build_peak_mib", "fit_peak_mib", "peak_mib", "als_peak_mib"):
        if key in out:
            out[key] = max(r[key] for r in runs)
    return out


def _parse_size(s: str) -> int:
    v = float(s)
    if v < 1000 or v != int(v):
        raise argparse.ArgumentTypeError(f"bad size {s!r}")
    return int(v)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("Examples")[0], epilog="Examples" + __doc__.split("Examples", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="1M events only")
    p.add_argument("--sizes", default=None, help="comma list of event counts (default 1e6,1e7,3e7,1e8)")
    p.add_argument("--items", type=int, default=100_000, help="items in the catalogue (default 100,000)")
    p.add_argument("--clusters", type=int, default=100, help="item clusters of make_synthetic (default 100)")
    p.add_argument("--events-per-user", type=float, default=50.0, help="mean history length (default 50)")
    p.add_argument("--threads", type=int, default=2, help="threads for item2vec and ALS (default 2)")
    p.add_argument("--als-max", type=float, default=1e7, help="run ALS for sizes up to this (default 1e7)")
    p.add_argument("--rounds", type=int, default=1, help="run every size this many times (default 1)")
    p.add_argument("--min-fit-seconds", type=float, default=10.0,
                   help="repeat a size's fit until it has run this long, at most 10 fits (default 10)")
    p.add_argument("--prefix-check", type=float, default=0,
                   help="also fit each larger size's own first N events in the same process, before and after its "
                        "full fits, and report the per-token time ratio (e.g. 1e6; default off)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-memory-check", action="store_true",
                   help="run a size even if its projected peak RSS exceeds 80%% of MemAvailable")
    C.add_worker_options(p)
    args = p.parse_args(argv)
    if C.serve_worker(args, _worker):
        return 0

    sizes = [_parse_size(s) for s in (args.sizes or ("1e6" if args.quick else "1e6,1e7,3e7,1e8")).split(",")]
    import item2vec
    import implicit

    print(f"# scale  {_dt.date.today()}  item2vec {item2vec.__version__}, implicit {implicit.__version__}, "
          f"{C.machine_note()}")
    print(f"# make_synthetic(n_items={args.items:,}, n_clusters={args.clusters}, events_per_user={args.events_per_user}, "
          f"seed={args.seed}); item2vec 1 epoch vector_size=64 window=5 negative=5 sample=1e-3, "
          f"threads={args.threads}, fits of >= {args.min_fit_seconds:g} s per size, {args.rounds} round(s); "
          f"ALS factors=64 iterations=15 for sizes <= {args.als_max:.0e}", flush=True)
    t_start = time.perf_counter()
    visits = [n for r in range(args.rounds) for n in (sizes if r % 2 == 0 else sizes[::-1])]
    results: list[dict] = []
    skipped: set[int] = set()
    for k, n in enumerate(visits):
        if n in skipped:
            continue
        ran = [x for x in results if x["size"] >= n]
        if results and not ran and not args.no_memory_check:
            last = max(results, key=lambda x: x["size"])  # project the peak linearly from the largest size run so far
            need = last["peak_mib"] * n / last["size"]
            avail = C.mem_available_mib()
            if avail is not None and need > 0.8 * avail:
                print(f"{C.human(n):>5} events: SKIPPED -- projected peak {need:,.0f} MiB > 80% of MemAvailable "
                      f"{avail:,.0f} MiB (shared machine; --no-memory-check to force)", flush=True)
                skipped.add(n)
                continue
        job = dict(size=n, items=args.items, clusters=args.clusters, events_per_user=args.events_per_user,
                   threads=args.threads, als_max=args.als_max, seed=args.seed, min_fit_seconds=args.min_fit_seconds,
                   prefix_check=int(args.prefix_check))
        res = C.run_worker(os.path.abspath(__file__), job)
        results.append(res)
        als = (f", ALS matrix {res['als_matrix_seconds']:.1f} s + fit {res['als_fit_seconds']:.1f} s "
               f"(CPU {res['als_fit_cpu_seconds']:.1f} s)"
               if "als_fit_seconds" in res else "")
        fits = ", ".join(f"{t:.1f}" for t in res["fit_runs"])
        if "vs_prefix" in res:
            fits += f"; s/token {res['vs_prefix']:.2f}x its first {C.human(args.prefix_check)} events'"
        print(f"[{k + 1}/{len(visits)}] {C.human(n):>5} events: generate {res['gen_seconds']:.1f} s, "
              f"build_sequences {res['build_seconds']:.1f} s, fit {res['fit_seconds']:.1f} s (fits: {fits}; "
              f"kernel {res['kernel_seconds']:.1f} s, CPU {res['fit_cpu_seconds']:.1f} s){als}; peak {res['peak_mib']:.0f} MiB "
              f"[process {res['process_seconds']:.0f} s]", flush=True)

    agg = [_aggregate([r for r in results if r["size"] == n]) for n in sizes if any(r["size"] == n for r in results)]
    base = agg[0]
    base_build = base["build_seconds"] / base["size"]
    base_fit = base["fit_seconds"] / base["n_tokens"]
    rows = []
    for r in agg:
        rel = [t / r["n_tokens"] / base_fit for t in r["round_fit_seconds"]]
        rows.append([
            C.human(r["size"]), f"{r['n_users']:,}", f"{r['n_items']:,}",
            f"{r['build_seconds']:.2f}", f"{C.human(r['size'] / r['build_seconds'])}",
            f"{r['fit_seconds']:.2f}", f"{r['n_fits']}", f"{r['kernel_seconds']:.2f}", f"{r['fit_cpu_seconds']:.2f}",
            C.human(r["n_tokens"] / r["fit_seconds"]),
            C.human(r["pairs"] / r["fit_seconds"]),
            f"{r['build_seconds'] / r['size'] / base_build:.2f}",
            f"{r['fit_seconds'] / r['n_tokens'] / base_fit:.2f}",
            f"{min(rel):.2f}-{max(rel):.2f}",
            f"{r['vs_prefix']:.2f}" if "vs_prefix" in r else "-",
            f"{r['data_rss_mib']:.0f}", f"{r['build_peak_mib']:.0f}", f"{r['fit_peak_mib']:.0f}",
            f"{max(r['build_peak_mib'], r['fit_peak_mib']) - r['data_rss_mib']:.0f}", f"{r['peak_mib']:.0f}",
        ])
    print(f"\n## item2vec (build_sequences + 1 epoch), medians over {args.rounds} round(s)\n")
    print(C.markdown_table(
        ["events", "users", "items", "build s", "build events/s", "fit s", "fits", "kernel s", "fit CPU s", "fit tokens/s",
         "fit pairs/s", "build s/token (rel.)", "fit s/token (rel.)", "fit s/token per round (rel.)",
         "fit s/token vs own prefix (same process)", "RSS data MiB",
         "peak build MiB", "peak fit MiB", "build+fit over data MiB", "peak process MiB"], rows))
    als_rows = []
    for r in agg:
        if "als_fit_seconds" not in r:
            continue
        i2v = r["build_seconds"] + r["fit_seconds"]
        als = r["als_matrix_seconds"] + r["als_fit_seconds"]
        als_rows.append([C.human(r["size"]), f"{r['build_seconds']:.2f}", f"{r['fit_seconds']:.2f}", f"{i2v:.2f}",
                         f"{r['als_matrix_seconds']:.2f}", f"{r['als_fit_seconds']:.2f}", f"{als:.2f}",
                         f"{als / i2v:.2f}", f"{r['als_fit_cpu_seconds'] / r['fit_cpu_seconds']:.2f}",
                         f"{r['fit_peak_mib']:.0f}", f"{r['als_peak_mib']:.0f}"])
    if als_rows:
        print("\n## item2vec (1 epoch) vs implicit ALS (15 iterations), same data, same process\n")
        print(C.markdown_table(
            ["events", "i2v build s", "i2v fit s (1 epoch)", "i2v total s", "ALS matrix s", "ALS fit s", "ALS total s",
             "ALS / i2v (wall)", "ALS fit / i2v fit (CPU)", "peak i2v fit MiB", "peak ALS MiB"], als_rows))
    print(f"\ntotal wall time {time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
