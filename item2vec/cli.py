"""Command-line interface: ``item2vec evaluate | train | similar | recommend | tune | warmup``.

Every subcommand is a ``cmd_*(args) -> int`` function built on small importable
stage functions (:func:`load_data`, :func:`make_split`, :func:`run_evaluate`,
:func:`run_train`, ...). :func:`main` parses the arguments and turns user
mistakes into one line on stderr (``item2vec: error: ...``) and an exit code:
2 for usage errors (bad arguments, unknown items or parameters, bad files),
1 when a data set cannot be found or downloaded.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from typing import Any

import pandas as pd

from . import __version__
from .cli_args import dataset_type, ks_type, models_type, positive_float, positive_int
from .cli_args import parse_settings, parse_space, parse_value
from .cli_model import (add_train_options, cmd_recommend, cmd_similar, cmd_warmup, print_estimate, save_trained,
                        train_target, warm_for_timing)
from .cli_prepare import register as register_prepare
from .datasets import DATASET_NAMES, ChecksumError, DatasetNotFoundError
from .model_io import ModelFileError
from .registry import MODEL_NAMES, parse_metric
from .scoring import SCORING_RULES
from .tuning import output_rows
from .workflows import (
    DEFAULT_MODEL_PARAMS, SPLITS, CLIError, Data, check_output_path, item_groups, load_data, make_split,
    model_params, params_text, render_table, run_evaluate, run_header, run_recommend,
    run_similar, run_train, run_tune, write_results,
)

__all__ = [
    "DEFAULT_MODEL_PARAMS", "main", "build_parser", "CLIError", "Data", "load_data", "make_split",
    "parse_value", "parse_settings", "parse_space", "run_evaluate", "run_train", "run_similar",
    "run_recommend", "run_tune", "write_results", "render_table",
]

PROG = "item2vec"
_DATA_HINT = ("point at local MovieLens data with --data-dir DIR or ITEM2VEC_DATA=DIR "
              "(a folder containing ml-100k/ ...), or use --dataset synthetic")


class _Parser(argparse.ArgumentParser):
    """Argument parser whose errors are one line (no usage dump), raised as :class:`CLIError`."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise CLIError(f"{message} (see '{self.prog} --help')", 2)


# ============================================================================ commands
def _data_args(args: argparse.Namespace, progress: bool) -> Data:
    return load_data(args.dataset, args.data, data_dir=args.data_dir, user_col=args.user_col,
                     item_col=args.item_col, time_col=args.time_col, seed=args.seed,
                     synthetic_users=args.synthetic_users, synthetic_items=args.synthetic_items,
                     progress=progress, data_format=getattr(args, "format", None))


