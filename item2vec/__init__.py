"""item2vec: item embeddings from interaction logs with a fast numba SGNS core.

Public names: :class:`Item2Vec`, :func:`build_sequences`, :class:`Sequences`,
:class:`Vocabulary`, the hard-negative strategies :class:`GroupNegatives` and
:class:`MinedNegatives`; datasets, evaluation and baselines live in their modules
(``item2vec.datasets``, ``item2vec.evaluation``, ``item2vec.baselines``).
"""

__version__ = "0.1.0"

from .hard_negatives import GroupNegatives, MinedNegatives
from .model import Item2Vec, NotFittedError
from .model_io import ModelFileError
from .sequences import Sequences, build_sequences
from .vocab import Vocabulary

__all__ = ["Item2Vec", "NotFittedError", "GroupNegatives", "MinedNegatives", "ModelFileError", "Sequences", "build_sequences", "Vocabulary", "__version__"]
