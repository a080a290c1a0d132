"""Command-line interface: ``item2vec evaluate | train | similar | recommend | tune``.

Every subcommand is a ``cmd_*(args) -> int`` function built on small importable
stage functions (:func:`load_data`, :func:`make_split`, :func:`run_evaluate`,
:func:`run_train`, ...). :func:`main` parses the arguments and turns user
mistakes into one line on stderr (``item2vec: error: ...``) and an exit code:
2 for usage errors (bad arguments, unknown items or parameters, bad files),
1 when a data set cannot be found or downloaded.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

#: Hyperparameters ``evaluate``/``train``/``tune`` start from (``--set`` overrides them).
DEFAULT_MODEL_PARAMS: dict[str, dict[str, Any]] = {
    "item2vec": {"vector_size": 64, "window": 5, "epochs": 20, "negative": 5, "ns_exponent": 0.75, "sample": 1e-3},
    "als": {"factors": 64, "iterations": 15, "regularization": 0.01},
}

from . import __version__  # noqa: E402
from .datasets import DATASET_NAMES, ChecksumError, DatasetNotFoundError  # noqa: E402
from .model_io import ModelFileError  # noqa: E402
from .tuning import MODEL_NAMES, SEARCH_SPACES, check_model_params, make_model, parse_metric, settable_params  # noqa: E402

__all__ = [
    "DEFAULT_MODEL_PARAMS", "main", "build_parser", "CLIError", "Data", "load_data", "make_split",
    "parse_value", "parse_settings", "parse_space", "run_evaluate", "run_train", "run_similar",
    "run_recommend", "run_tune", "write_results", "render_table",
]

PROG = "item2vec"
SPLITS = ("leave-last-out", "temporal", "users")
_DATA_HINT = ("point at local MovieLens data with --data-dir DIR or ITEM2VEC_DATA=DIR "
              "(a folder containing ml-100k/ ...), or use --dataset synthetic")


class CLIError(Exception):
    """A user mistake found by the CLI; ``code`` is the exit code."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