def cmd_evaluate(args: argparse.Namespace) -> int:
    check_output_path(args.output)
    overrides = parse_settings(args.set, args.models)
    model_params(args.models, overrides)  # fail on bad values before loading anything
    progress = not args.quiet
    data = _data_args(args, progress)
    params = model_params(args.models, overrides, data)
    split = make_split(data.interactions, args.split, args.seed)
    if "item2vec" in args.models:
        warm_for_timing(args.quiet, params.get("item2vec", {}))
    table = run_evaluate(split, args.models, args.k, params, stage=args.stage, seed=args.seed,
                         threads=args.threads, progress=progress)
    from .evaluation import format_table

    print(run_header(data, split, args.split, args.stage))
    print(format_table(table))
    if args.output:
        params = {m: {k: v for k, v in p.items() if k != "item_groups"} for m, p in params.items()}
        config = {"command": "evaluate", "version": __version__, "dataset": data.name, "data": args.data,
                  "split": args.split, "stage": args.stage, "split_dropped": split.n_dropped, "ks": list(args.k),
                  "models": args.models, "params": params, "seed": args.seed, "threads": args.threads,
                  "n_users": int(data.interactions["user"].nunique()),
                  "n_items": int(data.interactions["item"].nunique()), "n_events": len(data.interactions),
                  "n_train_events": len(split.fit_data(args.stage))}
        rows = [{"model": name, **table.astype(object).loc[name].to_dict(), "params": params[name]}
                for name in table.index]
        print(f"wrote {write_results(args.output, rows, config)}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    target = train_target(args)  # fail before loading or training anything
    overrides = parse_settings(args.set, ["item2vec"], default_model="item2vec")
    model_params(["item2vec"], overrides)  # fail on bad values before loading anything
    if args.data is None and args.dataset is None:
        raise CLIError("give the training data with --data FILE or --dataset NAME")
    data = _data_args(args, not args.quiet)
    params = model_params(["item2vec"], overrides, data)["item2vec"]
    if args.dry_run:  # the cost of this fit, without running it
        return print_estimate(data.interactions, params, args)
    warm_for_timing(args.quiet, params)
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        model = run_train(data, params, seed=args.seed, threads=args.threads, progress=not args.quiet, init=args.init)
    seconds = time.perf_counter() - t0
    for w in caught if getattr(model, "n_pairs_", None) != 0 else ():  # a fit of 0 pairs is only the error below
        _warn_line(w.message, w.category, w.filename, w.lineno)
    return save_trained(model, target, data.name, seconds, f" (subsampling sample={model.sample} removed every "
                        f"co-occurrence of a small log)")


def cmd_tune(args: argparse.Namespace) -> int:
    check_output_path(args.output)
    metric = args.metric or f"ndcg@{args.k[0]}"
    try:
        mname, mk = parse_metric(metric)
    except ValueError as e:
        raise CLIError(f"--metric: {e}") from None
    metric = f"{mname}@{mk}"
    fixed = parse_settings(args.set, args.models)
    spaces = parse_space(args.space, args.models)
    model_params(args.models, fixed)
    if args.split != "leave-last-out":
        raise CLIError(f"tune needs a validation stage; only --split leave-last-out has one (got {args.split})")
    progress = not args.quiet
    data = _data_args(args, progress)
    split = make_split(data.interactions, args.split, args.seed)
    trials = args.trials if args.trials is not None or args.budget is not None else 20
    results = run_tune(split, args.models, trials=trials, seed=args.seed, metric=metric, ks=args.k,
                       spaces=spaces, fixed=fixed, threads=args.threads, progress=progress,
                       budget=args.budget, strategy=args.strategy, groups=item_groups(data))
    print(run_header(data, split, args.split, "val"))
    limits = " and ".join(x for x in (f"{trials} trial(s)" if trials is not None else "",
                                      f"{args.budget:g} s" if args.budget is not None else "") if x)
    strategies = ", ".join(f"{r.model} {r.strategy}" for r, _ in results)
    print(f"search ({strategies}): {limits} per model, fit on train, scored on val by {metric}; "
          f"the best setting is refit on train+val and scored on test")
    best_rows, out_rows = [], []
    for result, scores in results:
        best_rows.append({"model": result.model, "trials": result.n_trials, "search s": result.seconds,
                          f"val {metric}": result.best_score,
                          f"test {metric}": scores.get(metric, math.nan),
                          **{f"test {m}@{mk}": scores.get(f"{m}@{mk}", math.nan) for m in ("recall", "hit")},
                          "best params": params_text({k: v for k, v in result.best_params.items()
                                                       if k in result.space or k in result.fixed})})
        out_rows += output_rows(result, scores)
    print("\nbest settings:")
    print(render_table(pd.DataFrame(best_rows), column_decimals={"search s": 1}))
    for result, _ in results:
        if result.space and result.n_trials > 1:
            top = result.top(5)
            shown = pd.DataFrame({"trial": top["trial"], metric: top[metric],
                                  "fit s": top["fit_seconds"],
                                  "params": [params_text({k: r[k] for k in result.space})
                                             for r in top.to_dict("records")]})
            print(f"\ntop trials of {result.model} (val {metric}):")
            print(render_table(shown, column_decimals={"fit s": 2}))
        if result.confirmation:  # the pick and the defaults refitted with a fresh seed
            print(f"{result.model} refits with seed {result.confirmation['seed']}: {result.confirmation['note']}")
    if args.output:
        config = {"command": "tune", "version": __version__, "dataset": data.name, "data": args.data,
                  "split": args.split, "metric": metric, "ks": list(args.k), "trials": trials,
                  "budget": args.budget, "strategy": args.strategy,
                  "seed": args.seed, "models": args.models, "fixed": fixed,
                  "spaces": {r.model: r.space for r, _ in results}}
        print(f"\nwrote {write_results(args.output, out_rows, config)}")
    return 0


# ============================================================================ parser
def _add_data_options(p: argparse.ArgumentParser, default_hint: str) -> None:
    g = p.add_argument_group("data")
    src = g.add_mutually_exclusive_group()
    src.add_argument("--dataset", type=dataset_type, default=None, metavar="NAME",
                     help=f"{', '.join(DATASET_NAMES)} ({default_hint})")
    src.add_argument("--data", metavar="FILE", help="interaction log (.csv, .tsv or .parquet) instead of --dataset")
    g.add_argument("--data-dir", metavar="DIR", help="folder holding MovieLens folders (ml-100k/, ...); "
                   "also ITEM2VEC_DATA=DIR. Missing data sets are downloaded into the cache")
    g.add_argument("--format", choices=("interactions", "sequences", "sessions"), default=None,
                   help="format of --data (default: detected; .txt lines of integers are sequences)")
    g.add_argument("--user-col", default="user", help="user column of --data (default: user)")
    g.add_argument("--item-col", default="item", help="item column of --data (default: item)")
    g.add_argument("--time-col", default="timestamp",
                   help="time column of --data (default: timestamp, used if present; 'none' for file order)")
    g.add_argument("--synthetic-users", type=positive_int, default=1000, metavar="N",
                   help="users of --dataset synthetic (default: 1000)")
    g.add_argument("--synthetic-items", type=positive_int, default=500, metavar="N",
                   help="items of --dataset synthetic (default: 500)")


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="seed of models, splits and synthetic data (default: 0)")
    p.add_argument("--threads", type=positive_int, default=None, metavar="N", help="threads per model (default: all)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars")


