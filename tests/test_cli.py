"""Tests for the command-line interface (item2vec.cli), run in-process via main([...])."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from item2vec import __version__
from item2vec import cli
from item2vec.synthetic import make_synthetic

# Tiny synthetic data and short training keep every run well under a second or two.
SMALL = ["--dataset", "synthetic", "--synthetic-users", "150", "--synthetic-items", "60", "--quiet"]
FAST = ["--set", "item2vec.epochs=2", "--set", "als.factors=8", "--set", "als.iterations=2"]


pytestmark = pytest.mark.usefixtures("isolated")  # offline, empty cache: see conftest.py


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_usage_error(code, out, err, expected=2):
    assert code == expected
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("item2vec: error: ")
    assert "Traceback" not in err and "Traceback" not in out


# ---------------------------------------------------------------------------- value parsing
@pytest.mark.parametrize("text, value", [
    ("None", None), ("none", None), ("3", 3), ("-0.5", -0.5), ("1e-3", 1e-3), ("0", 0),
    ("window", "window"), ("'set'", "set"), ("True", True), ("false", False),
])
def test_parse_value(text, value):
    got = cli.parse_value(text)
    assert got == value and type(got) is type(value)


def test_parse_settings_and_space():
    got = cli.parse_settings(["item2vec.window=3", "item2vec.history_length=None", "als.regularization=-0.0"],
                             ["item2vec", "als"])
    assert got == {"item2vec": {"window": 3, "history_length": None}, "als": {"regularization": 0.0}}
    assert cli.parse_settings(["epochs=4"], ["item2vec"], default_model="item2vec") == {"item2vec": {"epochs": 4}}
    assert cli.parse_settings(["als.factors=8"], ["pop"]) == {}  # known model, not selected: ignored
    assert cli.parse_space(["item2vec.window=1,2,3", "item2vec.context=window,set"], ["item2vec"]) == {
        "item2vec": {"window": [1, 2, 3], "context": ["window", "set"]}}
    with pytest.raises(cli.CLIError, match="valid parameters: .*window"):
        cli.parse_settings(["item2vec.windw=3"], ["item2vec"])
    with pytest.raises(cli.CLIError, match="MODEL.PARAM=VALUE"):
        cli.parse_settings(["item2vec.window"], ["item2vec"])


# ---------------------------------------------------------------------------- evaluate
def test_evaluate_synthetic_prints_table(capsys):
    code, out, err = run(capsys, "evaluate", *SMALL, *FAST, "--models", "item2vec,als,pop,cosine", "--k", "10")
    assert code == 0, err
    header, table = out.split("\n", 1)
    assert header.startswith("dataset synthetic | split leave-last-out (test) | 150 users | 60 items |")
    assert "train events" in header
    for name in ("item2vec", "als", "pop", "cosine", "recall@10", "ndcg@10", "hit@10", "mrr@10", "coverage@10",
                 "fit s"):
        assert name in table


@pytest.mark.parametrize("split", ["temporal", "users"])
def test_evaluate_other_splits(capsys, split):
    code, out, err = run(capsys, "evaluate", *SMALL, "--models", "pop,cosine", "--k", "5,10", "--split", split)
    assert code == 0, err
    assert f"split {split}" in out and "recall@5" in out and "recall@10" in out


@pytest.mark.parametrize("suffix", ["json", "csv"])
def test_evaluate_output_file(capsys, tmp_path, suffix):
    path = tmp_path / "sub" / f"results.{suffix}"
    code, out, err = run(capsys, "evaluate", *SMALL, *FAST, "--models", "item2vec,pop", "--k", "10,20",
                         "--set", "item2vec.window=3", "--output", str(path))
    assert code == 0, err
    assert path.is_file()
    if suffix == "json":
        doc = json.loads(path.read_text())
        assert doc["config"]["dataset"] == "synthetic" and doc["config"]["ks"] == [10, 20]
        assert doc["config"]["params"]["item2vec"]["window"] == 3
        assert doc["config"]["params"]["item2vec"]["epochs"] == 2
        rows = {r["model"]: r for r in doc["results"]}
        assert set(rows) == {"item2vec", "pop"}
        assert 0.0 <= rows["pop"]["recall@20"] <= 1.0 and "ndcg@10" in rows["item2vec"]
    else:
        frame = pd.read_csv(path)
        assert list(frame["model"]) == ["item2vec", "pop"]
        assert {"recall@10", "ndcg@20", "coverage@10", "fit_seconds"} <= set(frame.columns)


def test_evaluate_custom_file(capsys, tmp_path):
    df = make_synthetic(n_users=80, n_items=40, n_clusters=4, seed=1).interactions
    df = df.rename(columns={"user": "uid", "item": "sku", "timestamp": "ts"})
    df["sku"] = "sku-" + df["sku"].astype(str)
    path = tmp_path / "log.csv"
    df.to_csv(path, index=False)
    code, out, err = run(capsys, "evaluate", "--data", str(path), "--user-col", "uid", "--item-col", "sku",
                         "--time-col", "ts", "--models", "pop,cosine", "--k", "5", "-q")
    assert code == 0, err
    assert out.startswith("dataset log.csv |") and "cosine" in out

    # group hard negatives need genres: refused before any model is fit, naming why
    code, out, err = run(capsys, "evaluate", "--data", str(path), "--user-col", "uid", "--item-col", "sku",
                         "--time-col", "ts", "--models", "pop,item2vec", "--set", "item2vec.hard_negatives=group", "-q")
    assert_usage_error(code, out, err)
    assert "hard_negatives='group' needs item groups" in err and "has none" in err and "fit_seconds" not in out
    code, out, err = run(capsys, "evaluate", "--data", str(path), "--user-col", "uid", "--item-col", "sku",
                         "--time-col", "ts", "--models", "item2vec", "--set", "item2vec.group_sentences=1", "-q")
    assert_usage_error(code, out, err)
    assert "group_sentences=1 needs item groups" in err and "fit_seconds" not in out


# ---------------------------------------------------------------------------- train / similar / recommend
def test_train_similar_recommend_round_trip(capsys, tmp_path):
    model = tmp_path / "model.npz"
    code, out, err = run(capsys, "train", *SMALL, "--set", "epochs=3", "--set", "item2vec.window=2",
                         "--output", str(model))
    assert code == 0, err
    assert model.is_file()
    assert "vocabulary 60 items" in out and "3 epochs" in out and "final loss" in out

    code, out, err = run(capsys, "similar", "--model", str(model), "1", "2", "--k", "5",
                         "--dataset", "synthetic", "--synthetic-users", "150", "--synthetic-items", "60")
    assert code == 0, err
    assert "items similar to 1 (item 1):" in out and "items similar to 2 (item 2):" in out
    first = out.split("\n\n")[0].splitlines()
    assert first[1].split() == ["rank", "item", "score", "title"]
    assert len(first) == 3 + 5  # title line, header, rule, 5 rows

    code, out, err = run(capsys, "recommend", "--model", str(model), "--history", "1,2,3", "--k", "4")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[1].split() == ["rank", "item", "score"] and len(lines) == 3 + 4
    recommended = {int(line.split()[1]) for line in lines[3:]}
    assert not recommended & {1, 2, 3}  # seen items are filtered

    code, out, err = run(capsys, "recommend", "--model", str(model), "--history", "1,999", "--k", "4")
    assert_usage_error(code, out, err)
    assert "999" in err and "--ignore-unknown" in err
    code, out, err = run(capsys, "recommend", "--model", str(model), "--history", "1,999", "--ignore-unknown")
    assert code == 0, err

    code, out, err = run(capsys, "similar", "--model", str(model), "not-an-int")
    assert_usage_error(code, out, err)
    assert "integer" in err


def test_python_dash_m_version():
    proc = subprocess.run([sys.executable, "-m", "item2vec", "--version"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == f"item2vec {__version__}"


def test_help(capsys):
    for argv in ([ "--help"], ["evaluate", "--help"], ["tune", "--help"], ["similar", "--help"]):
        code, out, err = run(capsys, *argv)
        assert code == 0 and out.startswith("usage: item2vec")


# ---------------------------------------------------------------------------- errors
@pytest.mark.parametrize("argv", [
    [],
    ["frobnicate"],
    ["evaluate", "--models", "item2vec,bogus"],
    ["evaluate", "--k", "0"],
    ["evaluate", "--k", "ten"],
    ["evaluate", "--set", "window=3"],
    ["evaluate", "--set", "item2vec.window"],
    ["evaluate", "--set", "item2vec.no_such_param=1"],
    ["evaluate", "--set", "item2vec.window=-2"],
    ["evaluate", "--set", "bpr.factors=8", "--models", "pop"],
    ["evaluate", "--dataset", "ml-5m"],
    ["evaluate", "--output", "results.txt"],
    ["evaluate", "--data", "/no/such/file.csv"],
    ["evaluate", "--dataset", "synthetic", "--data", "x.csv"],
    ["train", "--output", "m.npz"],
    ["similar", "--model", "/no/such/model.npz", "1"],
    ["recommend", "--model", "/no/such/model.npz", "--history", "1,2"],
    ["tune", "--metric", "precision@10"],
    ["tune", "--space", "als.nope=1,2"],
])
def test_usage_errors_are_one_line(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert_usage_error(code, out, err)


def test_unknown_param_names_the_valid_ones(capsys):
    code, out, err = run(capsys, "evaluate", "--set", "als.factor=8", "--models", "als")
    assert_usage_error(code, out, err)
    assert "factors" in err and "regularization" in err


def test_bad_model_file_is_one_line(capsys, tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    code, out, err = run(capsys, "similar", "--model", str(bad), "1")
    assert_usage_error(code, out, err)


def test_offline_without_cached_data(capsys, tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("ITEM2VEC_DATA", str(empty))
    monkeypatch.setenv("ITEM2VEC_MOVIELENS_URL", "http://127.0.0.1:9/")
    code, out, err = run(capsys, "evaluate", "--dataset", "ml-100k", "--models", "pop", "-q")
    assert_usage_error(code, out, err, expected=1)
    assert "--dataset synthetic" in err and "ITEM2VEC_DATA" in err and "--data-dir" in err


# ---------------------------------------------------------------------------- tune
def test_tune_two_trials(capsys, tmp_path):
    path = tmp_path / "tune.json"
    code, out, err = run(capsys, "tune", *SMALL, "--models", "item2vec,als", "--trials", "2",
                         "--set", "item2vec.epochs=1", "--set", "als.iterations=2",
                         "--space", "item2vec.vector_size=8,16", "--space", "als.factors=4,8",
                         "--metric", "recall@10", "--output", str(path))
    assert code == 0, err
    assert "best settings:" in out and "val recall@10" in out and "test recall@10" in out
    assert "top trials of item2vec" in out and "top trials of als" in out
    doc = json.loads(path.read_text())
    best = {r["model"]: r for r in doc["results"] if r["kind"] == "best"}
    trials = [r for r in doc["results"] if r["kind"] == "trial"]
    assert set(best) == {"item2vec", "als"} and len(trials) == 4
    assert best["item2vec"]["params"]["epochs"] == 1
    assert best["item2vec"]["params"]["vector_size"] in (8, 16)
    assert best["als"]["params"]["factors"] in (4, 8)
    assert "epochs" not in doc["config"]["spaces"]["item2vec"]


def test_tune_needs_validation_split(capsys):
    code, out, err = run(capsys, "tune", *SMALL, "--models", "pop", "--split", "temporal")
    assert_usage_error(code, out, err)


# ---------------------------------------------------------------------------- real data
@pytest.mark.movielens
def test_evaluate_ml100k(capsys, movielens_root, monkeypatch):
    monkeypatch.setenv("ITEM2VEC_DATA", str(movielens_root))
    code, out, err = run(capsys, "evaluate", "--dataset", "ml-100k", "--models", "item2vec,pop",
                         "--set", "item2vec.epochs=2", "--k", "10", "-q")
    assert code == 0, err
    header, table = out.split("\n", 1)
    assert header.startswith("dataset ml-100k | split leave-last-out (test) | 943 users | 1,682 items |")
    assert "recall@10" in table and "item2vec" in table and "pop" in table
    rows = {line.split()[0]: line.split() for line in table.splitlines()[2:]}
    assert set(rows) == {"item2vec", "pop"}
    assert 0.0 < float(rows["pop"][1]) < 1.0


@pytest.mark.movielens
@pytest.mark.parametrize("strategy", ["group", "mined"])
def test_evaluate_ml100k_with_hard_negatives(capsys, movielens_root, monkeypatch, strategy):
    # "group" takes the genres of the loaded data; items that only occur in test targets must not break it
    monkeypatch.setenv("ITEM2VEC_DATA", str(movielens_root))
    code, out, err = run(capsys, "evaluate", "--dataset", "ml-100k", "--models", "item2vec",
                         "--set", "item2vec.epochs=3", "--set", f"item2vec.hard_negatives={strategy}",
                         "--set", "item2vec.hard_negative_ratio=0.25", "--set", "item2vec.mine_pool=256", "--k", "10", "-q")
    assert code == 0, err
    row = [line.split() for line in out.splitlines() if line.startswith("item2vec")][0]
    assert 0.0 < float(row[1]) < 1.0


def test_tune_searches_hard_negatives(capsys):
    code, out, err = run(capsys, "tune", *SMALL, "--models", "item2vec", "--trials", "2", "--seed", "1",
                         "--set", "item2vec.epochs=2", "--space", "item2vec.hard_negatives=None,mined",
                         "--space", "item2vec.hard_negative_ratio=0.5")
    assert code == 0, err
    assert "hard_negatives" in out


# ---------------------------------------------------------------------------- issue 13: one line, never a traceback
def _saved_model(tmp_path):
    import numpy as np

    from item2vec import Item2Vec

    W = np.arange(8, dtype=np.float32).reshape(4, 2) / 9
    return Item2Vec.from_vectors([1, 2, 3, 4], W, W[::-1].copy(), counts=[4, 3, 2, 1]).save(tmp_path / "m.npz")


def _damage(data: bytes, how: str) -> bytes:
    out = bytearray(data)
    if how == "npy header":  # header length of the metadata member: np.load raised tokenize.TokenError
        i = data.rindex(b"\x93NUMPY\x01\x00")
        out[i + 8] ^= 0xFF
    elif how == "encrypted flag":  # central directory, first entry: RuntimeError "password required"
        i = data.index(b"PK\x01\x02")
        out[i + 8] |= 0x01
    elif how == "zip version":  # central directory "version needed": NotImplementedError
        i = data.index(b"PK\x01\x02")
        out[i + 6] = 0xFF
    return bytes(out)


@pytest.mark.parametrize("how", ["npy header", "encrypted flag", "zip version"])
@pytest.mark.parametrize("command", [["similar", "1"], ["recommend", "--history", "1,2"]])
def test_damaged_model_file_is_one_line_naming_it(capsys, tmp_path, how, command):
    bad = tmp_path / "damaged.npz"
    bad.write_bytes(_damage(open(_saved_model(tmp_path), "rb").read(), how))
    code, out, err = run(capsys, command[0], "--model", str(bad), *command[1:])
    assert_usage_error(code, out, err)
    assert str(bad) in err


def test_invalid_stored_parameter_is_one_line_naming_the_field(capsys, tmp_path):
    from item2vec.model_io import read_model, write_model

    arrays, meta = read_model(_saved_model(tmp_path))
    meta["params"]["history_length"] = "abc"
    meta = {k: v for k, v in meta.items() if k not in ("format", "format_version", "checksums")}
    bad = write_model(tmp_path / "edited.npz", arrays, meta)
    code, out, err = run(capsys, "recommend", "--model", str(bad), "--history", "1,2")
    assert_usage_error(code, out, err)
    assert "params.history_length" in err and "edited.npz" in err


def test_huge_k_is_capped_at_the_catalogue(capsys, tmp_path):
    from item2vec import Item2Vec, workflows

    model = Item2Vec.load(_saved_model(tmp_path))
    asked = []

    class Spy:
        vocab_ = model.vocab_

        def similar_items(self, items, k, **kw):
            asked.append(k)
            return model.similar_items(items, k=k, **kw)

        def recommend(self, history, k, **kw):
            asked.append(k)
            return model.recommend(history, k=k, **kw)

    (_, table), = workflows.run_similar(Spy(), [1], k=10**9)
    assert len(table) == 3
    assert len(workflows.run_recommend(Spy(), [1], k=10**9)) == 3
    assert asked == [4, 4]  # never asks the model for a billion columns
    for command in (["similar", "1", "--min-count", "1"], ["recommend", "--history", "1"]):
        code, out, err = run(capsys, command[0], "--model", str(tmp_path / "m.npz"), *command[1:], "--k", "1000000000")
        assert code == 0, err
        assert len(out.strip().splitlines()) == 3 + 3
    assert out.startswith("top 3 (--k 1000000000; the model has 4 items)")


def _tiny_log(tmp_path, dates=False):
    rows = [(u, i, t) for u in range(3) for t, i in enumerate((1, 2, 3))]
    df = pd.DataFrame(rows, columns=["user", "item", "timestamp"])
    if dates:
        df["timestamp"] = [f"1/{d + 1}/2020 {h}:00 PM" for d in range(3) for h in (1, 2, 3)]
    path = tmp_path / "log.csv"
    df.to_csv(path, index=False)
    return path


def test_train_on_nothing_is_one_line_and_saves_nothing(capsys, tmp_path):
    out_path = tmp_path / "m.npz"
    code, out, err = run(capsys, "train", "--data", str(_tiny_log(tmp_path)), "-q", "--output", str(out_path))
    assert_usage_error(code, out, err)  # default sample=1e-3 removes every pair of 9 events
    assert "sample=0" in err and not out_path.exists()
    code, out, err = run(capsys, "train", "--data", str(_tiny_log(tmp_path)), "-q", "--set", "sample=0", "epochs=2",
                         "--output", str(out_path))
    assert code == 0 and err == "" and out_path.is_file(), err
    assert "2 epochs" in out


def test_date_strings_in_data_parse_without_a_warning(capsys, tmp_path):
    code, out, err = run(capsys, "train", "--data", str(_tiny_log(tmp_path, dates=True)), "-q",
                         "--set", "sample=0", "epochs=1", "--output", str(tmp_path / "m.npz"))
    assert code == 0, err
    assert err == ""  # pandas' multi-line "Could not infer format" UserWarning is gone


def test_warnings_become_one_line(capsys, monkeypatch):
    import warnings

    def noisy(args):
        warnings.warn("first line\nsecond line", RuntimeWarning)
        return 0

    monkeypatch.setattr(cli, "cmd_evaluate", noisy)  # build_parser binds the command at call time
    code, out, err = run(capsys, "evaluate")
    assert code == 0
    assert err.strip().splitlines() == ["item2vec: warning: first line second line (RuntimeWarning)"]


@pytest.mark.parametrize("command", [
    ["evaluate", *SMALL, "--models", "pop"],
    ["tune", *SMALL, "--models", "pop", "--trials", "1"],
    ["train", *SMALL],
])
@pytest.mark.parametrize("where", ["under a file", "a folder"])
def test_unwritable_output_fails_before_the_work(capsys, tmp_path, monkeypatch, command, where):
    from item2vec import workflows

    monkeypatch.setattr(workflows, "load_data", lambda *a, **k: pytest.fail("loaded data before checking --output"))
    monkeypatch.setattr(cli, "load_data", lambda *a, **k: pytest.fail("loaded data before checking --output"))
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    name = "out.npz" if command[0] == "train" else "out.json"
    target = blocker / "sub" / name if where == "under a file" else tmp_path
    if where == "a folder" and command[0] == "train":
        target = tmp_path / "dir.npz"
        target.mkdir()
    code, out, err = run(capsys, *command, "--output", str(target))
    assert_usage_error(code, out, err)
    assert "--output" in err


def test_train_help_example_is_true(capsys, tmp_path):
    code, out, _ = run(capsys, "train", "--help")
    assert "--set window=3 epochs=40" in " ".join(out.split())
    code, out, err = run(capsys, "train", *SMALL, "--set", "window=3", "epochs=2", "--output", str(tmp_path / "m"))
    assert code == 0, err
    assert "2 epochs" in out


def test_mistyped_data_folder_is_named(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("ITEM2VEC_DATA", str(tmp_path / "typo"))
    code, out, err = run(capsys, "evaluate", "--models", "pop", "-q")
    assert_usage_error(code, out, err, expected=1)
    assert str(tmp_path / "typo") in err
    monkeypatch.delenv("ITEM2VEC_DATA")
    code, out, err = run(capsys, "evaluate", "--models", "pop", "-q", "--data-dir", str(tmp_path / "a" / "b"))
    assert_usage_error(code, out, err, expected=1)
    assert str(tmp_path / "a" / "b") in err and not (tmp_path / "a").exists()


def test_warmup_command_and_first_run_note(capsys, tmp_path, monkeypatch):
    code, out, err = run(capsys, "warmup")
    assert code == 0, err
    assert out.startswith("numba kernels ready in ")
    from item2vec import warmup

    monkeypatch.setattr(warmup, "warm_up", lambda hard_negatives=False: 20.0)  # as on a fresh install
    small = [a for a in SMALL if a != "--quiet"]
    code, out, err = run(capsys, "train", *small, "--set", "epochs=1", "--output", str(tmp_path / "m.npz"))
    assert code == 0, err
    assert "compiled the numba kernels in 20.0 s" in err and "'fit s' does not include it" in err
