"""Hard negatives: group and mined samplers, the kernel's mixing, and bad input."""

from __future__ import annotations

import numba
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from item2vec import GroupNegatives, Item2Vec, MinedNegatives, Vocabulary, build_sequences
from item2vec._kernels import draw_negative_samples, no_hard_negatives
from item2vec.hard_negatives import (cooccurrence_counts, group_candidates, item_sequence_index, mine_neighbors,
                                     mined_candidates, mining_pool)
from item2vec.sampling import alias_table, noise_distribution, pack_alias

FAST = dict(vector_size=16, epochs=3, n_threads=1, random_state=0, verbose=False)


@pytest.fixture()
def vocab():
    return Vocabulary(np.arange(10), np.array([100, 80, 60, 40, 30, 20, 10, 5, 2, 1]))


def test_group_draws_stay_in_group_weighted_by_popularity(vocab):
    groups = {i: ("even" if i % 2 == 0 else "odd") for i in range(10)}
    hard = group_candidates(vocab, groups, ns_exponent=0.75, ratio=1.0)
    prob, alias = alias_table(noise_distribution(vocab.counts, 0.75))
    c, o, n = 9, 2, 200_000
    items, is_hard = draw_negative_samples(c, o, pack_alias(prob, alias), hard, n, 7)
    assert is_hard.all()
    drawn = items[items >= 0]
    assert set(drawn.tolist()) <= {0, 4, 6, 8}  # even group, minus the positive 2
    members = np.array([0, 2, 4, 6, 8])
    w = vocab.counts[members] ** 0.75
    expected = w / w.sum() * n
    observed = np.array([(items == m).sum() for m in members])
    observed[1] = (items == -1).sum()  # draws of the positive itself are skipped
    assert stats.chisquare(observed, expected).pvalue > 1e-4


def test_hard_ratio_sets_the_share_of_hard_draws(vocab):
    groups = {i: ["a", "b"] if i < 5 else ["b"] for i in range(10)}
    hard = group_candidates(vocab, groups, ns_exponent=0.0, ratio=0.3)
    prob, alias = alias_table(noise_distribution(vocab.counts, 0.75))
    _, is_hard = draw_negative_samples(0, 1, pack_alias(prob, alias), hard, 100_000, 3)
    assert abs(is_hard.mean() - 0.3) < 0.01


@pytest.mark.parametrize("ratio", [0.1, 0.5])
def test_noise_part_of_a_mixed_draw_keeps_the_noise_distribution(vocab, ratio):
    # Regression: the hard/noise coin once shared its random bits with the alias
    # accept test, which skewed the remaining noise draws towards popular items
    # (a "hard" group holding every item at the noise exponent then wrecked recall).
    p = noise_distribution(vocab.counts, 0.75)
    prob, alias = alias_table(p)
    hard = group_candidates(vocab, {i: "all" for i in range(10)}, ns_exponent=0.75, ratio=ratio)
    o, n = 9, 400_000
    items, is_hard = draw_negative_samples(8, o, pack_alias(prob, alias), hard, n, 11)
    noise = items[~is_hard]
    observed = np.bincount(np.where(noise < 0, o, noise), minlength=10)  # a skipped draw was the positive
    assert stats.chisquare(observed, p * noise.size).pvalue > 1e-4
    # and since the group is the noise distribution, the most popular item's share of all draws is p[0]
    assert abs((items == 0).mean() - p[0]) < 0.005


def test_mined_candidates_exclude_cooccurring_items():
    # item 1 is the nearest neighbour of item 0 but they co-occur in training sequences
    vectors = np.array([[1, 0], [0.99, 0.1], [0.95, 0.3], [0, 1], [-1, 0]], dtype=np.float32)
    seqs = build_sequences([[0, 1], [0, 1, 3], [2, 4], [3, 4]])
    order = seqs.vocab.encode([0, 1, 2, 3, 4])
    V = np.empty_like(vectors)
    V[order] = vectors
    nn = mine_neighbors(V, 2)
    assert set(nn[order[0]].tolist()) == {order[1], order[2]}
    hard = mined_candidates(V, item_sequence_index(seqs), k=2, threshold=0, ratio=0.5)
    lo, hi = hard.group_ptr[order[0]], hard.group_ptr[order[0] + 1]
    assert hard.members[lo:hi].tolist() == [order[2]]  # 1 removed by the co-occurrence guard
    relaxed = mined_candidates(V, item_sequence_index(seqs), k=2, threshold=5, ratio=0.5)
    lo, hi = relaxed.group_ptr[order[0]], relaxed.group_ptr[order[0] + 1]
    assert sorted(relaxed.members[lo:hi].tolist()) == sorted([order[1], order[2]])


