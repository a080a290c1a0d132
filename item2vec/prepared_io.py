"""Writing prepared folders (the layout :mod:`item2vec.shards` reads): staging, publishing, and in-memory input.

Everything is written into a hidden sibling of the output folder; :func:`publish`
checks the shards against the vocabulary, writes the manifest last and renames the
folder into place, so a writer that dies leaves nothing that looks complete.
The staging folder carries an owner file (host, pid, start time); the next
:func:`staging_folder` for the same output removes staging folders whose writer
ran on this host and is gone (a killed job), and warns about the others.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import socket
import time
import uuid
from typing import Any

import numpy as np

from . import shards as _shards
from .shards import FORMAT_VERSION, MANIFEST, SHARD_DIR, VOCAB_FILE, ShardedSequences, _pq

__all__ = ["check_output", "staging_folder", "publish", "write_prepared", "abandoned_staging"]

log = logging.getLogger("item2vec")
#: In a staging folder: who writes it (``{"host", "pid", "started"}``); removed before publishing.
OWNER_FILE = "_owner.json"


def _staging_prefix(output: str) -> tuple[str, str]:
    """``(parent, prefix)``: staging folders of ``output`` are ``parent/prefix<random>``."""
    parent, name = os.path.split(output)
    return parent, f".{name}.tmp-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def abandoned_staging(output: str) -> tuple[list[str], list[str]]:
    """The staging folders of ``output``: ``(abandoned, others)``.

    Abandoned: written on this host by a process that no longer runs (a killed
    ``prepare``), or with no readable owner file and untouched for a day. Others
    may belong to a job still running (here or on another host) and are left alone.
    """
    parent, prefix = _staging_prefix(os.path.abspath(os.fspath(output)))
    abandoned, others = [], []
    try:
        entries = sorted(os.listdir(parent))
    except OSError:
        return abandoned, others
    for entry in entries:
        if not entry.startswith(prefix):
            continue
        path = os.path.join(parent, entry)
        try:
            with open(os.path.join(path, OWNER_FILE), encoding="utf-8") as fh:
                owner = json.load(fh)
            dead = owner["host"] == socket.gethostname() and not _alive(int(owner["pid"]))
        except (OSError, ValueError, KeyError, TypeError):
            try:
                dead = time.time() - os.path.getmtime(path) > 86400
            except OSError:
                continue
        (abandoned if dead else others).append(path)
    return abandoned, others


def check_output(output: str, overwrite: bool = False) -> str:
    """The absolute ``output``; ``ValueError`` when it exists and not ``overwrite`` (call before any work)."""
    output = os.path.abspath(os.fspath(output))
    if os.path.exists(output) and not overwrite:
        raise ValueError(f"output {output!r} already exists; remove it or pass overwrite=True (--overwrite)")
    return output


def staging_folder(output: str, overwrite: bool = False) -> str:
    """A fresh hidden sibling of ``output`` to write into (``output`` must not exist unless ``overwrite``).

    Staging folders of earlier writers of ``output`` that died are removed first
    (see :func:`abandoned_staging`), each with a warning; others get a warning only.
    """
    output = check_output(output, overwrite)
    parent, prefix = _staging_prefix(output)
    os.makedirs(parent, exist_ok=True)
    abandoned, others = abandoned_staging(output)
    for path in abandoned:
        log.warning("removing %s: the staging folder of an earlier prepare of %s that did not finish", path, output)
        shutil.rmtree(path, ignore_errors=True)
    for path in others:
        log.warning("%s looks like the staging folder of another prepare of %s that may still run; left alone",
                    path, output)
    tmp = os.path.join(parent, prefix + uuid.uuid4().hex[:12])
    os.makedirs(tmp)
    with open(os.path.join(tmp, OWNER_FILE), "w", encoding="utf-8") as fh:
        json.dump({"host": socket.gethostname(), "pid": os.getpid(), "started": time.time()}, fh)
    return tmp


def publish(tmp: str, output: str, ids: np.ndarray, counts: np.ndarray, kind: str, n_events: int,
            settings: dict[str, Any]) -> dict[str, Any]:
    """Check the shards in ``tmp/shards`` against the vocabulary counts, write the vocabulary and (last)
    the manifest, then rename ``tmp`` to ``output`` (replacing an old ``output`` only now)."""
    import pyarrow as pa

    pq = _pq()
    shard_dir = os.path.join(tmp, SHARD_DIR)
    files = sorted(f for f in os.listdir(shard_dir) if f.startswith("part-") and f.endswith(".parquet"))
    shards = []
    for f in files:
        path = os.path.join(shard_dir, f)
        lengths = pq.read_table(path, columns=["length"]).column("length").to_numpy()
        shards.append({"file": f"{SHARD_DIR}/{f}", "n_sequences": int(lengths.size), "n_tokens": int(lengths.sum()),
                       "bytes": os.path.getsize(path), "sha256": _shards.file_sha256(path)})
    n_tokens = int(np.sum(counts))
    written = sum(s["n_tokens"] for s in shards)
    if written != n_tokens:
        raise RuntimeError(f"the shards in {tmp!r} hold {written} tokens, the vocabulary counts {n_tokens}: "
                           f"nothing was published")
    vpath = os.path.join(tmp, VOCAB_FILE)
    ids = np.asarray(ids).astype(str) if kind == "str" else np.asarray(ids, dtype=np.int64)
    pq.write_table(pa.table({"id": pa.array(ids), "count": pa.array(np.asarray(counts, dtype=np.int64))}), vpath)
    manifest = {"format_version": FORMAT_VERSION, "created_by": "item2vec", "settings": settings,
                "n_events": int(n_events), "n_sequences": sum(s["n_sequences"] for s in shards), "n_tokens": n_tokens,
                "n_items": int(len(ids)),
                "vocab": {"file": VOCAB_FILE, "kind": kind, "bytes": os.path.getsize(vpath), "sha256": _shards.file_sha256(vpath)},
                "shards": shards}
    part = os.path.join(tmp, MANIFEST + ".part")
    with open(part, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(part, os.path.join(tmp, MANIFEST))
    with contextlib.suppress(FileNotFoundError):
        os.remove(os.path.join(tmp, OWNER_FILE))
    output = os.path.abspath(os.fspath(output))
    if os.path.exists(output):
        parent, name = os.path.split(output)
        old = os.path.join(parent, f".{name}.old-{uuid.uuid4().hex[:12]}")
        os.rename(output, old)
        os.rename(tmp, output)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, output)
    return manifest


def write_prepared(seqs: Any, output: str | os.PathLike[str], *, shard_tokens: int = 1 << 22,
                   overwrite: bool = False, settings: dict[str, Any] | None = None) -> ShardedSequences:
    """Write in-memory :class:`~item2vec.Sequences` as a prepared folder (the layout :func:`item2vec.spark.prepare`
    writes), in shards of about ``shard_tokens`` tokens; for logs that fit one machine, and for tests."""
    import pyarrow as pa

    pq = _pq()
    output = os.fspath(output)
    tmp = staging_folder(output, overwrite)
    try:
        os.makedirs(os.path.join(tmp, SHARD_DIR))
        lengths = seqs.lengths
        cuts = np.searchsorted(seqs.offsets, np.arange(shard_tokens, seqs.n_tokens, shard_tokens), side="left")
        bounds = np.unique(np.concatenate([[0], cuts, [len(seqs)]]))
        users = seqs.users if seqs.users is not None else np.full(len(seqs), None, dtype=object)
        for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
            off = seqs.offsets[a: b + 1]
            items = pa.ListArray.from_arrays(pa.array((off - off[0]).astype(np.int32)),
                                             pa.array(seqs.items[off[0]: off[-1]]))
            table = pa.table({"items": items, "length": pa.array(lengths[a:b].astype(np.int32)),
                              "user": pa.array(list(users[a:b]) if users.dtype == object else users[a:b])})
            pq.write_table(table, os.path.join(tmp, SHARD_DIR, f"part-{k:05d}.parquet"))
        publish(tmp, output, seqs.vocab.ids, seqs.vocab.counts, seqs.vocab.kind, seqs.n_tokens,
                dict(settings or {}, shard_tokens=int(shard_tokens)))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ShardedSequences(output)