class _Parser(argparse.ArgumentParser):
    """Argument parser whose errors are one line (no usage dump), raised as :class:`CLIError`."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise CLIError(f"{message} (see '{self.prog} --help')", 2)


# ============================================================================ argument values
def parse_value(text: str) -> Any:
    """A ``--set`` value: a Python literal (``None``, ``3``, ``-0.5``, ``'a'``), else the string."""
    s = text.strip()
    lowered = {"none": None, "null": None, "true": True, "false": False}
    if s.lower() in lowered:
        return lowered[s.lower()]
    try:
        return ast.literal_eval(s)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return s


def _split_key(item: str, option: str, default_model: str | None) -> tuple[str, str, str]:
    key, sep, value = item.partition("=")
    key = key.strip()
    form = "PARAM=VALUE or MODEL.PARAM=VALUE" if default_model else "MODEL.PARAM=VALUE"
    if not sep or not key:
        raise CLIError(f"{option} expects {form}, got {item!r}")
    model, dot, param = key.rpartition(".")
    if not dot:
        if default_model is None:
            raise CLIError(f"{option} expects {form} (e.g. item2vec.window=3), got {item!r}")
        model = default_model
    if model not in MODEL_NAMES:
        raise CLIError(f"{option} {item!r}: unknown model {model!r}; models: {', '.join(MODEL_NAMES)}")
    valid = settable_params(model)
    if param not in valid:
        raise CLIError(f"{option} {item!r}: unknown parameter {param!r} for {model}; "
                       f"valid parameters: {', '.join(valid) or '(none)'}")
    return model, param, value


def parse_settings(items: Sequence[str] | None, models: Sequence[str], option: str = "--set",
                   default_model: str | None = None) -> dict[str, dict[str, Any]]:
    """``["item2vec.window=3", ...]`` -> ``{"item2vec": {"window": 3}}`` (validated names)."""
    out: dict[str, dict[str, Any]] = {}
    for item in items or ():
        model, param, value = _split_key(item, option, default_model)
        if model in models:  # settings of known but unselected models are ignored
            out.setdefault(model, {})[param] = parse_value(value)
    return out


def parse_space(items: Sequence[str] | None, models: Sequence[str]) -> dict[str, dict[str, list[Any]]]:
    """``["item2vec.window=1,2,3"]`` -> ``{"item2vec": {"window": [1, 2, 3]}}``."""
    out: dict[str, dict[str, list[Any]]] = {}
    for item in items or ():
        model, param, value = _split_key(item, "--space", None)
        values = [parse_value(v) for v in value.split(",") if v.strip()]
        if not values:
            raise CLIError(f"--space {item!r} gives no values; use MODEL.PARAM=V1,V2,...")
        if model in models:  # dimensions of known but unselected models are ignored
            out.setdefault(model, {})[param] = values
    return out


def _ks_type(text: str) -> tuple[int, ...]:
    try:
        ks = sorted({int(t) for t in text.split(",") if t.strip()})
    except ValueError:
        ks = []
    if not ks or ks[0] < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers separated by commas (e.g. 10,20), got {text!r}")
    return tuple(ks)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _models_type(text: str) -> list[str]:
    names = [t.strip().lower() for t in text.split(",") if t.strip()]
    bad = [n for n in names if n not in MODEL_NAMES]
    if not names or bad:
        raise argparse.ArgumentTypeError(
            f"unknown model(s) {', '.join(map(repr, bad)) or repr(text)}; choose from {', '.join(MODEL_NAMES)}")
    return list(dict.fromkeys(names))


def _dataset_type(text: str) -> str:
    key = text.strip()
    for name in DATASET_NAMES:
        if key.lower() == name:
            return name
    if key in ("ml-10M100K",):
        return "ml-10m"
    raise argparse.ArgumentTypeError(f"unknown data set {text!r}; choose from {', '.join(DATASET_NAMES)}")


def _check_output(path: str | None) -> None:
    if path is not None and Path(path).suffix.lower() not in (".json", ".csv"):
        raise CLIError(f"--output {path!r}: the file name must end in .json or .csv")


# ============================================================================ stages
@dataclass
class Data:
    """Interactions (``user``, ``item``, optional ``timestamp``/``rating``) and item metadata."""

    name: str
    interactions: pd.DataFrame
    items: pd.DataFrame | None = None


def load_data(dataset: str | None = None, data: str | None = None, *, data_dir: str | None = None,
              user_col: str = "user", item_col: str = "item", time_col: str | None = "timestamp",
              seed: int = 0, synthetic_users: int = 1000, synthetic_items: int = 500,
              progress: bool = True) -> Data:
    """Load ``--data FILE`` or ``--dataset NAME`` (MovieLens or ``synthetic``)."""
    from .datasets import load_dataset, load_interactions

    if data is not None:
        if time_col is not None and time_col.lower() in ("", "none"):
            time_col = None
        df = load_interactions(data, user_col=user_col, item_col=item_col, time_col=time_col)
        return Data(Path(data).name, df)
    name = dataset or "ml-100k"
    if name == "synthetic":
        ds = load_dataset("synthetic", n_users=synthetic_users, n_items=synthetic_items,
                          n_clusters=min(10, synthetic_items), seed=seed)
    else:
        ds = load_dataset(name, data_dir=data_dir, progress=progress)
    return Data(name, ds.interactions, ds.items)


def make_split(df: pd.DataFrame, kind: str = "leave-last-out", seed: int = 0) -> Any:
    """The :class:`~item2vec.splits.Split` named on the command line."""
    from .splits import leave_last_out, temporal_split, user_split

    if kind == "leave-last-out":
        return leave_last_out(df)
    if kind == "temporal":
        return temporal_split(df)
    if kind == "users":
        return user_split(df, seed=seed)
    raise CLIError(f"unknown split {kind!r}; choose from {', '.join(SPLITS)}")


def model_params(models: Sequence[str], overrides: dict[str, dict[str, Any]] | None = None,
                 data: Data | None = None) -> dict[str, dict[str, Any]]:
    """:data:`DEFAULT_MODEL_PARAMS` with ``overrides`` applied, validated (:class:`CLIError`)."""
    from .datasets import genre_map

    out = {}
    for name in models:
        params = {**DEFAULT_MODEL_PARAMS.get(name, {}), **(overrides or {}).get(name, {})}
        if (name == "item2vec" and params.get("hard_negatives") == "group" and data is not None
                and data.items is not None and "genres" in data.items):
            params["item_groups"] = genre_map(data.items)  # genres as look-alike groups
        placeholder = {"item_groups": {}} if data is None and params.get("hard_negatives") == "group" else {}
        try:
            check_model_params(name, {**params, **placeholder})  # no data yet: groups come later
        except ValueError as e:
            raise CLIError(f"invalid hyperparameter for {name}: {e}") from None
        out[name] = params
    return out


def run_evaluate(split: Any, models: Sequence[str], ks: Sequence[int], params: dict[str, dict[str, Any]],
                 *, stage: str = "test", seed: int = 0, threads: int | None = None,
                 progress: bool = True) -> pd.DataFrame:
    """Fit and score each model; one row per model (index ``model``), as ``compare`` returns."""
    from .evaluation import evaluate

    rows = {}
    for i, name in enumerate(models, 1):
        if progress:
            print(f"[{i}/{len(models)}] {name}: fitting and scoring ...", file=sys.stderr, flush=True)
        model = make_model(name, params.get(name, {}), seed=seed, n_threads=threads, verbose=progress)
        rows[name] = evaluate(model, split, ks=ks, stage=stage, progress=progress)
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    return table


def run_train(data: Data, params: dict[str, Any], *, seed: int = 0, threads: int | None = None,
              progress: bool = True) -> Any:
    """Fit an :class:`~item2vec.Item2Vec` on all interactions of ``data``."""
    model = make_model("item2vec", params, seed=seed, n_threads=threads, verbose=progress)
    return model.fit(data.interactions)


def convert_ids(model: Any, raw: Sequence[str]) -> list[Any]:
    """Command-line item ids as the model's id type (int when its vocabulary is integer)."""
    if model.vocab_.kind != "int":
        return list(raw)
    out = []
    for r in raw:
        try:
            out.append(int(r))
        except ValueError:
            raise CLIError(f"item id {r!r} is not an integer, but this model's item ids are integers") from None
    return out


