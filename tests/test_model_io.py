"""Model files: damaged bytes, stored metadata, permissions, leftovers of killed saves."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from item2vec import Item2Vec, ModelFileError
from item2vec.model_io import read_model, write_model


def tiny_model(**params):
    W = np.arange(6, dtype=np.float32).reshape(3, 2) / 7
    return Item2Vec.from_vectors([10, 20, 30], W, W[::-1].copy(), counts=[3, 2, 1], **params)


def rewrite(path, out, edit_meta=None, edit_params=None, raw=False):
    """Copy a model file with edited metadata (valid checksums unless ``raw`` writes it by hand)."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays.pop("__meta__")))
    if edit_params:
        edit_params(meta["params"])
    if edit_meta:
        edit_meta(meta)
    if raw:
        np.savez(out, **arrays, __meta__=np.array(json.dumps(meta)))
        return out
    meta = {k: v for k, v in meta.items() if k not in ("format", "format_version", "checksums")}
    return write_model(out, arrays, meta)


def _sample_positions(data: bytes) -> list[int]:
    """Every byte outside the JSON text (zip and .npy headers, arrays, directory), every 11th inside it."""
    start = data.find('{"'.encode("utf-32-le"))
    end = data.rfind("}".encode("utf-32-le")) + 4
    assert 0 < start < end
    return [i for i in range(len(data)) if not start <= i < end or (i - start) % 11 == 0]


def test_every_damaged_byte_gives_model_file_error_or_the_same_model(tmp_path):
    model = tiny_model()
    path = model.save(tmp_path / "m.npz")
    data = open(path, "rb").read()
    bad = tmp_path / "bad.npz"
    other = []
    for i in _sample_positions(data):
        for flip in (0xFF, 0x01):
            damaged = bytearray(data)
            damaged[i] ^= flip
            bad.write_bytes(bytes(damaged))
            try:
                loaded = Item2Vec.load(bad)
            except ModelFileError as e:
                assert str(bad) in str(e)
                continue
            except Exception as e:  # collected, reported together
                other.append((i, flip, type(e).__name__, str(e)[:80]))
                continue
            # e.g. a timestamp or local-header byte: harmless, and the model must be intact
            assert np.array_equal(loaded.item_vectors_, model.item_vectors_)
            assert np.array_equal(loaded.context_vectors_, model.context_vectors_)
            assert loaded.vocab_.ids.tolist() == [10, 20, 30]
    assert not other, other[:10]


def test_truncated_at_every_length_is_a_model_file_error(tmp_path):
    data = open(tiny_model().save(tmp_path / "m.npz"), "rb").read()
    bad = tmp_path / "cut.npz"
    for n in range(0, len(data), 7):
        bad.write_bytes(data[:n])
        with pytest.raises(ModelFileError):
            Item2Vec.load(bad)


def test_a_folder_is_not_a_model_file(tmp_path):
    (tmp_path / "m.npz").mkdir()
    with pytest.raises(ModelFileError, match="is a folder"):
        Item2Vec.load(tmp_path / "m.npz")


def test_huge_declared_shape_is_refused_without_allocating(tmp_path):
    path = tiny_model().save(tmp_path / "m.npz")
    data = open(path, "rb").read()
    # same-length header edit: (3, 2) -> (9, 9) claims more bytes than the member holds
    assert data.count(b"'shape': (3, 2)") == 2
    bad = tmp_path / "big.npz"
    bad.write_bytes(data.replace(b"'shape': (3, 2)", b"'shape': (9, 9)", 1))
    with pytest.raises(ModelFileError, match="big.npz"):
        Item2Vec.load(bad)


@pytest.mark.parametrize("field, value, match", [
    ("history_length", "abc", r"params\.history_length must be"),
    ("window", 0, r"params\.window must be 'auto' or an integer >= 1"),
    ("vector_size", 2.5, r"params\.vector_size"),
    ("scoring", "dot", r"params\.scoring"),
    ("session_gap", "soon", r"params\.session_gap"),
    ("random_state", -3, r"params\.random_state"),
    ("alpha", None, r"params\.alpha"),
])
def test_stored_parameters_are_validated_on_load(tmp_path, field, value, match):
    path = tiny_model().save(tmp_path / "m.npz")
    bad = rewrite(path, tmp_path / "bad.npz", edit_params=lambda p: p.__setitem__(field, value))
    with pytest.raises(ModelFileError, match=match) as info:
        Item2Vec.load(bad)
    assert "bad.npz" in str(info.value)


@pytest.mark.parametrize("field, value, match", [
    ("format_version", True, "format_version must be an integer"),
    ("format_version", "1", "format_version must be an integer"),
    ("format_version", 0, "format_version must be an integer >= 1"),
    ("checksums", None, "checksums must be a mapping"),
    ("params", [1, 2], "params must be a mapping"),
    ("n_tokens", "many", "n_tokens"),
    ("loss_history", ["x"], "loss_history"),
    ("vocab_kind", "float", "vocabulary kind"),
])
def test_metadata_fields_are_checked(tmp_path, field, value, match):
    path = tiny_model().save(tmp_path / "m.npz")
    raw = field in ("format_version", "checksums")  # fields write_model sets itself: written by hand
    bad = rewrite(path, tmp_path / "bad.npz", edit_meta=lambda m: m.__setitem__(field, value), raw=raw)
    with pytest.raises(ModelFileError, match=match):
        Item2Vec.load(bad)


