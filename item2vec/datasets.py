"""Data sets: MovieLens loaders and downloader, plus (re-exported) custom files and synthetic logs.

Where MovieLens data is looked for, in order: the ``data_dir`` argument (the
CLI's ``--data-dir``), the ``ITEM2VEC_DATA`` environment variable, then the cache
(:func:`default_data_dir`). Each is a *data root* holding one folder per data set,
named like the top folder of GroupLens' zip (``ml-100k/``, ``ml-1m/``,
``ml-10M100K/``, ``ml-20m/``, ``ml-25m/``, ``ml-latest-small/``); the short name
(``ml-10m/``) is accepted too. A data set found nowhere is downloaded (when
``download=True``) from GroupLens, checked against a recorded SHA-256 and
extracted atomically into ``data_dir`` if given (it must exist: a mistyped
folder is named in the error and never created), else into the cache (the only
folder created). Errors name every folder looked in and say which do not exist.
Custom logs: :func:`~item2vec.interactions.load_interactions`; synthetic logs:
:func:`~item2vec.synthetic.make_synthetic`.
"""

from __future__ import annotations

import csv
import os
import shutil
import tempfile
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import pandas as pd

from .fetch import ChecksumError, DatasetNotFoundError, data_roots, default_data_dir, stream_download
from .interactions import load_interactions
from .seqdata import SEQUENCE_DATASETS, load_sequence_dataset
from .synthetic import SyntheticData, make_synthetic

__all__ = [
    "MovieLens", "SyntheticData", "DatasetNotFoundError", "ChecksumError", "CHECKSUMS",
    "MOVIELENS_NAMES", "DATASET_NAMES", "default_data_dir", "fetch_movielens", "stream_download",
    "load_movielens", "genre_map", "load_interactions", "load_dataset", "make_synthetic",
]

PathLike = Union[str, "os.PathLike[str]"]
DEFAULT_URL = "https://files.grouplens.org/datasets/movielens"

#: Folder names accepted for each data set, the zip's top folder first.
FOLDERS: dict[str, tuple[str, ...]] = {
    "ml-100k": ("ml-100k",), "ml-1m": ("ml-1m",), "ml-10m": ("ml-10M100K", "ml-10m"),
    "ml-20m": ("ml-20m",), "ml-25m": ("ml-25m",), "ml-latest-small": ("ml-latest-small",),
}
MOVIELENS_NAMES = tuple(FOLDERS)
DATASET_NAMES = ("synthetic",) + MOVIELENS_NAMES + tuple(SEQUENCE_DATASETS)

#: ``name -> (sha256 of <name>.zip, size in bytes)``; ``None`` = unknown (not verified).
#: Sources: ml-100k, ml-1m, ml-20m, ml-25m, ml-latest-small: tensorflow/datasets
#: ``tensorflow_datasets/url_checksums/movielens.txt`` (url, size, sha256); the
#: ml-latest-small value also matches an independent copy of the zip. ml-10m:
#: several independent public repositories pinning the official archive (size
#: 65,566,137 bytes, official ``ml-10m.zip.md5`` ce571fd55effeba0271552578f2648bd).
#: GroupLens' own ``.md5`` sidecars, for reference: ml-100k 0e33842e24a9c977be4e0107933c0723,
#: ml-1m c4d9eecfca2ab87c1945afe126590906, ml-20m cd245b17a1ae2cc31bb14903e1204af3,
#: ml-25m 6b51fb2759a8657d3bfcbfc42b592ada.
CHECKSUMS: dict[str, tuple[Optional[str], Optional[int]]] = {
    "ml-100k": ("50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229", 4_924_029),
    "ml-1m": ("a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20", 5_917_549),
    "ml-10m": ("813c411ccb6122564edfe752e7f80c4dcc5aa25fa94c93622f6877a7ba252862", 65_566_137),
    "ml-20m": ("96f243c338a8665f6bcc89c53edf6ee39162a846940de6b7c8c48aeada765ff3", 198_702_078),
    "ml-25m": ("8b21cfb7eb1706b4ec0aac894368d90acf26ebdfb6aced3ebd4ad5bd1eb9c6aa", 261_978_986),
    "ml-latest-small": ("696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436", 978_202),
}

#: Files each on-disk format needs (ratings first).
_FORMAT_FILES = {"100k": ("u.data", "u.item"), "dat": ("ratings.dat", "movies.dat"),
                 "csv": ("ratings.csv", "movies.csv")}