def load_titles(dataset: str | None, data_dir: str | None = None, seed: int = 0,
                synthetic_users: int = 1000, synthetic_items: int = 500) -> dict[Any, str] | None:
    """``{item id: title}`` from a data set's item metadata, or None without ``dataset``."""
    if dataset is None:
        return None
    data = load_data(dataset, data_dir=data_dir, seed=seed, synthetic_users=synthetic_users,
                     synthetic_items=synthetic_items, progress=False)
    if data.items is None or "title" not in data.items:
        return None
    return dict(zip(data.items["item"].tolist(), data.items["title"].astype(str).tolist()))


def _title(titles: dict[Any, str] | None, item: Any) -> str:
    if not titles:
        return ""
    if item in titles:
        return titles[item]
    try:
        return titles.get(int(item), "")
    except (TypeError, ValueError):
        return titles.get(str(item), "")


def _result_frame(ids: np.ndarray, scores: np.ndarray, titles: dict[Any, str] | None) -> pd.DataFrame:
    keep = np.isfinite(scores)
    ids, scores = ids[keep], scores[keep]
    frame = pd.DataFrame({"rank": np.arange(1, ids.size + 1), "item": ids.tolist(), "score": scores.astype(float)})
    if titles is not None:
        frame["title"] = [_title(titles, i) for i in frame["item"]]
    return frame


def run_similar(model: Any, items: Sequence[Any], k: int = 10,
                titles: dict[Any, str] | None = None) -> list[tuple[Any, pd.DataFrame]]:
    """``[(query item, table of rank/item/score[/title]), ...]``."""
    ids, scores = model.similar_items(list(items), k=k)
    return [(q, _result_frame(ids[j], scores[j], titles)) for j, q in enumerate(items)]


def run_recommend(model: Any, history: Sequence[Any], k: int = 10, titles: dict[Any, str] | None = None, *,
                  on_unknown: str = "raise", scoring: str | None = None) -> pd.DataFrame:
    """Table of rank/item/score[/title] for one history (seen items filtered)."""
    ids, scores = model.recommend(list(history), k=k, filter_seen=True, on_unknown=on_unknown, scoring=scoring)
    return _result_frame(np.asarray(ids), np.asarray(scores), titles)


def run_tune(split: Any, models: Sequence[str], *, trials: int = 20, seed: int = 0, metric: str = "ndcg@10",
             ks: Sequence[int] = (10,), spaces: dict[str, dict[str, list[Any]]] | None = None,
             fixed: dict[str, dict[str, Any]] | None = None, threads: int | None = None,
             progress: bool = True) -> list[tuple[Any, dict[str, float]]]:
    """Tune each model on val, refit its best setting on train+val: ``[(TuneResult, test scores), ...]``."""
    from .tuning import test_score, tune

    out = []
    for name in models:
        space = {**SEARCH_SPACES.get(name, {}), **(spaces or {}).get(name, {})}
        result = tune(name, split, trials=trials, seed=seed, metric=metric, ks=ks, progress=progress,
                      space=space, fixed=(fixed or {}).get(name, {}), base=DEFAULT_MODEL_PARAMS.get(name, {}),
                      n_threads=threads)
        scores = test_score(name, result.best_params, split, ks=sorted(set(ks) | {parse_metric(metric)[1]}),
                            seed=seed, n_threads=threads)
        out.append((result, scores))
    return out


