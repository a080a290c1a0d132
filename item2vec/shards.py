"""Prepared sequence folders (written by :func:`item2vec.spark.prepare`), read shard by shard.

A prepared folder holds::

    manifest.json        format version, settings, row counts, per-shard counts, sizes and SHA-256
    vocab.parquet        columns ``id`` (int64 or string) and ``count`` (int64), in code order
    shards/part-*.parquet one row per sequence: ``items`` (list<int32> codes), ``length`` (int32), ``user``

Shards are in sequence order (the order :func:`item2vec.build_sequences`
emits them), so the concatenation of the shards is the corpus. The manifest
is written last and the folder is renamed into place, so a folder without a
complete manifest is the remains of a job that died: :func:`open_prepared`
refuses it, naming the folder.

:class:`ShardedSequences` never loads the corpus whole: it keeps the
vocabulary and one ``int64`` offset per sequence, and hands the training loop
parts of whole kernel blocks (:meth:`ShardedSequences.corpus_parts`), each
placed in the whole corpus (``Corpus.start``, ``total``, ``first_block``), so
the vectors are bit-identical to an in-memory fit with one thread.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any, Iterator

import numpy as np

from ._kernels import Corpus, corpus_blocks
from .vocab import Vocabulary

__all__ = ["FORMAT_VERSION", "MANIFEST", "PreparedFolderError", "ShardedSequences", "open_prepared",
           "is_prepared", "file_sha256", "split_for_fit", "write_prepared", "needs_memory"]

#: Version of the prepared-folder layout (manifest ``format_version``).
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
VOCAB_FILE = "vocab.parquet"
SHARD_DIR = "shards"
#: Tokens loaded per kernel call when training from shards (the bounded buffer: 4 bytes a token).
BUFFER_TOKENS = 1 << 24
_REQUIRED = ("format_version", "settings", "n_events", "n_sequences", "n_tokens", "n_items", "shards", "vocab")


class PreparedFolderError(ValueError):
    """A prepared folder that is missing, incomplete (a job that died) or damaged."""


def _pq() -> Any:
    try:
        import pyarrow.parquet as pq
    except ImportError as e:  # pragma: no cover - pyarrow is a dependency of the export/spark extras
        raise ImportError("reading prepared sequence folders needs pyarrow: pip install 'item2vec[spark]'") from e
    return pq


def file_sha256(path: str, chunk: int = 1 << 22) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def is_prepared(data: Any) -> bool:
    """Whether ``data`` is meant as a prepared folder: a path (``str`` or PathLike) or a :class:`ShardedSequences`.

    A path is never valid sequence input otherwise, so a wrong one gets :func:`open_prepared`'s clear error.
    """
    return isinstance(data, (ShardedSequences, str, os.PathLike))


def open_prepared(path: str | os.PathLike[str], verify: bool = False) -> "ShardedSequences":
    """Open a prepared folder; see :class:`ShardedSequences`."""
    return ShardedSequences(path, verify=verify)


def _read_manifest(path: str) -> dict[str, Any]:
    if not os.path.isdir(path):
        raise PreparedFolderError(f"prepared sequences folder {path!r} does not exist (or is not a folder); "
                                  f"write it with 'item2vec prepare --data LOG --output {path}'")
    mpath = os.path.join(path, MANIFEST)
    if not os.path.isfile(mpath):
        raise PreparedFolderError(f"{path!r} has no {MANIFEST}: it is not a complete prepared folder (a prepare job "
                                  f"that died, or another folder); prepare it again")
    try:
        with open(mpath, encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError) as e:
        raise PreparedFolderError(f"{path!r}: {MANIFEST} is unreadable or incomplete ({e}); prepare it again") from None
    missing = [k for k in _REQUIRED if not isinstance(manifest, dict) or k not in manifest]
    if missing:
        raise PreparedFolderError(f"{path!r}: {MANIFEST} lacks {missing}: an incomplete prepared folder; prepare it again")
    if manifest["format_version"] != FORMAT_VERSION:
        raise PreparedFolderError(f"{path!r} has format_version={manifest['format_version']!r}; this item2vec reads "
                                  f"format_version={FORMAT_VERSION}")
    return manifest


class ShardedSequences:
    """The sequences of a prepared folder, read shard by shard (never loaded whole).

    Parameters
    ----------
    path : str or PathLike
        A folder written by :func:`item2vec.spark.prepare`.
    verify : bool, default False
        Also check every file's SHA-256 against the manifest (reads all bytes once);
        sizes and row counts are always checked.

    Attributes
    ----------
    vocab : Vocabulary
        Item ids in code order, with their counts in the corpus.
    manifest : dict
        The folder's manifest.
    n_tokens, n_sequences : int

    Raises
    ------
    PreparedFolderError
        The folder is missing, has no complete manifest, or a file is missing or
        differs from the manifest (the message names the folder and the file).
    """

    def __init__(self, path: str | os.PathLike[str], verify: bool = False) -> None:
        self.path = os.fspath(path)
        self.manifest = _read_manifest(self.path)
        self.shards = [dict(s) for s in self.manifest["shards"]]
        for entry in [self.manifest["vocab"], *self.shards]:
            f = os.path.join(self.path, entry["file"])
            if not os.path.isfile(f):
                raise PreparedFolderError(f"{self.path!r}: {entry['file']} is listed in {MANIFEST} but missing")
            if os.path.getsize(f) != entry["bytes"]:
                raise PreparedFolderError(f"{self.path!r}: {entry['file']} has {os.path.getsize(f)} bytes, the manifest "
                                          f"says {entry['bytes']}: the folder is damaged; prepare it again")
            if verify and file_sha256(f) != entry["sha256"]:
                raise PreparedFolderError(f"{self.path!r}: {entry['file']} fails its SHA-256 check: the folder is "
                                          f"damaged; prepare it again")
        vt = _pq().read_table(os.path.join(self.path, self.manifest["vocab"]["file"]))
        kind = self.manifest["vocab"]["kind"]
        ids = vt.column("id").to_numpy(zero_copy_only=False)
        self.vocab = Vocabulary.from_arrays(np.asarray(ids), vt.column("count").to_numpy(), kind)
        self.n_tokens = int(self.manifest["n_tokens"])
        self.n_sequences = int(self.manifest["n_sequences"])
        if len(self.vocab) != self.manifest["n_items"] or int(self.vocab.counts.sum()) != self.n_tokens:
            raise PreparedFolderError(f"{self.path!r}: the vocabulary ({len(self.vocab)} items, {int(self.vocab.counts.sum())}"
                                      f" tokens) disagrees with {MANIFEST}; prepare it again")
        self._offsets: np.ndarray | None = None
        self._removed: np.ndarray | None = None  # sequences whose last item is withheld (sorted), see withhold_last

    def __len__(self) -> int:
        return self.n_sequences

    def __repr__(self) -> str:
        return (f"ShardedSequences({self.path!r}, n_sequences={self.n_sequences}, n_tokens={self.n_tokens}, "
                f"n_items={len(self.vocab)}, n_shards={len(self.shards)})")

    # ------------------------------------------------------------------ reading
    def _read_shard(self, k: int, columns: list[str]) -> Any:
        entry = self.shards[k]
        table = _pq().read_table(os.path.join(self.path, entry["file"]), columns=columns)
        if table.num_rows != entry["n_sequences"]:
            raise PreparedFolderError(f"{self.path!r}: {entry['file']} has {table.num_rows} sequences, the manifest "
                                      f"says {entry['n_sequences']}")
        return table

    def _shard_items(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Items (int32) and local offsets (int64) of shard ``k``."""
        col = self._read_shard(k, ["items"]).column("items").combine_chunks()
        items = np.array(col.flatten().to_numpy(), dtype=np.int32)  # a writable copy: the kernel signature of in-memory fits
        offsets = np.asarray(col.offsets.to_numpy(), dtype=np.int64)
        offsets = offsets - offsets[0]
        if items.size != self.shards[k]["n_tokens"]:
            raise PreparedFolderError(f"{self.path!r}: {self.shards[k]['file']} has {items.size} tokens, the manifest "
                                      f"says {self.shards[k]['n_tokens']}")
        return items, offsets

    @property
    def lengths(self) -> np.ndarray:
        """Length of every sequence (int64), read from the shards' ``length`` columns."""
        return np.diff(self.offsets)

    @property
    def offsets(self) -> np.ndarray:
        """Global sequence offsets (int64, ``n_sequences + 1``): one number per sequence, never the items."""
        if self._offsets is None:
            out = np.zeros(self.n_sequences + 1, dtype=np.int64)
            pos = 0
            for k, entry in enumerate(self.shards):
                n = entry["n_sequences"]
                if n:
                    lengths = self._read_shard(k, ["length"]).column("length").to_numpy()
                    np.cumsum(lengths, out=out[pos + 1: pos + n + 1])
                    out[pos + 1: pos + n + 1] += out[pos]
                pos += n
            if pos != self.n_sequences or out[-1] != self.n_tokens:
                raise PreparedFolderError(f"{self.path!r}: the shards hold {pos} sequences and {int(out[-1])} tokens, "
                                          f"the manifest says {self.n_sequences} and {self.n_tokens}")
            self._offsets = out
        return self._offsets

    def iter_shards(self) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """``(first sequence, items, local offsets)`` of every shard, in order."""
        s = 0
        for k, entry in enumerate(self.shards):
            if entry["n_sequences"]:
                items, offsets = self._shard_items(k)
                yield s, items, offsets
            s += entry["n_sequences"]

    def to_sequences(self) -> Any:
        """All sequences in memory as a :class:`~item2vec.Sequences` (for small folders and tests)."""
        from .sequences import Sequences

        parts = [items for _, items, _ in self.iter_shards()]
        items = np.concatenate(parts) if parts else np.zeros(0, np.int32)
        users = [self._read_shard(k, ["user"]).column("user").to_numpy(zero_copy_only=False)
                 for k, e in enumerate(self.shards) if e["n_sequences"]]
        return Sequences(items.astype(np.int32), self.offsets.copy(), self.vocab,
                         np.concatenate(users) if users else None)

    # ------------------------------------------------------------------ training
    def withhold_last(self, picked: np.ndarray) -> "ShardedSequences":
        """A view of this corpus without the last item of the sequences ``picked`` (sorted indices)."""
        out = object.__new__(ShardedSequences)
        vars(out).update(vars(self))
        out._removed = np.asarray(picked, dtype=np.int64)
        out.n_tokens = self.n_tokens - int(out._removed.size)
        out._train_offsets = None
        return out

    def _training_offsets(self) -> np.ndarray:
        """Offsets of the corpus the kernel sees (withheld items removed)."""
        if self._removed is None:
            return self.offsets
        if getattr(self, "_train_offsets", None) is None:
            from .holdout import offsets_without_last

            self._train_offsets = offsets_without_last(self.offsets, self._removed)
        return self._train_offsets

    def holdout_items(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Histories (CSR ``indptr``, ``indices``) and targets of the withheld sequences, in one pass over the shards."""
        picked = self._removed if self._removed is not None else np.zeros(0, np.int64)
        hist, targets = [], []
        for s0, items, offsets in self.iter_shards():
            n = offsets.size - 1
            sel = picked[(picked >= s0) & (picked < s0 + n)] - s0
            for s in sel:
                seq = items[offsets[s]: offsets[s + 1]]
                hist.append(seq[:-1])
                targets.append(seq[-1])
        indptr = np.zeros(len(hist) + 1, dtype=np.int64)
        np.cumsum([h.size for h in hist], out=indptr[1:])
        indices = np.concatenate(hist).astype(np.int32) if hist else np.zeros(0, np.int32)
        return indptr, indices, np.asarray(targets, dtype=np.int32)

    def corpus_parts(self, buffer_tokens: int | None = None) -> tuple[int, Any]:
        """The kernel blocks of the whole corpus and a factory of its parts.

        Returns ``(n_blocks, parts)``; ``parts()`` yields ``(Corpus, slice of
        blocks)`` for consecutive runs of whole blocks of about
        ``buffer_tokens`` tokens (default :data:`BUFFER_TOKENS`; a block larger
        than that is a part of its own), each placed in the whole corpus by ``start``, ``total`` and
        ``first_block``.
        """
        buffer_tokens = BUFFER_TOKENS if buffer_tokens is None else int(buffer_tokens)
        offsets = self._training_offsets()
        blocks = corpus_blocks(offsets)
        n_blocks = blocks.size - 1
        total = int(offsets[-1])

        def parts() -> Iterator[tuple[Corpus, slice]]:
            reader = _Cursor(self)
            b0 = 0
            while b0 < n_blocks:
                b1 = b0 + 1
                base = offsets[blocks[b0]]
                while b1 < n_blocks and offsets[blocks[b1 + 1]] - base <= buffer_tokens:
                    b1 += 1
                s0, s1 = int(blocks[b0]), int(blocks[b1])
                items = reader.read(s0, s1)
                local = offsets[s0: s1 + 1] - base
                if items.size != local[-1]:  # pragma: no cover - guarded by the manifest checks
                    raise PreparedFolderError(f"{self.path!r}: sequences {s0}..{s1} read {items.size} tokens, "
                                              f"expected {int(local[-1])}")
                corpus = Corpus(items, local, blocks[b0: b1 + 1] - blocks[b0], start=int(base), total=total,
                                first_block=b0)
                yield corpus, slice(b0, b1)
                b0 = b1

        return n_blocks, parts


class _Cursor:
    """Reads consecutive sequence ranges from the shards, each shard decoded once (withheld items dropped)."""

    def __init__(self, seqs: ShardedSequences) -> None:
        self.seqs = seqs
        self.shard = -1
        self.first = 0  # global index of the current shard's first sequence
        self.items = np.zeros(0, np.int32)
        self.offsets = np.zeros(1, np.int64)
        self.starts = np.concatenate([[0], np.cumsum([e["n_sequences"] for e in seqs.shards])])

    def _load(self, k: int) -> None:
        items, offsets = self.seqs._shard_items(k)
        removed = self.seqs._removed
        if removed is not None and removed.size:
            lo, hi = self.starts[k], self.starts[k + 1]
            sel = removed[(removed >= lo) & (removed < hi)] - lo
            if sel.size:
                keep = np.ones(items.size, dtype=bool)
                keep[offsets[sel + 1] - 1] = False
                items = items[keep]
                dec = np.zeros(offsets.size, dtype=np.int64)
                dec[sel + 1] = 1
                offsets = offsets - np.cumsum(dec)
        self.shard, self.first, self.items, self.offsets = k, int(self.starts[k]), items, offsets

    def read(self, s0: int, s1: int) -> np.ndarray:
        out = []
        s = s0
        while s < s1:
            if not (self.first <= s < self.first + self.offsets.size - 1):
                k = int(np.searchsorted(self.starts, s, side="right") - 1)
                self._load(k)
            end = min(s1, self.first + self.offsets.size - 1)
            out.append(self.items[self.offsets[s - self.first]: self.offsets[end - self.first]])
            s = end
        if len(out) == 1:
            return np.ascontiguousarray(out[0])
        return np.concatenate(out) if out else np.zeros(0, np.int32)


def needs_memory(setting: str, off: str) -> ValueError:
    """The error for a fit ``setting`` that needs the whole corpus in memory, given a prepared folder (``off``: what works)."""
    return ValueError(f"{setting} needs the corpus in memory; training from a prepared folder supports {off} "
                      f"(or load it with open_prepared(path).to_sequences())")


def split_for_fit(seqs: Any, withhold: bool, seed: int, hard_negatives: Any = None) -> tuple[Any, Any]:
    """``holdout.training_split`` for in-memory or sharded sequences (the same sequences and items withheld)."""
    from . import holdout

    if not isinstance(seqs, ShardedSequences):
        return holdout.training_split(seqs, withhold, seed)
    if hard_negatives is not None:
        raise needs_memory(f"hard_negatives={hard_negatives!r}", "hard_negatives=None")
    if not withhold:
        return seqs, None
    picked = holdout.held_sequences(seqs.lengths, seqs.n_tokens, holdout.holdout_seed(seed))
    if picked is None:
        return seqs, None
    train = seqs.withhold_last(picked)
    return train, holdout.Holdout(*train.holdout_items())



def write_prepared(seqs: Any, output: str | os.PathLike[str], **kwargs: Any) -> ShardedSequences:
    """:func:`item2vec.prepared_io.write_prepared` (in-memory Sequences -> a prepared folder)."""
    from .prepared_io import write_prepared as write

    return write(seqs, output, **kwargs)
