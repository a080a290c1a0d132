"""Model files: one ``.npz`` holding arrays plus a JSON metadata string.

* Read without pickle and without ``np.load``'s trust in the file: every
  member's ``.npy`` header is parsed, object dtypes are refused and the
  declared size must match the bytes present before anything is allocated.
  *Any* failure to read (a damaged zip, header, CRC, JSON, metadata field or
  checksum) raises :class:`ModelFileError` naming the file.
* Written atomically: to a hidden temporary file ``.NAME.<pid>.<random>.tmp``
  in the target directory, flushed and fsync'ed, then renamed over the
  destination, so a crash never leaves a half-written model where a good one
  was. The file gets the mode ``open()`` would give (``0o666`` minus the
  umask, or the mode of the file it replaces). A save killed before the
  rename leaves its temporary file behind; the next save into the same
  directory deletes such leftovers whose process is gone.
* Every array's SHA-256 is recorded in the metadata and checked on load, so a
  truncated or tampered file raises :class:`ModelFileError` instead of
  yielding garbage vectors.
* Hyperparameters are stored typed (:func:`encode_params`) and validated on
  load with the rules ``fit`` uses (:func:`decode_params`).
"""

from __future__ import annotations

import glob
import hashlib
import json
import math
import os
import re
import stat
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from .validation import is_int, is_real

__all__ = [
    "FORMAT_NAME", "FORMAT_VERSION", "ModelFileError", "npz_path", "write_model", "read_model",
    "encode_params", "decode_params", "stale_temp_files", "save_estimator", "load_estimator", "PersistenceMixin",
]

FORMAT_NAME = "item2vec-model"
FORMAT_VERSION = 1
_UNSTORED = ("callbacks", "item_groups")


class ModelFileError(ValueError):
    """A model file is missing, not an item2vec model, corrupt, or too new."""


def _digest(a: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(str(a.dtype.str).encode())
    h.update(str(a.shape).encode())
    h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


# ============================================================================ parameters
def encode_params(params: dict[str, Any]) -> dict[str, Any]:
    """Hyperparameters as JSON values: ``session_gap`` a number of seconds or a Timedelta string,
    ``random_state`` an int or None (a Generator is not stored); callables and groups are left out."""
    out = {k: v for k, v in params.items() if k not in _UNSTORED}
    gap = out.get("session_gap")
    if gap is not None:
        if is_real(gap):
            out["session_gap"] = float(gap)
        else:
            import pandas as pd

            out["session_gap"] = str(pd.Timedelta(gap))
    rs = out.get("random_state")
    out["random_state"] = int(rs) if is_int(rs) else None
    if "hard_negatives" in out:
        from .hard_negatives import strategy_to_json

        out["hard_negatives"] = strategy_to_json(out["hard_negatives"])
    return {k: v.item() if isinstance(v, np.generic) else v for k, v in out.items()}


def _decode_gap(value: Any) -> Any:
    """A stored ``session_gap``: a number, or a string (a number written by version 1 files, else a Timedelta)."""
    if not isinstance(value, str):
        return value
    try:
        return float(value)
    except ValueError:
        import pandas as pd

        try:
            return pd.Timedelta(value)
        except ValueError:
            return value  # left for validation to name


def decode_params(stored: Any, known: Iterable[str], path: Any = "model file") -> dict[str, Any]:
    """Stored hyperparameters back as constructor arguments, validated as ``fit`` validates them.

    Names not in ``known`` (written by a newer library) are dropped.

    Raises
    ------
    ModelFileError
        ``params`` is not a mapping or a value breaks a rule; the message names
        the file and the field (``params.history_length must be ...``).
    """
    from .params import validate_params

    if not isinstance(stored, dict):
        raise ModelFileError(f"{path}: invalid model metadata: params must be a mapping, got {type(stored).__name__}")
    known = set(known)
    params = {k: v for k, v in stored.items() if k in known and k not in _UNSTORED}
    if "session_gap" in params:
        params["session_gap"] = _decode_gap(params["session_gap"])
    rs = params.get("random_state")
    if rs is not None and (not is_int(rs) or not 0 <= rs < 2**64):
        raise ModelFileError(f"{path}: invalid model metadata: params.random_state must be None or an integer "
                             f"in [0, 2**64), got random_state={rs!r}")
    try:
        if "hard_negatives" in params:
            from .hard_negatives import strategy_from_json

            params["hard_negatives"] = strategy_from_json(params["hard_negatives"])
        validate_params(params)
    except ValueError as e:
        raise ModelFileError(f"{path}: invalid model metadata: params.{e}") from None
    return params


# ============================================================================ writing
def _umask() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # no getter elsewhere: set and restore
    os.umask(mask)
    return mask


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


_TMP_PID = re.compile(r"\.(\d+)\.[^.]+\.tmp$")


def stale_temp_files(path: str | os.PathLike) -> list[Path]:
    """Temporary files of interrupted saves of ``path`` (``.NAME.<pid>.*.tmp`` of a finished process,
    or ``.NAME.*.tmp`` without a pid, as written before, unmodified for an hour)."""
    import time

    path = Path(path)
    out = []
    for name in glob.glob(glob.escape(str(path.parent / f".{path.name}.")) + "*.tmp"):
        p = Path(name)
        m = _TMP_PID.search(p.name[len(path.name) + 1:])
        try:
            if m is not None:
                stale = int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1)))
            else:
                stale = time.time() - p.stat().st_mtime > 3600
        except OSError:
            continue
        if stale:
            out.append(p)
    return out