def test_mined_neighbours_match_brute_force_within_the_pool():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((300, 8)).astype(np.float32)
    counts = rng.integers(1, 1000, size=300)
    pool = mining_pool(counts, 50)
    assert sorted(pool.tolist()) == sorted(np.argsort(-counts, kind="stable")[:50].tolist())
    assert mining_pool(counts, None).size == 300 and mining_pool(counts, 10_000).size == 300
    U = X / np.linalg.norm(X, axis=1, keepdims=True)
    for cand, k in ((None, 7), (pool, 7)):
        got = mine_neighbors(X, k, cand, block=64)  # several blocks
        cols = np.arange(300) if cand is None else np.asarray(cand)
        S = U @ U[cols].T
        S[cols[None, :] == np.arange(300)[:, None]] = -np.inf  # never the item itself
        want = cols[np.argsort(-S, axis=1, kind="stable")[:, :k]]
        assert np.array_equal(got, want)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs two numba threads (NUMBA_NUM_THREADS >= 2)")
def test_mining_does_not_depend_on_the_thread_count():
    rng = np.random.default_rng(9)
    X = rng.standard_normal((1000, 16)).astype(np.float32)
    pool = mining_pool(rng.integers(1, 100, size=1000), 300)
    previous = numba.get_num_threads()
    try:
        results = []
        for threads in (1, 2):
            numba.set_num_threads(threads)
            results.append(mine_neighbors(X, 10, pool))
    finally:
        numba.set_num_threads(previous)
    assert np.array_equal(results[0], results[1])


def test_cooccurrence_counts_match_brute_force():
    rng = np.random.default_rng(2)
    # skewed lengths exercise both paths (binary search of a short list in a long one, and merge)
    raw = [list(rng.integers(40, size=rng.integers(2, 12))) + [100] + ([101] if s % 3 else [200 + s])
           for s in range(300)]
    seqs = build_sequences(raw)
    cand = rng.integers(-1, len(seqs.vocab), size=(len(seqs.vocab), 6)).astype(np.int32)
    got = cooccurrence_counts(item_sequence_index(seqs), cand)
    sets = [set(seqs.items[seqs.offsets[s]:seqs.offsets[s + 1]].tolist()) for s in range(len(seqs))]
    for i in range(len(seqs.vocab)):
        for m, j in enumerate(cand[i]):
            want = 0 if j < 0 else sum(1 for t in sets if i in t and j in t)
            assert got[i, m] == want


def test_mine_pool_restricts_mined_negatives_to_frequent_items():
    seqs, _ = seqs_with_groups()
    seen = []
    kw = dict(FAST, hard_negatives=MinedNegatives(ratio=0.5, pool=12, k=5), callbacks=[lambda m, e, l: seen.append(e)])
    model = Item2Vec(**kw).fit(seqs)
    built = build_sequences(seqs)
    pool = set(mining_pool(built.vocab.counts, 12).tolist())
    hard = mined_candidates(model.item_vectors_, item_sequence_index(built), 5, 0, 0.5, mining_pool(built.vocab.counts, 12))
    assert set(hard.members.tolist()) <= pool and len(seen) == FAST["epochs"] * (2 if model.window_scores_ else 1)
    with pytest.raises(ValueError, match="MinedNegatives pool must be None or an integer >= 1, got pool=0"):
        MinedNegatives(pool=0)


def seqs_with_groups():
    rng = np.random.default_rng(0)
    seqs = [list(c * 10 + rng.integers(10, size=8)) for c in rng.integers(6, size=400)]
    groups = {i: f"g{(i // 10) % 3}" for i in range(60)}
    return seqs, groups


def test_disabled_hard_negatives_reproduce_plain_training_exactly():
    seqs, groups = seqs_with_groups()
    plain = Item2Vec(**FAST).fit(seqs)
    zero_ratio = Item2Vec(**FAST, hard_negatives=GroupNegatives(groups, ratio=0.0)).fit(seqs)
    late_start = Item2Vec(**FAST, hard_negatives=MinedNegatives(start=99)).fit(seqs)
    for m in (zero_ratio, late_start):
        assert np.array_equal(plain.item_vectors_, m.item_vectors_)
        assert np.array_equal(plain.context_vectors_, m.context_vectors_)
    assert no_hard_negatives().ratio == 0.0


