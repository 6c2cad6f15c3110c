"""Math-library threads while serving.

A worker answers several requests at once, each in a thread of its own; if
every one of them may also spread a matrix product over all cores (torch's
intra-op pool, OpenBLAS/MKL, OpenMP in FAISS), a 2-core machine runs many
more busy threads than it has cores and they spin against each other. While
serving, each request thread gets ``math_threads`` (default 1) math threads;
training keeps the libraries' defaults.

While a start-up build runs two jobs side by side (:func:`share_build_cores`), a
job that would spread over every core takes :func:`build_threads` instead:
OpenMP threads that find their core taken wait at every barrier.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

_sharing = 0
_sharing_lock = threading.Lock()


def share_build_cores() -> Callable[[], None]:
    """Say that another build job runs beside this process's until the returned function is called (once)."""
    global _sharing
    with _sharing_lock:
        _sharing += 1
    done = threading.Event()

    def _release() -> None:
        global _sharing
        with _sharing_lock:
            if not done.is_set():
                done.set()
                _sharing -= 1

    return _release


def build_threads() -> int | None:
    """Threads a parallel build step (embedding many texts) may use now: None for the library's default (every
    core), fewer while other build jobs share the cores (:func:`share_build_cores`)."""
    with _sharing_lock:
        sharing = _sharing
    if not sharing:
        return None
    return max(1, (os.cpu_count() or 1) - sharing)


#: The OpenMP thread count :func:`limit_math_threads` set for serving (None: the libraries' defaults).
_serving_openmp: int | None = None
_this_thread = threading.local()


def limit_math_threads(n: int) -> Callable[[], None]:
    """Limit torch, BLAS and OpenMP to ``n`` threads; return a function that restores what was set before.

    torch is limited only when the process has already imported it (a server does not: it scores with numpy).
    OpenMP keeps its thread count per thread, so this sets it for the calling thread; a request thread takes the
    same limit with :func:`openmp_in_this_thread` before it calls into FAISS.
    """
    global _serving_openmp
    restore: list[Callable[[], None]] = []
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            before = torch.get_num_threads()
            torch.set_num_threads(n)
            restore.append(lambda: torch.set_num_threads(before))
        except Exception:  # noqa: BLE001 - a library that refuses leaves its default
            log.debug("torch threads not limited", exc_info=True)
    openmp_before = _serving_openmp
    _serving_openmp = n

    def _forget() -> None:
        global _serving_openmp
        _serving_openmp = openmp_before

    restore.append(_forget)
    try:
        import faiss  # lazy: set only where the process uses it

        faiss_before = faiss.omp_get_max_threads()
        faiss.omp_set_num_threads(n)
        restore.append(lambda: faiss.omp_set_num_threads(faiss_before))
    except Exception:  # noqa: BLE001
        log.debug("FAISS threads not limited", exc_info=True)
    try:
        from threadpoolctl import threadpool_limits  # lazy: only when threads are limited

        limits = threadpool_limits(limits=n)
        restore.append(limits.restore_original_limits)
    except Exception:  # noqa: BLE001
        log.debug("BLAS/OpenMP threads not limited", exc_info=True)

    def _restore() -> None:
        for undo in reversed(restore):
            try:
                undo()
            except Exception:  # noqa: BLE001
                log.debug("could not restore a thread limit", exc_info=True)

    return _restore


def openmp_in_this_thread() -> None:
    """Give the calling thread the OpenMP limit :func:`limit_math_threads` set (FAISS searches use it).

    OpenMP's thread count is per thread: a limit set in the main thread at start-up does not reach the
    threads that answer requests, and a FAISS search from one of them would wake a team of threads on every
    core (which then spin at the region's end against the other requests). Cheap after a thread's first call;
    a no-op when no serving limit is set.
    """
    n = _serving_openmp
    if n is None or getattr(_this_thread, "openmp", None) == n:
        return
    try:
        import faiss  # lazy: the library is loaded already in every process that searches with it

        faiss.omp_set_num_threads(n)
    except Exception:  # noqa: BLE001 - a library that is missing or refuses leaves its default
        log.debug("FAISS threads not limited in this thread", exc_info=True)
    _this_thread.openmp = n
