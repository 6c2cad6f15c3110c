"""Entity tagger: a linear-chain CRF (python-crfsuite) over characters with BIO labels.

The model file is crfsuite's own binary format (``tagger.crfsuite``), written
by the trainer into the folder the registry allocated.
"""

from __future__ import annotations

import json
from pathlib import Path

import pycrfsuite

MODEL_FILE = "tagger.crfsuite"


class CRFTagger:
    def __init__(self, c1: float = 0.05, c2: float = 0.01, max_iterations: int = 150):
        self.c1 = c1
        self.c2 = c2
        self.max_iterations = max_iterations
        self._tagger = None

    def fit(self, X: list[list[list[str]]], Y: list[list[str]], folder: Path) -> CRFTagger:
        trainer = pycrfsuite.Trainer(verbose=False)
        for x, y in zip(X, Y, strict=False):
            if x:
                trainer.append(x, y)
        trainer.set_params({
            "c1": self.c1, "c2": self.c2, "max_iterations": self.max_iterations,
            "feature.possible_transitions": True, "feature.minfreq": 1,
        })
        folder = Path(folder)
        trainer.train(str(folder / MODEL_FILE))
        (folder / "tagger.json").write_text(json.dumps(
            {"c1": self.c1, "c2": self.c2, "max_iterations": self.max_iterations}), encoding="utf-8")
        self._open(folder)
        return self

    def _open(self, folder: Path) -> None:
        t = pycrfsuite.Tagger()
        t.open(str(Path(folder) / MODEL_FILE))
        self._tagger = t
        self.folder_ = Path(folder)

    @classmethod
    def load(cls, folder: Path) -> CRFTagger:
        folder = Path(folder)
        params = json.loads((folder / "tagger.json").read_text(encoding="utf-8"))
        obj = cls(**params)
        obj._open(folder)
        return obj

    def tag(self, x: list[list[str]]) -> list[str]:
        if not x:
            return []
        assert self._tagger is not None, "tagger not trained or loaded"
        return list(self._tagger.tag(x))
