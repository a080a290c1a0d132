"""The stages behind the command line, as plain functions: load data, split,
fit and score models, query a saved model, write results.

:mod:`item2vec.cli` only parses arguments and calls these; tests and notebooks
can call them directly.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .model_io import npz_path
from .registry import SEARCH_SPACES, check_model_params, make_model, parse_metric

SPLITS = ("leave-last-out", "temporal", "users")

#: Hyperparameters ``evaluate``/``train``/``tune`` start from (``--set`` overrides them).
DEFAULT_MODEL_PARAMS: dict[str, dict[str, Any]] = {
    # item2vec: the library defaults, chosen on the whole data panel (README, "Results")
    "item2vec": {},
    "als": {"factors": 64, "iterations": 15, "regularization": 0.01},
}


class CLIError(Exception):
    """A user mistake found by the CLI; ``code`` is the exit code."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code



def check_writable(path: str | Path, option: str = "--output") -> None:
    """Raise :class:`CLIError` unless a file can be written at ``path`` (checked before any work).

    The nearest existing folder on the way to ``path`` must be a folder we can
    create a file in (probed with a temporary file, removed at once); missing
    folders below it are created only when the result is written.
    """
    target = Path(path)
    if target.is_dir():
        raise CLIError(f"{option} {str(path)!r} is a folder; give a file name")
    if target.exists() and not os.access(target, os.W_OK):
        raise CLIError(f"{option} {str(path)!r}: the file exists and is not writable")
    folder = target.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise CLIError(f"{option} {str(path)!r}: {folder} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".item2vec-write-check-")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise CLIError(f"{option} {str(path)!r}: cannot write in {folder} ({e.strerror or e})") from None


def check_output_path(path: str | None) -> None:
    """Reject an ``--output`` file that does not end in .json or .csv or cannot be written (before any work)."""
    if path is None:
        return
    if Path(path).suffix.lower() not in (".json", ".csv"):
        raise CLIError(f"--output {path!r}: the file name must end in .json or .csv")
    check_writable(path)


def model_output_path(path: str) -> Path:
    """The file ``train --output`` writes (``.npz`` added as ``save`` adds it), checked to be writable."""
    target = npz_path(path)
    check_writable(target)
    return target


@dataclass
class Data:
    """Interactions (``user``, ``item``, optional ``timestamp``/``rating``) and item metadata."""

    name: str
    interactions: pd.DataFrame
    items: pd.DataFrame | None = None


def load_data(dataset: str | None = None, data: str | None = None, *, data_dir: str | None = None,
              user_col: str = "user", item_col: str = "item", time_col: str | None = "timestamp",
              seed: int = 0, synthetic_users: int = 1000, synthetic_items: int = 500,
              progress: bool = True, data_format: str | None = None) -> Data:
    """Load ``--data FILE`` (``data_format``: see :func:`item2vec.seqdata.load_file`) or ``--dataset NAME``."""
    from .datasets import load_dataset, load_interactions
    from .seqdata import load_file

    if data is not None and (data_format or "auto") != "interactions":
        df = load_file(data, data_format)
        if df is not None:  # a sequence or session file
            return Data(Path(data).name, df)
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


def item_groups(data: Data | None) -> dict[Any, list[Any]] | None:
    """The data's item groups (MovieLens genres; the attribute files of toys/yelp/lastfm), or None.

    Items without a group are left out; ``None`` when no item has one.
    """
    from .datasets import genre_map

    if data is None or getattr(data, "items", None) is None or "genres" not in data.items:
        return None
    groups = {item: list(g) for item, g in genre_map(data.items).items() if len(g)}
    return groups or None


def uses_groups(params: dict[str, Any]) -> bool:
    """Whether item2vec ``params`` need item groups (``hard_negatives="group"`` or ``group_sentences`` > 0)."""
    return params.get("hard_negatives") == "group" or bool(params.get("group_sentences"))


def tune_base(name: str, groups: dict[Any, Any] | None = None) -> dict[str, Any]:
    """What :func:`run_tune` gives ``tune`` as ``base``: :data:`DEFAULT_MODEL_PARAMS`, and for item2vec
    the data's :func:`item_groups` (whole catalogue: ``groups_on_unknown="ignore"``), so that the
    search covers ``group_sentences``."""
    base = dict(DEFAULT_MODEL_PARAMS.get(name, {}))
    if name == "item2vec" and groups is not None:
        base.update(item_groups=groups, groups_on_unknown="ignore")
    return base


def model_params(models: Sequence[str], overrides: dict[str, dict[str, Any]] | None = None,
                 data: Data | None = None) -> dict[str, dict[str, Any]]:
    """:data:`DEFAULT_MODEL_PARAMS` with ``overrides`` applied, validated (:class:`CLIError`).

    With ``data``, item2vec settings that use item groups (``hard_negatives="group"``,
    ``group_sentences``) get the data's :func:`item_groups`.
    """
    out = {}
    for name in models:
        params = {**DEFAULT_MODEL_PARAMS.get(name, {}), **(overrides or {}).get(name, {})}
        if name == "item2vec" and uses_groups(params) and data is not None and "item_groups" not in params:
            groups = item_groups(data)
            if groups is None:
                used = "hard_negatives='group'" if params.get("hard_negatives") == "group" else \
                    f"group_sentences={params['group_sentences']!r}"
                raise CLIError(f"invalid hyperparameter for item2vec: {used} needs item groups, and this data has "
                               f"none (genres or an attribute file)")
            params["item_groups"] = groups  # for the whole catalogue: items seen only in
            params.setdefault("groups_on_unknown", "ignore")  # test targets are not trained
        try:
            check_model_params(name, params)
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
              progress: bool = True, init: str | None = None) -> Any:
    """Fit an :class:`~item2vec.Item2Vec` on all interactions of ``data``.

    With ``init`` (``train --init MODEL.npz``) the saved model is loaded, ``params``
    (the ``--set`` overrides), ``seed`` and ``threads`` are set on it, and it is
    updated with :meth:`~item2vec.Item2Vec.partial_fit` on ``data`` instead.
    """
    if init is not None:
        from .model import Item2Vec

        model = Item2Vec.load(init).set_params(**params, random_state=seed, n_threads=threads, verbose=progress)
        return model.partial_fit(data.interactions)
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


