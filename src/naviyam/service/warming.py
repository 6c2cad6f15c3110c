"""The background model build's progress file, which ``/health`` reads to answer ``warming``.

Apart from :mod:`naviyam.service.bootstrap` (which builds the models and
writes the file) so that the server's health route reads it without
importing the training code (and torch with it).
"""

from __future__ import annotations

import json
from pathlib import Path

from naviyam.config import Settings
from naviyam.core.process import pid_alive

#: While ``naviyam serve --build-models`` builds the missing models in the background, this file in the var
#: folder says how far it is; ``/health`` reads it and answers ``warming`` with that progress.
WARMING_FILE = "warming.json"


def warming_path(settings: Settings) -> Path:
    return Path(settings.var_dir) / WARMING_FILE


def warming_status(settings: Settings) -> dict | None:
    """What the background model build reports (kinds done, the one building, the ones left), or None
    when no build runs (none started, finished, or its process is gone)."""
    path = warming_path(settings)
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or state.get("finished") or not pid_alive(int(state.get("pid") or 0)):
        return None
    return state


def write_warming(path: Path, state: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)  # atomic: /health never reads half a file
