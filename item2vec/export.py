"""Export of a fitted :class:`~item2vec.Item2Vec`: Parquet (vector databases) and gensim ``KeyedVectors``.

Both libraries are optional: ``pyarrow`` for :meth:`ExportMixin.export_parquet`,
``gensim`` for :meth:`ExportMixin.to_keyed_vectors`; a missing one raises
``ImportError`` saying what to install.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .validation import check_int

__all__ = ["ExportMixin", "VECTOR_KINDS"]

VECTOR_KINDS = ("item", "context")


def _check_vectors(vectors: Any) -> str:
    if vectors not in VECTOR_KINDS:
        raise ValueError(f"vectors must be 'item' (input vectors) or 'context' (output vectors), got vectors={vectors!r}")
    return vectors


class ExportMixin:
    """``export_parquet`` and ``to_keyed_vectors`` of :class:`~item2vec.Item2Vec`."""

    def export_parquet(self, path: str | os.PathLike, *, context: bool = True, row_group_size: int = 65536) -> str:
        """Write ids, counts and vectors to a Parquet file (atomically), one row per item.

        Parameters
        ----------
        path : str or path-like
            Destination (``.parquet`` is not added).
        context : bool, default True
            Also write the context (output) vectors, column ``context_vector``.
        row_group_size : int, default 65536
            Rows per Parquet row group.

        Returns
        -------
        str
            The path written. Columns: ``item`` (int64 or string: the raw ids, in
            index order), ``count`` (int64 training events), ``vector`` and
            ``context_vector`` (``fixed_size_list<float32>[vector_size]``). The
            file metadata holds ``item2vec.vector_size`` and ``item2vec.n_items``.
            Read back with ``pyarrow.parquet.read_table(path)``; a vector column
            as a matrix: ``np.stack(table["vector"].to_numpy(zero_copy_only=False))``.
        """
        self._check_fitted()
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as e:
            raise ImportError("export_parquet needs pyarrow: pip install pyarrow") from e
        check_int("row_group_size", row_group_size, 1)
        W, V, D = self.item_vectors_, len(self.vocab_), self.item_vectors_.shape[1]

        def column(X: np.ndarray) -> Any:
            return pa.FixedSizeListArray.from_arrays(pa.array(np.ascontiguousarray(X, dtype=np.float32).reshape(-1)), D)

        ids = self.vocab_.ids
        item = pa.array(ids.astype(str) if self.vocab_.kind == "str" else ids.astype(np.int64))
        cols = {"item": item, "count": pa.array(self.vocab_.counts.astype(np.int64)), "vector": column(W)}
        if context:
            cols["context_vector"] = column(self.context_vectors_)
        table = pa.table(cols).replace_schema_metadata({"item2vec.vector_size": str(D), "item2vec.n_items": str(V)})
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        try:
            pq.write_table(table, tmp, row_group_size=int(row_group_size))
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return str(path)

    def to_keyed_vectors(self, vectors: str = "item") -> Any:
        """The vectors as gensim ``KeyedVectors`` (keys are the raw ids, counts set as ``"count"``).

        Parameters
        ----------
        vectors : {"item", "context"}, default "item"
            Input vectors (what ``similar_items`` uses, and gensim's ``wv``) or
            context (output) vectors.

        Returns
        -------
        gensim.models.KeyedVectors
            ``kv.most_similar(key)`` ranks by cosine, like ``similar_items``
            (without its ``min_count`` filter). Keys keep their type (int or str).
        """
        self._check_fitted()
        _check_vectors(vectors)
        try:
            from gensim.models import KeyedVectors
        except ImportError as e:
            raise ImportError("to_keyed_vectors needs gensim: pip install gensim (or item2vec[bench])") from e
        X = self.item_vectors_ if vectors == "item" else self.context_vectors_
        kv = KeyedVectors(vector_size=X.shape[1], dtype=np.float32)
        kv.add_vectors(self.vocab_.ids.tolist(), X.astype(np.float32, copy=True))
        kv.allocate_vecattrs(attrs=["count"], types=[np.int64])
        kv.expandos["count"][:] = self.vocab_.counts
        return kv
