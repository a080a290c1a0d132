"""Hypothesis fuzz: random logs x random valid hyperparameters.

For every drawn (log, hyperparameters, queries):

* ``fit`` succeeds or raises one of the documented errors (``ValueError`` when
  filtering leaves nothing to train on); the only warning allowed is the
  documented ``RuntimeWarning`` for a first epoch without pairs;
* ``recommend`` and ``similar_items`` return only catalogue ids (or the
  documented padding), never a history's own items with ``filter_seen=True``,
  never an ``exclude``d item, and scores that are finite or ``-inf`` padding;
* unknown ids raise ``KeyError`` (``on_unknown="raise"``) or are ignored;
* a saved model loads back with the same parameters and recommendations;
* a refit with the same seed and ``n_threads=1`` is bit-identical.

Bounded (small logs, tiny models, ``max_examples=40``) so it runs in seconds.
"""

from __future__ import annotations

import os
import tempfile
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from item2vec import Item2Vec, MinedNegatives

N_IDS = 25
UNKNOWN = 10_000  # an id the log never holds

ids = st.integers(0, N_IDS - 1)
logs = st.lists(st.lists(ids, min_size=0, max_size=10), min_size=1, max_size=20)

hyperparameters = st.fixed_dictionaries({
    "vector_size": st.integers(1, 8),
    "window": st.integers(1, 4),
    "context": st.sampled_from(["window", "set"]),
    "max_set_contexts": st.integers(1, 6),
    "shrink_windows": st.booleans(),
    "negative": st.integers(0, 4),
    "shared_negatives": st.booleans(),
    "ns_exponent": st.floats(-1.0, 1.0),
    "sample": st.sampled_from([0.0, 1e-3, 0.5]),
    "min_count": st.integers(1, 3),
    "min_length": st.integers(1, 3),
    "epochs": st.integers(1, 3),
    "alpha": st.floats(0.001, 0.1),
    "min_alpha": st.sampled_from([0.0, 1e-4]),
    "scoring": st.sampled_from(["sgns", "cosine"]),
    "history_length": st.one_of(st.none(), st.integers(1, 4)),
    "backward_window": st.one_of(st.none(), st.integers(0, 3)),
    "history_decay": st.one_of(st.none(), st.just("auto"), st.floats(0.05, 1.0)),
    "hard_negatives": st.one_of(st.none(), st.none(), st.builds(
        MinedNegatives, k=st.integers(1, 4), every=st.integers(1, 2), pool=st.one_of(st.none(), st.integers(1, 8)),
        ratio=st.floats(0.0, 1.0), start=st.integers(0, 2))),
    "random_state": st.integers(0, 2**32),
})

queries = st.lists(st.lists(st.integers(0, N_IDS), min_size=0, max_size=6), min_size=1, max_size=5)


def _as_type(log, as_str):
    return [[f"i{x}" for x in seq] for seq in log] if as_str else log


def _fit(log, params):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message="the first epoch trained no", category=RuntimeWarning)
        return Item2Vec(**params, n_threads=1, verbose=False).fit(log)


def _check_rows(model, ids, scores, histories, pad, exclude=()):
    catalogue = set(model.vocab_.ids.tolist())
    assert ids.shape == scores.shape and ids.shape[0] == len(histories)
    for row, row_scores, hist in zip(ids.tolist(), scores, histories):
        real = [x for x, s in zip(row, row_scores) if np.isfinite(s)]
        assert set(real) <= catalogue, (set(real) - catalogue)
        assert all(x == pad for x, s in zip(row, row_scores) if not np.isfinite(s))
        assert np.all(np.isfinite(row_scores) | np.isneginf(row_scores))
        assert not set(real) & set(hist), "a seen item was recommended with filter_seen=True"
        assert not set(real) & set(exclude), "an excluded item was recommended"
        assert len(set(real)) == len(real), "an item appears twice in one row"


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log=logs, params=hyperparameters, histories=queries, as_str=st.booleans(), k=st.integers(1, 30),
       n_exclude=st.integers(0, 3))
def test_random_logs_and_hyperparameters(log, params, histories, as_str, k, n_exclude):
    log = _as_type(log, as_str)
    try:
        model = _fit(log, params)
    except ValueError as e:  # documented: empty input or nothing left after min_count/min_length
        assert any(word in str(e) for word in ("min_length", "min_item_count", "empty", "no sequences")), e
        return
    pad = "" if as_str else -1
    catalogue = model.vocab_.ids.tolist()
    assert set(catalogue) <= {x for seq in log for x in seq}
    assert np.isfinite(model.item_vectors_).all() and np.isfinite(model.context_vectors_).all()

    # histories of catalogue items only (unknown ids dropped), plus the documented unknown-id behaviour
    known = [[catalogue[x % len(catalogue)] for x in h] for h in histories]
    exclude = catalogue[:n_exclude]
    ids, scores = model.recommend(known, k=k, filter_seen=True, exclude=exclude)
    _check_rows(model, ids, scores, known, pad, exclude)
    one_ids, one_scores = model.recommend(known[0], k=k)
    _check_rows(model, one_ids[None], one_scores[None], known[:1], pad)
    unknown = f"i{UNKNOWN}" if as_str else UNKNOWN
    with pytest.raises(KeyError):
        model.recommend(known[0] + [unknown], k=k)
    ids_u, scores_u = model.recommend(known[0] + [unknown], k=k, on_unknown="ignore")
    assert np.array_equal(ids_u, one_ids) and np.array_equal(scores_u, one_scores)

    sim_ids, sim_scores = model.similar_items(catalogue[:3], k=k)
    _check_rows(model, sim_ids, sim_scores, [[q] for q in catalogue[:3]], pad)

    with tempfile.TemporaryDirectory() as tmp:  # a model that trained on nothing is refused (documented)
        if model.n_pairs_ == 0:
            with pytest.raises(ValueError, match="0 .*pairs"):
                model.save(os.path.join(tmp, "m.npz"))
        else:
            loaded = Item2Vec.load(model.save(os.path.join(tmp, "m.npz")))
            assert loaded.get_params() == {**model.get_params(), "callbacks": None}
            assert np.array_equal(loaded.recommend(known, k=k)[0], model.recommend(known, k=k)[0])

    again = _fit(log, params)
    assert np.array_equal(again.item_vectors_, model.item_vectors_)
    assert np.array_equal(again.context_vectors_, model.context_vectors_)
    assert again.loss_history_ == model.loss_history_
