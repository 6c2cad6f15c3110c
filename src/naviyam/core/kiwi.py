"""The one kiwipiepy analyser of a process, shared by the NLU features and BM25.

A Kiwi instance holds its language model in memory (about 300 MB, 500 MB with
the multi-word dictionary); the NLU and retrieval each built their own before,
so every worker carried two.
Analysis is thread-safe, so one instance serves every request thread.
"""

from __future__ import annotations

import threading

from kiwipiepy import Kiwi

_KIWI = None
_LOCK = threading.Lock()


def get_kiwi():
    """The process-wide analyser, built (and warmed: the first call builds internal tables) on first use."""
    global _KIWI
    if _KIWI is None:
        with _LOCK:
            if _KIWI is None:
                # Without the multi-word dictionary: about 200 MB less per process, and the same morphemes for
                # all but 2 of 4,500 shop documents and 1 of 3,000 generated NLU sentences (measured for #18).
                k = Kiwi(num_workers=-1, load_multi_dict=False)
                k.tokenize("워밍업 문장입니다")
                _KIWI = k
    return _KIWI
