"""Baseline recommenders implementing :class:`item2vec.base.Recommender`.

* :class:`PopularityRecommender` -- the most frequent training items.
* :class:`ALSRecommender` -- implicit-feedback matrix factorisation
  (``implicit.als``), users folded in from their history at query time.
* :class:`ItemCosineRecommender` -- item-item cosine similarity on the binary
  user-item matrix.

All three share :class:`InteractionRecommender` (the item vocabulary and the binary
user x item matrix), which queries through the one pipeline of
:class:`item2vec.recommender.RecommenderBase` that ``Item2Vec`` uses too:
encoding of query histories (unknown items), filtering of seen items, the
popularity fallback for empty histories, top-k selection and padding.

Hyperparameters are keyword-only, stored unchanged by ``__init__`` and validated
by ``fit`` (scikit-learn style); fitted attributes end with ``_``.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .params import HyperParameters
from .recommender import RecommenderBase
from .validation import is_int, is_real
from .vocab import Vocabulary, as_id_array

__all__ = ["InteractionRecommender", "PopularityRecommender", "ALSRecommender", "ItemCosineRecommender"]


def _binary_csr(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """``float32`` CSR matrix with a 1 at every (row, col) pair; duplicates collapse to 1."""
    mat = sp.csr_matrix(
        (np.ones(rows.size, dtype=np.float32), (rows.astype(np.int64), cols.astype(np.int64))), shape=shape
    )
    mat.sum_duplicates()
    mat.data[:] = 1.0
    return mat


class InteractionRecommender(HyperParameters, RecommenderBase):
    """Shared fit machinery on top of :class:`~item2vec.recommender.RecommenderBase`.

    A new baseline subclasses this, sets its hyperparameters in a keyword-only
    ``__init__``, and implements ``_fit_model(interactions, user_codes, item_codes)``
    (read :attr:`user_items_`, :attr:`vocab_` or the per-event codes, store fitted state) and ``_score(history_csr)`` (dense
    ``(n, n_items)`` scores for binary history rows). ``recommend`` and
    ``recommend_frame`` (filtering, exclusion, popularity fallback, top-k,
    padding) come from the shared pipeline.

    Fitted attributes
    -----------------
    vocab_ : Vocabulary
        Training items (index order: decreasing count, ties by first appearance).
    user_ids_ : numpy.ndarray
        Training users; row ``r`` of :attr:`user_items_` is ``user_ids_[r]``.
    user_items_ : scipy.sparse.csr_matrix
        Binary ``float32`` user x item matrix (repeated events collapse to 1).
    popularity_ : numpy.ndarray of float32
        Number of training events of each item (the fallback scores).
    """

    # ------------------------------------------------------------------ params
    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------------ fit
    def fit(self, interactions: pd.DataFrame) -> "InteractionRecommender":
        """Fit on a DataFrame with columns ``user`` and ``item`` (other columns ignored).

        The DataFrame is not modified. Returns ``self``.
        """
        if not isinstance(interactions, pd.DataFrame):
            raise TypeError(f"interactions must be a pandas DataFrame, got {type(interactions).__name__}")
        missing = [c for c in ("user", "item") if c not in interactions.columns]
        if missing:
            raise ValueError(f"interactions lack column(s) {missing}; found {list(interactions.columns)}")
        if len(interactions) == 0:
            raise ValueError("cannot fit on an empty interactions DataFrame")
        self._check_params()
        vocab, item_codes = Vocabulary.from_ids(interactions["item"].to_numpy())
        users = as_id_array(interactions["user"], "user ids")
        user_codes, user_ids = pd.factorize(users)
        self.vocab_ = vocab
        self.user_ids_ = np.asarray(user_ids)
        self.user_items_ = _binary_csr(user_codes, item_codes, (len(user_ids), len(vocab)))
        self.popularity_ = vocab.counts.astype(np.float32)
        self._fit_model(interactions, user_codes, item_codes)
        return self

    def _check_params(self) -> None:
        """Validate hyperparameters (raise ``ValueError``); nothing to check by default."""

    def _fit_model(self, interactions: pd.DataFrame, user_codes: np.ndarray, item_codes: np.ndarray) -> None:
        """Fit the model-specific part from :attr:`user_items_` (nothing by default).

        ``user_codes[e]`` / ``item_codes[e]`` are the rows of :attr:`user_ids_` and the
        :attr:`vocab_` indices of event ``e`` (row ``e`` of ``interactions``), for models
        that need more than the binary matrix (the event order, other columns).
        """

    def _score(self, history: sp.csr_matrix) -> np.ndarray:
        """Dense ``float32`` scores ``(n, n_items)`` for binary history rows."""
        raise NotImplementedError

    # ------------------------------------------------------------------ recommend (RecommenderBase)
    def _scorer(self) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
        """Adapter from the shared pipeline's CSR block to the ``_score(history_csr)`` hook."""
        V = len(self.vocab_)

        def score(indptr: np.ndarray, indices: np.ndarray) -> np.ndarray:
            n = indptr.size - 1
            return self._score(_binary_csr(np.repeat(np.arange(n), np.diff(indptr)), indices, (n, V)))

        return score


