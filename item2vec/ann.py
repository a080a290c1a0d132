"""Approximate nearest-neighbour (ANN) serving for :class:`~item2vec.Item2Vec` (extra ``item2vec[ann]``).

The library is `faiss <https://github.com/facebookresearch/faiss>`_ (``faiss-cpu``),
chosen by measurement against hnswlib and usearch (``benchmarks/ann_compare.py``:
on 200k clustered 64-d vectors faiss's HNSW had the highest queries/s at every
search width for the same recall, hnswlib was close and usearch 2-3x slower; faiss
also offers an IVF index that builds much faster and an exhaustive index, and
serialises an index to a byte array without pickle). IVF's recall for inner product
over context vectors of uneven norms was poor (0.53 at nprobe=16 on the same data), so
HNSW is the default. On 1M items x 64 dims (``benchmarks/ann.py``, 2 threads, one
process) ``recommend`` for 10,000 histories ran at 53x the exact path's queries/s with
recall@10 0.951 against the exact results (``ef=256``; 0.974 at 30x with ``ef=512``);
the index took 146 s to build and 382 MiB. ``similar_items`` for 10,000 items with the
cosine index: 11.8x at recall@10 0.948 (``ef=256``, a separate, busier run).

Two search spaces, matching the two exact scoring paths:

``"ip"``
    inner product over the context vectors ``C``: ``recommend`` with
    ``scoring="sgns"`` (profile · C[j]);
``"cosine"``
    inner product over the unit input vectors: ``similar_items`` and
    ``recommend`` with ``scoring="cosine"``.

Semantics (the same as the exact path). The index returns ``fetch`` candidates per
query; they are re-ordered by (score desc, index asc) - the exact path's tie-break -
and filtered exactly like the exact path (seen items, ``exclude``, the query item,
``min_count``). A row with fewer than ``k`` survivors is searched again with 4x the
candidates, then computed EXACTLY (so padding with ``-1``/``-inf`` appears only where
the exact path pads). Empty histories always take the exact path (popularity). The
number of exact rows of the last query is ``model.index_.last_fallbacks``.

An index belongs to the vectors it was built from: after ``fit``/``load`` replaced
them, it is dropped with a warning and queries are exact. Editing the vectors in
place requires :meth:`IndexMixin.build_index` again.

Persistence: ``save`` stores each faiss index as a ``uint8`` array
(``faiss.serialize_index``; no pickle; covered by the file's checksums) and ``load``
restores it, so a large index is not rebuilt; if faiss is missing at load time the
model loads without its index (warning). faiss parses those bytes in C++: load model
files only from sources you trust (as with any binary index format).
"""

from __future__ import annotations

import warnings
import weakref
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import numpy as np

from .scoring import chunked_topk, cosine_neighbours, normalize_rows, profiles
from .validation import check_int

__all__ = ["KINDS", "SPACES", "ItemIndex", "IndexMixin", "import_faiss"]

KINDS = ("hnsw", "ivf", "flat")
SPACES = ("ip", "cosine")
#: Options per kind and their defaults (``ef``/``nprobe`` are search-time: see :meth:`ItemIndex.set_search`).
DEFAULTS: dict[str, dict[str, Any]] = {
    "hnsw": {"M": 16, "ef_construction": 64, "ef": 256},  # measured at 1M items: benchmarks/ann.py
    "ivf": {"nlist": None, "nprobe": 32, "train_size": 64},
    "flat": {},
}


def import_faiss() -> Any:
    """The ``faiss`` module, or ``ImportError`` saying how to install it."""
    try:
        import faiss
    except ImportError as e:
        raise ImportError("approximate nearest-neighbour search needs faiss-cpu, the optional extra of item2vec: "
                          "pip install 'item2vec[ann]' (or pip install faiss-cpu)") from e
    return faiss


@contextmanager
def _omp_threads(faiss: Any, threads: int | None) -> Iterator[None]:
    if threads is None:
        yield
        return
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(int(threads))
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