@pytest.mark.parametrize("stored, expected", [
    ("1800.0", 1800.0),  # how version-1 files of item2vec <= 0.x wrote a number
    ("0 days 00:30:00", pd.Timedelta(minutes=30)),
    (None, None),
])
def test_files_in_the_previous_layout_still_load(tmp_path, stored, expected):
    # the layout written by the previous save(): session_gap as str(value), random_state an int
    path = tiny_model().save(tmp_path / "m.npz")
    old = rewrite(path, tmp_path / "old.npz", edit_params=lambda p: p.update(session_gap=stored, random_state=7))
    loaded = Item2Vec.load(old)
    assert loaded.session_gap == expected and type(loaded.session_gap) is type(expected)
    assert loaded.random_state == 7


@pytest.mark.parametrize("gap", [1800, 1800.5, pd.Timedelta(minutes=30), "30min"])
def test_session_gap_round_trips_typed(tmp_path, gap):
    loaded = Item2Vec.load(tiny_model(session_gap=gap).save(tmp_path / "m.npz"))
    if isinstance(gap, (int, float)):
        assert loaded.session_gap == float(gap) and isinstance(loaded.session_gap, float)
    else:
        assert loaded.session_gap == pd.Timedelta(gap)
    _, meta = read_model(tmp_path / "m.npz")
    assert isinstance(meta["params"]["session_gap"], float if isinstance(gap, (int, float)) else str)


@pytest.fixture()
def umask():
    old = os.umask(0o022)
    yield lambda m: os.umask(m)
    os.umask(old)


def test_save_honours_the_umask_and_keeps_an_existing_mode(tmp_path, umask):
    model = tiny_model()
    umask(0o022)
    path = model.save(tmp_path / "a.npz")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    umask(0o077)
    assert stat.S_IMODE(os.stat(model.save(tmp_path / "b.npz")).st_mode) == 0o600
    existing = tmp_path / "c.npz"
    existing.write_bytes(b"old")
    existing.chmod(0o644)
    model.save(existing)  # replacing keeps the file's mode, as writing into it would
    assert stat.S_IMODE(os.stat(existing).st_mode) == 0o644
    assert Item2Vec.load(existing).vocab_.ids.tolist() == [10, 20, 30]


def test_next_save_removes_leftovers_of_killed_saves(tmp_path):
    from item2vec.model_io import stale_temp_files

    target = tmp_path / "m.npz"
    dead = tmp_path / ".m.npz.999999999.abc123.tmp"  # pid above any pid_max: that process is gone
    old_legacy = tmp_path / ".m.npz.k2j4h5g6.tmp"  # previous naming (no pid), untouched for a day
    fresh_legacy = tmp_path / ".m.npz.zz99yy88.tmp"  # could be a save in progress: kept
    mine = tmp_path / f".m.npz.{os.getpid()}.q1w2e3.tmp"  # this process: kept
    other_model = tmp_path / ".other.npz.999999999.abc123.tmp"
    for p in (dead, old_legacy, fresh_legacy, mine, other_model):
        p.write_bytes(b"x" * 100)
    os.utime(old_legacy, (0, 0))
    assert set(stale_temp_files(target)) == {dead, old_legacy}
    tiny_model().save(target)
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {"m.npz", fresh_legacy.name, mine.name, other_model.name}


def test_a_model_that_trained_on_nothing_is_not_saved(tmp_path):
    with pytest.warns(RuntimeWarning, match="sample=0"):
        m = Item2Vec(vector_size=4, epochs=1, sample=1e-4, random_state=0, verbose=False).fit([[1, 1, 1], [1, 1]])
    assert m.n_pairs_ == 0
    with pytest.raises(ValueError, match="0 .*pairs.*sample=0"):
        m.save(tmp_path / "m.npz")
    assert not list(tmp_path.iterdir())


def test_from_vectors_validates_parameters_and_values():
    W = np.ones((2, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="history_length must be"):
        Item2Vec.from_vectors([1, 2], W, W, history_length="abc")
    with pytest.raises(ValueError, match="scoring must be"):
        Item2Vec.from_vectors([1, 2], W, W, scoring="dot")
    bad = W.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="item_vectors must hold finite numbers"):
        Item2Vec.from_vectors([1, 2], bad, W)
    with pytest.raises(ValueError, match="context_vectors must hold finite numbers"):
        Item2Vec.from_vectors([1, 2], W, bad)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 2**70) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.dictionaries(st.sampled_from(sorted(Item2Vec().get_params())), json_values, min_size=1, max_size=3))
def test_any_edited_parameter_loads_validly_or_is_a_model_file_error(tmp_path, edits):
    path = tmp_path / "m.npz"
    if not path.exists():
        tiny_model().save(path)
    bad = rewrite(path, tmp_path / "edited.npz", edit_params=lambda p: p.update(edits))
    try:
        model = Item2Vec.load(bad)
    except ModelFileError as e:
        assert "edited.npz" in str(e) and "params." in str(e)
        return
    ids, scores = model.recommend([10, 20], k=2)  # what loads, works
    assert set(ids.tolist()) <= {10, 20, 30, -1}


def test_stored_group_strategy_loads_without_item_groups_and_fit_asks_for_them(tmp_path):
    from item2vec.model_io import decode_params

    # item_groups is data, never stored: the parameter rules accept "group" without it (no placeholder needed) ...
    assert decode_params({"hard_negatives": "group", "window": 3}, ["hard_negatives", "window", "item_groups"]) == {
        "hard_negatives": "group", "window": 3}
    path = tiny_model(hard_negatives="group").save(tmp_path / "g.npz")
    loaded = Item2Vec.load(path)
    assert loaded.hard_negatives == "group" and loaded.item_groups is None
    # ... and fit, which has the data, names what is missing
    with pytest.raises(ValueError, match=r"hard_negatives='group' needs item_groups \(a mapping item -> group"):
        loaded.set_params(epochs=1).fit([[10, 20, 30]] * 4)
