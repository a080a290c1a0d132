"""Choose the ANN library by measurement: faiss-cpu, hnswlib and usearch on the same vectors.

Raw library calls (no item2vec wiring) on clustered vectors from ``benchmarks/ann.py``'s
generator: build time, index bytes, queries/s for a batch of queries (k = 10) and
recall@10 against brute force, for inner product (the SGNS scoring space) at a few
search widths. All in one process, so the ratios are comparable on a shared machine.

Example::

    python benchmarks/ann_compare.py --items 200000 --queries 10000 --threads 2
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from ann import clustered_vectors, exact_topk, recall_at  # benchmarks/ann.py


def run_faiss(C, Q, k, M, efc, efs_list, threads):
    import faiss

    faiss.omp_set_num_threads(threads)
    t0 = time.perf_counter()
    index = faiss.IndexHNSWFlat(C.shape[1], M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = efc
    index.add(C)
    build = time.perf_counter() - t0
    size = faiss.serialize_index(index).nbytes
    for efs in efs_list:
        index.hnsw.efSearch = efs
        t0 = time.perf_counter()
        _, I = index.search(Q, k)
        yield "faiss HNSWFlat", efs, build, size, time.perf_counter() - t0, I


def run_faiss_ivf(C, Q, k, M, efc, nprobe_list, threads):
    import faiss

    faiss.omp_set_num_threads(threads)
    nlist = int(4 * np.sqrt(C.shape[0]))
    t0 = time.perf_counter()
    quantizer = faiss.IndexFlatIP(C.shape[1])
    index = faiss.IndexIVFFlat(quantizer, C.shape[1], nlist, faiss.METRIC_INNER_PRODUCT)
    index.train(C[np.random.default_rng(0).choice(C.shape[0], min(C.shape[0], 64 * nlist), replace=False)])
    index.add(C)
    build = time.perf_counter() - t0
    size = faiss.serialize_index(index).nbytes
    for nprobe in nprobe_list:
        index.nprobe = nprobe
        t0 = time.perf_counter()
        _, I = index.search(Q, k)
        yield f"faiss IVFFlat nlist={nlist} (ef = nprobe)", nprobe, build, size, time.perf_counter() - t0, I


def run_hnswlib(C, Q, k, M, efc, efs_list, threads):
    import hnswlib

    t0 = time.perf_counter()
    index = hnswlib.Index(space="ip", dim=C.shape[1])
    index.init_index(max_elements=C.shape[0], ef_construction=efc, M=M, random_seed=1)
    index.add_items(C, np.arange(C.shape[0]), num_threads=threads)
    build = time.perf_counter() - t0
    size = C.shape[0] * (C.shape[1] * 4 + M * 2 * 4 + 16)  # vectors + level-0 links (documented layout)
    for efs in efs_list:
        index.set_ef(efs)
        t0 = time.perf_counter()
        I, _ = index.knn_query(Q, k=k, num_threads=threads)
        yield "hnswlib", efs, build, size, time.perf_counter() - t0, I


def run_usearch(C, Q, k, M, efc, efs_list, threads):
    from usearch.index import Index

    t0 = time.perf_counter()
    index = Index(ndim=C.shape[1], metric="ip", dtype="f32", connectivity=M, expansion_add=efc)
    index.add(np.arange(C.shape[0], dtype=np.uint64), C, threads=threads)
    build = time.perf_counter() - t0
    size = index.memory_usage
    for efs in efs_list:
        index.expansion_search = efs
        t0 = time.perf_counter()
        m = index.search(Q, k, threads=threads)
        yield "usearch", efs, build, size, time.perf_counter() - t0, np.asarray(m.keys)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=200_000)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--queries", type=int, default=10_000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--M", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=100)
    ap.add_argument("--ef", type=int, nargs="+", default=[32, 64, 128])
    ap.add_argument("--libs", nargs="+", default=["faiss", "hnswlib", "usearch"])
    args = ap.parse_args()
    W, C, counts, hist = clustered_vectors(args.items, args.dim, args.queries, seed=0)
    Q = np.stack([W[h[-3:]].mean(axis=0) for h in hist]).astype(np.float32)
    t0 = time.perf_counter()
    truth = exact_topk(Q, C, 10)
    exact_s = time.perf_counter() - t0
    print(f"items={args.items} dim={args.dim} queries={args.queries} threads={args.threads} "
          f"M={args.M} efConstruction={args.ef_construction}")
    print(f"brute force (numpy sgemm + argpartition): {args.queries / exact_s:,.0f} q/s")
    print("| library | ef | build s | index MiB | q/s | x brute | recall@10 |")
    print("|---|---|---|---|---|---|---|")
    runners = {"faiss": run_faiss, "faiss_ivf": run_faiss_ivf, "hnswlib": run_hnswlib, "usearch": run_usearch}
    for lib in args.libs:
        for name, efs, build, size, secs, I in runners[lib](C, Q, 10, args.M, args.ef_construction, args.ef, args.threads):
            qps = args.queries / secs
            print(f"| {name} | {efs} | {build:.1f} | {size / 2**20:.0f} | {qps:,.0f} | {qps * exact_s / args.queries:.1f} "
                  f"| {recall_at(I, truth):.3f} |", flush=True)


if __name__ == "__main__":
    main()
