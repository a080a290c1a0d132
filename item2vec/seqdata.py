"""Next-item data sets beyond MovieLens: sequence files, session logs, item attributes.

Formats
-------
* **sequences** (:func:`read_sequences`): one user per line, ``user item item ...``
  separated by white space, the items in time order (oldest first). This is the
  format of the S3-Rec benchmark files (Amazon Toys, Yelp, LastFM).
* **sessions** (:func:`read_sessions`): the DIGINETICA (CIKM Cup 2016) item-view
  log, ``;``-separated with a header ``session_id;user_id;item_id;timeframe;eventdate``.
  ``user_id`` is mostly ``NA`` (anonymous), so the **session is the user**.
* **attributes** (:func:`read_item_groups`): ``*_item2attributes.json``, a JSON object
  ``{"item id": [attribute id, ...]}``; loaded as the ``item_groups`` of
  :class:`item2vec.Item2Vec` (group-aware hard negatives).

Named data sets
---------------
``toys``, ``yelp``, ``lastfm`` (the S3-Rec files, group folder ``sequential``) and
``diginetica`` (the SR-GNN sample, group folder ``sessions``) are found by
:func:`find_file`. For every *root* in order (:func:`item2vec.fetch.data_roots`, as
MovieLens) -- the ``data_dir`` argument (CLI ``--data-dir``), ``$ITEM2VEC_DATA``, the cache
(:func:`item2vec.datasets.default_data_dir`) -- the file is looked for in ``root``, ``root/<group>`` and ``root/../<group>``. So
``ITEM2VEC_DATA`` may point at the folder holding the files, at a parent holding
``sequential/`` and ``sessions/``, or at a sibling such as ``.../movielens`` (CI sets
``ITEM2VEC_DATA=<clone>/../shared/datasets/movielens`` and finds
``<clone>/../shared/datasets/sequential`` this way). A file found nowhere is
downloaded (``download=True``) from the pinned public commit (:data:`SOURCES`),
checked against :data:`SHA256` and moved atomically into ``<data_dir or cache>/<group>/``.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np
import pandas as pd

from . import fetch as _fetch
from .fetch import ChecksumError, DatasetNotFoundError

__all__ = [
    "SEQUENCE_DATASETS",
    "SHA256",
    "SOURCES",
    "SequenceData",
    "detect_format",
    "fetch_file",
    "find_file",
    "load_file",
    "load_sequence_dataset",
    "read_item_groups",
    "read_sequences",
    "read_sessions",
]

PathLike = Union[str, "os.PathLike[str]"]

#: ``name -> (group folder, interaction file, attribute file or None)``.
SEQUENCE_DATASETS: dict[str, tuple[str, str, str | None]] = {
    "toys": ("sequential", "Toys_and_Games.txt", "Toys_and_Games_item2attributes.json"),
    "yelp": ("sequential", "Yelp.txt", "Yelp_item2attributes.json"),
    "lastfm": ("sequential", "LastFM.txt", "LastFM_item2attributes.json"),
    "diginetica": ("sessions", "diginetica-sample-train-item-views.csv", None),
}

#: ``group -> (base URL of the raw files at a pinned commit, environment variable overriding it)``.
#: sequential: RUCAIBox/CIKM2020-S3Rec, folder data/; sessions: CRIPAC-DIG/SR-GNN, folder datasets/
#: (there the file is named ``sample_train-item-views.csv``, see :data:`_REMOTE_NAMES`).
SOURCES: dict[str, tuple[str, str]] = {
    "sequential": (("https://raw.githubusercontent.com/RUCAIBox/CIKM2020-S3Rec/"
                    "2a81540ae18615d88ef88227b0c066e5b74781e5/data"), "ITEM2VEC_SEQUENTIAL_URL"),
    "sessions": (("https://raw.githubusercontent.com/CRIPAC-DIG/SR-GNN/"
                  "e21cfa431f74c25ae6e4ae9261deefe11d1cb488/datasets"), "ITEM2VEC_SESSIONS_URL"),
}
_REMOTE_NAMES = {"diginetica-sample-train-item-views.csv": "sample_train-item-views.csv"}

#: SHA-256 of every file (from the SHA256SUMS of the shared copies, which are unchanged copies
#: of the files at the commits in :data:`SOURCES`).
SHA256: dict[str, str] = {
    "LastFM.txt": "9ded486adb5b0fe9dc761950afa0a9a05e93ff018992e0c52bf11afec529f802",
    "Toys_and_Games.txt": "176c680c688d497598c4a89a03b402c0fe78d795e5db335c2e78dd5f2d778a3f",
    "Yelp.txt": "724b219106b81dd2349027da997334ddb6da9fe2f152ad6e0d97a93170f7caed",
    "LastFM_item2attributes.json": "a4ccd678dc9ff6d43fe5073f491db5c9b02eb98dfa4f8c0382913a784be217ef",
    "Toys_and_Games_item2attributes.json": "d371acd25101eedac04afc727626464b7acec770c4eda708705d51eb76eb1ad0",
    "Yelp_item2attributes.json": "f25acd5e1e680e0b22fd4e3f4fb6be4b2a7461e9222610616e3e1ee6702dd58d",
    "diginetica-sample-train-item-views.csv": "98da96e05c87ef12b739e4bfd9bc7b4864106ee77371f1db9eb4413e3f78d37e",
}

FORMATS = ("interactions", "sequences", "sessions")
_HOW_TO_FIX = ("point ITEM2VEC_DATA (or --data-dir) at the folder holding the files, at its parent, "
               "or at a sibling folder such as .../movielens (the rule: ROOT, ROOT/<group>, ROOT/../<group>)")
_SESSION_COLUMNS = ["session_id", "user_id", "item_id", "timeframe", "eventdate"]


@dataclass
class SequenceData:
    """A loaded sequence or session data set.

    Attributes
    ----------
    interactions : pandas.DataFrame
        ``user``, ``item``, ``timestamp`` (int64), grouped by user in time order.
    items : pandas.DataFrame
        ``item`` (every item of the interactions, first-appearance order) and ``genres``
        (its list of attribute ids -- categories/brand, business categories/city or tags;
        empty without an attribute file). The column is named like MovieLens' genres so
        the CLI uses it as ``item_groups`` with ``--set item2vec.hard_negatives=group``.
    item_groups : dict or None
        ``{item: [attribute id, ...]}`` for :class:`item2vec.Item2Vec` (``item_groups=``).
    name : str
    path : pathlib.Path
        The interaction file.
    """

    interactions: pd.DataFrame
    items: pd.DataFrame
    name: str
    path: Path
    item_groups: dict[Any, list[int]] | None = field(default=None)


def _ids(values: list[str]) -> np.ndarray:
    """int64 array when every id is an integer literal, else an object array of str."""
    try:
        return np.array([int(v) for v in values], dtype=np.int64)
    except (ValueError, OverflowError):
        return np.array(values, dtype=object)


def read_sequences(path: PathLike) -> pd.DataFrame:
    """Read a one-user-per-line sequence file (``user item item ...``).

    Blank lines are skipped; a line with a user and no item contributes nothing. A
    user on several lines gets the events of all of them, in file order.

    Returns
    -------
    pandas.DataFrame
        ``user``, ``item``, ``timestamp``: ``timestamp`` is the 0-based position of the
        event in the user's sequence (its line order), so splits that sort by time
        (``leave_last_out``, ``temporal_split``) respect the file order. ``user`` and
        ``item`` are int64 when every id is an integer, else str.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"sequence file {path} does not exist")
    users: list[str] = []
    items: list[str] = []
    counts: list[int] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) < 2:
                continue
            users.append(parts[0])
            items.extend(parts[1:])
            counts.append(len(parts) - 1)
    if not items:
        raise ValueError(f"{path.name} holds no events: expected lines 'user item item ...'")
    user_col = np.repeat(_ids(users), counts)
    df = pd.DataFrame({"user": user_col, "item": _ids(items)})
    df["timestamp"] = df.groupby("user", sort=False).cumcount().astype(np.int64)
    if len(set(users)) < len(users):  # a user on several lines: group it, keeping the order
        df = df.iloc[np.argsort(pd.factorize(df["user"])[0], kind="stable")].reset_index(drop=True)
    return df


