"""Prepared folders (item2vec.shards): the streamed fit equals the in-memory fit bit for bit; broken folders are refused.

These tests write folders with :func:`item2vec.shards.write_prepared` (no Spark); ``test_spark.py``
checks that Spark writes the same folders.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyarrow")

from item2vec import Item2Vec, build_sequences  # noqa: E402
from item2vec import _kernels, shards  # noqa: E402
from item2vec.shards import PreparedFolderError, ShardedSequences, open_prepared, write_prepared  # noqa: E402


def _log(n: int = 6000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"user": rng.integers(0, 150, n), "item": rng.zipf(1.4, n) % 400,
                         "ts": rng.integers(0, 3000, n).astype(float)})  # few distinct times: many ties


SETTINGS = dict(time_col="ts", session_gap=60, min_item_count=3, min_length=2)


@pytest.fixture(scope="module")
def seqs():
    return build_sequences(_log(), **SETTINGS)


@pytest.fixture(scope="module")
def folder(seqs, tmp_path_factory):
    return write_prepared(seqs, tmp_path_factory.mktemp("prep") / "seqs", shard_tokens=700)


def test_roundtrip(seqs, folder):
    assert len(folder.shards) > 3
    back = folder.to_sequences()
    np.testing.assert_array_equal(back.items, seqs.items)
    np.testing.assert_array_equal(back.offsets, seqs.offsets)
    np.testing.assert_array_equal(back.vocab.ids, seqs.vocab.ids)
    np.testing.assert_array_equal(back.vocab.counts, seqs.vocab.counts)
    np.testing.assert_array_equal(back.users, seqs.users)
    assert folder.n_tokens == seqs.n_tokens and len(folder) == len(seqs)


@pytest.mark.parametrize("history_decay", ["auto", None])
@pytest.mark.parametrize("buffer_tokens", [None, 900])
def test_streamed_fit_is_bit_identical(seqs, folder, monkeypatch, history_decay, buffer_tokens):
    if buffer_tokens is not None:  # many blocks in many parts: each must sit where it belongs in the whole corpus
        monkeypatch.setattr(_kernels, "BLOCK_TOKENS", 100)  # both paths cut the same (smaller) blocks
        monkeypatch.setattr(shards, "BUFFER_TOKENS", buffer_tokens)
        n_blocks, parts = folder.corpus_parts()
        assert len(list(parts())) > 3
    params = dict(vector_size=16, epochs=3, n_threads=1, random_state=7, history_decay=history_decay)
    a = Item2Vec(**params).fit(seqs)
    b = Item2Vec(**params).fit(folder.path)  # a path works as well as the object
    np.testing.assert_array_equal(a.item_vectors_, b.item_vectors_)
    np.testing.assert_array_equal(a.context_vectors_, b.context_vectors_)
    assert a.loss_history_ == b.loss_history_
    assert a.history_decay_ == b.history_decay_ and a.decay_scores_ == b.decay_scores_
    if history_decay == "auto":
        assert a.decay_scores_, "the holdout must be used, or the test proves nothing about it"
    np.testing.assert_array_equal(a.vocab_.ids, b.vocab_.ids)
    assert a.n_tokens_ == b.n_tokens_ and a.n_pairs_ == b.n_pairs_


def test_parts_cover_the_corpus_in_whole_blocks(folder, monkeypatch):
    monkeypatch.setattr(_kernels, "BLOCK_TOKENS", 100)
    monkeypatch.setattr(shards, "BUFFER_TOKENS", 1000)
    n_blocks, parts = folder.corpus_parts()
    seen, tokens = 0, []
    for corpus, part in parts():
        assert part.start == seen and corpus.first_block == seen
        assert corpus.total == folder.n_tokens and corpus.blocks[-1] == corpus.offsets.size - 1
        assert corpus.items.size <= 1000 or part.stop - part.start == 1
        tokens.append(corpus.items)
        seen = part.stop
    assert seen == n_blocks
    np.testing.assert_array_equal(np.concatenate(tokens), folder.to_sequences().items)


def test_hard_negatives_need_memory(folder):
    with pytest.raises(ValueError, match="hard_negatives='mined' needs the corpus in memory"):
        Item2Vec(hard_negatives="mined", epochs=1, n_threads=1).fit(folder)


def test_folder_without_manifest_is_refused(folder, tmp_path):
    broken = tmp_path / "died"
    os.makedirs(broken / "shards")
    with pytest.raises(PreparedFolderError, match=r"died.*no manifest\.json"):
        open_prepared(broken)
    with pytest.raises(PreparedFolderError, match="died"):
        Item2Vec(epochs=1).fit(str(broken))
    with pytest.raises(PreparedFolderError, match="does not exist"):
        open_prepared(tmp_path / "nothing")


def test_damaged_folder_is_refused(seqs, tmp_path):
    out = write_prepared(seqs, tmp_path / "ok", shard_tokens=2000)
    manifest = json.loads((tmp_path / "ok" / "manifest.json").read_text())
    (tmp_path / "ok" / "manifest.json").write_text(json.dumps({k: v for k, v in manifest.items() if k != "shards"}))
    with pytest.raises(PreparedFolderError, match="lacks.*shards"):
        ShardedSequences(out.path)
    (tmp_path / "ok" / "manifest.json").write_text(json.dumps(manifest)[:-20])
    with pytest.raises(PreparedFolderError, match="unreadable or incomplete"):
        ShardedSequences(out.path)
    (tmp_path / "ok" / "manifest.json").write_text(json.dumps(manifest))
    shard = tmp_path / "ok" / manifest["shards"][0]["file"]
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    ShardedSequences(out.path)  # same size: only the checksum sees it
    with pytest.raises(PreparedFolderError, match="SHA-256"):
        ShardedSequences(out.path, verify=True)
    shard.write_bytes(bytes(data[:-5]))
    with pytest.raises(PreparedFolderError, match="bytes, the manifest says"):
        ShardedSequences(out.path)


def test_write_is_atomic(seqs, tmp_path, monkeypatch):
    write_prepared(seqs, tmp_path / "a")
    with pytest.raises(ValueError, match="already exists"):
        write_prepared(seqs, tmp_path / "a")

    def boom(*args, **kwargs):
        raise RuntimeError("died while writing")

    monkeypatch.setattr(shards, "file_sha256", boom)  # prepared_io reads it from shards
    with pytest.raises(RuntimeError, match="died"):
        write_prepared(seqs, tmp_path / "b")
    assert sorted(os.listdir(tmp_path)) == ["a"]  # no half-written folder, no staging leftovers


def test_abandoned_staging_is_cleaned_and_live_staging_kept(seqs, tmp_path, caplog):
    import socket
    import subprocess
    import sys

    from item2vec.prepared_io import OWNER_FILE

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    owners = {".out.tmp-dead": {"host": socket.gethostname(), "pid": int(gone.stdout)},  # a killed prepare
              ".out.tmp-live": {"host": socket.gethostname(), "pid": os.getpid()},  # one still running
              ".out.tmp-away": {"host": "another-host", "pid": 1}}  # on another machine: cannot tell
    for entry, owner in owners.items():
        os.makedirs(tmp_path / entry / "shards")
        (tmp_path / entry / OWNER_FILE).write_text(json.dumps(owner))
    (tmp_path / ".other.tmp-dead").mkdir()  # another output's staging: not ours to judge
    with caplog.at_level("WARNING", logger="item2vec"):
        write_prepared(seqs, tmp_path / "out")
    assert sorted(os.listdir(tmp_path)) == [".other.tmp-dead", ".out.tmp-away", ".out.tmp-live", "out"]
    assert "removing" in caplog.text and ".out.tmp-dead" in caplog.text
    assert ".out.tmp-live" in caplog.text and "may still run" in caplog.text
    assert OWNER_FILE not in os.listdir(tmp_path / "out")  # the published folder holds only the layout
    open_prepared(str(tmp_path / "out"))