# ============================================================================ output
def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def write_results(path: str, rows: list[dict[str, Any]], config: dict[str, Any]) -> Path:
    """JSON ``{"config": ..., "results": rows}`` or CSV (one line per row), by extension."""
    out = Path(path)
    _check_output(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".json":
        out.write_text(json.dumps({"config": _jsonable(config), "results": _jsonable(rows)}, indent=2) + "\n")
    else:
        flat = [{k: json.dumps(_jsonable(v)) if isinstance(v, (dict, list)) else v for k, v in r.items()} for r in rows]
        pd.DataFrame(flat).to_csv(out, index=False)
    return out


def render_table(df: pd.DataFrame, decimals: int = 4, column_decimals: dict[str, int] | None = None) -> str:
    """Fixed-width text table: numbers right-aligned, text left-aligned, NaN as ``-``."""
    def cell(v: Any, d: int) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "-"
        if isinstance(v, (float, np.floating)):
            return f"{float(v):.{d}f}"
        return str(v)

    cols = [str(c) for c in df.columns]
    places = [(column_decimals or {}).get(c, decimals) for c in cols]
    cells = [[cell(v, d) for v, d in zip(row, places)] for row in df.itertuples(index=False)]
    numeric = [pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c]) for c in df.columns]
    widths = [max([len(c)] + [len(r[j]) for r in cells]) for j, c in enumerate(cols)]
    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()
    header = line(cols)
    return "\n".join([header, "-" * len(header)] + [line(r) for r in cells])


def _params_text(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in params.items()
                    if k != "item_groups")


def _header(data: Data, split: Any, split_name: str, stage: str) -> str:
    df = data.interactions
    fitted = split.fit_data(stage)
    return (f"dataset {data.name} | split {split_name} ({stage}) | {df['user'].nunique():,} users | "
            f"{df['item'].nunique():,} items | {len(fitted):,} train events")


# ============================================================================ commands
def _data_args(args: argparse.Namespace, progress: bool) -> Data:
    return load_data(args.dataset, args.data, data_dir=args.data_dir, user_col=args.user_col,
                     item_col=args.item_col, time_col=args.time_col, seed=args.seed,
                     synthetic_users=args.synthetic_users, synthetic_items=args.synthetic_items,
                     progress=progress)


def cmd_evaluate(args: argparse.Namespace) -> int:
    _check_output(args.output)
    overrides = parse_settings(args.set, args.models)
    model_params(args.models, overrides)  # fail on bad values before loading anything
    progress = not args.quiet
    data = _data_args(args, progress)
    params = model_params(args.models, overrides, data)
    split = make_split(data.interactions, args.split, args.seed)
    table = run_evaluate(split, args.models, args.k, params, stage=args.stage, seed=args.seed,
                         threads=args.threads, progress=progress)
    from .evaluation import format_table

    print(_header(data, split, args.split, args.stage))
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
    overrides = parse_settings(args.set, ["item2vec"], default_model="item2vec")
    model_params(["item2vec"], overrides)  # fail on bad values before loading anything
    if args.data is None and args.dataset is None:
        raise CLIError("give the training data with --data FILE or --dataset NAME")
    data = _data_args(args, not args.quiet)
    params = model_params(["item2vec"], overrides, data)["item2vec"]
    t0 = time.perf_counter()
    model = run_train(data, params, seed=args.seed, threads=args.threads, progress=not args.quiet)
    seconds = time.perf_counter() - t0
    path = model.save(args.output)
    loss = model.loss_history_[-1] if model.loss_history_ else float("nan")
    print(f"trained item2vec on {data.name}: vocabulary {len(model.vocab_):,} items | "
          f"{model.n_tokens_:,} tokens | {model.epochs} epochs | {seconds:.2f} s | final loss {loss:.4f}")
    print(f"saved {path}")
    return 0


def _load_model(path: str) -> Any:
    from .model import Item2Vec

    return Item2Vec.load(path)