def read_sessions(path: PathLike) -> pd.DataFrame:
    """Read a DIGINETICA item-view log (``session_id;user_id;item_id;timeframe;eventdate``).

    Returns
    -------
    pandas.DataFrame
        ``user`` (= ``session_id``: most ``user_id`` are ``NA``), ``item``,
        ``timestamp``, rows ordered by (``session_id``, ``timeframe``), equal keys in
        file order. ``timestamp`` is in unix seconds: midnight UTC of the session's
        first ``eventdate`` plus ``timeframe // 1000`` (``timeframe`` is milliseconds
        since the session started), so it grows within a session and orders
        sessions by day for a temporal split. Events within the same second keep
        the (``timeframe``) order of the rows, which the splits' stable sort keeps.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"session file {path} does not exist")
    header = list(pd.read_csv(path, sep=";", nrows=0).columns)
    if header != _SESSION_COLUMNS:
        raise ValueError(f"{path.name}: expected the columns {';'.join(_SESSION_COLUMNS)}, got {';'.join(header)}")
    raw = pd.read_csv(path, sep=";", dtype=str, keep_default_na=False)
    if len(raw) == 0:
        raise ValueError(f"{path.name} holds no events")
    try:
        frame = raw["timeframe"].astype(np.int64).to_numpy()
    except ValueError:
        raise ValueError(f"{path.name}: column 'timeframe' must hold integers (milliseconds)") from None
    day = pd.to_datetime(raw["eventdate"], format="%Y-%m-%d", errors="coerce", utc=True)
    if day.isna().any():
        bad = raw["eventdate"][day.isna()].iloc[0]
        raise ValueError(f"{path.name}: column 'eventdate' must hold dates YYYY-MM-DD; cannot parse {bad!r}")
    day_s = ((day - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).astype(np.int64)
    session = _ids(raw["session_id"].tolist())
    start = pd.Series(day_s.to_numpy()).groupby(session).transform("min").to_numpy()
    order = np.lexsort((np.arange(len(raw)), frame, pd.factorize(session, sort=True)[0]))
    return pd.DataFrame({"user": session[order], "item": _ids(raw["item_id"].tolist())[order],
                         "timestamp": (start + frame // 1000)[order]})


def read_item_groups(path: PathLike) -> dict[Any, list[int]]:
    """``{item: [attribute id, ...]}`` from an ``*_item2attributes.json`` file.

    Keys are converted to int when all of them are integer literals (as in the
    interaction files); each list keeps its distinct attribute ids in first order.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"attribute file {path} does not exist")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path.name} is not valid JSON ({err})") from None
    if not isinstance(raw, dict) or not all(isinstance(v, list) for v in raw.values()):
        raise ValueError(f"{path.name} must be a JSON object {{item id: [attribute id, ...]}}")
    keys = _ids(list(raw))
    return {k: list(dict.fromkeys(v)) for k, v in zip(keys.tolist(), raw.values())}


