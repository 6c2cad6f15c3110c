"""Layer 2: the Wide & Deep ranker.

- :mod:`.dataset`: id vocabularies, query hashing, feature rows → tensors
- :mod:`.model`: the torch ``nn.Module`` and its JSON config
- :mod:`.trainer`: the training loop, early stopping, curves, registry
- :mod:`.serving`: :class:`WideDeepRanker` (``score(query, candidates)``), save/load
"""

from naviyam.recommend.ranker.serving import RankerLoadError, WideDeepRanker

__all__ = ["RankerLoadError", "WideDeepRanker"]