_NAME_FORMAT = {"ml-100k": "100k", "ml-1m": "dat", "ml-10m": "dat"}
_ML100K_GENRES = ("unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
                  "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
                  "Romance", "Sci-Fi", "Thriller", "War", "Western")
_HOW_TO_FIX = ("point at a folder holding the MovieLens folders (e.g. DIR/ml-100k/u.data) with "
               "--data-dir DIR or ITEM2VEC_DATA=DIR (data_dir=DIR in Python), or use --dataset synthetic")


@dataclass
class MovieLens:
    """A loaded MovieLens data set.

    Attributes
    ----------
    interactions : pandas.DataFrame
        ``user`` int64, ``item`` int64, ``rating`` float32, ``timestamp`` int64
        (unix seconds), in file order.
    items : pandas.DataFrame
        ``item`` int64, ``title`` str, ``genres`` (a list of genre strings per row).
    name : str
        Canonical name such as ``"ml-100k"``.
    path : pathlib.Path
        The folder the files were read from.
    """

    interactions: pd.DataFrame
    items: pd.DataFrame
    name: str
    path: Path


def _canonical(name: str) -> str:
    key = str(name).strip()
    for canon, folders in FOLDERS.items():
        if key.lower() == canon or key in folders:
            return canon
    raise ValueError(f"unknown MovieLens data set {name!r}; allowed: {', '.join(MOVIELENS_NAMES)}")


def _detect_format(folder: Path, canon: str) -> str:
    """The on-disk format, from the files present (the name only breaks ties)."""
    for fmt, files in _FORMAT_FILES.items():
        if any((folder / f).is_file() for f in files):
            return fmt
    return _NAME_FORMAT.get(canon, "csv")


def _missing(folder: Path, canon: str) -> list[str]:
    return [f for f in _FORMAT_FILES[_detect_format(folder, canon)] if not (folder / f).is_file()]


def _incomplete_error(folder: Path, canon: str, missing: list[str]) -> DatasetNotFoundError:
    present = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    return DatasetNotFoundError(
        f"MovieLens {canon!r} folder {folder} is incomplete: missing {', '.join(missing)} "
        f"(found: {', '.join(present) or 'nothing'}). Add the missing file(s) or remove the "
        f"folder to re-download it; or {_HOW_TO_FIX}.")


def _find(canon: str, roots: list[Path]) -> Optional[Path]:
    """First folder for ``canon`` under ``roots``; an incomplete one is an error."""
    for root in roots:
        for folder_name in FOLDERS[canon]:
            folder = root / folder_name
            if folder.is_dir():
                missing = _missing(folder, canon)
                if missing:
                    raise _incomplete_error(folder, canon, missing)
                return folder
    return None


def fetch_movielens(name: str, cache_dir: Optional[PathLike] = None, progress: bool = True) -> Path:
    """Download and extract a MovieLens zip (if not already there); return its folder.

    The URL is ``$ITEM2VEC_MOVIELENS_URL/<name>.zip`` (default base
    ``https://files.grouplens.org/datasets/movielens``). The download is streamed
    into a temporary file in ``cache_dir``, checked against :data:`CHECKSUMS`,
    extracted into a temporary folder and moved into place with ``os.replace``,
    so a failure never leaves a half-written data set behind.

    Parameters
    ----------
    name : str
        One of :data:`MOVIELENS_NAMES` (or a zip folder name such as ``"ml-10M100K"``).
    cache_dir : path, optional
        Data root to extract into, which must exist; default :func:`default_data_dir`
        (the only folder created when missing).
    progress : bool
        Show a tqdm progress bar.

    Raises
    ------
    DatasetNotFoundError
        The server cannot be reached or answers with an error.
    ChecksumError
        The downloaded zip has the wrong SHA-256 or size (the file is deleted).
    """
    canon = _canonical(name)
    root = Path(cache_dir) if cache_dir is not None else default_data_dir()
    found = _find(canon, [root])
    if found is not None:
        return found
    if cache_dir is not None and not root.is_dir():
        raise DatasetNotFoundError(f"MovieLens {canon!r}: the folder to download into, {root}, does not exist "
                                   f"(it is not created; only the default cache is). To fix: {_HOW_TO_FIX}.")
    return _download(canon, root, progress, looked=_describe([(root, "cache" if cache_dir is None else "cache_dir")]))


def _describe(roots: list[tuple[Path, str]]) -> str:
    """``"/a (data_dir), /b (ITEM2VEC_DATA; does not exist)"``: where a data set was looked for."""
    return ", ".join(f"{p} ({label}{'' if p.is_dir() else '; does not exist'})" for p, label in roots)