def detect_format(path: PathLike) -> str:
    """``"sequences"``, ``"sessions"`` or ``"interactions"`` from a file's name and first line.

    A ``.txt`` file whose first non-blank line is two or more white-space separated
    integers is a sequence file; a file whose header is the DIGINETICA one is a
    session log; ``.csv``/``.tsv``/``.parquet`` files are interaction logs. Anything
    else raises ``ValueError`` asking for ``--format``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "interactions"
    first = ""
    if path.is_file():
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.strip():
                    first = line.strip()
                    break
    if first.split(";") == _SESSION_COLUMNS:
        return "sessions"
    parts = first.split()
    if suffix == ".txt" and len(parts) >= 2 and all(p.lstrip("-").isdigit() for p in parts):
        return "sequences"
    if suffix in (".csv", ".tsv", ".tab"):
        return "interactions"
    raise ValueError(f"cannot tell the format of {path.name!r}; give --format (format=) one of "
                     f"{', '.join(FORMATS)}")


def load_file(path: PathLike, data_format: str | None = None) -> pd.DataFrame | None:
    """Read a sequence or session file (``data_format`` or :func:`detect_format`).

    Returns None for an interaction log (``data_format="interactions"``, or a file
    whose format is not detected), which :func:`item2vec.datasets.load_interactions`
    reads (with its own error for unknown suffixes). Used by the CLI's ``--data FILE
    --format FORMAT``.
    """
    if data_format is not None and data_format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got format={data_format!r}")
    if not Path(path).is_file():
        raise FileNotFoundError(f"data file {path} does not exist")
    if data_format is None:
        try:
            data_format = detect_format(path)
        except ValueError:
            return None
    if data_format == "interactions":
        return None
    return read_sequences(path) if data_format == "sequences" else read_sessions(path)


# ---------------------------------------------------------------------------- finding, downloading
def _canonical(name: str) -> str:
    key = str(name).strip().lower()
    if key not in SEQUENCE_DATASETS:
        raise ValueError(f"unknown sequence data set {name!r}; allowed: {', '.join(SEQUENCE_DATASETS)}")
    return key


def find_file(filename: str, group: str, data_dir: PathLike | None = None) -> Path | None:
    """First ``root``, ``root/group`` or ``root/../group`` holding ``filename`` (roots: see module doc)."""
    for root, _ in _fetch.data_roots(data_dir):
        for folder in (root, root / group, root.parent / group):
            if (folder / filename).is_file():
                return folder / filename
    return None


def fetch_file(filename: str, group: str, dest_dir: PathLike | None = None, progress: bool = False) -> Path:
    """Download ``filename`` of ``group`` into ``<dest_dir or cache>/<group>/`` and verify it.

    The URL is ``<base>/<remote name>`` with the base of :data:`SOURCES` (overridden by
    ``$ITEM2VEC_SEQUENTIAL_URL`` / ``$ITEM2VEC_SESSIONS_URL``). The body is streamed into
    a temporary file next to the target, checked against :data:`SHA256` and moved into
    place with ``os.replace``; a failure leaves nothing behind. ``progress`` shows a tqdm bar.

    Raises
    ------
    DatasetNotFoundError
        The server cannot be reached or answers with an error.
    ChecksumError
        The SHA-256 differs from the pinned one (the download is deleted).
    """
    base, env = SOURCES[group]
    url = f"{os.environ.get(env, base).rstrip('/')}/{_REMOTE_NAMES.get(filename, filename)}"
    folder = (Path(dest_dir) if dest_dir is not None else _fetch.default_data_dir()) / group
    target = folder / filename
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{filename}-", suffix=".part")
    tmp = Path(tmp_name)
    try:
        actual, size = _fetch.stream_download(url, fd, desc=filename, size_hint=None, progress=progress,
                                                 missing=f"{filename} is not on disk", how_to_fix=_HOW_TO_FIX)
        if actual != SHA256[filename]:
            raise ChecksumError(f"checksum mismatch for {url}: expected sha256 {SHA256[filename]}, got {actual} "
                                f"({size} bytes); the download was deleted. Retry, or {_HOW_TO_FIX}.")
        os.replace(tmp, target)
        return target
    finally:
        tmp.unlink(missing_ok=True)


def _locate(filename: str, group: str, data_dir: PathLike | None, download: bool, progress: bool) -> Path:
    found = find_file(filename, group, data_dir)
    if found is not None:
        return found
    if not download:
        roots = ", ".join(str(r) for r, _ in _fetch.data_roots(data_dir))
        raise DatasetNotFoundError(f"{filename} not found under {roots} (nor their {group}/ or ../{group}/) "
                                   f"and download=False. To fix: {_HOW_TO_FIX}.")
    return fetch_file(filename, group, data_dir, progress=progress)


def load_sequence_dataset(name: str, data_dir: PathLike | None = None, download: bool = True,
                          progress: bool = True, attributes: bool = True) -> SequenceData:
    """Load ``toys``, ``yelp``, ``lastfm`` (sequence files) or ``diginetica`` (session log).

    Parameters
    ----------
    name : str
        One of :data:`SEQUENCE_DATASETS`.
    data_dir : path, optional
        Root searched first (see the module doc for the search rule); a download goes
        to ``data_dir/<group>/`` if given, else to the cache.
    download : bool
        Download missing files from the pinned public commit (verified by SHA-256).
    progress : bool
        Show a progress bar while downloading.
    attributes : bool
        Also load the attribute file as :attr:`SequenceData.item_groups` (toys, yelp, lastfm).
    """
    canon = _canonical(name)
    group, filename, attr_name = SEQUENCE_DATASETS[canon]
    path = _locate(filename, group, data_dir, download, progress)
    df = read_sessions(path) if group == "sessions" else read_sequences(path)
    groups = None
    if attributes and attr_name is not None:
        groups = read_item_groups(_locate(attr_name, group, data_dir, download, progress))
    item_ids = pd.unique(df["item"])
    items = pd.DataFrame({"item": item_ids,
                          "genres": pd.Series([list(groups.get(i, [])) if groups else [] for i in item_ids.tolist()],
                                              dtype=object)})
    return SequenceData(interactions=df, items=items, name=canon, path=path, item_groups=groups)