def _titles_args(args: argparse.Namespace) -> dict[Any, str] | None:
    return load_titles(args.dataset, args.data_dir, seed=args.seed, synthetic_users=args.synthetic_users,
                       synthetic_items=args.synthetic_items)


def cmd_similar(args: argparse.Namespace) -> int:
    model = _load_model(args.model)
    items = convert_ids(model, args.items)
    titles = _titles_args(args)
    for n, (query, table) in enumerate(run_similar(model, items, args.k, titles)):
        name = _title(titles, query)
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
    print(f"top {args.k} for a history of {len(history)} item(s) (seen items excluded):")
    print(render_table(table))
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    _check_output(args.output)
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
    results = run_tune(split, args.models, trials=args.trials, seed=args.seed, metric=metric, ks=args.k,
                       spaces=spaces, fixed=fixed, threads=args.threads, progress=progress)
    print(_header(data, split, args.split, "val"))
    print(f"random search: {args.trials} trial(s) per model, fit on train, scored on val by {metric}; "
          f"the best setting is refit on train+val and scored on test")
    best_rows, out_rows = [], []
    for result, scores in results:
        best_rows.append({"model": result.model, "trials": result.n_trials, f"val {metric}": result.best_score,
                          f"test {metric}": scores.get(metric, math.nan),
                          **{f"test {m}@{mk}": scores.get(f"{m}@{mk}", math.nan) for m in ("recall", "hit")},
                          "best params": _params_text({k: v for k, v in result.best_params.items()
                                                       if k in result.space or k in result.fixed})})
        out_rows.append({"model": result.model, "kind": "best", "val_score": result.best_score,
                         **{f"test_{k}": v for k, v in scores.items()}, "params": result.best_params})
        for row in result.trials.to_dict("records"):
            trial_params = {k: row[k] for k in result.space}
            out_rows.append({"model": result.model, "kind": "trial", "trial": row["trial"],
                             "val_score": row.get(metric), **{f"val_{k}": v for k, v in row.items()
                                                               if k not in result.space and k != "trial"},
                             "params": trial_params})
    print("\nbest settings:")
    print(render_table(pd.DataFrame(best_rows)))
    for result, _ in results:
        if result.space and result.n_trials > 1:
            top = result.top(5)
            shown = pd.DataFrame({"trial": top["trial"], metric: top[metric],
                                  "fit s": top["fit_seconds"],
                                  "params": [_params_text({k: r[k] for k in result.space})
                                             for r in top.to_dict("records")]})
            print(f"\ntop trials of {result.model} (val {metric}):")
            print(render_table(shown, column_decimals={"fit s": 2}))
    if args.output:
        config = {"command": "tune", "version": __version__, "dataset": data.name, "data": args.data,
                  "split": args.split, "metric": metric, "ks": list(args.k), "trials": args.trials,
                  "seed": args.seed, "models": args.models, "fixed": fixed,
                  "spaces": {r.model: r.space for r, _ in results}}
        print(f"\nwrote {write_results(args.output, out_rows, config)}")
    return 0


# ============================================================================ parser
def _add_data_options(p: argparse.ArgumentParser, default_hint: str) -> None:
    g = p.add_argument_group("data")
    src = g.add_mutually_exclusive_group()
    src.add_argument("--dataset", type=_dataset_type, default=None, metavar="NAME",
                     help=f"{', '.join(DATASET_NAMES)} ({default_hint})")
    src.add_argument("--data", metavar="FILE", help="interaction log (.csv, .tsv or .parquet) instead of --dataset")
    g.add_argument("--data-dir", metavar="DIR", help="folder holding MovieLens folders (ml-100k/, ...); "
                   "also ITEM2VEC_DATA=DIR. Missing data sets are downloaded into the cache")
    g.add_argument("--user-col", default="user", help="user column of --data (default: user)")
    g.add_argument("--item-col", default="item", help="item column of --data (default: item)")
    g.add_argument("--time-col", default="timestamp",
                   help="time column of --data (default: timestamp, used if present; 'none' for file order)")
    g.add_argument("--synthetic-users", type=_positive_int, default=1000, metavar="N",
                   help="users of --dataset synthetic (default: 1000)")
    g.add_argument("--synthetic-items", type=_positive_int, default=500, metavar="N",
                   help="items of --dataset synthetic (default: 500)")


