#!/usr/bin/env python
"""Training throughput: item2vec vs gensim Word2Vec(sg=1, hs=0) on the same corpus.

Both libraries train skip-gram with negative sampling with the same
hyperparameters (vector_size, window, negative, ns_exponent, sample, epochs,
alpha 0.025 -> min_alpha 1e-4, min_count=1, threads) on exactly the same
sequences:

* item2vec gets a list of int64 arrays and builds its CSR corpus with
  ``build_sequences`` (timed separately), then ``Item2Vec.fit``;
* gensim gets lists of ``str`` tokens in memory (its normal fast path; one
  string object per distinct item), ``build_vocab`` (timed separately), then
  ``train`` (timed). Optionally Python ``int`` tokens (``--gensim-tokens``).

No sequence is longer than 9,999 items, because gensim truncates sentences at
10,000 tokens and item2vec does not. The script checks that gensim saw
``n_tokens * epochs`` raw words and item2vec ``n_tokens`` tokens.

Every single run happens in a fresh subprocess (this script with
``--worker``), so peak memory is per run: "training memory" is the peak RSS
during vocabulary/sequence building + training minus the RSS right after the
corpus was loaded (peak counter reset through /proc/self/clear_refs); "peak" is
the process's total peak RSS. Runs alternate item2vec, gensim, item2vec,
gensim, ... and ratios are taken pair by pair.

tokens/s = corpus tokens * epochs / seconds (raw tokens, before subsampling).
item2vec is timed by the whole ``fit()`` (tables + kernel; the kernel alone is
``training_seconds_``), gensim by ``train()``. Positive pairs/s: item2vec counts
its pairs (``n_pairs_``); gensim does not report them, but with the same
corpus, subsampling rule and window-shrinking rule its expected pair count is
the same, so gensim pairs/s is estimated with item2vec's count of the paired run.

Examples
--------
    python benchmarks/throughput.py --quick
    ITEM2VEC_DATA=/work/shared/datasets/movielens python benchmarks/throughput.py
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C

SETTINGS = C.SGNS_SETTINGS
NS_EXPONENT = 0.75
ALPHA, MIN_ALPHA = 0.025, 1e-4


# ---------------------------------------------------------------------------- worker side
def _worker(job: dict) -> dict:
    """One training run; returns timings, counts and memory (MiB)."""
    lib, threads, epochs = job["lib"], int(job["threads"]), int(job["epochs"])
    setting = job["setting"]
    if lib == "item2vec":
        from item2vec import Item2Vec, build_sequences

        C.warm_up_item2vec(threads)
    else:
        Word2Vec = C.require_gensim()
        Word2Vec([["a", "b", "c"]] * 10, vector_size=8, min_count=1, sg=1, hs=0, negative=2, workers=1, epochs=1)

    raw, offsets = C.load_corpus(job["corpus"])
    n_tokens = int(raw.size)
    if lib == "item2vec":
        data = C.as_int_arrays(raw, offsets)
    else:
        data = C.as_token_lists(raw, offsets, job.get("tokens", "str"))
    del raw, offsets
    load_peak = C.peak_rss_mib()
    reset_ok = C.reset_peak_rss()
    rss0 = C.rss_mib()

    out: dict = {"lib": lib, "n_tokens": n_tokens, "rss_loaded_mib": rss0, "peak_reset": reset_ok}
    if lib == "item2vec":
        t0 = time.perf_counter()
        seqs = build_sequences(data)
        out["prep_seconds"] = time.perf_counter() - t0
        model = Item2Vec(vector_size=setting["vector_size"], window=setting["window"], negative=setting["negative"],
                         ns_exponent=NS_EXPONENT, sample=setting["sample"], min_count=1, epochs=epochs,
                         alpha=ALPHA, min_alpha=MIN_ALPHA, n_threads=threads, random_state=0, verbose=False,
                         backward_window=None, history_decay=None)  # gensim's symmetric window, no holdout
        t0, c0 = time.perf_counter(), time.process_time()
        model.fit(seqs)
        out["train_seconds"] = time.perf_counter() - t0
        out["train_cpu_seconds"] = time.process_time() - c0
        out["kernel_seconds"] = float(model.training_seconds_)
        out["pairs"] = int(model.n_pairs_)
        out["tokens_seen"] = int(model.n_tokens_) * epochs
        out["n_items"] = len(model.vocab_)
    else:
        model = Word2Vec(vector_size=setting["vector_size"], window=setting["window"], negative=setting["negative"],
                         ns_exponent=NS_EXPONENT, sample=setting["sample"], min_count=1, max_final_vocab=None,
                         sg=1, hs=0, epochs=epochs, alpha=ALPHA, min_alpha=MIN_ALPHA, workers=threads, seed=0)
        t0 = time.perf_counter()
        model.build_vocab(data)
        out["prep_seconds"] = time.perf_counter() - t0
        t0, c0 = time.perf_counter(), time.process_time()
        effective, raw_words = model.train(data, total_examples=model.corpus_count, epochs=epochs)
        out["train_seconds"] = time.perf_counter() - t0
        out["train_cpu_seconds"] = time.process_time() - c0
        out["kernel_seconds"] = out["train_seconds"]
        out["tokens_seen"] = int(raw_words)
        out["effective_words"] = int(effective)
        out["n_items"] = len(model.wv)
    out["train_peak_mib"] = C.peak_rss_mib()
    out["peak_mib"] = max(load_peak, out["train_peak_mib"])
    out["train_mem_mib"] = out["train_peak_mib"] - rss0
    return out


# ---------------------------------------------------------------------------- parent side
def _make_corpora(args, tmp: str) -> list[dict]:
    corpora = []
    for name in args.corpora:
        t0 = time.perf_counter()
        if name == "zipf":
            raw, offsets = C.zipf_corpus(args.tokens, args.items, zipf_a=args.zipf_a, seed=args.seed)
            desc = f"Zipf(a={args.zipf_a}) over {args.items:,} ids, lognormal lengths (median 30, sigma 1.2)"
        elif name == "movielens":
            raw, offsets, rep = C.movielens_corpus(args.movielens, args.ml_tokens)
            desc = f"{args.movielens} user histories (time-sorted) x{rep}"
        else:
            raise SystemExit(f"unknown corpus {name!r}; choose from zipf, movielens")
        lengths = np.diff(offsets)
        path = os.path.join(tmp, f"{name}.npz")
        C.save_corpus(path, raw, offsets)
        info = dict(name=name, path=path, desc=desc, n_tokens=int(raw.size), n_seq=int(lengths.size),
                    n_items=int(np.unique(raw).size), median_len=float(np.median(lengths)),
                    max_len=int(lengths.max()), seconds=time.perf_counter() - t0)
        print(f"corpus {name}: {info['n_tokens']:,} tokens, {info['n_seq']:,} sequences, {info['n_items']:,} distinct "
              f"items, length median {info['median_len']:.0f} / max {info['max_len']:,} (< 10,000) -- {desc} "
              f"[{info['seconds']:.1f} s]", flush=True)
        corpora.append(info)
    return corpora


def _run_config(corpus: dict, setting_name: str, threads: int, tokens: str, args) -> dict:
    setting = SETTINGS[setting_name]
    label = f"{corpus['name']} {setting_name} t={threads}" + ("" if tokens == "str" else f" gensim-{tokens}-tokens")
    print(f"\n== {label}: {json.dumps(setting)}, epochs={args.epochs}", flush=True)
    print(f"{'run':>3} {'lib':<9} {'prep s':>7} {'train s':>8} {'cpu s':>7} {'tokens/s':>9} {'pairs/s':>9} "
          f"{'train MiB':>9} {'peak MiB':>8}  ratio: fit / kernel / cpu", flush=True)
    runs = []
    tok = corpus["n_tokens"] * args.epochs
    for r in range(args.repeats):
        pair = {}
        for lib in ("item2vec", "gensim"):
            job = dict(lib=lib, corpus=corpus["path"], setting=setting, threads=threads, epochs=args.epochs,
                       tokens=tokens)
            res = C.run_worker(os.path.abspath(__file__), job)
            if res["tokens_seen"] != tok:
                raise RuntimeError(f"{lib} processed {res['tokens_seen']} raw tokens, expected {tok}")
            res["tps"] = tok / res["train_seconds"]
            res["pps"] = pair["item2vec"]["pairs"] / res["train_seconds"] if lib == "gensim" else \
                res["pairs"] / res["train_seconds"]
            pair[lib] = res
        ours, gs = pair["item2vec"], pair["gensim"]
        ours["tps_kernel"] = tok / ours["kernel_seconds"]
        ratio = ours["tps"] / gs["tps"]
        ratio_k = ours["tps_kernel"] / gs["tps"]
        ratio_cpu = gs["train_cpu_seconds"] / ours["train_cpu_seconds"]
        for lib, res in (("item2vec", ours), ("gensim", gs)):
            extra = f"  {ratio:.2f}x / {ratio_k:.2f}x / {ratio_cpu:.2f}x" if lib == "gensim" else ""
            print(f"{r + 1:>3} {lib:<9} {res['prep_seconds']:7.2f} {res['train_seconds']:8.2f} "
                  f"{res['train_cpu_seconds']:7.2f} {C.human(res['tps']):>9} {C.human(res['pps']):>9} "
                  f"{res['train_mem_mib']:9.0f} {res['peak_mib']:8.0f}{extra}", flush=True)
        runs.append(dict(item2vec=ours, gensim=gs, ratio=ratio, ratio_kernel=ratio_k, ratio_cpu=ratio_cpu))
    med = C.median(r["ratio"] for r in runs)
    med_k = C.median(r["ratio_kernel"] for r in runs)
    med_c = C.median(r["ratio_cpu"] for r in runs)
    eff = C.median(r["gensim"]["effective_words"] for r in runs) / tok
    print(f"   median ratio item2vec/gensim: {med:.2f}x (fit wall)  {med_k:.2f}x (kernel wall)  {med_c:.2f}x (CPU time); "
          f"gensim kept {eff:.3f} of the raw tokens after subsampling", flush=True)
    return dict(label=label, corpus=corpus["name"], setting=setting_name, threads=threads, tokens=tokens, runs=runs,
                median_ratio=med, median_ratio_kernel=med_k, median_ratio_cpu=med_c)


def _summary(results: list[dict]) -> str:
    headers = ["corpus", "setting", "threads", "item2vec tokens/s", "gensim tokens/s", "median ratio",
               "ratio kernel-only", "ratio CPU-time", "item2vec pairs/s", "item2vec build_sequences s",
               "gensim build_vocab s", "train MiB item2vec", "train MiB gensim", "peak MiB item2vec",
               "peak MiB gensim"]
    rows = []
    for res in results:
        runs = res["runs"]
        get = lambda lib, key: C.median(r[lib][key] for r in runs)  # noqa: E731
        corpus = res["corpus"] + ("" if res["tokens"] == "str" else f" (gensim {res['tokens']} tokens)")
        rows.append([corpus, res["setting"], res["threads"], C.human(get("item2vec", "tps")),
                     C.human(get("gensim", "tps")), f"{res['median_ratio']:.2f}x", f"{res['median_ratio_kernel']:.2f}x",
                     f"{res['median_ratio_cpu']:.2f}x", C.human(get("item2vec", "pps")),
                     f"{get('item2vec', 'prep_seconds'):.2f}", f"{get('gensim', 'prep_seconds'):.2f}",
                     f"{get('item2vec', 'train_mem_mib'):.0f}", f"{get('gensim', 'train_mem_mib'):.0f}",
                     f"{get('item2vec', 'peak_mib'):.0f}", f"{get('gensim', 'peak_mib'):.0f}"])
    return C.markdown_table(headers, rows)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("Examples")[0], epilog="Examples" + __doc__.split("Examples", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="~1M-token Zipf corpus, setting A, 1 and 2 threads, 1 repeat (< 1 minute)")
    p.add_argument("--repeats", type=int, default=None, help="alternating item2vec/gensim pairs per config (default 3)")
    p.add_argument("--corpora", default=None, help="comma list of zipf,movielens (default both; quick: zipf)")
    p.add_argument("--settings", default=None, help="comma list of A,B (default A,B; quick: A)")
    p.add_argument("--threads", default="1,2", help="comma list of thread counts (default 1,2)")
    p.add_argument("--tokens", type=int, default=None, help="Zipf corpus tokens (default 10,000,000; quick 1,000,000)")
    p.add_argument("--items", type=int, default=200_000, help="Zipf item universe (default 200,000)")
    p.add_argument("--zipf-a", type=float, default=1.0, help="Zipf exponent (default 1.0)")
    p.add_argument("--movielens", default="ml-latest-small", help="MovieLens data set for the second corpus")
    p.add_argument("--ml-tokens", type=int, default=3_000_000, help="repeat MovieLens to about this many tokens")
    p.add_argument("--epochs", type=int, default=1, help="epochs per run (default 1)")
    p.add_argument("--gensim-tokens", default="str", choices=["str", "int", "both"],
                   help="token type given to gensim; 'both' adds an int-token config for the first corpus/setting/thread")
    p.add_argument("--seed", type=int, default=0, help="corpus seed")
    C.add_worker_options(p)
    args = p.parse_args(argv)
    if C.serve_worker(args, _worker):
        return 0

    C.require_gensim()  # fail early with the install hint
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.corpora = (args.corpora or ("zipf" if args.quick else "zipf,movielens")).split(",")
    settings = (args.settings or ("A" if args.quick else "A,B")).split(",")
    threads = [int(t) for t in args.threads.split(",")]
    args.tokens = args.tokens or (1_000_000 if args.quick else 10_000_000)
    if args.quick:
        args.ml_tokens = min(args.ml_tokens, 1_000_000)
    import item2vec

    print(f"# throughput  {_dt.date.today()}  item2vec {item2vec.__version__}, gensim {C.gensim_version()}, "
          f"{C.machine_note()}")
    print(f"# settings: { {k: SETTINGS[k] for k in settings} }, ns_exponent={NS_EXPONENT}, alpha {ALPHA}->{MIN_ALPHA}, "
          f"min_count=1, epochs={args.epochs}, threads={threads}, repeats={args.repeats}", flush=True)
    t_start = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="i2v_throughput_") as tmp:
        corpora = _make_corpora(args, tmp)
        for corpus in corpora:
            for s in settings:
                for t in threads:
                    results.append(_run_config(corpus, s, t, "str" if args.gensim_tokens != "int" else "int", args))
        if args.gensim_tokens == "both":
            results.append(_run_config(corpora[0], settings[0], threads[0], "int", args))
    print("\n## Summary (medians over runs; ratio = item2vec tokens/s / gensim tokens/s, paired runs)\n")
    print(_summary(results))
    print(f"\ntotal wall time {time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
