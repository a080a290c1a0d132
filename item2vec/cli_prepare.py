"""``item2vec prepare`` (sequences on Spark) and ``item2vec train --sequences DIR`` (training from its folder).

Registered by :func:`register` from :func:`item2vec.cli.build_parser`; the
errors raised here are turned into one line by :func:`item2vec.cli.main`.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from typing import Any, Callable

from .cli_args import positive_int
from .workflows import CLIError

__all__ = ["register", "cmd_prepare", "cmd_train_sequences"]

PROG = "item2vec"


def register(sub: Any) -> None:
    """Add ``prepare`` to the subcommands and ``--sequences DIR`` to ``train``."""
    p = sub.add_parser("prepare", help="build training sequences from a large log on Spark (pip install 'item2vec[spark]')",
                       description="Turn an interaction log (Parquet file or folder, or CSV) into a prepared folder "
                                   "of Parquet shards of sequences, a vocabulary and a manifest, on Spark: the same "
                                   "sequences build_sequences makes in memory. Train from it with "
                                   "'item2vec train --sequences DIR'.")
    p.add_argument("--data", required=True, metavar="LOG", help="interaction log: Parquet file or folder, or .csv/.tsv")
    p.add_argument("--output", "-o", required=True, metavar="DIR", help="prepared folder to write (must not exist)")
    p.add_argument("--master", default="local[2]",
                   help="Spark master: local[N], spark://HOST:7077, yarn, ... (default: local[2])")
    p.add_argument("--user-col", default="user", help="user (or session) column (default: user)")
    p.add_argument("--item-col", default="item", help="item column (default: item)")
    p.add_argument("--time-col", default="timestamp",
                   help="time column (default: timestamp, used if present; 'none' for the log's order)")
    p.add_argument("--session-gap", default=None, metavar="S",
                   help="split sessions at gaps longer than S seconds (or a duration such as 30min)")
    p.add_argument("--min-item-count", type=positive_int, default=1, metavar="N",
                   help="drop items seen fewer than N times in the log (default: 1)")
    p.add_argument("--min-length", type=positive_int, default=2, metavar="N",
                   help="drop sequences shorter than N items after that (default: 2)")
    p.add_argument("--shard-tokens", type=positive_int, default=1 << 22, metavar="N",
                   help="about N tokens per shard (default: 4194304)")
    p.add_argument("--overwrite", action="store_true", help="replace DIR (only once the new folder is complete)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_prepare)

    train = sub.choices["train"]
    train.add_argument("--sequences", metavar="DIR", default=None,
                       help="train from a folder written by 'item2vec prepare' (streamed shard by shard) "
                            "instead of --data/--dataset")
    train.set_defaults(func=_with_sequences(train.get_default("func")))


def _with_sequences(cmd_train: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        if args.sequences is None:
            return cmd_train(args)
        return cmd_train_sequences(args)

    return run


def _gap(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return text  # a duration string, validated by session_gap_seconds


def cmd_prepare(args: argparse.Namespace) -> int:
    try:
        from pyspark.errors import PySparkException
        from pyspark.sql import SparkSession
        from py4j.protocol import Py4JError
    except ImportError:
        raise CLIError("'item2vec prepare' needs pyspark and Java 17+: pip install 'item2vec[spark]'", 1) from None
    from . import spark as sp

    if not args.quiet:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(f"{PROG}: %(message)s"))
        sp.log.addHandler(handler)
        sp.log.setLevel(logging.INFO)
    own = SparkSession.getActiveSession() is None
    t0 = time.perf_counter()
    try:
        spark = sp.spark_session(args.master)
        if own:
            spark.sparkContext.setLogLevel("ERROR")
        try:
            df = sp.read_log(spark, args.data)
            time_col = args.time_col
            if time_col.lower() == "none":
                time_col = None
            elif time_col not in df.columns:
                if args.time_col != "timestamp":
                    raise KeyError(f"time column {time_col!r} not found; the log has columns "
                                   f"{[c for c in df.columns if c != sp.ORDER_COL]} (use --time-col none for the log's order)")
                time_col = None
            out = sp.prepare(df, args.output, user_col=args.user_col, item_col=args.item_col, time_col=time_col,
                             session_gap=_gap(args.session_gap), min_item_count=args.min_item_count,
                             min_length=args.min_length, shard_tokens=args.shard_tokens, overwrite=args.overwrite)
        except (PySparkException, Py4JError) as e:
            raise CLIError(f"Spark failed: {sp.spark_message(e)}", 1) from None
        finally:
            if own:
                spark.stop()
    finally:
        if not args.quiet:
            sp.log.handlers[:] = [h for h in sp.log.handlers if not isinstance(h, logging.StreamHandler)]
    print(f"prepared {out.path}: {out.n_sequences:,} sequences | {out.n_tokens:,} tokens | {len(out.vocab):,} items | "
          f"{len(out.shards)} shards | {time.perf_counter() - t0:.1f} s")
    return 0


def cmd_train_sequences(args: argparse.Namespace) -> int:
    """``item2vec train --sequences DIR``: fit on a prepared folder, streamed, and save the model."""
    from .cli import parse_settings
    from .cli_model import print_estimate, save_trained, train_target, warm_for_timing
    from .shards import open_prepared
    from .workflows import make_model, model_params

    if args.data is not None or args.dataset is not None:
        raise CLIError("give either --sequences DIR or --data/--dataset, not both")
    target = train_target(args)
    overrides = parse_settings(args.set, ["item2vec"], default_model="item2vec")
    params = model_params(["item2vec"], overrides)["item2vec"]
    seqs = open_prepared(args.sequences)
    if args.dry_run:  # the cost of this fit, streamed as fit streams it
        return print_estimate(seqs, params, args)
    warm_for_timing(args.quiet, params)
    t0 = time.perf_counter()
    model = make_model("item2vec", params, seed=args.seed, n_threads=args.threads, verbose=not args.quiet).fit(seqs)
    seconds = time.perf_counter() - t0
    return save_trained(model, target, args.sequences, seconds)