@pytest.mark.parametrize("strategy", ["group", "mined"])
def test_hard_negatives_train_deterministically(strategy):
    seqs, groups = seqs_with_groups()
    hard = GroupNegatives(groups, ratio=0.5) if strategy == "group" else MinedNegatives(ratio=0.5)
    kw = dict(FAST, hard_negatives=hard)
    a, b = Item2Vec(**kw).fit(seqs), Item2Vec(**kw).fit(seqs)
    plain = Item2Vec(**FAST).fit(seqs)
    assert np.array_equal(a.item_vectors_, b.item_vectors_)
    assert not np.array_equal(a.item_vectors_, plain.item_vectors_)
    assert a.mining_seconds_ > 0.0


def test_group_hard_negatives_separate_confusable_clusters():
    """Clusters 2k and 2k+1 share a group and are never co-consumed: hard negatives push them apart."""
    rng = np.random.default_rng(1)
    n_clusters, per = 8, 15
    seqs = [list(c * per + rng.integers(per, size=10)) for c in rng.integers(n_clusters, size=1500)]
    groups = {i: f"g{(i // per) // 2}" for i in range(n_clusters * per)}
    cl = np.arange(n_clusters * per) // per
    twin = cl ^ 1

    def twin_similarity(m):
        U = m.item_vectors_ / np.linalg.norm(m.item_vectors_, axis=1, keepdims=True)
        idx = m.vocab_.encode(np.arange(n_clusters * per))
        U = U[idx]
        S = U @ U.T
        return S[twin[:, None] == cl[None, :]].mean()

    kw = dict(vector_size=16, window=20, epochs=6, n_threads=1, random_state=0, verbose=False, sample=0, negative=3)
    plain = Item2Vec(**kw).fit(seqs)
    hard = Item2Vec(**kw, hard_negatives=GroupNegatives(groups, ratio=0.5)).fit(seqs)
    assert twin_similarity(hard) < twin_similarity(plain) - 0.05, (twin_similarity(hard), twin_similarity(plain))


def test_bad_hard_negative_inputs(vocab):
    seqs, groups = seqs_with_groups()
    with pytest.raises(KeyError, match="not in the training vocabulary: 999"):
        Item2Vec(**FAST, hard_negatives=GroupNegatives({**groups, 999: "g0"})).fit(seqs)
    # a whole-catalogue mapping: unknown items dropped on request, same vectors as the filtered mapping
    lenient = Item2Vec(**FAST, hard_negatives=GroupNegatives({**groups, 999: "g0"}, on_unknown="ignore"))
    strict = Item2Vec(**FAST, hard_negatives=GroupNegatives(groups))
    assert np.array_equal(lenient.fit(seqs).item_vectors_, strict.fit(seqs).item_vectors_)
    with pytest.raises(ValueError, match="none of the 1 item"):
        Item2Vec(**FAST, hard_negatives=GroupNegatives({999: "g0"}, on_unknown="ignore")).fit(seqs)
    with pytest.raises(ValueError, match="GroupNegatives on_unknown must be one of 'raise', 'ignore'"):
        GroupNegatives(groups, on_unknown="skip")
    with pytest.raises(ValueError, match="empty or missing group"):
        group_candidates(vocab, {0: "a", 1: None}, 0.75, 0.2)
    with pytest.raises(ValueError, match="empty or missing group"):
        group_candidates(vocab, {0: "a", 1: ""}, 0.75, 0.2)
    with pytest.raises(ValueError, match="no item belongs"):
        group_candidates(vocab, {0: [], 1: []}, 0.75, 0.2)
    with pytest.raises(ValueError, match=r"MinedNegatives ratio must be a real number in \[0, 1\], got ratio=-0.1"):
        MinedNegatives(ratio=-0.1)
    with pytest.raises(ValueError, match="needs item_groups"):
        Item2Vec(**FAST, hard_negatives="group").fit(seqs)
    with pytest.raises(ValueError, match="hard_negatives must be"):
        Item2Vec(**FAST, hard_negatives="random").fit(seqs)
    frame = pd.DataFrame({"item": [0, 0, 1], "group": ["a", "b", "a"]})
    hard = group_candidates(vocab, frame, 0.75, 0.2)
    assert hard.item_ptr[1] - hard.item_ptr[0] == 2  # item 0 in two groups