def npz_path(path: str | os.PathLike) -> Path:
    """The file a model saved to ``path`` goes to: ``.npz`` added unless ``path`` ends with it."""
    path = Path(path)
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def write_model(path: str | os.PathLike, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Path:
    """Write ``arrays`` and ``meta`` (JSON-serialisable) to ``path`` atomically."""
    path = npz_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for name, a in arrays.items():
        if a.dtype == object:
            raise TypeError(f"array {name!r} has dtype object, which cannot be stored without pickle")
    full_meta = dict(meta, format=FORMAT_NAME, format_version=FORMAT_VERSION,
                     checksums={k: _digest(v) for k, v in arrays.items()})
    payload = dict(arrays, __meta__=np.array(json.dumps(full_meta)))
    for old in stale_temp_files(path):
        old.unlink(missing_ok=True)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        mode = 0o666 & ~_umask()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)  # mkstemp made it 0600
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


# ============================================================================ reading
def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """One ``.npy`` member, its header checked against the bytes present before allocating."""
    with zf.open(info) as fh:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise ValueError(f"unsupported .npy version {version}")
        if dtype.hasobject:
            raise ValueError(f"member {info.filename!r} holds Python objects, which are never loaded")
        count = math.prod(shape)
        nbytes = count * dtype.itemsize
        if nbytes != info.file_size - fh.tell():
            raise ValueError(f"member {info.filename!r} declares {nbytes} data bytes but holds "
                             f"{info.file_size - fh.tell()}")
        buf = bytearray(nbytes)
        if fh.readinto(buf) != nbytes or fh.read(1):  # reading to the end checks the CRC
            raise ValueError(f"member {info.filename!r} is shorter or longer than its header says")
    return np.frombuffer(buf, dtype=dtype, count=count).reshape(shape, order="F" if fortran else "C")


def _read_zip(path: Path) -> dict[str, np.ndarray]:
    on_disk = path.stat().st_size
    with zipfile.ZipFile(path) as zf:
        arrays = {}
        for info in zf.infolist():
            if not info.filename.endswith(".npy") or info.filename[:-4] in arrays:
                raise ValueError(f"unexpected member {info.filename!r}")
            stored = info.compress_type == zipfile.ZIP_STORED
            if info.compress_size > on_disk or (stored and info.file_size != info.compress_size) or (
                    not stored and info.file_size > 1000 * info.compress_size + (1 << 20)):
                raise ValueError(f"member {info.filename!r} declares {info.file_size} bytes "
                                 f"({info.compress_size} stored) in a file of {on_disk}")
            arrays[info.filename[:-4]] = _read_member(zf, info)
    return arrays


