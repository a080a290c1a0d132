"""Prepare training sequences from a log on Spark (the optional extra ``item2vec[spark]``).

:func:`prepare` does what :func:`item2vec.build_sequences` does, on a Spark
DataFrame of any size, and writes a prepared folder (see
:mod:`item2vec.shards`) that ``Item2Vec.fit`` trains from shard by shard:

* events are ordered within a user by time, ties by their order in the log
  (stable), and split into sessions where two consecutive events are more than
  ``session_gap`` seconds apart (window functions over the user);
* items seen fewer than ``min_item_count`` times in the whole log are dropped,
  then sequences shorter than ``min_length``;
* the vocabulary (item id <-> int32 code, with counts) is ordered exactly as
  :class:`~item2vec.Vocabulary` orders it, and the sequences come out in the
  order ``build_sequences`` emits them (users by first appearance in the log,
  then sessions in time order).

"The order of the log" is the order of the DataFrame's rows (its partitions,
then the rows in each); :func:`read_log` makes it the order of the files by
path, then of the rows in each file, which is how pandas reads the same folder.

Writing is atomic at the folder level: everything goes to a hidden sibling
folder that is renamed to ``output`` after the manifest is written, so a job
that dies leaves no folder that looks complete. The output must be a path the
driver can read (a local disk, or on a cluster a shared mount that the
executors write to).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from typing import Any

import numpy as np

from .params import session_gap_seconds
from .prepared_io import check_output, publish, staging_folder
from .shards import SHARD_DIR, ShardedSequences
from .validation import check_int

__all__ = ["prepare", "read_log", "spark_session", "spark_message", "ORDER_COL"]

log = logging.getLogger("item2vec.spark")

#: Column :func:`read_log` adds: the position of an event in the log (file, block, row), for stable ties.
ORDER_COL = "_item2vec_order"
#: Default tokens per Parquet shard.
SHARD_TOKENS = 1 << 22
#: Vocabularies up to this many items are broadcast to the executors when the codes are applied.
BROADCAST_ITEMS = 2_000_000


def _spark() -> Any:
    try:
        import pyspark  # noqa: F401
        from pyspark.sql import SparkSession
    except ImportError as e:
        raise ImportError("item2vec.spark needs pyspark (and Java 17+): pip install 'item2vec[spark]'") from e
    return SparkSession


def spark_session(master: str = "local[2]", app_name: str = "item2vec prepare", **conf: str) -> Any:
    """A SparkSession on ``master`` (``local[N]``, ``spark://host:7077``, ``yarn``, ...), UTC session time zone."""
    builder = (_spark().builder.master(master).appName(app_name).config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true"))
    for k, v in conf.items():
        builder = builder.config(k, v)
    return builder.getOrCreate()


def read_log(spark: Any, path: str, fmt: str | None = None, sep: str | None = None) -> Any:
    """A log file or folder as a Spark DataFrame, with :data:`ORDER_COL` (the order of the events in it).

    Parameters
    ----------
    spark : SparkSession
    path : str
        A Parquet file or folder of Parquet files, or a CSV/TSV file or folder (with a header line).
    fmt : {"parquet", "csv"} or None
        Default: from the file names (``.csv``, ``.tsv``, ``.txt``: CSV; else Parquet).
    sep : str or None
        CSV separator (default: tab for ``.tsv``, else ``,``).

    Raises
    ------
    FileNotFoundError
        A local ``path`` that does not exist.
    ValueError
        A path Spark cannot read as that format (the message names it).
    """
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException
    from pyspark.sql import functions as F

    local = "://" not in path
    if local and not os.path.exists(path):
        raise FileNotFoundError(f"log {path!r} does not exist")
    if fmt is None:
        names = [path] if not (local and os.path.isdir(path)) else sorted(os.listdir(path))
        text = [n for n in names if n.lower().endswith((".csv", ".tsv", ".txt"))]
        fmt = "csv" if text and len(text) >= len([n for n in names if n.endswith(".parquet")]) else "parquet"
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"fmt must be 'parquet', 'csv' or None, got fmt={fmt!r}")
    try:
        if fmt == "csv":
            sep = sep or ("\t" if path.lower().endswith(".tsv") else ",")
            raw = spark.read.options(header=True, inferSchema=True, sep=sep).csv(path)
        else:
            raw = spark.read.parquet(path)
        cols = raw.columns
        # the position of each row: its file (ranked by path), its split in the file, its row within the split
        ev = raw.select(*[F.col(f"`{c}`") for c in cols], F.col("_metadata.file_path").alias("_f"),
                        F.col("_metadata.file_block_start").alias("_b"), F.monotonically_increasing_id().alias("_m"))
        files = sorted(r[0] for r in raw.select(F.col("_metadata.file_path")).distinct().collect())
    except (PySparkException, Py4JJavaError) as e:
        raise ValueError(f"cannot read {path!r} as {fmt}: {spark_message(e)}") from None
    ranks = spark.createDataFrame([(p, i) for i, p in enumerate(files)], "_f string, _r long")
    ev = ev.join(F.broadcast(ranks), "_f")
    return ev.select(*[F.col(f"`{c}`") for c in cols], F.struct(F.col("_r").alias("f"), F.col("_b").alias("b"),
                                                              F.col("_m").alias("m")).alias(ORDER_COL))


def spark_message(err: BaseException) -> str:
    """The first line of what Spark (or the JVM behind it) said, without the Java stack."""
    java = getattr(err, "java_exception", None)
    text = str(java.getMessage()) if java is not None else str(err)
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[0] if lines else type(err).__name__


def _check_columns(df: Any, cols: dict[str, str | None]) -> None:
    missing = {role: c for role, c in cols.items() if c is not None and c not in df.columns}
    if missing:
        wanted = ", ".join(f"{role}_col={c!r}" for role, c in missing.items())
        shown = [c for c in df.columns if c != ORDER_COL]
        raise KeyError(f"column(s) not found: {wanted}; the log has columns {shown}")


def _seconds(df: Any, time_col: str) -> Any:
    """The time column in float seconds, computed as ``build_sequences`` computes it (bit for bit)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    dtype = df.schema[time_col].dataType
    col = F.col(f"`{time_col}`")
    if isinstance(dtype, (T.TimestampType, T.TimestampNTZType, T.DateType)):
        if isinstance(dtype, T.DateType):
            col = col.cast("timestamp")
        # pandas: datetime64[ns] as int64, then / 1e9 in float64
        return (F.unix_micros(col.cast("timestamp")) * F.lit(1000)).cast("double") / F.lit(1e9)
    if isinstance(dtype, T.NumericType):
        return col.cast("double")
    raise TypeError(f"time column {time_col!r} must be numeric (seconds) or a timestamp, got {dtype.simpleString()}")


def _item_kind(df: Any, item_col: str) -> str:
    from pyspark.sql import types as T

    dtype = df.schema[item_col].dataType
    if isinstance(dtype, T.BooleanType):
        raise TypeError(f"item column {item_col!r} must be integers or strings, got booleans")
    if isinstance(dtype, T.IntegralType):
        return "int"
    if isinstance(dtype, (T.FloatType, T.DoubleType, T.DecimalType)):
        return "float"
    if isinstance(dtype, T.StringType):
        return "str"
    raise TypeError(f"item column {item_col!r} must be integers or strings, got {dtype.simpleString()}")


def _describe(spark: Any, text: str) -> None:
    spark.sparkContext.setJobDescription(f"item2vec prepare: {text}")
    log.info("prepare: %s", text)


def prepare(df: Any, output: str, *, user_col: str = "user", item_col: str = "item", time_col: str | None = None,
            session_gap: Any = None, min_item_count: int = 1, min_length: int = 2, shard_tokens: int = SHARD_TOKENS,
            overwrite: bool = False) -> ShardedSequences:
    """Build the training sequences of a log on Spark and write them as a prepared folder.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        One row per event. Its row order is the log order (ties in time keep it);
        a DataFrame from :func:`read_log` carries it in :data:`ORDER_COL`.
    output : str
        The folder to write (must not exist unless ``overwrite``); a path the driver can read.
    user_col, item_col, time_col, session_gap, min_item_count, min_length
        As in :func:`item2vec.build_sequences`.
    shard_tokens : int
        About this many tokens per Parquet shard.
    overwrite : bool
        Replace an existing ``output`` (only once the new folder is complete).

    Returns
    -------
    ShardedSequences
        The written folder, opened.

    Raises
    ------
    KeyError
        A named column is missing.
    ValueError
        Missing values, nothing left after filtering, bad parameters, ``output`` exists.
    TypeError
        An item or time column of an unsupported type.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    check_int("min_item_count", min_item_count, 1)
    check_int("min_length", min_length, 1)
    check_int("shard_tokens", shard_tokens, 1)
    gap = session_gap_seconds(session_gap)
    if gap is not None and time_col is None:
        raise ValueError("session_gap needs time_col (the column to measure gaps on)")
    _check_columns(df, {"user": user_col, "item": item_col, "time": time_col})
    output = os.path.abspath(os.fspath(output))
    check_output(output, overwrite)  # refuses an existing output before any Spark job
    spark = df.sparkSession
    t_start = time.perf_counter()
    kind = _item_kind(df, item_col)
    t_col = _seconds(df, time_col) if time_col is not None else F.lit(0.0)
    order = F.col(ORDER_COL) if ORDER_COL in df.columns else F.struct(F.lit(0).cast("long").alias("f"), F.lit(0).cast(
        "long").alias("b"), F.monotonically_increasing_id().alias("m"))
    ev = df.select(F.col(f"`{user_col}`").alias("u"), F.col(f"`{item_col}`").alias("i"), t_col.alias("t"),
                   order.alias("o"))

    _describe(spark, "check the log (counts, missing values)")
    checks = [F.count(F.lit(1)).alias("n"), F.sum(F.col("u").isNull().cast("long")).alias("u_null"),
              F.sum(F.col("i").isNull().cast("long")).alias("i_null"),
              F.sum((F.col("t").isNull() | F.isnan("t")).cast("long")).alias("t_null")]
    if kind in ("int", "float"):
        checks += [F.min("i").alias("i_min"), F.max("i").alias("i_max")]
    if kind == "float":
        checks.append(F.sum((F.col("i") != F.floor("i")).cast("long")).alias("i_frac"))
    row = ev.agg(*checks).collect()[0].asDict()
    n_events = int(row["n"])
    if n_events == 0:
        raise ValueError("the log is empty")
    if row["u_null"]:
        raise ValueError(f"user column {user_col!r} contains {row['u_null']} missing value(s)")
    if row["i_null"]:
        raise ValueError(f"item column {item_col!r} contains {row['i_null']} missing value(s) (NaN/None); "
                         f"drop or fill them first")
    if time_col is not None and row["t_null"]:
        raise ValueError(f"time column {time_col!r} has {row['t_null']} missing value(s)")
    if kind == "float":
        if row["i_frac"]:
            raise TypeError(f"item column {item_col!r} must be integers or strings, got non-integral floats")
        ev = ev.withColumn("i", F.col("i").cast("long"))
    # Vocabulary's tie order: by id for dense non-negative integer ids, else by first appearance
    dense = kind != "str" and row["i_min"] >= 0 and row["i_max"] < max(4 * n_events, 1 << 20)
    log.info("prepare: %s events, item ids %s", f"{n_events:,}", "dense integers" if dense else kind)

    by_user = Window.partitionBy("u")
    in_time = by_user.orderBy("t", "o").rowsBetween(Window.unboundedPreceding, Window.currentRow)
    ev = ev.withColumn("uo", F.min("o").over(by_user))
    if gap is not None:
        prev = F.lag("t").over(by_user.orderBy("t", "o"))
        new = F.when(prev.isNull() | ((F.col("t") - prev) > F.lit(gap)), 1).otherwise(0)
        ev = ev.withColumn("s", F.sum(new).over(in_time))
    else:
        ev = ev.withColumn("s", F.lit(0))
    items0 = ev.groupBy("i").agg(F.count(F.lit(1)).alias("n0"), F.min(F.struct("uo", "t", "o")).alias("first"))
    if min_item_count > 1:
        ev = ev.join(items0.filter(F.col("n0") >= min_item_count).select("i"), "i", "left_semi")
    ev = ev.withColumn("len", F.count(F.lit(1)).over(Window.partitionBy("u", "s"))).filter(F.col("len") >= min_length)
    ev = ev.persist()

    _describe(spark, "count the items of the final sequences")
    counts = ev.groupBy("i").agg(F.count(F.lit(1)).alias("n")).join(items0, "i")
    keys = ["i", "n", "n0"] if dense else ["i", "n", "n0", "first.uo.f", "first.uo.b", "first.uo.m", "first.t",
                                           "first.o.f", "first.o.b", "first.o.m"]
    vocab = counts.select(*[F.col(k).alias(k.replace(".", "_")) for k in keys]).toPandas()
    if len(vocab) == 0:
        ev.unpersist()
        raise ValueError(f"no sequence has at least min_length={min_length} items after dropping items seen fewer "
                         f"than min_item_count={min_item_count} times")
    ties = [vocab["i"].to_numpy()] if dense else [vocab[c].to_numpy() for c in
                                                  ("first_o_m", "first_o_b", "first_o_f", "first_t", "first_uo_m",
                                                   "first_uo_b", "first_uo_f")]
    rank = np.lexsort([*ties, -vocab["n0"].to_numpy(), -vocab["n"].to_numpy()])
    vocab = vocab.iloc[rank].reset_index(drop=True)
    vocab["code"] = np.arange(len(vocab), dtype=np.int32)
    n_tokens = int(vocab["n"].sum())
    log.info("prepare: vocabulary of %s items, %s tokens", f"{len(vocab):,}", f"{n_tokens:,}")

    codes = spark.createDataFrame(vocab[["i", "code"]])
    if len(vocab) <= BROADCAST_ITEMS:
        codes = F.broadcast(codes)
    tok = ev.join(codes, "i")
    seq = tok.groupBy("uo", "s").agg(F.first("u").alias("user"),
                                     F.sort_array(F.collect_list(F.struct("t", "o", "code"))).alias("x"))
    seq = seq.select("uo", "s", F.transform("x", lambda x: x["code"].cast("int")).alias("items"),
                     F.size("x").cast("int").alias("length"), "user")
    n_shards = max(1, -(-n_tokens // shard_tokens))
    seq = seq.repartitionByRange(n_shards, "uo", "s").sortWithinPartitions("uo", "s").select("items", "length", "user")

    settings = {"user_col": user_col, "item_col": item_col, "time_col": time_col, "session_gap": gap,
                "min_item_count": min_item_count, "min_length": min_length, "shard_tokens": shard_tokens}
    tmp = staging_folder(output, overwrite)  # created only now: the checks above leave nothing behind
    try:
        _describe(spark, f"write {n_shards} shard(s) of sequences")
        seq.write.parquet(os.path.join(tmp, SHARD_DIR))
        _describe(spark, "write the vocabulary and the manifest")
        ids = vocab["i"].astype(str).to_numpy() if kind == "str" else vocab["i"].to_numpy(np.int64)
        manifest = publish(tmp, output, ids, vocab["n"].to_numpy(np.int64), "str" if kind == "str" else "int",
                           n_events, settings)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        ev.unpersist()
        spark.sparkContext.setJobDescription(None)
    log.info("prepare: wrote %s (%s sequences, %s tokens, %d shards) in %.1f s", output,
             f"{manifest['n_sequences']:,}", f"{n_tokens:,}", len(manifest["shards"]), time.perf_counter() - t_start)
    return ShardedSequences(output)
