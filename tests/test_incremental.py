"""Item2Vec.partial_fit (item2vec/incremental.py) and ``item2vec train --init``."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from item2vec import Item2Vec
from item2vec import training
from item2vec.hard_negatives import GroupNegatives
from item2vec.incremental import update_corpus, update_seeds
from item2vec.recommender import NotFittedError

PARAMS = dict(vector_size=16, window=3, epochs=8, sample=0, n_threads=1, random_state=3, verbose=False)


def cluster_sequences(clusters, n, seed, length=8):
    """Sequences drawn inside one planted cluster each; cluster ``c`` holds items ``10c .. 10c+9``."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        c = clusters[rng.integers(len(clusters))]
        out.append(rng.choice(np.arange(10 * c, 10 * c + 10), length).tolist())
    return out


@pytest.fixture(scope="module")
def old_data():
    return cluster_sequences([0, 1, 2], 300, seed=0)


@pytest.fixture(scope="module")
def new_data():
    # cluster 3 is new; its items co-occur with cluster 0's in mixed sequences
    rng = np.random.default_rng(1)
    mixed = [rng.permutation(rng.choice(np.arange(0, 10), 4).tolist() + rng.choice(np.arange(30, 40), 4).tolist()).tolist()
             for _ in range(150)]
    return mixed + cluster_sequences([1], 50, seed=2)


@pytest.fixture(scope="module")
def fitted(old_data):
    return Item2Vec(**PARAMS).fit(old_data)


def clone(model, **params):
    """A copy of a fitted model (own arrays), with ``params`` changed."""
    m = Item2Vec.__new__(Item2Vec)
    m.__dict__.update({k: (v.copy() if isinstance(v, (np.ndarray, list)) else v) for k, v in vars(model).items()})
    return m.set_params(**params)


def updated(model, data, **kw):
    return clone(model).partial_fit(data, **kw)


def test_existing_codes_unchanged_and_new_items_appended(fitted, new_data):
    m = updated(fitted, new_data)
    n_old = len(fitted.vocab_)
    assert np.array_equal(m.item_ids_[:n_old], fitted.item_ids_)
    assert sorted(m.item_ids_[n_old:].tolist()) == list(range(30, 40))
    assert m.item_vectors_.shape == (n_old + 10, 16) and m.context_vectors_.shape == m.item_vectors_.shape
    assert m.n_updates_ == 1 and len(m.loss_history_) == 2 * PARAMS["epochs"]
    assert m.n_tokens_ == fitted.n_tokens_ + sum(map(len, new_data))