class PopularityRecommender(InteractionRecommender):
    """Recommend the most frequent training items.

    ``score(i) = number of training events of item i`` (repeated events of a user
    count every time), identical for every query.
    """

    def __init__(self) -> None:
        pass

    def _score(self, history: sp.csr_matrix) -> np.ndarray:
        return np.broadcast_to(self.popularity_, history.shape)


class ALSRecommender(InteractionRecommender):
    """Implicit-feedback ALS (Hu, Koren & Volinsky 2008) via ``implicit``.

    The model is fitted on the binary user x item matrix ``P`` with
    ``implicit.als.AlternatingLeastSquares``. In implicit 0.7 the model itself
    multiplies the matrix it is given by ``alpha`` (in ``fit`` and in
    ``recalculate_user``), so the binary matrix is passed unscaled -- scaling it
    here as well would apply ``alpha`` twice. The confidence of an observed pair
    is thus ``c_ui = alpha`` and of an unobserved pair 1 (for the paper's
    ``1 + a`` on observed pairs, pass ``alpha = 1 + a``).

    At query time each history is folded in with the ALS closed form (implicit's
    ``recalculate_user``, run in batch)

    ``x_u = (YᵀY + Yᵀ(C_u - I)Y + λI)⁻¹ Yᵀ C_u p_u``

    where ``Y`` are the item factors, ``p_u`` the binary history vector and
    ``C_u = diag(1 + (alpha - 1) p_u)``. Item ``i`` scores ``x_u · y_i``. Users need
    not be training users and histories may contain any training items.
    BLAS is limited to one thread around fit and recommend
    (``threadpoolctl.threadpool_limits(1, "blas")``), as implicit recommends.

    Parameters
    ----------
    factors : int, default 64
    regularization : float, default 0.01
        ``λ`` above.
    alpha : float, default 1.0
        Confidence of observed pairs (see above); must be > 0.
    iterations : int, default 15
    random_state : int or None, default 0
    use_gpu : bool, default False
        Fit with implicit's CUDA implementation (then copied to the CPU for
        recommending); requires implicit built with CUDA.
    num_threads : int, default 0
        Threads of implicit's native solver (0: all cores).

    Attributes
    ----------
    model_ : implicit.cpu.als.AlternatingLeastSquares
    item_factors_ : numpy.ndarray, shape (n_items, factors)
    """

    def __init__(
        self,
        *,
        factors: int = 64,
        regularization: float = 0.01,
        alpha: float = 1.0,
        iterations: int = 15,
        random_state: int | None = 0,
        use_gpu: bool = False,
        num_threads: int = 0,
    ) -> None:
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.random_state = random_state
        self.use_gpu = use_gpu
        self.num_threads = num_threads

    def _check_params(self) -> None:
        for name, minimum in (("factors", 1), ("iterations", 1), ("num_threads", 0)):
            v = getattr(self, name)
            if not is_int(v) or v < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}, got {v!r}")
        for name, v, ok in (
            ("regularization", self.regularization, lambda x: x >= 0),
            ("alpha", self.alpha, lambda x: x > 0),
        ):
            if not is_real(v) or not ok(v):
                bound = ">= 0" if name == "regularization" else "> 0"
                raise ValueError(f"{name} must be a finite number {bound}, got {v!r}")
        if self.use_gpu:
            import implicit.gpu

            if not implicit.gpu.HAS_CUDA:
                raise ValueError("use_gpu=True but this implicit build has no CUDA support; use use_gpu=False")

    def _fit_model(self, *_: Any) -> None:
        import implicit.als
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, "blas"):  # implicit checks the BLAS threads when constructed
            model = implicit.als.AlternatingLeastSquares(
                factors=int(self.factors),
                regularization=float(self.regularization),
                alpha=float(self.alpha),
                iterations=int(self.iterations),
                calculate_training_loss=False,
                random_state=self.random_state,
                use_gpu=bool(self.use_gpu),
                num_threads=int(self.num_threads),
            )
            model.fit(self.user_items_, show_progress=False)
        if self.use_gpu:
            model = model.to_cpu()
        self.model_ = model
        self.item_factors_ = np.asarray(model.item_factors)

    def _score(self, history: sp.csr_matrix) -> np.ndarray:
        x = self.model_.recalculate_user(np.arange(history.shape[0]), history)
        return np.asarray(x, dtype=np.float32) @ self.item_factors_.T

    def _query_context(self) -> Any:
        from threadpoolctl import threadpool_limits

        return threadpool_limits(1, "blas")