def build_parser() -> argparse.ArgumentParser:
    """The ``item2vec`` argument parser."""
    models_help = f"comma-separated, from {', '.join(MODEL_NAMES)}"
    parser = _Parser(prog=PROG, description="Item embeddings from interaction logs: evaluate, train, query, tune.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument("--traceback", action="store_true", help="show full tracebacks instead of one-line errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)

    p = sub.add_parser("evaluate", help="fit models on a split and compare them",
                       description="Load data, split it, fit every model on the training part and score "
                                   "its top-k lists (recall, NDCG, hit rate, MRR, coverage).")
    _add_data_options(p, "default: ml-100k")
    p.add_argument("--models", type=models_type, default=["item2vec", "als", "pop"],
                   help=f"{models_help} (default: item2vec,als,pop)")
    p.add_argument("--k", type=ks_type, default=(10, 20), help="cut-offs, e.g. 10,20 (default: 10,20)")
    p.add_argument("--split", choices=SPLITS, default="leave-last-out", help="protocol (default: leave-last-out)")
    p.add_argument("--stage", choices=("val", "test"), default="test",
                   help="test: fit on train+val, score test targets (default); val: fit on train, score val")
    p.add_argument("--set", action="extend", nargs="+", metavar="MODEL.PARAM=VALUE",
                   help="hyperparameter overrides, one or more per --set, repeatable "
                        "(e.g. --set item2vec.window=3 als.factors=128); settings of models not in --models are ignored")
    p.add_argument("--output", "-o", metavar="FILE", help="write results to FILE.json or FILE.csv")
    _add_run_options(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("train", help="train item2vec on an interaction log and save the model",
                       description="Train item2vec on all interactions of --data/--dataset and save a .npz model.")
    _add_data_options(p, "or --data FILE")
    p.add_argument("--output", "-o", metavar="MODEL.npz", help="model file to write (required unless --dry-run)")
    p.add_argument("--set", action="extend", nargs="+", metavar="PARAM=VALUE",
                   help="item2vec hyperparameters, one or more per --set, repeatable (e.g. --set window=3 epochs=40)")
    add_train_options(p)  # --dry-run, --init (item2vec.cli_model)
    _add_run_options(p)
    p.set_defaults(func=cmd_train)

    for name, helptext in (("similar", "items most similar to given items"),
                           ("recommend", "recommendations for a history of items")):
        p = sub.add_parser(name, help=helptext, description=f"Show the {helptext} from a saved model.")
        p.add_argument("--model", "-m", required=True, metavar="MODEL.npz", help="model file written by 'train'")
        if name == "similar":
            p.add_argument("items", nargs="+", metavar="ITEM", help="item id(s)")
            p.add_argument("--min-count", type=positive_int, default=5,
                           help="only items with at least this many training events are shown (default: 5; "
                                "1 shows all, including items seen once or twice)")
        else:
            p.add_argument("--history", required=True, metavar="ID,ID,...", help="item ids, oldest first")
            p.add_argument("--ignore-unknown", action="store_true", help="drop history items the model does not know")
            p.add_argument("--scoring", choices=SCORING_RULES, default=None,
                           help="scoring rule (default: the model's)")
        p.add_argument("--k", type=positive_int, default=10, help="number of items (default: 10)")
        p.add_argument("--dataset", type=dataset_type, default=None, metavar="NAME",
                       help="data set whose item titles to show")
        p.add_argument("--data-dir", metavar="DIR", help="folder holding MovieLens folders")
        p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
        p.add_argument("--synthetic-users", type=positive_int, default=1000, help=argparse.SUPPRESS)
        p.add_argument("--synthetic-items", type=positive_int, default=500, help=argparse.SUPPRESS)
        p.set_defaults(func=cmd_similar if name == "similar" else cmd_recommend)

    p = sub.add_parser("warmup", help="compile the numba kernels now (once per install), not in the first fit",
                       description="Compile (or load from numba's on-disk cache) the training and query kernels. "
                                   "A fresh install pays about 13 s for this in its first fit; later runs about 1 s.")
    p.set_defaults(func=cmd_warmup)

    p = sub.add_parser("tune", help="hyperparameter search on the validation split",
                       description="Seeded search: each setting is fitted on train and scored on val; the best "
                                   "setting of each model is refit on train+val and scored on test. Without "
                                   "--budget: random search of --trials settings. With --budget: successive "
                                   "halving on epochs for item2vec (many settings with few epochs, the best "
                                   "third continued with 3x the epochs), random search for the other models. "
                                   "item2vec starts from the library defaults; a better trial replaces them only if "
                                   "it wins a bootstrap over the validation users and again when both are refitted "
                                   "with a fresh seed.")
    _add_data_options(p, "default: ml-100k")
    p.add_argument("--models", type=models_type, default=["item2vec", "als"],
                   help=f"{models_help} (default: item2vec,als)")
    p.add_argument("--trials", type=positive_int, default=None,
                   help="settings tried per model (halving: per first rung; default: 20, or unlimited with --budget)")
    p.add_argument("--budget", type=positive_float, default=None, metavar="SECONDS",
                   help="wall-clock seconds for the search of each model (the final refit is extra)")
    p.add_argument("--strategy", choices=("auto", "random", "halving", "optuna"), default="auto",
                   help="auto (default): halving for item2vec with --budget, else random; optuna needs "
                        "pip install optuna (without it: halving, with a warning)")
    p.add_argument("--k", type=ks_type, default=(10,), help="cut-offs reported (default: 10)")
    p.add_argument("--metric", default=None, help="validation metric to maximise, NAME@K (default: ndcg@<first k>)")
    p.add_argument("--split", choices=SPLITS, default="leave-last-out", help=argparse.SUPPRESS)
    p.add_argument("--space", action="append", metavar="MODEL.PARAM=V1,V2,...",
                   help="replace or add a search dimension, repeatable (e.g. item2vec.window=1,2,3)")
    p.add_argument("--set", action="append", metavar="MODEL.PARAM=VALUE",
                   help="hold a hyperparameter fixed (removes it from the search), repeatable")
    p.add_argument("--output", "-o", metavar="FILE", help="write best settings and all trials to FILE.json or FILE.csv")
    _add_run_options(p)
    p.set_defaults(func=cmd_tune)
    register_prepare(sub)  # 'prepare' and 'train --sequences' (item2vec.cli_prepare)
    return parser


# ============================================================================ main
def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def _warn_line(message: Any, category: Any, filename: str, lineno: int, file: Any = None, line: Any = None) -> None:
    """A Python warning as one line on stderr (``item2vec: warning: ...``)."""
    name = getattr(category, "__name__", "Warning")
    print(f"{PROG}: warning: {_one_line(str(message))} ({name})", file=sys.stderr)


def _fail(message: str, code: int) -> int:
    print(f"{PROG}: error: {_one_line(message)}", file=sys.stderr)
    return code


def _data_message(err: Exception) -> str:
    msg = _one_line(str(err))
    if not all(s in msg for s in ("--data-dir", "ITEM2VEC_DATA", "--dataset synthetic")):
        msg = f"{msg} To fix: {_DATA_HINT}."
    return msg


def main(argv: list[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except CLIError as e:
        return _fail(str(e), e.code)
    except SystemExit as e:  # --help, --version
        return e.code if isinstance(e.code, int) else 0
    if args.traceback:
        return args.func(args)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _warn_line  # restored when the block ends
            return args.func(args)
    except CLIError as e:
        return _fail(str(e), e.code)
    except (DatasetNotFoundError, ChecksumError) as e:
        return _fail(_data_message(e), 1)
    except KeyError as e:
        return _fail(e.args[0] if e.args and isinstance(e.args[0], str) else str(e), 2)
    except (ModelFileError, ValueError, FileNotFoundError, IsADirectoryError, NotADirectoryError) as e:
        return _fail(str(e), 2)
    except (ImportError, OSError) as e:
        return _fail(str(e), 1)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