def test_new_items_land_next_to_their_cooccurring_items(fitted, new_data):
    m = updated(fitted, new_data)
    cluster = {i: i // 10 for i in m.item_ids_.tolist()}
    ids, _ = m.similar_items(list(range(30, 40)), k=5)
    # neighbours are the new cluster itself or cluster 0 (its co-occurring items), never 1 or 2
    assert all(cluster[int(i)] in (0, 3) for i in ids.ravel())
    W = m.item_vectors_ / np.linalg.norm(m.item_vectors_, axis=1, keepdims=True)
    enc = m.vocab_.encode
    to0 = (W[enc(range(30, 40))] @ W[enc(range(0, 10))].T).mean()
    to2 = (W[enc(range(30, 40))] @ W[enc(range(20, 30))].T).mean()
    assert to0 > to2 + 0.3


def test_training_continues_from_the_fitted_vectors(fitted, new_data):
    before = fitted.item_vectors_.copy()
    m = updated(fitted, new_data)
    assert np.array_equal(fitted.item_vectors_, before)  # the model updated was a copy; its vectors were copied
    old_rows = fitted.vocab_.encode(list(range(10)))
    assert not np.array_equal(m.item_vectors_[old_rows], before[old_rows])  # trained on
    # a warm start, not a restart: cluster 2 (absent from the update) keeps its neighbours
    ids, _ = m.similar_items(list(range(20, 30)), k=5)
    assert all(20 <= int(i) < 30 for i in ids.ravel())
    rows2 = fitted.vocab_.encode(list(range(20, 30)))
    cos = (normalize(m.item_vectors_[rows2]) * normalize(before[rows2])).sum(axis=1)
    assert cos.min() > 0.5


def test_consolidation_keeps_items_absent_from_the_update(fitted, new_data):
    absent = fitted.vocab_.encode(list(range(20, 30)))  # cluster 2 is not in the update
    plain, blended = updated(fitted, new_data, blend=0.0), updated(fitted, new_data)
    # plain continued training pushes their context vectors around (as negatives); consolidation undoes it
    assert not np.array_equal(plain.context_vectors_[absent], fitted.context_vectors_[absent])
    assert np.array_equal(blended.context_vectors_[absent], fitted.context_vectors_[absent])
    assert np.array_equal(blended.item_vectors_[absent], fitted.item_vectors_[absent])
    n_old = len(fitted.vocab_)
    assert np.array_equal(blended.item_vectors_[n_old:], plain.item_vectors_[n_old:])  # new rows: as trained
    # an item in the update ends between its old and its trained row, at share ** 0.5 of the way
    j = int(fitted.vocab_.encode([0])[0])
    share = 1 - fitted.vocab_.counts[j] / blended.vocab_.counts[j]
    expected = fitted.item_vectors_[j] + np.float32(share ** 0.5) * (plain.item_vectors_[j] - fitted.item_vectors_[j])
    np.testing.assert_allclose(blended.item_vectors_[j], expected, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="blend must be a real >= 0"):
        updated(fitted, new_data, blend=-1)


def normalize(X):
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def test_counts_and_noise_table_come_from_old_plus_new(fitted, new_data, monkeypatch):
    seen = []
    real = training.noise_distribution
    monkeypatch.setattr(training, "noise_distribution", lambda counts, e: seen.append(counts.copy()) or real(counts, e))
    m = updated(fitted, new_data)
    new_counts = pd.Series([i for s in new_data for i in s]).value_counts()
    expected = fitted.vocab_.counts + new_counts.reindex(fitted.item_ids_, fill_value=0).to_numpy()
    assert np.array_equal(m.vocab_.counts[: len(fitted.vocab_)], expected)
    assert np.array_equal(m.vocab_.counts[len(fitted.vocab_):], new_counts.reindex(m.item_ids_[len(fitted.vocab_):]).to_numpy())
    assert len(seen) == 1 and np.array_equal(seen[0], m.vocab_.counts)


def test_new_items_need_min_count_events_and_short_sequences_are_dropped(old_data):
    model = Item2Vec(**{**PARAMS, "min_count": 2}).fit(old_data)
    seqs = update_corpus(model, [[0, 1, 500], [500, 2, 501], [502, 3]])  # 501 and 502 are seen once
    assert seqs.vocab.ids[len(model.vocab_):].tolist() == [500]
    assert [seqs.raw(s).tolist() for s in range(len(seqs))] == [[0, 1, 500], [500, 2]]  # [3] < min_length


def test_an_update_with_nothing_usable_warns_and_changes_nothing(old_data):
    model = Item2Vec(**{**PARAMS, "min_count": 2}).fit(old_data)
    before = model.item_vectors_.copy()
    for data in ([], [[777]], [[777, 778]], pd.DataFrame({"user": [], "item": []})):
        with pytest.warns(RuntimeWarning, match="unchanged"):
            assert model.partial_fit(data) is model
        assert np.array_equal(model.item_vectors_, before) and len(model.vocab_) == 30 and model.n_updates_ == 0


def test_same_seed_is_bit_identical_and_each_update_has_its_own_seed(fitted, new_data):
    a, b = updated(fitted, new_data), updated(fitted, new_data)
    assert np.array_equal(a.item_vectors_, b.item_vectors_) and np.array_equal(a.context_vectors_, b.context_vectors_)
    c = clone(fitted, random_state=4).partial_fit(new_data)
    assert not np.array_equal(a.item_vectors_, c.item_vectors_)
    assert update_seeds(3, 1) != update_seeds(3, 2)
    assert updated(a, new_data).n_updates_ == 2


def test_fit_after_partial_fit_starts_over(fitted, new_data, old_data):
    m = updated(fitted, new_data).fit(old_data)
    assert m.n_updates_ == 0 and np.array_equal(m.item_vectors_, fitted.item_vectors_)


def test_save_load_then_partial_fit_equals_partial_fit_in_memory(fitted, new_data, tmp_path):
    loaded = Item2Vec.load(fitted.save(tmp_path / "m.npz"))
    a, b = updated(fitted, new_data), loaded.partial_fit(new_data)
    assert np.array_equal(a.item_vectors_, b.item_vectors_) and np.array_equal(a.vocab_.counts, b.vocab_.counts)
    again = Item2Vec.load(b.save(tmp_path / "m2.npz"))
    assert again.n_updates_ == 1 and np.array_equal(again.item_ids_, a.item_ids_)


def test_string_ids_dataframes_and_kind_mismatch(old_data):
    df = pd.DataFrame({"user": np.repeat(np.arange(100), 4), "item": [f"i{x}" for s in old_data[:100] for x in s[:4]],
                       "timestamp": np.tile(np.arange(4), 100)})
    model = Item2Vec(**PARAMS).fit(df)
    known = model.item_ids_[:3].tolist()
    upd = pd.DataFrame({"user": [1, 1, 1, 2, 2], "item": [known[0], "new", known[1], "new", known[2]],
                        "timestamp": [0, 1, 2, 0, 1]})
    model.partial_fit(upd)
    assert model.item_ids_[-1] == "new" and model.item_ids_[:3].tolist() == known
    with pytest.raises(TypeError, match="int item ids but the model's items are str"):
        model.partial_fit([[1, 2, 3]])


def test_errors_before_fit_and_for_bad_arguments(fitted):
    with pytest.raises(NotFittedError):
        Item2Vec(**PARAMS).partial_fit([[1, 2]])
    with pytest.raises(ValueError, match="epochs"):
        updated(fitted, [[0, 1]], epochs=0)
    with pytest.raises(ValueError, match="alpha"):
        updated(fitted, [[0, 1]], alpha=-1.0)
    m = updated(fitted, [[0, 1]])
    with pytest.raises(ValueError, match="vector_size must equal"):
        m.set_params(vector_size=8).partial_fit([[0, 1]])


def test_group_hard_negatives_need_groups_for_the_new_items(fitted, new_data, tmp_path):
    groups = {i: i // 10 for i in range(40)}
    m = clone(fitted, hard_negatives=GroupNegatives(groups, ratio=0.2)).partial_fit(new_data)
    assert len(m.vocab_) == 40
    with pytest.raises(KeyError, match="not in the training vocabulary"):  # groups name items the update lacks (as in fit)
        clone(fitted, hard_negatives=GroupNegatives({**groups, 99: 0}, ratio=0.2)).partial_fit(new_data)
    loaded = Item2Vec.load(m.save(tmp_path / "g.npz"))  # the groups are not stored
    with pytest.raises(ValueError, match="no groups"):
        loaded.partial_fit(new_data)


def test_epochs_and_callbacks(fitted, new_data):
    calls = []
    m = clone(fitted, callbacks=[lambda model, e, loss: calls.append((e, len(model.vocab_)))]).partial_fit(new_data, epochs=3)
    assert calls == [(0, 40), (1, 40), (2, 40)] and len(m.loss_history_) == PARAMS["epochs"] + 3
    assert len(m.vocab_) == 40


def test_cli_train_init_round_trip(tmp_path, old_data, new_data):
    from item2vec.cli import main

    def write(seqs, name):
        path = tmp_path / name
        path.write_text("".join(f"{u} {' '.join(map(str, s))}\n" for u, s in enumerate(seqs, 1)))
        return str(path)

    base, out = tmp_path / "base.npz", tmp_path / "updated.npz"
    opts = ["--quiet", "--threads", "1", "--set", "vector_size=16", "epochs=4", "sample=0"]
    assert main(["train", "--data", write(old_data, "old.txt"), "--output", str(base), *opts]) == 0
    assert main(["train", "--data", write(new_data, "new.txt"), "--init", str(base), "--output", str(out), *opts]) == 0
    before, after = Item2Vec.load(base), Item2Vec.load(out)
    assert np.array_equal(after.item_ids_[: len(before.vocab_)], before.item_ids_)
    assert sorted(after.item_ids_[len(before.vocab_):].tolist()) == list(range(30, 40)) and after.n_updates_ == 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["train", "--data", write(new_data, "n2.txt"), "--init", str(tmp_path / "nope.npz"),
                     "--output", str(out)]) == 2
        assert main(["train", "--data", write(new_data, "n3.txt"), "--init", str(base), "--dry-run"]) == 2


def test_mined_hard_negatives_mine_from_the_current_vectors(fitted, new_data):
    from item2vec.hard_negatives import MinedNegatives

    m = clone(fitted, hard_negatives=MinedNegatives(k=5, every=2, start=0)).partial_fit(new_data, epochs=3)
    assert len(m.vocab_) == 40 and m.mining_seconds_ > 0
    assert np.isfinite(m.item_vectors_).all()


def test_negative_replay_keeps_sparse_new_items_from_flooding_the_top_k(fitted):
    # a session-like update: short sequences of one old item and two (of 40) new items, few events each
    rng = np.random.default_rng(5)
    sparse = [[int(rng.integers(30)), 100 + int(rng.integers(40)), 100 + int(rng.integers(40))] for _ in range(60)]

    def new_share(replay):
        recs, _ = updated(fitted, sparse, replay=replay).recommend([[i] for i in range(30)], k=5)
        return float((recs >= 100).mean())

    assert new_share("off") > 0.5  # without replay the new items' inflated scores take the lists
    assert new_share("new") < 0.1
    assert new_share("all") < 0.1
    with pytest.raises(ValueError, match="replay must be"):
        updated(fitted, sparse, replay=1)


def test_update_weights_reach_the_kernel(old_data, new_data, tmp_path):
    base = Item2Vec(**PARAMS).fit(old_data)
    plain = Item2Vec(**PARAMS).fit(old_data).partial_fit(new_data, epochs=2)
    ones = Item2Vec(**PARAMS).fit(old_data).partial_fit(new_data, epochs=2, weights=[[1.0] * len(s) for s in new_data])
    np.testing.assert_array_equal(ones.item_vectors_, plain.item_vectors_)  # all-ones weights = unweighted
    # weight 0 on every update event: no pair trains, so no known item's input vector moves
    zeros = Item2Vec(**PARAMS).fit(old_data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "trained no pairs"
        zeros.partial_fit(new_data, epochs=2, weights=[[0.0] * len(s) for s in new_data])
    n_old = len(base.vocab_)
    np.testing.assert_array_equal(zeros.item_vectors_[:n_old], base.item_vectors_)
    assert not np.array_equal(plain.item_vectors_[:n_old], base.item_vectors_)
    with pytest.raises(ValueError, match="weights"):
        Item2Vec(**PARAMS).fit(old_data).partial_fit(new_data, weights=[[1.0]])


def test_update_from_a_prepared_folder_is_refused_naming_it(old_data, tmp_path):
    from item2vec.prepared_io import write_prepared
    from item2vec.sequences import build_sequences

    folder = tmp_path / "prepared"
    write_prepared(build_sequences(old_data), folder)
    model = Item2Vec(**PARAMS).fit(old_data)
    with pytest.raises(ValueError, match="prepared folder"):
        model.partial_fit(str(folder))