def _options(kind: Any, options: dict[str, Any]) -> dict[str, Any]:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}, got kind={kind!r}")
    bad = sorted(set(options) - set(DEFAULTS[kind]))
    if bad:
        raise TypeError(f"unknown option(s) {bad} for kind={kind!r}; its options are {sorted(DEFAULTS[kind]) or 'none'}")
    out = {**DEFAULTS[kind], **options}
    for name, value in out.items():
        if value is not None:
            out[name] = check_int(name, value, 2 if name == "M" else 1)
    return out


class ItemIndex:
    """faiss indexes over one model's vectors, one per search space (``"ip"``, ``"cosine"``).

    Built by :meth:`IndexMixin.build_index`; not constructed directly.
    """

    def __init__(self, kind: str, options: dict[str, Any], indexes: dict[str, Any], threads: int | None) -> None:
        self.kind, self.options, self.indexes, self.threads = kind, dict(options), dict(indexes), threads
        self.last_fallbacks = 0
        self._source: tuple[Any, ...] = ()
        self.set_search(ef=options.get("ef"), nprobe=options.get("nprobe"))

    @property
    def spaces(self) -> tuple[str, ...]:
        return tuple(self.indexes)

    def set_search(self, ef: int | None = None, nprobe: int | None = None) -> None:
        """Search width: ``ef`` (HNSW candidate list) or ``nprobe`` (IVF lists visited); larger = better recall, slower."""
        if ef is not None:
            self.options["ef"] = check_int("ef", ef, 1)
        if nprobe is not None:
            self.options["nprobe"] = check_int("nprobe", nprobe, 1)
        for index in self.indexes.values():
            if self.kind == "hnsw":
                index.hnsw.efSearch = self.options["ef"]
            elif self.kind == "ivf":
                index.nprobe = self.options["nprobe"]

    def info(self) -> dict[str, Any]:
        """Library, kind, options, spaces and memory (bytes of the serialised indexes)."""
        faiss = import_faiss()
        size = sum(int(faiss.serialize_index(ix).nbytes) for ix in self.indexes.values())
        return {"library": "faiss", "version": faiss.__version__, "kind": self.kind, "options": dict(self.options),
                "spaces": list(self.spaces), "bytes": size}

    def search(self, space: str, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(ids int64, scores float32)`` of the ``k`` best items per query row (``-1`` where none)."""
        faiss = import_faiss()
        with _omp_threads(faiss, self.threads):
            scores, ids = self.indexes[space].search(np.ascontiguousarray(queries, dtype=np.float32), int(k))
        return ids.astype(np.int64, copy=False), scores

    def __repr__(self) -> str:
        return f"ItemIndex(kind={self.kind!r}, spaces={list(self.spaces)}, options={self.options})"


def _build_one(faiss: Any, kind: str, X: np.ndarray, opt: dict[str, Any], seed: int) -> Any:
    n, d = X.shape
    if kind == "flat":
        index = faiss.IndexFlatIP(d)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(d, opt["M"], faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = opt["ef_construction"]
    else:
        nlist = opt["nlist"] or max(1, min(n, int(4 * np.sqrt(n))))
        if nlist > n:
            raise ValueError(f"nlist must be <= the number of items ({n}), got nlist={nlist}")
        opt["nlist"] = nlist
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
        rows = np.random.default_rng(seed).choice(n, min(n, opt["train_size"] * nlist), replace=False)
        index.train(X[np.sort(rows)])
    index.add(X)
    return index


class IndexMixin:
    """``build_index`` / ``drop_index`` and the query hooks of :class:`~item2vec.Item2Vec`."""

    index_: ItemIndex | None = None

    def build_index(self, kind: str = "hnsw", *, spaces: Any = None, threads: int | None = None,
                    seed: int = 0, **options: Any) -> ItemIndex:
        """Build an approximate nearest-neighbour index used by ``recommend`` and ``similar_items``.

        Parameters
        ----------
        kind : {"hnsw", "ivf", "flat"}, default "hnsw"
            ``"hnsw"``: faiss ``IndexHNSWFlat`` (graph; best speed/recall, slowest
            to build). ``"ivf"``: ``IndexIVFFlat`` (k-means lists; builds fast).
            ``"flat"``: exhaustive search (exact; small catalogues and tests).
        spaces : str or sequence of {"ip", "cosine"}, optional
            Which indexes to build: ``"ip"`` over the context vectors (``recommend``
            with ``scoring="sgns"``), ``"cosine"`` over the unit input vectors
            (``similar_items``, ``recommend`` with ``scoring="cosine"``). Default:
            both, or only ``"cosine"`` when the context vectors are all zero
            (``from_vectors`` without them). A query whose space has no index is exact.
        threads : int, optional
            OpenMP threads of faiss for build and search (default: faiss's own).
        seed : int, default 0
            Seed of the IVF training sample.
        **options
            ``hnsw``: ``M`` (links per node, default 16), ``ef_construction``
            (default 64), ``ef`` (search width, default 256: recall@10 0.95 at
            53x the exact queries/s on 1M clustered items, ``ef=512``: 0.97 at
            30x; ``benchmarks/ann.py``). ``ivf``: ``nlist``
            (default ``4 sqrt(n_items)``), ``nprobe`` (default 32), ``train_size``
            (training rows per list, default 64). Change ``ef``/``nprobe``
            later with ``model.index_.set_search``.

        Returns
        -------
        ItemIndex
            Also stored as ``model.index_`` (and saved with the model).
        """
        self._check_fitted()
        faiss = import_faiss()
        opt = _options(kind, options)
        if spaces is None:
            spaces = ("ip", "cosine") if np.any(self.context_vectors_) else ("cosine",)
        spaces = (spaces,) if isinstance(spaces, str) else tuple(spaces)
        if not spaces or any(s not in SPACES for s in spaces):
            raise ValueError(f"spaces must be a non-empty subset of {list(SPACES)}, got spaces={spaces!r}")
        if threads is not None:
            threads = check_int("threads", threads, 1)
        indexes = {}
        with _omp_threads(faiss, threads):
            for space in dict.fromkeys(spaces):
                indexes[space] = _build_one(faiss, kind, self._space_vectors(space), opt, seed)
        return self._install_index(ItemIndex(kind, opt, indexes, threads))

    def drop_index(self) -> None:
        """Forget the index: queries are exact again (and ``save`` stores no index)."""
        self.index_ = None

    def _install_index(self, index: ItemIndex) -> ItemIndex:
        """Make ``index`` the model's, tied to the vectors it was built from (:meth:`_live_index`)."""
        index._source = (weakref.ref(self.item_vectors_), weakref.ref(self.context_vectors_))
        self.index_ = index
        return index

    @staticmethod
    def _space(rule: str) -> str:
        """The space of a scoring rule: ``"cosine"`` for ``scoring="cosine"``, else ``"ip"`` (``"sgns"``)."""
        return "cosine" if rule == "cosine" else "ip"

    def _space_vectors(self, space: str) -> np.ndarray:
        """The item vectors of ``space``: a history's query vector scores item ``j`` by ``q @ vectors[j]``."""
        return self.context_vectors_ if space == "ip" else self._unit_vectors()

    def _space_queries(self, space: str) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """Query vectors of encoded histories (CSR ``indptr, indices``) in ``space``.

        ``"ip"``: the profile of the input vectors; ``"cosine"``: the unit profile of the unit
        input vectors. Shared by the exact scorer (``Item2Vec._scorer``) and the index search.
        """
        decay = self._profile_decay()
        if space == "cosine":
            U = self._unit_vectors()
            return lambda ptr, idx: normalize_rows(profiles(U, ptr, idx, self.history_length, decay))
        W = self.item_vectors_
        return lambda ptr, idx: profiles(W, ptr, idx, self.history_length, decay)

    def _live_index(self, space: str | None = None) -> ItemIndex | None:
        """The index if it still belongs to the model's vectors (else dropped, with a warning) and has ``space``."""
        index = self.index_
        if index is None:
            return None
        W, C = (ref() for ref in index._source)
        if W is not self.item_vectors_ or C is not self.context_vectors_:
            warnings.warn("the ANN index was built from vectors this model no longer has (fit or load replaced them); "
                          "it was dropped and queries are exact: call build_index() again", RuntimeWarning, stacklevel=4)
            self.index_ = None
            return None
        return index if space is None or space in index.indexes else None

    # ------------------------------------------------------------------ query hooks
    def _index_topk(self, indptr: np.ndarray, indices: np.ndarray, k: int, exclude: np.ndarray | None,
                    filter_seen: bool, block: Callable[[int, int], np.ndarray],
                    options: dict[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
        """``recommend``'s top-``k`` from the index, or None (no usable index: the exact path)."""
        space = self._space(options.get("scoring") or self.scoring)
        index = self._live_index(space)
        if index is None:
            return None
        V, n = len(self.vocab_), indptr.size - 1
        lengths = np.diff(indptr)
        rows = np.flatnonzero(lengths > 0)
        ids = np.empty((n, k), dtype=np.int64)
        vals = np.empty((n, k), dtype=np.float32)
        sub_ptr = np.r_[0, np.cumsum(lengths[rows])]
        sub_idx = indices  # empty histories hold no indices: the non-empty rows' indices are all of them
        Q = self._space_queries(space)(sub_ptr, sub_idx)
        n_ex = 0 if exclude is None else int(exclude.sum())
        seen = np.quantile(lengths[rows], 0.9) if filter_seen and rows.size else 0
        fetch = min(V, max(2 * k, min(k + int(seen) + n_ex, max(4 * k, 256))))
        seen_keys = np.repeat(np.arange(rows.size, dtype=np.int64), np.diff(sub_ptr)) * V + sub_idx if filter_seen else None

        def reject(sub: np.ndarray, cand: np.ndarray) -> np.ndarray:
            bad = np.zeros(cand.shape, dtype=bool) if exclude is None else exclude[np.maximum(cand, 0)]
            if seen_keys is not None:
                bad |= np.isin(sub[:, None] * V + cand, seen_keys)
            return bad

        exact_rows = _exact_rows(block, V, k)
        a, b, short = filtered_search(index, space, Q, k, fetch, V, reject)
        ids[rows], vals[rows] = a, b
        fallback = np.r_[np.flatnonzero(lengths == 0), rows[short]].astype(np.int64)
        if fallback.size:
            ids[fallback], vals[fallback] = exact_rows(fallback)
        index.last_fallbacks = int(short.size)
        return ids, vals

    def _index_similar(self, query: np.ndarray, k: int, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """``similar_items``' top-``k`` from the cosine index, or None (the exact path)."""
        index = self._live_index("cosine")
        if index is None:
            return None
        V, U = len(self.vocab_), self._unit_vectors()
        ids = np.full((query.size, k), -1, dtype=np.int64)
        vals = np.full((query.size, k), -np.inf, dtype=np.float32)
        rows = np.flatnonzero(query >= 0)  # unknown ids: all padding, as in the exact path
        q = query[rows]
        share = max(float(allowed.mean()), 1.0 / V)
        fetch = min(V, max(2 * k, int(np.ceil((k + 1) / share * 1.25))))

        def reject(sub: np.ndarray, cand: np.ndarray) -> np.ndarray:
            return (cand == q[sub][:, None]) | ~allowed[np.maximum(cand, 0)]

        a, b, short = filtered_search(index, "cosine", U[q], k, fetch, V, reject)
        ids[rows], vals[rows] = a, b
        if short.size:
            ids[rows[short]], vals[rows[short]] = cosine_neighbours(U, q[short], k, allowed)
        index.last_fallbacks = int(short.size)
        return ids, vals

    # ------------------------------------------------------------------ persistence hooks
    def _index_arrays(self) -> dict[str, np.ndarray]:
        """Serialised indexes (``uint8``) for ``save``; empty without an index."""
        index = self._live_index()
        if index is None:
            return {}
        faiss = import_faiss()
        return {f"ann_index_{s}": faiss.serialize_index(ix) for s, ix in index.indexes.items()}

    def _index_meta(self) -> dict[str, Any]:
        index = self.index_
        return {} if index is None else {"ann_index": {"kind": index.kind, "options": index.options,
                                                       "spaces": list(index.spaces), "threads": index.threads}}

    def _restore_index(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Install the index saved by ``save`` (called by ``load``); ``ValueError`` if it does not fit the model."""
        spec = meta.get("ann_index")
        if spec is None:
            return
        try:
            faiss = import_faiss()
        except ImportError as e:
            warnings.warn(f"the model file holds an ANN index but it was not loaded: {e}", RuntimeWarning, stacklevel=3)
            return
        indexes = {}
        for space in spec["spaces"]:
            if space not in SPACES:
                raise ValueError(f"unknown index space {space!r}")
            try:
                ix = faiss.deserialize_index(np.ascontiguousarray(arrays[f"ann_index_{space}"], dtype=np.uint8))
            except RuntimeError as e:
                raise ValueError(f"the saved {space!r} index is not a readable faiss index: {e}") from e
            if ix.ntotal != len(self.vocab_) or ix.d != self.item_vectors_.shape[1]:
                raise ValueError(f"the saved {space!r} index holds {ix.ntotal} vectors of dimension {ix.d}, "
                                 f"the model {len(self.vocab_)} of dimension {self.item_vectors_.shape[1]}")
            indexes[space] = ix
        self._install_index(ItemIndex(spec["kind"], spec["options"], indexes, spec.get("threads")))


def _exact_rows(block: Callable[[int, int], np.ndarray], V: int, k: int) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Exact top-``k`` of the given (sorted or not) batch rows through the exact pipeline's ``block``."""
    def run(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(rows, kind="stable")
        srt = rows[order]
        ids = np.empty((rows.size, k), dtype=np.int64)
        vals = np.empty((rows.size, k), dtype=np.float32)
        pos = 0
        for run_ in np.split(srt, np.flatnonzero(np.diff(srt) != 1) + 1):
            a0 = int(run_[0])
            i, v = chunked_topk(run_.size, V, k, lambda a, b: block(a0 + a, a0 + b))
            ids[order[pos:pos + run_.size]], vals[order[pos:pos + run_.size]] = i, v
            pos += run_.size
        return ids, vals

    return run


def filtered_search(index: ItemIndex, space: str, Q: np.ndarray, k: int, fetch: int, n_items: int,
                    reject: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-``k`` surviving candidates per query row; rows still short after a 4x retry are returned in ``short``.

    ``reject(rows, cand)`` marks candidates (``(len(rows), fetch)`` item indices of
    those query rows) the exact path would not return. Candidates are ordered by
    score desc, then index asc.
    """
    n = Q.shape[0]
    ids = np.full((n, k), -1, dtype=np.int64)
    vals = np.full((n, k), -np.inf, dtype=np.float32)
    todo = np.arange(n)
    for attempt in range(2):
        if not todo.size:
            break
        cand, score = index.search(space, Q[todo], fetch)
        score = np.where(cand >= 0, score, -np.inf).astype(np.float32)
        order = np.lexsort((np.where(cand >= 0, cand, n_items), -score), axis=-1)
        cand, score = np.take_along_axis(cand, order, 1), np.take_along_axis(score, order, 1)
        ok = (cand >= 0) & ~reject(todo, cand)
        full = ok.sum(axis=1) >= k
        keep = ok[full] & (np.cumsum(ok[full], axis=1) <= k)
        ids[todo[full]] = cand[full][keep].reshape(-1, k)
        vals[todo[full]] = score[full][keep].reshape(-1, k)
        todo = todo[~full]
        if fetch >= n_items:
            break
        fetch = min(n_items, 4 * fetch)
    return ids, vals, todo
