"""Sequence, session and attribute loaders; the named sets' search rule; pinned-SHA downloads."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import closed_port_url, file_server

from item2vec import datasets
from item2vec import seqdata as sd
from item2vec.datasets import ChecksumError, DatasetNotFoundError, load_dataset
from item2vec.splits import leave_last_out

#: The real LastFM.txt if available: the library's own rule from $ITEM2VEC_DATA (resolved at import,
#: before any fixture edits the environment), else <clone>/../shared/datasets/sequential (CI's layout).
_REAL = (sd.find_file("LastFM.txt", "sequential")
         or sd.find_file("LastFM.txt", "sequential", Path(__file__).resolve().parents[2] / "shared" / "datasets"))
SHARED_SEQ = _REAL.parent if _REAL is not None else Path(__file__).resolve().parents[2] / "shared/datasets/sequential"


@pytest.fixture()
def offline(isolated, monkeypatch):
    """No user data, an empty cache, and download URLs at a closed port."""
    monkeypatch.setenv("ITEM2VEC_SEQUENTIAL_URL", closed_port_url())
    monkeypatch.setenv("ITEM2VEC_SESSIONS_URL", closed_port_url())
    return isolated


SESSIONS = """session_id;user_id;item_id;timeframe;eventdate
2;NA;30;5000;2016-05-10
1;NA;10;2000;2016-05-09
1;7;11;500;2016-05-09
2;NA;31;1000;2016-05-10
1;NA;12;90000000;2016-05-10
"""


def test_read_sequences_positions_int_ids_and_split(tmp_path):
    p = tmp_path / "s.txt"
    p.write_text("1 5 6 7\n\n2 7 5\n3\n")
    df = sd.read_sequences(p)
    assert df["user"].tolist() == [1, 1, 1, 2, 2]
    assert df["item"].tolist() == [5, 6, 7, 7, 5]
    assert df["timestamp"].tolist() == [0, 1, 2, 0, 1]
    assert all(df[c].dtype == np.int64 for c in df)
    split = leave_last_out(df, n_val=1, n_test=1)
    assert split.test["item"].tolist() == [7]  # user 1's last item (user 2 too short to split)


def test_read_sequences_string_ids_and_user_on_two_lines(tmp_path):
    p = tmp_path / "s.txt"
    p.write_text("a x y\nb z\na w\n")
    df = sd.read_sequences(p)
    assert df["user"].tolist() == ["a", "a", "a", "b"]
    assert df["item"].tolist() == ["x", "y", "w", "z"]
    assert df["timestamp"].tolist() == [0, 1, 2, 0]


def test_read_sequences_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        sd.read_sequences(tmp_path / "nope.txt")
    (tmp_path / "e.txt").write_text("1\n2\n")
    with pytest.raises(ValueError, match="no events"):
        sd.read_sequences(tmp_path / "e.txt")


def test_read_sessions_order_user_and_timestamp(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text(SESSIONS)
    df = sd.read_sessions(p)
    assert df["user"].tolist() == [1, 1, 1, 2, 2]  # session = user, sessions in id order
    assert df["item"].tolist() == [11, 10, 12, 31, 30]  # by timeframe within a session
    day = int(pd.Timestamp("2016-05-09", tz="UTC").timestamp())
    assert df["timestamp"].tolist()[:3] == [day, day + 2, day + 90000]  # session start day + timeframe // 1000
    assert df.groupby("user")["timestamp"].apply(lambda t: t.is_monotonic_increasing).all()
    assert leave_last_out(df, n_val=0, min_train=1, drop_cold_targets=False).test["item"].tolist() == [12, 30]


def test_read_sessions_bad_header_and_dates(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("a;b\n1;2\n")
    with pytest.raises(ValueError, match="expected the columns session_id;user_id"):
        sd.read_sessions(p)
    p.write_text(SESSIONS.replace("2016-05-10", "yesterday", 1))
    with pytest.raises(ValueError, match="cannot parse 'yesterday'"):
        sd.read_sessions(p)


def test_read_item_groups(tmp_path):
    p = tmp_path / "a.json"
    p.write_text(json.dumps({"1": [3, 4, 3], "2": []}))
    assert sd.read_item_groups(p) == {1: [3, 4], 2: []}
    p.write_text("[1, 2]")
    with pytest.raises(ValueError, match="JSON object"):
        sd.read_item_groups(p)


def test_detect_format_and_load_file(tmp_path):
    (tmp_path / "s.txt").write_text("1 2 3\n")
    (tmp_path / "d.csv").write_text(SESSIONS)
    (tmp_path / "i.csv").write_text("user,item\n1,2\n")
    (tmp_path / "w.txt").write_text("hello world\n")
    assert sd.detect_format(tmp_path / "s.txt") == "sequences"
    assert sd.detect_format(tmp_path / "d.csv") == "sessions"
    assert sd.detect_format(tmp_path / "i.csv") == "interactions"
    with pytest.raises(ValueError, match="give --format"):
        sd.detect_format(tmp_path / "w.txt")
    assert sd.load_file(tmp_path / "i.csv") is None
    assert sd.load_file(tmp_path / "w.txt") is None  # left to load_interactions' own message
    assert len(sd.load_file(tmp_path / "w.txt", "sequences")) == 1
    with pytest.raises(ValueError, match="format must be one of"):
        sd.load_file(tmp_path / "s.txt", "json")


def _make_set(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "LastFM.txt").write_text("1 1 2 3\n2 2 3 1\n")
    (folder / "LastFM_item2attributes.json").write_text(json.dumps({"1": [9], "2": [9, 8], "3": []}))


@pytest.mark.parametrize("env_rel", [".", "..", "../movielens"])
def test_search_rule_root_group_and_sibling(tmp_path, offline, monkeypatch, env_rel):
    """ITEM2VEC_DATA may be the folder, its parent, or a sibling (CI points it at .../movielens)."""
    _make_set(tmp_path / "shared" / "sequential")
    (tmp_path / "shared" / "movielens").mkdir()
    monkeypatch.setenv("ITEM2VEC_DATA", str((tmp_path / "shared" / "sequential" / env_rel).resolve()))
    ds = load_dataset("lastfm", download=False)
    assert ds.path == tmp_path / "shared" / "sequential" / "LastFM.txt"
    assert ds.interactions["item"].tolist() == [1, 2, 3, 2, 3, 1]
    assert ds.item_groups == {1: [9], 2: [9, 8], 3: []}
    assert ds.items.set_index("item")["genres"].to_dict() == {1: [9], 2: [9, 8], 3: []}


def test_data_dir_first_and_not_found_message(tmp_path, offline):
    _make_set(tmp_path / "mine")
    assert sd.load_sequence_dataset("LastFM", data_dir=tmp_path / "mine", download=False).name == "lastfm"
    with pytest.raises(DatasetNotFoundError, match="LastFM.txt not found.*ITEM2VEC_DATA"):
        load_dataset("lastfm", download=False)
    with pytest.raises(DatasetNotFoundError, match="could not be downloaded"):
        load_dataset("toys")  # the closed port
    with pytest.raises(ValueError, match="unknown data set"):
        load_dataset("toy")


@pytest.fixture
def server(monkeypatch):
    """A local HTTP server for the sequential source: ``files`` maps names to bytes."""
    with file_server(key=lambda path: path.rsplit("/", 1)[-1]) as (files, hits, base):
        monkeypatch.setenv("ITEM2VEC_SEQUENTIAL_URL", f"{base}/data/")
        yield files, hits


def test_download_verified_then_cached(offline, server, monkeypatch):
    files, hits = server
    body, attrs = b"1 1 2 3\n2 3 2\n", b'{"1": [5]}'
    monkeypatch.setitem(sd.SHA256, "LastFM.txt", hashlib.sha256(body).hexdigest())
    monkeypatch.setitem(sd.SHA256, "LastFM_item2attributes.json", hashlib.sha256(attrs).hexdigest())
    files.update({"LastFM.txt": body, "LastFM_item2attributes.json": attrs})
    ds = load_dataset("lastfm")
    assert ds.path == offline / "sequential" / "LastFM.txt" and ds.path.read_bytes() == body
    assert hits == ["/data/LastFM.txt", "/data/LastFM_item2attributes.json"]
    assert load_dataset("lastfm").item_groups == {1: [5]} and len(hits) == 2  # cached: no new request
    assert not [p for p in (offline / "sequential").iterdir() if p.name.startswith(".")]


def test_download_checksum_mismatch_leaves_nothing(offline, server):
    files, _ = server
    files["Toys_and_Games.txt"] = b"1 2 3\n"  # not the pinned file
    with pytest.raises(ChecksumError, match="checksum mismatch.*176c680c"):
        load_dataset("toys")
    assert list((offline / "sequential").iterdir()) == []


def test_download_of_the_real_file_matches_the_pinned_sha(offline, server):
    if not (SHARED_SEQ / "LastFM.txt").is_file():
        pytest.skip(f"shared copy not available at {SHARED_SEQ}")
    files, _ = server
    files["LastFM.txt"] = (SHARED_SEQ / "LastFM.txt").read_bytes()
    path = sd.fetch_file("LastFM.txt", "sequential")
    assert path.read_bytes() == files["LastFM.txt"]


def test_shared_files_load_with_the_documented_sizes():
    if not SHARED_SEQ.is_dir():
        pytest.skip(f"shared data not available at {SHARED_SEQ}")
    ds = sd.load_sequence_dataset("lastfm", data_dir=SHARED_SEQ, download=False)
    df = ds.interactions
    assert (len(df), df["user"].nunique(), df["item"].nunique()) == (52_551, 1_090, 3_646)
    assert set(ds.item_groups) == set(df["item"].unique())
    assert datasets.DATASET_NAMES[-4:] == tuple(sd.SEQUENCE_DATASETS)


def test_cli_data_format_detection_and_named_set(tmp_path, offline, monkeypatch, capsys):
    from item2vec.cli import main

    seqs = tmp_path / "seqs.txt"
    seqs.write_text("".join(f"{u} " + " ".join(str((u + t) % 30) for t in range(8)) + "\n" for u in range(60)))
    assert main(["evaluate", "--data", str(seqs), "--models", "pop,transition", "-q"]) == 0  # detected
    out = capsys.readouterr().out
    assert "dataset seqs.txt" in out and "transition" in out and "60 users" in out
    weird = tmp_path / "seqs.log"
    weird.write_text(seqs.read_text())
    assert main(["evaluate", "--data", str(weird), "--format", "sequences", "--models", "pop", "-q"]) == 0
    assert main(["evaluate", "--data", str(weird), "--models", "pop", "-q"]) == 2  # not detected: usage error
    assert "cannot tell the format" in capsys.readouterr().err
    _make_set(tmp_path / "shared" / "sequential")
    monkeypatch.setenv("ITEM2VEC_DATA", str(tmp_path / "shared" / "movielens"))
    assert main(["evaluate", "--dataset", "lastfm", "--models", "pop", "-q"]) == 0
    assert "dataset lastfm" in capsys.readouterr().out
