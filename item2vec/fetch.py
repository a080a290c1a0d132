"""Downloads and the data cache shared by the MovieLens and the sequence-data loaders.

:mod:`item2vec.datasets` and :mod:`item2vec.seqdata` both import from here (and
``datasets`` re-exports the names), so ``seqdata`` never imports ``datasets``.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

__all__ = ["DatasetNotFoundError", "ChecksumError", "default_data_dir", "data_roots", "stream_download"]


class DatasetNotFoundError(FileNotFoundError):
    """A data set is neither on disk nor downloadable; the message says how to fix it."""


class ChecksumError(ValueError):
    """A downloaded file does not have the recorded SHA-256 (or size)."""


def default_data_dir() -> Path:
    """The download cache: ``<repo>/datasets`` in a source checkout, else the user cache.

    A source checkout is recognised by ``pyproject.toml`` and a ``datasets/`` folder
    in the package's parent directory. Otherwise ``$XDG_CACHE_HOME/item2vec`` or
    ``~/.cache/item2vec``. The folder is not created here.
    """
    repo = Path(__file__).resolve().parent.parent
    if (repo / "pyproject.toml").is_file() and (repo / "datasets").is_dir():
        return repo / "datasets"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "item2vec"


def data_roots(data_dir: str | os.PathLike[str] | None = None) -> list[tuple[Path, str]]:
    """The data roots searched for a data set, in order, each with its label for error messages.

    ``data_dir`` (label ``"data_dir"``) when given, ``$ITEM2VEC_DATA`` (``"ITEM2VEC_DATA"``)
    when set and not empty, then the cache :func:`default_data_dir` (``"cache"``). Shared
    by :func:`item2vec.datasets.load_movielens` and the :mod:`item2vec.seqdata` loaders;
    nothing is checked or created here.
    """
    roots = [(Path(data_dir), "data_dir")] if data_dir is not None else []
    if os.environ.get("ITEM2VEC_DATA"):
        roots.append((Path(os.environ["ITEM2VEC_DATA"]), "ITEM2VEC_DATA"))
    roots.append((default_data_dir(), "cache"))
    return roots


def stream_download(url: str, fd: int, *, desc: str, size_hint: int | None, progress: bool, missing: str,
                    how_to_fix: str) -> tuple[str, int]:
    """Stream ``url`` into the open file descriptor ``fd`` (closed on return) in 1 MiB chunks.

    Shared by :func:`fetch_movielens` and :func:`item2vec.seqdata.fetch_file`; the caller
    owns the temporary file behind ``fd``, its checksum test and its move into place.

    Parameters
    ----------
    url : str
        What to download.
    fd : int
        A file descriptor open for writing (``tempfile.mkstemp``); it is closed.
    desc : str
        Label of the progress bar.
    size_hint : int or None
        Bar total when the server sends no ``Content-Length``.
    progress : bool
        Show a tqdm progress bar.
    missing, how_to_fix : str
        Start and end of the error message: ``"{missing} and could not be downloaded
        from {url}: {reason}. To fix: {how_to_fix}."``.

    Returns
    -------
    (str, int)
        The SHA-256 (hex) of the body and its size in bytes.

    Raises
    ------
    DatasetNotFoundError
        The server cannot be reached, times out or answers with an error.
    """
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as resp:
            total = int(resp.headers.get("Content-Length") or 0) or size_hint
            with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc,
                      disable=None if progress else True) as bar:
                while chunk := resp.read(1 << 20):
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                    bar.update(len(chunk))
    except (urllib.error.URLError, ConnectionError, TimeoutError, http.client.HTTPException) as err:
        reason = getattr(err, "reason", None) or err
        raise DatasetNotFoundError(f"{missing} and could not be downloaded from {url}: {reason}. "
                                   f"To fix: {how_to_fix}.") from err
    return digest.hexdigest(), size
