"""Model files: one ``.npz`` holding arrays plus a JSON metadata string.

* Loaded with ``allow_pickle=False``: a model file can never run code.
* Written atomically: to a temporary file in the target directory, flushed and
  fsync'ed, then renamed over the destination, so a crash never leaves a
  half-written model where a good one was.
* Every array's SHA-256 is recorded in the metadata and checked on load, so a
  truncated or tampered file raises :class:`ModelFileError` instead of
  yielding garbage vectors.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "ModelFileError", "write_model", "read_model"]

FORMAT_NAME = "item2vec-model"
FORMAT_VERSION = 1


class ModelFileError(ValueError):
    """A model file is missing, not an item2vec model, corrupt, or too new."""


def _digest(a: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(str(a.dtype.str).encode())
    h.update(str(a.shape).encode())
    h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def write_model(path: str | os.PathLike, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Path:
    """Write ``arrays`` and ``meta`` (JSON-serialisable) to ``path`` atomically."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    for name, a in arrays.items():
        if a.dtype == object:
            raise TypeError(f"array {name!r} has dtype object, which cannot be stored without pickle")
    full_meta = dict(meta, format=FORMAT_NAME, format_version=FORMAT_VERSION,
                     checksums={k: _digest(v) for k, v in arrays.items()})
    payload = dict(arrays, __meta__=np.array(json.dumps(full_meta)))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def read_model(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read and verify a model file written by :func:`write_model`."""
    path = Path(path)
    if not path.exists() and path.with_name(path.name + ".npz").exists():
        path = path.with_name(path.name + ".npz")
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as z:
            if "__meta__" not in z.files:
                raise ModelFileError(f"{path} is a .npz file but not an item2vec model (no metadata)")
            meta = json.loads(str(z["__meta__"]))
            arrays = {k: z[k] for k in z.files if k != "__meta__"}
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as e:
        raise ModelFileError(f"{path} is not a readable item2vec model file (truncated or corrupt?): {e}") from e
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{path} is not an item2vec model file (format={meta.get('format') if isinstance(meta, dict) else None!r})")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has model format version {version!r}, newer than this library supports "
            f"({FORMAT_VERSION}); upgrade item2vec to load it"
        )
    sums = meta.get("checksums", {})
    for name, a in arrays.items():
        if sums.get(name) != _digest(a):
            raise ModelFileError(f"{path}: checksum mismatch for array {name!r}; the file was modified or damaged")
    missing = set(sums) - set(arrays)
    if missing:
        raise ModelFileError(f"{path}: arrays missing from the file: {sorted(missing)}")
    return arrays, meta
