"""Item2Vec.fit: context direction, state installed at the end, divergence, callbacks, seeds, progress bar."""

from __future__ import annotations

import numpy as np
import pytest

from item2vec import Item2Vec

FAST = dict(vector_size=8, epochs=2, n_threads=1, random_state=0, verbose=False)


def sequences(n_seq=200, n_items=40, seed=0):
    rng = np.random.default_rng(seed)
    return [list(rng.integers(n_items, size=rng.integers(2, 12))) for _ in range(n_seq)]


# ---------------------------------------------------------------------- backward_window
def test_backward_window_none_and_equal_to_window_train_the_same_vectors():
    data = sequences()
    a = Item2Vec(**FAST, window=3).fit(data)
    b = Item2Vec(**FAST, window=3, backward_window=3).fit(data)
    c = Item2Vec(**FAST, window=3, backward_window=0).fit(data)
    np.testing.assert_array_equal(a.item_vectors_, b.item_vectors_)
    assert not np.array_equal(a.item_vectors_, c.item_vectors_)


def test_forward_only_model_never_trains_a_later_item_as_input():
    # every sequence is "0 then 1": forward-only trains W[0]·C[1] and never W[1] (nor C[0])
    m = Item2Vec(**FAST, backward_window=0, negative=0, sample=0).fit([[0, 1]] * 20)
    i0, i1 = m.vocab_.encode([0, 1])
    init = Item2Vec(**FAST, backward_window=0, negative=0, sample=0, alpha=1e-30, min_alpha=0.0).fit([[0, 1]] * 20)
    np.testing.assert_array_equal(m.item_vectors_[i1], init.item_vectors_[i1])
    assert (m.context_vectors_[i0] == 0).all() and (m.context_vectors_[i1] != 0).any()
    assert m.n_pairs_ == 20 * 2


@pytest.mark.parametrize("value", [-1, 1.5, "2", True])
def test_backward_window_must_be_none_or_an_int_at_least_0(value):
    with pytest.raises(ValueError, match=r"backward_window must be None or an integer >= 0"):
        Item2Vec(**FAST, backward_window=value).fit(sequences())


def test_backward_window_with_set_context_is_refused():
    with pytest.raises(ValueError, match="backward_window applies to context='window'"):
        Item2Vec(**FAST, backward_window=0, context="set").fit(sequences())