def item_title(titles: dict[Any, str] | None, item: Any) -> str:
    """The title of ``item`` in ``titles`` ("" when there are no titles)."""
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
        frame["title"] = [item_title(titles, i) for i in frame["item"]]
    return frame


def run_similar(model: Any, items: Sequence[Any], k: int = 10,
                titles: dict[Any, str] | None = None, min_count: int = 1) -> list[tuple[Any, pd.DataFrame]]:
    """``[(query item, table of rank/item/score[/title]), ...]``; candidates need ``min_count`` training events."""
    ids, scores = model.similar_items(list(items), k=min(k, len(model.vocab_)), min_count=min_count)  # padding is not shown
    return [(q, _result_frame(ids[j], scores[j], titles)) for j, q in enumerate(items)]


def run_recommend(model: Any, history: Sequence[Any], k: int = 10, titles: dict[Any, str] | None = None, *,
                  on_unknown: str = "raise", scoring: str | None = None) -> pd.DataFrame:
    """Table of rank/item/score[/title] for one history (seen items filtered)."""
    ids, scores = model.recommend(list(history), k=min(k, len(model.vocab_)), filter_seen=True,  # padding is not shown
                                  on_unknown=on_unknown, scoring=scoring)
    return _result_frame(np.asarray(ids), np.asarray(scores), titles)


def run_tune(split: Any, models: Sequence[str], *, trials: int | None = 20, seed: int = 0, metric: str = "ndcg@10",
             ks: Sequence[int] = (10,), spaces: dict[str, dict[str, list[Any]]] | None = None,
             fixed: dict[str, dict[str, Any]] | None = None, threads: int | None = None,
             progress: bool = True, budget: float | None = None, strategy: str = "auto",
             groups: dict[Any, Any] | None = None) -> list[tuple[Any, dict[str, float]]]:
    """Tune each model on val, refit its best setting on train+val: ``[(TuneResult, test scores), ...]``.

    ``budget`` (seconds) applies to the search of each model; ``trials=None`` means
    as many as the budget allows. ``strategy`` is :func:`item2vec.tuning.tune`'s.
    ``groups`` (:func:`item_groups`): see :func:`tune_base`.
    """
    from .tuning import test_score, tune

    out = []
    for name in models:
        space = {**SEARCH_SPACES.get(name, {}), **(spaces or {}).get(name, {})}
        result = tune(name, split, trials=trials, seed=seed, metric=metric, ks=ks, progress=progress,
                      space=space, fixed=(fixed or {}).get(name, {}), base=tune_base(name, groups),
                      n_threads=threads, budget=budget, strategy=strategy)
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
    check_output_path(path)
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


def params_text(params: dict[str, Any]) -> str:
    """``name=value`` pairs for a table cell (the bulky ``item_groups`` left out)."""
    return " ".join(f"{k}={v!r}" if isinstance(v, str) else f"{k}={v}" for k, v in params.items()
                    if k != "item_groups")


def run_header(data: Data, split: Any, split_name: str, stage: str) -> str:
    """One line naming the dataset, split, stage and sizes, printed above a run's table."""
    df = data.interactions
    fitted = split.fit_data(stage)
    return (f"dataset {data.name} | split {split_name} ({stage}) | {df['user'].nunique():,} users | "
            f"{df['item'].nunique():,} items | {len(fitted):,} train events")