def _download(canon: str, root: Path, progress: bool, looked: str) -> Path:
    """Download ``canon`` into the data root ``root`` (created only when it is the default cache)."""
    root.mkdir(parents=True, exist_ok=True)
    url = f"{os.environ.get('ITEM2VEC_MOVIELENS_URL', DEFAULT_URL).rstrip('/')}/{canon}.zip"
    expected_sha, expected_size = CHECKSUMS.get(canon, (None, None))
    fd, tmp_name = tempfile.mkstemp(dir=root, prefix=f".{canon}-", suffix=".zip.part")
    tmp_zip, tmp_dir = Path(tmp_name), None
    try:
        actual, size = stream_download(url, fd, desc=f"{canon}.zip", size_hint=expected_size, progress=progress,
                                       missing=f"MovieLens {canon!r} is not on disk (looked in {looked})",
                                       how_to_fix=_HOW_TO_FIX)
        if expected_sha is None:
            warnings.warn(f"no SHA-256 is recorded for {canon}.zip; downloaded {size} bytes from {url} "
                          f"without verification (sha256 {actual})", stacklevel=2)
        elif actual != expected_sha or (expected_size is not None and size != expected_size):
            raise ChecksumError(
                f"checksum mismatch for {url}: expected sha256 {expected_sha} ({expected_size} bytes), "
                f"got {actual} ({size} bytes); the download was deleted. Retry, or {_HOW_TO_FIX}.")
        tmp_dir = Path(tempfile.mkdtemp(dir=root, prefix=f".{canon}-extract-"))
        try:
            with zipfile.ZipFile(tmp_zip) as zf:
                for member in zf.namelist():
                    if member.startswith(("/", "\\")) or ".." in Path(member).parts:
                        raise DatasetNotFoundError(f"refusing unsafe path {member!r} in {url}")
                zf.extractall(tmp_dir)
        except zipfile.BadZipFile as err:
            raise DatasetNotFoundError(f"{url} did not give a valid zip file ({err}); {_HOW_TO_FIX}") from err
        tops = [p for p in tmp_dir.iterdir() if p.is_dir() and not p.name.startswith("__MACOSX")]
        src = tops[0] if len(tops) == 1 and not any(p.is_file() for p in tmp_dir.iterdir()) else tmp_dir
        missing = _missing(src, canon)
        if missing:
            raise DatasetNotFoundError(f"the zip from {url} lacks {', '.join(missing)}; {_HOW_TO_FIX}")
        final = root / (src.name if src is not tmp_dir and src.name in FOLDERS[canon] else FOLDERS[canon][0])
        try:
            os.replace(src, final)
        except OSError:
            if _find(canon, [root]) is None:  # not a concurrent download that won the race
                raise
        return final
    finally:
        tmp_zip.unlink(missing_ok=True)
        if tmp_dir is not None:
            shutil.rmtree(tmp_dir, ignore_errors=True)


