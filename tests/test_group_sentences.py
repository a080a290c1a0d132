"""Item groups as training sentences (``Item2Vec(group_sentences=n)``): corpus, wiring, planted structure, errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from item2vec import GroupNegatives, Item2Vec, Vocabulary, build_sequences
from item2vec.group_sentences import SENTENCE_LENGTH, group_corpus, with_group_sentences
from item2vec.sequences import Sequences

FAST = dict(vector_size=16, epochs=3, n_threads=1, random_state=0, verbose=False, sample=0)


def _seqs(ids_per_seq: list[list[int]], weights: bool = False) -> Sequences:
    items = np.concatenate([np.asarray(s) for s in ids_per_seq]).astype(np.int32)
    offsets = np.concatenate([[0], np.cumsum([len(s) for s in ids_per_seq])]).astype(np.int64)
    vocab = Vocabulary(np.arange(items.max() + 1), np.bincount(items))
    w = np.full(items.size, 2.0, np.float32) if weights else None
    return Sequences(items, offsets, vocab, np.arange(len(ids_per_seq)), w)


def _sentences(items: np.ndarray, offsets: np.ndarray) -> list[np.ndarray]:
    return [items[offsets[s]:offsets[s + 1]] for s in range(offsets.size - 1)]


def test_every_group_gives_shuffled_pieces_of_its_members_once_per_copy():
    seqs = _seqs([[0, 1, 2], [3, 4, 5, 6]] + [list(range(7, 100))])
    groups = {i: ["big"] for i in range(7, 100)}  # 93 members: three pieces of 31
    groups.update({0: ["pair", "solo"], 3: "pair", 5: ["solo2"]})  # one-member groups add nothing
    items, offsets = group_corpus(seqs, groups, copies=2, seed=0)
    pieces = _sentences(items, offsets)
    assert items.dtype == np.int32 and offsets.dtype == np.int64
    assert all(1 < p.size <= SENTENCE_LENGTH for p in pieces)
    big = [p for p in pieces if p.size > 2]
    pairs = [p for p in pieces if p.size == 2]
    assert [p.size for p in big] == [31, 31, 31] * 2
    for copy in (big[:3], big[3:]):  # each copy is a permutation of the whole group
        assert sorted(np.concatenate(copy).tolist()) == list(range(7, 100))
    assert not np.array_equal(np.concatenate(big[:3]), np.concatenate(big[3:]))  # a new order per copy
    assert not np.array_equal(np.concatenate(big[:3]), np.arange(7, 100))
    assert [sorted(p.tolist()) for p in pairs] == [[0, 3], [0, 3]]
    again, _ = group_corpus(seqs, groups, copies=2, seed=0)
    other, _ = group_corpus(seqs, groups, copies=2, seed=1)
    assert np.array_equal(items, again) and not np.array_equal(items, other)


def test_appended_after_the_users_sequences_with_vocabulary_and_weights_kept():
    seqs = _seqs([[0, 1, 2], [2, 3]], weights=True)
    out = with_group_sentences(seqs, {0: "g", 3: "g", 1: "h"}, copies=1, seed=0)
    assert len(out) == 3 and out.vocab is seqs.vocab
    assert np.array_equal(out.items[:5], seqs.items) and sorted(out[2].tolist()) == [0, 3]
    assert out.weights.tolist() == [2.0] * 5 + [1.0, 1.0]
    assert out.users.tolist() == [0, 1, None]
    assert with_group_sentences(seqs, None, copies=0, seed=0) is seqs


def test_off_by_default_and_item_groups_alone_change_nothing():
    seqs = [[0, 1, 2, 3], [1, 2, 4], [0, 4, 5, 6]] * 20
    plain = Item2Vec(**FAST).fit(seqs)
    groups = Item2Vec(**FAST, item_groups={0: "a", 6: "a"}).fit(seqs)
    assert np.array_equal(plain.item_vectors_, groups.item_vectors_)


def test_item_counts_holdout_and_tokens_stay_the_users():
    seqs = [[i % 30, (i + 1) % 30, (i + 3) % 30, (i + 7) % 30] for i in range(300)]
    kw = dict(FAST, history_decay="auto", window=3)
    plain = Item2Vec(**kw).fit(seqs)
    grouped = Item2Vec(**kw, item_groups={i: i % 3 for i in range(30)}, group_sentences=3).fit(seqs)
    assert np.array_equal(plain.vocab_.counts, grouped.vocab_.counts)
    assert plain.n_tokens_ == grouped.n_tokens_ == 1200
    assert not np.array_equal(plain.item_vectors_, grouped.item_vectors_)
    assert grouped.n_pairs_ > plain.n_pairs_  # the group sentences were trained
    assert set(grouped.decay_scores_) == set(plain.decay_scores_)


def test_planted_groups_link_items_no_user_shares():
    """Two item worlds that no user crosses; group k holds item k of each world. Only the
    group sentences can tell which item of the other world is k's twin k + 20."""
    rng = np.random.default_rng(0)
    seqs = [list(rng.choice(20, 6, replace=False) + 20 * (u % 2)) for u in range(600)]
    groups = {i: f"g{i % 20}" for i in range(40)}
    kw = dict(FAST, vector_size=24, epochs=10, window=5, history_decay=0.7)

    def twins_found(model: Item2Vec) -> float:
        """Share of items k whose highest-scoring item of the other world (v_k . u_j, recommend's score) is k + 20."""
        idx = model.vocab_.encode(np.arange(40))
        scores = model.item_vectors_[idx[:20]] @ model.context_vectors_[idx[20:]].T
        return float((scores.argmax(axis=1) == np.arange(20)).mean())

    assert twins_found(Item2Vec(**kw, item_groups=groups).fit(seqs)) <= 0.2  # chance: 1/20
    assert twins_found(Item2Vec(**kw, item_groups=groups, group_sentences=20).fit(seqs)) >= 0.9  # measured: 1.0


