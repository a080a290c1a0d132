"""item2vec.spark on a real local Spark (local[2]): the same sequences as build_sequences, the same vectors.

Skipped, with the reason, only when pyspark or Java is missing (``.ci/run`` installs both).
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyarrow")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("Spark needs Java 17+ (apt-get install default-jre-headless); not found", allow_module_level=True)
pytest.importorskip("pyspark", reason="pyspark is not installed: pip install 'item2vec[spark]'")

from item2vec import Item2Vec, build_sequences  # noqa: E402
from item2vec.cli import main  # noqa: E402
from item2vec.shards import open_prepared  # noqa: E402
from item2vec.spark import prepare, read_log, spark_session  # noqa: E402

pytestmark = [pytest.mark.spark, pytest.mark.filterwarnings("ignore::FutureWarning"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]


@pytest.fixture(scope="session")
def spark():
    session = spark_session("local[2]", **{"spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2",
                                           "spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false"})
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _log(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"user": rng.integers(0, 120, n), "item": (rng.zipf(1.3, n) % 600) * 1_000_003,  # not dense
                         "ts": rng.integers(0, 4000, n).astype(np.int64)})  # few distinct times: many ties


def _same(got, ref) -> None:
    np.testing.assert_array_equal(got.vocab.ids, ref.vocab.ids)
    np.testing.assert_array_equal(got.vocab.counts, ref.vocab.counts)
    np.testing.assert_array_equal(got.offsets, ref.offsets)
    np.testing.assert_array_equal(got.items, ref.items)
    np.testing.assert_array_equal(got.users, ref.users)


SETTINGS = dict(time_col="ts", session_gap=90, min_item_count=3, min_length=2)


@pytest.fixture(scope="module")
def prepared(spark, tmp_path_factory):
    """A two-file Parquet log (file order is log order), prepared on Spark, and the same log in pandas."""
    root = tmp_path_factory.mktemp("spark")
    os.makedirs(root / "log")
    a, b = _log(4000, 1), _log(3000, 2)
    b.to_parquet(root / "log" / "part-b.parquet")  # written first: the order must come from the names, not mtimes
    a.to_parquet(root / "log" / "part-a.parquet")
    out = prepare(read_log(spark, str(root / "log")), str(root / "seqs"), shard_tokens=800, **SETTINGS)
    return out, pd.concat([a, b], ignore_index=True)


def test_prepare_equals_build_sequences(prepared):
    out, log = prepared
    ref = build_sequences(log, **SETTINGS)
    assert len(out.shards) > 2 and out.manifest["n_events"] == len(log)
    _same(out.to_sequences(), ref)


@pytest.mark.parametrize("history_decay", ["auto", None])
def test_fit_from_spark_folder_equals_in_memory_fit(prepared, history_decay):
    out, log = prepared
    params = dict(vector_size=16, epochs=2, n_threads=1, random_state=5, history_decay=history_decay,
                  time_col="ts", session_gap=90, min_count=3, min_length=2)
    a = Item2Vec(**params).fit(log)  # build_sequences in memory
    b = Item2Vec(**params).fit(out.path)  # streamed from the shards Spark wrote
    np.testing.assert_array_equal(a.item_vectors_, b.item_vectors_)
    np.testing.assert_array_equal(a.context_vectors_, b.context_vectors_)
    assert a.history_decay_ == b.history_decay_ and a.decay_scores_ == b.decay_scores_


def test_string_ids_timestamps_and_dataframe_order(spark, tmp_path):
    rng = np.random.default_rng(3)
    n = 1500
    log = pd.DataFrame({"u": rng.choice(["ann", "bob", "cy", "dee", "eve"], n),
                        "it": np.char.add("i", (rng.zipf(1.5, n) % 80).astype(str)).astype(object),
                        "when": pd.Timestamp("2024-03-01") + pd.to_timedelta(rng.integers(0, 50_000, n), unit="s")})
    kw = dict(user_col="u", item_col="it", time_col="when", session_gap="10min", min_item_count=2, min_length=3)
    out = prepare(spark.createDataFrame(log), str(tmp_path / "s"), **kw)  # a DataFrame's own row order
    _same(out.to_sequences(), build_sequences(log, **kw))
    assert out.vocab.kind == "str"


def test_clear_errors(spark, prepared, tmp_path):
    out, log = prepared
    df = spark.createDataFrame(log)
    with pytest.raises(KeyError, match=r"item_col='product'.*\['user', 'item', 'ts'\]"):
        prepare(df, str(tmp_path / "x"), item_col="product")
    with pytest.raises(ValueError, match="already exists"):
        prepare(df, out.path)
    with pytest.raises(FileNotFoundError, match="nowhere"):
        read_log(spark, str(tmp_path / "nowhere"))
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(ValueError, match="cannot read .*junk.parquet"):
        prepare(read_log(spark, str(tmp_path / "junk.parquet")), str(tmp_path / "y"))
    holes = spark.createDataFrame(pd.DataFrame({"user": [1, 1, 2], "item": [1.0, None, 3.0]}))
    with pytest.raises(ValueError, match="item column 'item' contains 1 missing"):
        prepare(holes, str(tmp_path / "z"))
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]  # no staging folder left behind


def test_cli_prepare_csv_then_train(spark, tmp_path, capsys):
    rng = np.random.default_rng(4)
    n = 2000
    log = pd.DataFrame({"user": rng.integers(0, 60, n), "item": rng.zipf(1.4, n) % 150,
                        "timestamp": rng.integers(0, 10_000, n)})
    log.to_csv(tmp_path / "log.csv", index=False)
    code = main(["prepare", "--data", str(tmp_path / "log.csv"), "--output", str(tmp_path / "seqs"),
                 "--session-gap", "600", "--min-item-count", "2", "--quiet"])
    assert code == 0, capsys.readouterr().err
    assert "prepared" in capsys.readouterr().out
    ref = build_sequences(pd.read_csv(tmp_path / "log.csv"), time_col="timestamp", session_gap=600,
                          min_item_count=2)
    _same(open_prepared(tmp_path / "seqs").to_sequences(), ref)
    assert main(["train", "--sequences", str(tmp_path / "seqs"), "--output", str(tmp_path / "m.npz"), "--quiet",
                 "--threads", "1", "--set", "epochs=1", "vector_size=8"]) == 0
    model = Item2Vec.load(str(tmp_path / "m.npz"))
    np.testing.assert_array_equal(model.vocab_.ids, ref.vocab.ids)
    assert main(["prepare", "--data", str(tmp_path / "log.csv"), "--output", str(tmp_path / "t"),
                 "--item-col", "sku", "--quiet"]) == 2
    assert "item_col='sku'" in capsys.readouterr().err
