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
    a = Item2Vec(**FAST, window=3, backward_window=None).fit(data)
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


def test_backward_window_is_ignored_by_set_context():
    a = Item2Vec(**FAST, backward_window=0, context="set").fit(sequences())
    b = Item2Vec(**FAST, backward_window=None, context="set").fit(sequences())
    assert np.array_equal(a.item_vectors_, b.item_vectors_)


# ---------------------------------------------------------------------- state installed at the end
class Stop(Exception):
    pass


def stop_at(epoch):
    def cb(model, e, loss):
        if e == epoch:
            raise Stop

    return cb


def test_a_fit_that_fails_leaves_an_unfitted_model_unfitted():
    m = Item2Vec(**{**FAST, "epochs": 3}, callbacks=[stop_at(1)])
    with pytest.raises(Stop):
        m.fit(sequences())
    assert not any(k.endswith("_") and not k.startswith("_") for k in vars(m))
    with pytest.raises(RuntimeError, match="not fitted"):
        m.similar_items(1)


def test_a_refit_that_fails_keeps_the_previous_fit():
    m = Item2Vec(**FAST).fit(sequences(seed=1))
    W, C, vocab, history = m.item_vectors_.copy(), m.context_vectors_.copy(), m.vocab_, list(m.loss_history_)
    m.set_params(callbacks=[stop_at(1)], epochs=3)
    with pytest.raises(Stop):
        m.fit(sequences(seed=2, n_items=50))
    assert m.vocab_ is vocab and m.loss_history_ == history
    np.testing.assert_array_equal(m.item_vectors_, W)
    np.testing.assert_array_equal(m.context_vectors_, C)


def test_callbacks_query_the_vectors_of_the_current_epoch():
    seen = []

    def cb(model, epoch, loss):
        ids, scores = model.similar_items(model.item_ids_[0], k=3)
        U = model.item_vectors_ / np.linalg.norm(model.item_vectors_, axis=1, keepdims=True)
        expected = U[model.vocab_.encode(ids)] @ U[0]
        seen.append((epoch, len(model.loss_history_), np.allclose(scores, expected, atol=1e-5)))

    m = Item2Vec(**{**FAST, "epochs": 4}, callbacks=[cb]).fit(sequences())
    assert seen == [(e, e + 1, True) for e in range(4)]
    assert len(m.loss_history_) == 4


def test_divergence_raises_naming_alpha_and_the_epoch():
    m = Item2Vec(**{**FAST, "epochs": 5}, alpha=10.0)
    with pytest.raises(ValueError, match=r"diverged in epoch \d.*alpha=10\.0"):
        m.fit(sequences())
    assert not hasattr(m, "item_vectors_")


@pytest.mark.parametrize("callbacks", [[1], "cb", print, [print, None], 3])
def test_callbacks_are_checked_before_training(callbacks):
    m = Item2Vec(**FAST, callbacks=callbacks)
    with pytest.raises(ValueError, match="callbacks must be None or a list of callables"):
        m.fit(sequences())
    assert not hasattr(m, "item_vectors_")


@pytest.mark.parametrize("seed", [2**64, -1, 1.5, "1", True])
def test_bad_random_state_is_named(seed):
    with pytest.raises(ValueError, match=r"random_state must be None, an integer in \[0, 2\*\*64\)"):
        Item2Vec(**{**FAST, "random_state": seed}).fit(sequences())


def test_largest_random_state_trains_reproducibly():
    a = Item2Vec(**{**FAST, "random_state": 2**64 - 1}).fit(sequences())
    b = Item2Vec(**{**FAST, "random_state": np.uint64(2**64 - 1)}).fit(sequences())
    np.testing.assert_array_equal(a.item_vectors_, b.item_vectors_)


# ---------------------------------------------------------------------- progress bar
def test_progress_bar_writes_nothing_to_a_redirected_stderr(capsys):
    Item2Vec(**{**FAST, "verbose": True, "epochs": 3}).fit(sequences())
    err = capsys.readouterr().err
    assert "\r" not in err and "item2vec" not in err


def test_progress_bar_counts_every_epoch_of_a_fast_fit_on_a_terminal(monkeypatch):
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    Item2Vec(**{**FAST, "verbose": True, "epochs": 3}).fit(sequences(n_seq=20))
    out = term.getvalue()
    assert "1/3" in out and "2/3" in out and "3/3" in out
