"""Processes of this machine (workers, background model builders)."""

from __future__ import annotations

import os
import time


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs (one we may not signal still counts as running)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def wall_seconds() -> float:
    """Seconds since 1970 on this machine, for elapsed time shared between processes (not the service's "now")."""
    return time.time()  # real-clock: wall time shared between processes (elapsed seconds), not "now"