def _split_dat(path: Path, n_fields: int) -> list[list[str]]:
    """Split a ``::``-separated text file (UTF-8, falling back to Latin-1)."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return [line.split("::", n_fields - 1) for line in text.splitlines() if line.strip()]


def _ratings(path: Path, fmt: str) -> pd.DataFrame:
    names = ["user", "item", "rating", "timestamp"]
    dtype = {"user": np.int64, "item": np.int64, "rating": np.float32, "timestamp": np.int64}
    if fmt == "100k":
        df = pd.read_csv(path, sep="\t", header=None, names=names, dtype=dtype, engine="c")
    elif fmt == "dat":  # "1::122::5::838985046": a ':' split gives empty fields 1, 3, 5
        df = pd.read_csv(path, sep=":", header=None, usecols=[0, 2, 4, 6], engine="c",
                         names=["user", "_1", "item", "_3", "rating", "_5", "timestamp"], dtype=dtype)
    else:
        df = pd.read_csv(path, usecols=["userId", "movieId", "rating", "timestamp"], engine="c",
                         dtype={"userId": np.int64, "movieId": np.int64, "rating": np.float32,
                                "timestamp": np.int64})
        df = df.rename(columns={"userId": "user", "movieId": "item"})
    return df[names].reset_index(drop=True)


def _split_genres(values: Any) -> list[list[str]]:
    return [[] if not g or g == "(no genres listed)" else g.split("|") for g in values]


def _items(folder: Path, fmt: str) -> pd.DataFrame:
    if fmt == "100k":
        genres: tuple[str, ...] = _ML100K_GENRES
        if (folder / "u.genre").is_file():
            rows = [ln.split("|") for ln in (folder / "u.genre").read_text("latin-1").splitlines() if "|" in ln]
            genres = tuple(name for name, _ in sorted(rows, key=lambda r: int(r[1])))
        raw = pd.read_csv(folder / "u.item", sep="|", header=None, encoding="latin-1",
                          quoting=csv.QUOTE_NONE, dtype=str, keep_default_na=False)
        flags = raw.iloc[:, -len(genres):].to_numpy() == "1"
        ids, titles = raw[0].astype(np.int64).to_numpy(), raw[1].tolist()
        lists = [[genres[j] for j in np.flatnonzero(row)] for row in flags]
    elif fmt == "dat":
        rows = _split_dat(folder / "movies.dat", 3)
        ids = np.array([int(r[0]) for r in rows], dtype=np.int64)
        titles = [r[1] for r in rows]
        lists = _split_genres(r[2] if len(r) > 2 else "" for r in rows)
    else:
        raw = pd.read_csv(folder / "movies.csv", dtype={"movieId": np.int64, "title": str, "genres": str},
                          keep_default_na=False, encoding="utf-8")
        ids, titles, lists = raw["movieId"].to_numpy(), raw["title"].tolist(), _split_genres(raw["genres"])
    return pd.DataFrame({"item": np.asarray(ids, dtype=np.int64),
                         "title": pd.Series(titles, dtype=str), "genres": pd.Series(lists, dtype=object)})


def load_movielens(name: str = "ml-100k", data_dir: Optional[PathLike] = None,
                   download: bool = True, progress: bool = True) -> MovieLens:
    """Load a MovieLens data set, downloading it first if it is nowhere on disk.

    Parameters
    ----------
    name : str
        One of :data:`MOVIELENS_NAMES` (zip folder names such as ``"ml-10M100K"`` work too).
    data_dir : path, optional
        Data root searched first (then ``$ITEM2VEC_DATA``, then :func:`default_data_dir`);
        a download goes here if given (the folder must exist: a mistyped path is an
        error, never created), else into the cache (created when needed).
    download : bool
        Download from GroupLens when the data set is found nowhere.
    progress : bool
        Show a progress bar while downloading.

    Raises
    ------
    DatasetNotFoundError
        Not found and not downloadable, or a folder exists with files missing
        (the message names them; nothing is downloaded then).
    ChecksumError
        The download does not match the recorded SHA-256.
    """
    canon = _canonical(name)
    roots = data_roots(data_dir)
    folder = _find(canon, [r for r, _ in roots])
    if folder is None:
        looked = _describe(roots)
        if not download:
            raise DatasetNotFoundError(
                f"MovieLens {canon!r} not found in {looked} and download=False. To fix: {_HOW_TO_FIX}.")
        if data_dir is not None and not Path(data_dir).is_dir():
            raise DatasetNotFoundError(
                f"MovieLens {canon!r} not found (looked in {looked}); the data folder {data_dir} does not exist, "
                f"so nothing was downloaded or created: fix the path, or create the folder to download into it. "
                f"To fix: {_HOW_TO_FIX}.")
        target = Path(data_dir) if data_dir is not None else default_data_dir()
        folder = _download(canon, target, progress, looked)
    fmt = _detect_format(folder, canon)
    return MovieLens(interactions=_ratings(folder / _FORMAT_FILES[fmt][0], fmt),
                     items=_items(folder, fmt), name=canon, path=folder)


def genre_map(items: pd.DataFrame) -> dict[Any, list[str]]:
    """``{item id: [genre, ...]}`` from an ``items`` table with ``item`` and ``genres``."""
    return dict(zip(items["item"].tolist(), items["genres"].tolist()))


def load_dataset(name: str, data_dir: Optional[PathLike] = None, **kw: Any) -> Union[MovieLens, SyntheticData]:
    """Load ``"synthetic"`` (keywords: :func:`make_synthetic`), MovieLens, or toys/yelp/lastfm/diginetica (seqdata).

    Returns an object with ``.interactions`` and ``.items``. Keywords for MovieLens
    are those of :func:`load_movielens` (``download``, ``progress``).
    """
    if str(name).strip().lower() == "synthetic":
        return make_synthetic(**kw)
    if str(name).strip().lower() in SEQUENCE_DATASETS:  # sequence/session sets: item2vec.seqdata
        return load_sequence_dataset(name, data_dir=data_dir, **kw)
    try:
        canon = _canonical(name)
    except ValueError:
        raise ValueError(f"unknown data set {name!r}; allowed: {', '.join(DATASET_NAMES)}") from None
    return load_movielens(canon, data_dir=data_dir, **kw)