class ItemCosineRecommender(InteractionRecommender):
    """Item-item cosine similarity on the binary user x item matrix ``P``.

    ``sim(i, j) = |U_i ∩ U_j| / sqrt(|U_i| |U_j|)`` for ``i != j`` (``U_i``: training
    users of item ``i``) and ``sim(i, i) = 0``. With ``k_neighbors`` set, row ``i``
    keeps only its ``k_neighbors`` largest similarities (ties by lower item index).
    A history ``H`` scores item ``j`` as ``sum_{i in H} sim(i, j)`` (each distinct
    history item once).

    Parameters
    ----------
    k_neighbors : int or None, default None
        Neighbours kept per item; None keeps all. The similarity matrix is sparse
        but can approach ``n_items²`` entries without pruning.

    Attributes
    ----------
    similarity_ : scipy.sparse.csr_matrix, shape (n_items, n_items)
    """

    def __init__(self, *, k_neighbors: int | None = None) -> None:
        self.k_neighbors = k_neighbors

    def _check_params(self) -> None:
        v = self.k_neighbors
        if v is not None and (not is_int(v) or v < 1):
            raise ValueError(f"k_neighbors must be None or an integer >= 1, got {v!r}")

    def _fit_model(self, *_: Any) -> None:
        p = self.user_items_
        norms = np.sqrt(np.asarray(p.sum(axis=0)).ravel())
        pn = (p @ sp.diags(1.0 / norms)).tocsc()
        sim = (pn.T @ pn).tocsr()
        sim.setdiag(0)
        sim.eliminate_zeros()
        if self.k_neighbors is not None:
            sim = _keep_top_per_row(sim, int(self.k_neighbors))
        self.similarity_ = sim.astype(np.float32)

    def _score(self, history: sp.csr_matrix) -> np.ndarray:
        return (history @ self.similarity_).toarray()


def _keep_top_per_row(mat: sp.csr_matrix, k: int) -> sp.csr_matrix:
    """Keep the ``k`` largest entries of each CSR row (ties by lower column)."""
    mat = mat.tocsr()
    mat.sort_indices()
    rows = np.repeat(np.arange(mat.shape[0]), np.diff(mat.indptr))
    order = np.lexsort((mat.indices, -mat.data, rows))
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size) - mat.indptr[rows[order]]
    keep = rank < k
    return sp.csr_matrix((mat.data[keep], (rows[keep], mat.indices[keep])), shape=mat.shape)