def test_reproducible_and_saved_without_the_groups(tmp_path):
    seqs = [[0, 1, 2, 3], [1, 2, 4], [0, 4, 5, 6]] * 20
    kw = dict(FAST, item_groups={0: "a", 6: "a", 2: ["a", "b"], 5: "b"}, group_sentences=2)
    a, b = Item2Vec(**kw).fit(seqs), Item2Vec(**kw).fit(seqs)
    assert np.array_equal(a.item_vectors_, b.item_vectors_)
    loaded = Item2Vec.load(a.save(tmp_path / "m.npz"))
    assert loaded.group_sentences == 2 and loaded.item_groups is None
    assert np.array_equal(loaded.item_vectors_, a.item_vectors_)


def test_works_beside_group_hard_negatives_without_deprecation_warnings():
    seqs = [[0, 1, 2, 3], [1, 2, 4], [0, 4, 5, 6]] * 20
    groups = {0: "a", 6: "a", 2: ["a", "b"], 5: "b"}
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        Item2Vec(**FAST, item_groups=groups, group_sentences=1, hard_negatives=GroupNegatives(groups)).fit(seqs)
        Item2Vec(**FAST, item_groups=groups, hard_negatives="group").fit(seqs)


def test_bad_settings_are_named(tmp_path):
    seqs = [[0, 1, 2, 3], [1, 2, 4]] * 20
    with pytest.raises(ValueError, match=r"group_sentences=1 needs item_groups"):
        Item2Vec(**FAST, group_sentences=1).fit(seqs)
    with pytest.raises(ValueError, match=r"group_sentences must be an integer >= 0, got group_sentences=-1"):
        Item2Vec(**FAST, item_groups={0: "a"}, group_sentences=-1).fit(seqs)
    with pytest.raises(ValueError, match=r"group_sentences must be an integer >= 0, got group_sentences=1.5"):
        Item2Vec(**FAST, item_groups={0: "a"}, group_sentences=1.5).fit(seqs)
    with pytest.raises(KeyError, match=r"1 item\(s\) not in the training vocabulary: 99.*groups_on_unknown='ignore'"):
        Item2Vec(**FAST, item_groups={0: "a", 99: "a"}, group_sentences=1).fit(seqs)
    ok = Item2Vec(**FAST, item_groups={0: "a", 3: "a", 99: "a"}, group_sentences=1, groups_on_unknown="ignore")
    assert ok.fit(seqs).n_tokens_ == 140
    from item2vec.shards import write_prepared

    folder = write_prepared(build_sequences([[0, 1, 2, 3], [1, 2, 4]] * 20), tmp_path / "prep")
    with pytest.raises(ValueError, match="group_sentences needs the corpus in memory"):
        Item2Vec(**FAST, item_groups={0: "a", 3: "a"}, group_sentences=1).fit(folder)
