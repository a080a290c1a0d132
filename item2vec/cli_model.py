"""The commands on a saved model (``similar``, ``recommend``), the numba warm-up (``warmup``), and what
``train`` and ``train --sequences`` share (its options, output check, dry run and saving).

Split from :mod:`item2vec.cli`, which parses the arguments, dispatches here and
turns errors into one line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .model_io import npz_path
from .workflows import (CLIError, convert_ids, item_title, load_titles, make_model, model_output_path, render_table,
                        run_recommend, run_similar)

__all__ = ["cmd_similar", "cmd_recommend", "cmd_warmup", "warm_for_timing", "add_train_options", "train_target",
           "print_estimate"]

PROG = "item2vec"


def _load_model(path: str) -> Any:
    from .model import Item2Vec

    return Item2Vec.load(path)


def _existing_model(path: str) -> str:
    """``--init`` value: a model file that exists (checked before any data is loaded)."""
    if not npz_path(path).is_file() and not Path(path).is_file():
        raise argparse.ArgumentTypeError(f"model file not found: {path}")
    return path


def add_train_options(p: argparse.ArgumentParser) -> None:
    """``train``'s ``--dry-run`` and ``--init`` (exclusive: a dry run estimates a fresh fit)."""
    g = p.add_mutually_exclusive_group()
    g.add_argument("--dry-run", action="store_true",
                   help="print the training pairs, memory and estimated wall time of this fit, and exit")
    g.add_argument("--init", type=_existing_model, default=None, metavar="MODEL.npz",
                   help="update this saved model with the data (Item2Vec.partial_fit: new items are appended, "
                        "training continues on the new data only; --set changes its parameters) and write --output")


def train_target(args: argparse.Namespace) -> str | None:
    """``train``'s model file (None with ``--dry-run``), checked before anything is loaded or trained."""
    if args.output is None and not args.dry_run:
        raise CLIError("give the model file to write with --output MODEL.npz (or use --dry-run)")
    return None if args.dry_run else model_output_path(args.output)


def print_estimate(data: Any, params: dict[str, Any], args: argparse.Namespace) -> int:
    """``train --dry-run``: print the cost of fitting ``data`` with ``params`` (:func:`item2vec.cost.estimate`)."""
    from .cost import estimate

    spec = make_model("item2vec", params, seed=args.seed, n_threads=args.threads, verbose=False).get_params()
    print(estimate(data, **spec).summary())
    return 0


def _titles_args(args: argparse.Namespace) -> dict[Any, str] | None:
    return load_titles(args.dataset, args.data_dir, seed=args.seed, synthetic_users=args.synthetic_users,
                       synthetic_items=args.synthetic_items)


def cmd_similar(args: argparse.Namespace) -> int:
    model = _load_model(args.model)
    items = convert_ids(model, args.items)
    titles = _titles_args(args)
    for n, (query, table) in enumerate(run_similar(model, items, args.k, titles, min_count=args.min_count)):
        name = item_title(titles, query)
        print(("\n" if n else "") + f"items similar to {query}" + (f" ({name})" if name else "") + ":")
        print(render_table(table))
    return 0


def cmd_recommend(args: argparse.Namespace) -> int:
    model = _load_model(args.model)
    raw = [t.strip() for t in args.history.split(",") if t.strip()]
    if not raw:
        raise CLIError("--history is empty; give item ids separated by commas, e.g. --history 1,2,3")
    history = convert_ids(model, raw)
    titles = _titles_args(args)
    try:
        table = run_recommend(model, history, args.k, titles,
                              on_unknown="ignore" if args.ignore_unknown else "raise", scoring=args.scoring)
    except KeyError as e:
        msg = e.args[0] if e.args and isinstance(e.args[0], str) else str(e)
        raise CLIError(f"{msg} (on the command line: --ignore-unknown)") from None
    shown = args.k if args.k <= len(model.vocab_) else f"{len(table)} (--k {args.k}; the model has {len(model.vocab_):,} items)"
    print(f"top {shown} for a history of {len(history)} item(s) (seen items excluded):")
    print(render_table(table))
    return 0


def warm_for_timing(quiet: bool, params: dict[str, Any]) -> None:
    """Compile the numba kernels before the timed fits; say so when it took a while (a first run)."""
    from . import warmup

    seconds = warmup.warm_up(hard_negatives=params.get("hard_negatives") == "mined")
    if seconds > 3 and not quiet:
        print(f"{PROG}: compiled the numba kernels in {seconds:.1f} s (first run only: the code is cached for "
              f"later runs, and 'fit s' does not include it)", file=sys.stderr)


def cmd_warmup(args: argparse.Namespace) -> int:
    from . import warmup

    seconds = warmup.warm_up(hard_negatives=True)
    print(f"numba kernels ready in {seconds:.1f} s (cached: later runs load them in about a second)")
    return 0


def save_trained(model: Any, target: str, name: str, seconds: float, why_no_pairs: str = "") -> int:
    """Save a fitted model for ``item2vec train`` and print its one-line summary; refuses a fit of 0 pairs."""
    if getattr(model, "n_pairs_", None) == 0:
        raise CLIError(f"training on {name} saw no (center, context) pair{why_no_pairs}, so no model was saved; "
                       f"use --set sample=0 or more data")
    path = model.save(target)
    loss = model.loss_history_[-1] if model.loss_history_ else float("nan")
    print(f"trained item2vec on {name}: vocabulary {len(model.vocab_):,} items | "
          f"{model.n_tokens_:,} tokens | {model.epochs} epochs | {seconds:.2f} s | final loss {loss:.4f}")
    print(f"saved {path}")
    return 0