# ---------------------------------------------------------------------- strategy objects and the string forms
def test_mined_string_is_the_default_mined_strategy_without_warning(recwarn):
    seqs, _ = seqs_with_groups()
    a = Item2Vec(**FAST, hard_negatives="mined").fit(seqs)
    b = Item2Vec(**FAST, hard_negatives=MinedNegatives()).fit(seqs)
    assert np.array_equal(a.item_vectors_, b.item_vectors_)
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]


def test_deprecated_parameters_still_configure_the_string_forms():
    seqs, groups = seqs_with_groups()
    with pytest.warns(DeprecationWarning, match=r"parameter\(s\) hard_negative_ratio are deprecated"):
        old = Item2Vec(**FAST, hard_negatives="group", item_groups=groups, hard_negative_ratio=0.5).fit(seqs)
    new = Item2Vec(**FAST, hard_negatives=GroupNegatives(groups, ratio=0.5)).fit(seqs)
    assert np.array_equal(old.item_vectors_, new.item_vectors_)
    with pytest.warns(DeprecationWarning, match="mine_k"):
        old = Item2Vec(**FAST, hard_negatives="mined", mine_k=3, mine_every=1).fit(seqs)
    new = Item2Vec(**FAST, hard_negatives=MinedNegatives(k=3, every=1)).fit(seqs)
    assert np.array_equal(old.item_vectors_, new.item_vectors_)
    with pytest.raises(ValueError, match=r"mine_k=3 configures the string form.*MinedNegatives\(k=...\)"):
        Item2Vec(**FAST, hard_negatives=MinedNegatives(), mine_k=3).fit(seqs)


@pytest.mark.parametrize("bad, match", [
    (dict(k=0), "MinedNegatives k must be an integer >= 1, got k=0"),
    (dict(every=1.5), "MinedNegatives every must be an integer >= 1"),
    (dict(cooccurrence_threshold=-1), "MinedNegatives cooccurrence_threshold must be an integer >= 0"),
    (dict(start=True), "MinedNegatives start must be an integer >= 0"),
    (dict(ratio="0.2"), "MinedNegatives ratio must be a real number"),
])  # fmt: skip
def test_strategy_fields_are_validated_on_construction(bad, match):
    with pytest.raises(ValueError, match=match):
        MinedNegatives(**bad)


def test_strategies_survive_save_and_load(tmp_path):
    seqs, groups = seqs_with_groups()
    mined = Item2Vec(**FAST, hard_negatives=MinedNegatives(k=4, every=2, pool=None, ratio=0.3)).fit(seqs)
    loaded = Item2Vec.load(mined.save(tmp_path / "mined"))
    assert loaded.hard_negatives == MinedNegatives(k=4, every=2, pool=None, ratio=0.3)
    grouped = Item2Vec(**FAST, hard_negatives=GroupNegatives(groups, ratio=0.3, on_unknown="ignore")).fit(seqs)
    loaded = Item2Vec.load(grouped.save(tmp_path / "group"))
    g = loaded.hard_negatives
    assert isinstance(g, GroupNegatives) and g.groups is None and (g.ratio, g.on_unknown) == (0.3, "ignore")
    with pytest.raises(ValueError, match="saved models do not store them"):
        loaded.fit(seqs)


def test_hard_negatives_module_does_not_import_the_model():
    import ast
    import inspect

    import item2vec.hard_negatives as hn

    tree = ast.parse(inspect.getsource(hn))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m and m.split(".")[-1] in ("model", "training")}, imported


def test_legacy_defaults_and_repr_share_one_default_rule():
    from item2vec.hard_negatives import as_strategy
    from item2vec.params import is_default

    assert is_default(20, 20) and is_default(None, None) and not is_default(20.0, 20) and not is_default(1, True)
    strategy = MinedNegatives()
    assert as_strategy(strategy, {"mine_k": 20, "item_groups": None}) is strategy  # the defaults: no change
    with pytest.raises(ValueError, match="mine_k=20.0 configures the string form"):
        as_strategy(strategy, {"mine_k": 20.0})  # equal but of another type: a change, as in repr
    assert "mine_k=20.0" in repr(Item2Vec(mine_k=20.0)) and "mine_k" not in repr(Item2Vec(mine_k=20))