def read_model(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read and verify a model file written by :func:`write_model`.

    Raises
    ------
    ModelFileError
        For every way the file can fail to be a readable, intact, supported model.
    """
    path = Path(path)
    if not path.exists() and path.with_name(path.name + ".npz").exists():
        path = path.with_name(path.name + ".npz")
    if path.is_dir():
        raise ModelFileError(f"{path} is a folder, not a model file")
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    try:
        arrays = _read_zip(path)
        if "__meta__" not in arrays:
            raise ModelFileError(f"{path} is a .npz file but not an item2vec model (no metadata)")
        raw = arrays.pop("__meta__")
        if raw.ndim != 0 or raw.dtype.kind != "U":
            raise ValueError("the metadata member is not a text scalar")
        meta = json.loads(str(raw[()]))
    except ModelFileError:
        raise
    except (PermissionError, IsADirectoryError) as e:
        raise ModelFileError(f"{path} cannot be read: {e.strerror or e}") from e
    except Exception as e:  # whatever a damaged file triggers, the caller gets one error type
        raise ModelFileError(f"{path} is not a readable item2vec model file (truncated or corrupt?): "
                             f"{type(e).__name__}: {e}") from e
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise ModelFileError(f"{path} is not an item2vec model file (format={meta.get('format') if isinstance(meta, dict) else None!r})")
    version = meta.get("format_version")
    if not is_int(version) or version < 1:
        raise ModelFileError(f"{path}: invalid model metadata: format_version must be an integer >= 1, "
                             f"got format_version={version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} has model format version {version!r}, newer than this library supports "
            f"({FORMAT_VERSION}); upgrade item2vec to load it"
        )
    sums = meta.get("checksums")
    if not isinstance(sums, dict):
        raise ModelFileError(f"{path}: invalid model metadata: checksums must be a mapping, got {sums!r}")
    for name, a in arrays.items():
        if sums.get(name) != _digest(a):
            raise ModelFileError(f"{path}: checksum mismatch for array {name!r}; the file was modified or damaged")
    missing = set(sums) - set(arrays)
    if missing:
        raise ModelFileError(f"{path}: arrays missing from the file: {sorted(missing)}")
    return arrays, meta


# ============================================================================ Item2Vec state
def save_estimator(model: Any, path: str | os.PathLike) -> str:
    """Write a fitted :class:`~item2vec.Item2Vec` (the body of ``Item2Vec.save``)."""
    from . import __version__

    if getattr(model, "n_pairs_", None) == 0:
        raise ValueError(
            "refusing to save a model that trained on 0 (center, context) pairs (its vectors are random); "
            f"on small data use sample=0 (it was sample={model.sample!r}), or give more or longer sequences")
    meta = {"library_version": __version__, "params": encode_params(model.get_params()), "vocab_kind": model.vocab_.kind,
            "loss_history": [float(x) for x in model.loss_history_], "n_tokens": int(getattr(model, "n_tokens_", 0)),
            "history_decay_": getattr(model, "history_decay_", None), "n_updates": int(getattr(model, "n_updates_", 0)),
            "window_": int(model._fitted_settings().window)}
    arrays = {"item_vectors": model.item_vectors_, "context_vectors": model.context_vectors_, **model.vocab_.to_arrays()}
    return str(write_model(path, {**arrays, **model._index_arrays()}, {**meta, **model._index_meta()}))


def load_estimator(cls: Any, path: str | os.PathLike) -> Any:
    """Read a model file into a fitted ``cls`` (the body of ``Item2Vec.load``); :class:`ModelFileError` on any defect."""
    from .vocab import Vocabulary

    arrays, meta = read_model(path)
    params = decode_params(meta.get("params"), cls().get_params(), path)
    try:
        n_tokens = meta.get("n_tokens", 0)
        if not is_int(n_tokens) or n_tokens < 0:
            raise ValueError(f"n_tokens must be an integer >= 0, got n_tokens={n_tokens!r}")
        losses = meta.get("loss_history", [])
        if not isinstance(losses, list) or not all(isinstance(x, float) or is_int(x) for x in losses):
            raise ValueError(f"loss_history must be a list of numbers, got {str(losses)[:80]}")
        updates = meta.get("n_updates", 0)  # partial_fit calls so far (absent from older files)
        if not is_int(updates) or updates < 0:
            raise ValueError(f"n_updates must be an integer >= 0, got n_updates={updates!r}")
        decay = meta.get("history_decay_")
        if decay is not None and not (is_real(decay) and 0 < decay <= 1):
            raise ValueError(f"history_decay_ must be None or a real in (0, 1], got history_decay_={decay!r}")
        model = cls(**params)
        wide = meta.get("window_", model._settings().window)  # the window fit kept (absent from older files)
        if not is_int(wide) or wide < 1:
            raise ValueError(f"window_ must be an integer >= 1, got window_={wide!r}")
        model.window_ = int(wide)
        vocab = Vocabulary.from_arrays(arrays["vocab_ids"], arrays["vocab_counts"], meta.get("vocab_kind"))
        model.n_tokens_, model.n_updates_ = n_tokens, int(updates)
        model._set_fitted(vocab, arrays["item_vectors"], arrays["context_vectors"], losses)
        model.history_decay_ = None if decay is None else float(decay)
        model._restore_index(arrays, meta)  # the saved ANN index, if any (item2vec.ann)
    except KeyError as e:
        raise ModelFileError(f"{path}: model file is missing the field or array {e}") from e
    except Exception as e:  # any inconsistency of a damaged file is a ModelFileError
        raise ModelFileError(f"{path}: model file has invalid fields: {e}") from e
    return model


class PersistenceMixin:
    """``save`` / ``load`` of :class:`~item2vec.Item2Vec` (the file format: this module)."""

    def save(self, path: str | os.PathLike) -> str:
        """Save to ``path`` (``.npz`` added if missing) atomically; returns the path written.

        The file gets the permissions ``open()`` would give it (``0o666`` minus
        the umask, or those of the file it replaces). Raises ``ValueError`` for
        a model whose training saw no (center, context) pair: its vectors are
        the random initialisation. ``item_groups`` (data) and ``callbacks`` are
        not stored.
        """
        self._check_fitted()  # type: ignore[attr-defined]
        return save_estimator(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Any:
        """Load a model saved by :meth:`save` (no pickle; checksums and stored parameters verified).

        Raises
        ------
        ModelFileError
            The file is missing, damaged, not a model, too new, or holds an
            invalid field (the message names the file and the field).
        """
        return load_estimator(cls, path)