def _add_run_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="seed of models, splits and synthetic data (default: 0)")
    p.add_argument("--threads", type=_positive_int, default=None, metavar="N", help="threads per model (default: all)")
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
    p.add_argument("--models", type=_models_type, default=["item2vec", "als", "pop"],
                   help=f"{models_help} (default: item2vec,als,pop)")
    p.add_argument("--k", type=_ks_type, default=(10, 20), help="cut-offs, e.g. 10,20 (default: 10,20)")
    p.add_argument("--split", choices=SPLITS, default="leave-last-out", help="protocol (default: leave-last-out)")
    p.add_argument("--stage", choices=("val", "test"), default="test",
                   help="test: fit on train+val, score test targets (default); val: fit on train, score val")
    p.add_argument("--set", action="append", metavar="MODEL.PARAM=VALUE",
                   help="hyperparameter override, repeatable (e.g. item2vec.window=3, als.factors=128); "
                        "settings of models not in --models are ignored")
    p.add_argument("--output", "-o", metavar="FILE", help="write results to FILE.json or FILE.csv")
    _add_run_options(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("train", help="train item2vec on an interaction log and save the model",
                       description="Train item2vec on all interactions of --data/--dataset and save a .npz model.")
    _add_data_options(p, "or --data FILE")
    p.add_argument("--output", "-o", required=True, metavar="MODEL.npz", help="model file to write")
    p.add_argument("--set", action="append", metavar="PARAM=VALUE",
                   help="item2vec hyperparameter, repeatable (e.g. window=3 epochs=40)")
    _add_run_options(p)
    p.set_defaults(func=cmd_train)

    for name, helptext in (("similar", "items most similar to given items"),
                           ("recommend", "recommendations for a history of items")):
        p = sub.add_parser(name, help=helptext, description=f"Show the {helptext} from a saved model.")
        p.add_argument("--model", "-m", required=True, metavar="MODEL.npz", help="model file written by 'train'")
        if name == "similar":
            p.add_argument("items", nargs="+", metavar="ITEM", help="item id(s)")
        else:
            p.add_argument("--history", required=True, metavar="ID,ID,...", help="item ids, oldest first")
            p.add_argument("--ignore-unknown", action="store_true", help="drop history items the model does not know")
            p.add_argument("--scoring", choices=("sgns", "cosine"), default=None,
                           help="scoring rule (default: the model's)")
        p.add_argument("--k", type=_positive_int, default=10, help="number of items (default: 10)")
        p.add_argument("--dataset", type=_dataset_type, default=None, metavar="NAME",
                       help="data set whose item titles to show")
        p.add_argument("--data-dir", metavar="DIR", help="folder holding MovieLens folders")
        p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
        p.add_argument("--synthetic-users", type=_positive_int, default=1000, help=argparse.SUPPRESS)
        p.add_argument("--synthetic-items", type=_positive_int, default=500, help=argparse.SUPPRESS)
        p.set_defaults(func=cmd_similar if name == "similar" else cmd_recommend)

    p = sub.add_parser("tune", help="random hyperparameter search on the validation split",
                       description="Seeded random search: each setting is fitted on train and scored on val; "
                                   "the best setting of each model is refit on train+val and scored on test.")
    _add_data_options(p, "default: ml-100k")
    p.add_argument("--models", type=_models_type, default=["item2vec", "als"],
                   help=f"{models_help} (default: item2vec,als)")
    p.add_argument("--trials", type=_positive_int, default=20, help="settings tried per model (default: 20)")
    p.add_argument("--k", type=_ks_type, default=(10,), help="cut-offs reported (default: 10)")
    p.add_argument("--metric", default=None, help="validation metric to maximise, NAME@K (default: ndcg@<first k>)")
    p.add_argument("--split", choices=SPLITS, default="leave-last-out", help=argparse.SUPPRESS)
    p.add_argument("--space", action="append", metavar="MODEL.PARAM=V1,V2,...",
                   help="replace or add a search dimension, repeatable (e.g. item2vec.window=1,2,3)")
    p.add_argument("--set", action="append", metavar="MODEL.PARAM=VALUE",
                   help="hold a hyperparameter fixed (removes it from the search), repeatable")
    p.add_argument("--output", "-o", metavar="FILE", help="write best settings and all trials to FILE.json or FILE.csv")
    _add_run_options(p)
    p.set_defaults(func=cmd_tune)
    return parser


# ============================================================================ main
def _one_line(message: str) -> str:
    return " ".join(str(message).split())


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
