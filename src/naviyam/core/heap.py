"""Keep the cyclic garbage collector off the loaded models while serving (``gc.freeze``).

A worker holds a few hundred thousand long-lived Python objects (the catalog's
menus, the users' profiles, the models' vocabularies). CPython's oldest
generation is collected whenever enough young objects have survived into it,
and every such collection walks all of them: measured on the sample world,
one 110-140 ms pause every 2,000-3,000 turns, during which no other request
moves (the static page's p99 at 16 clients was 173 ms for that reason).

:func:`settle` collects once and then freezes what is alive: later
collections walk only what was allocated since (5-8 ms). Reference counting
still frees every frozen object that is dropped; only reference *cycles* among
frozen objects wait, so a worker settles again after every model swap
(:meth:`naviyam.service.runtime.Runtime.refresh`): the old models' cycles are
collected then, at most one pause per swap.
"""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)


def settle() -> float:
    """Unfreeze, collect everything, freeze what is alive; the seconds it took."""
    t0 = time.perf_counter()
    gc.unfreeze()
    collected = gc.collect()
    gc.freeze()
    seconds = time.perf_counter() - t0
    log.info("heap settled: %d objects frozen, %d collected (%.0f ms)", gc.get_freeze_count(), collected,
             seconds * 1000)
    return seconds


def release() -> None:
    """Give the frozen objects back to the collector (a server shutting down, a test's teardown)."""
    gc.unfreeze()
